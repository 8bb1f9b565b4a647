"""Versions for store tests that load no model: a tiny folder registered through the real adopt_folder."""

from __future__ import annotations

from typing import Any

from core.store.workspace import ModelVersion, Workspace

FAKE_FILE = "model.json"


def add_version(
    ws: Workspace, reservoir: str, meta: dict[str, Any] | None = None, val_mae: float | None = 0.5,
    activate: bool | None = False, content: str = "{}",
) -> ModelVersion:
    """Register a version whose model file is a stand-in (nothing here loads it) with the given meta and score."""
    tmp = ws.new_tmp_folder(reservoir)
    (tmp / FAKE_FILE).write_text(content)
    return ws.adopt_folder(reservoir, tmp, {"model_file": FAKE_FILE, **(meta or {})}, val_mae, activate)
