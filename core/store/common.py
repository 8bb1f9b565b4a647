"""What every part of the store shares, whatever the backend: the workspace folder rule, the one time format, and
JSON for stored values (the errors: core.store.errors)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.jsonio import JSONError, clean, dumps
from core.store.errors import StoreError

DB_NAME = "sentinel.db"
MODELS_DIR = "models"
ENV_WORKSPACE = "SENTINEL_WORKSPACE"
BUSY_TIMEOUT_S = 30.0


def resolve_workspace(path: str | Path | None) -> Path:
    """One rule for app, CLI and trainer: explicit path, else $SENTINEL_WORKSPACE, else ./workspace."""
    if path is not None and str(path).strip():
        chosen = Path(path)
    elif os.environ.get(ENV_WORKSPACE, "").strip():
        chosen = Path(os.environ[ENV_WORKSPACE].strip())
    else:
        chosen = Path("workspace")
    return chosen.expanduser().resolve()


def size_now(path: Path) -> int:
    """A file's size, 0 when it is not there: one stat, since another process can remove it (a checkpoint removes
    the -wal file) between an exists() and a stat() — CI saw a plain read fail on that."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def now_utc() -> str:
    """Current time as ISO 8601 UTC, the one time format in the workspace."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(obj: Any, where: str) -> Any:
    """obj as plain JSON data (see core.jsonio.clean); a value JSON cannot hold is a StoreError naming `where`."""
    try:
        return clean(obj, where)
    except JSONError as exc:
        raise StoreError(str(exc)) from exc


def to_json(obj: Any, where: str) -> str:
    """Strict JSON text for a TEXT column; a value JSON cannot hold is a StoreError naming `where`."""
    try:
        return dumps(obj, indent=None, where=where)
    except JSONError as exc:
        raise StoreError(str(exc)) from exc
