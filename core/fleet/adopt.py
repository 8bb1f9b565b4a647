"""The one place a cycle task's trained folder becomes a registered model version (the driver calls it).

`Versions.adopt_folder` (core.store.versions) numbers, renames and registers it in one write transaction (so two
savers never take the same number, and a stray folder is quarantined, never deleted). Activation is the store's rule
(`beats_active`, activate=None): the cycle runs unattended, so a new version becomes active only when it is the
reservoir's first or its validation MAE beats the active one.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from core.registry import SINGLE, unpack_into
from core.store.health import failure_kind
from core.store.versions import Reservoirs, Scores, as_names
from core.store.workspace import ModelVersion, StorageFailure, Workspace


def staging_folder(ws: Workspace, reservoirs: Reservoirs, archive: bytes) -> Path:
    """Unpack a task's archive into a fresh hidden temp folder beside the version's place (same disk: rename)."""
    tmp = ws.new_tmp_folder(reservoirs)
    try:
        unpack_into(archive, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def adopt_archive(
    ws: Workspace, reservoirs: Reservoirs, archive: bytes, meta: dict[str, Any], val_mae: Scores
) -> ModelVersion:
    """Unpack and register a task's trained version (serving one reservoir or several; its kind and parent as its
    meta says); nothing is left behind when registration fails, and a disk that refuses the files is named
    (StorageFailure), never an 'unexpected OSError'."""
    names = as_names(reservoirs)
    kind, parent = str(meta.get("kind") or SINGLE), meta.get("parent_id")
    try:
        tmp = staging_folder(ws, names, archive)
        try:
            return ws.adopt_folder(names, tmp, meta, val_mae, activate=None, kind=kind, parent_id=parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already when it was renamed into place
    except OSError as exc:
        raise not_saved(ws, ", ".join(names), exc) from exc


def not_saved(ws: Workspace, reservoir: str, exc: OSError) -> StorageFailure:
    """Why a trained version could not be written into the workspace, in words."""
    if failure_kind(exc) in ("full", "fsize"):
        why = f"the disk holding {ws.root} is full"
    else:
        why = f"its files could not be written under {ws.models_dir} ({exc.strerror or exc})"
    return StorageFailure(
        f"A new version of '{reservoir}' was trained but not saved: {why}. Nothing else changed; free some space "
        "(or fix the folder) and the next cycle trains it again."
    )
