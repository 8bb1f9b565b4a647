"""The one place a cycle task's trained folder becomes a registered model version (the driver calls it).

The store's own `VersionStore.adopt_folder` (numbering + rename + register in one step, under the per-reservoir
lock) is used when the workspace has it; until then `_register_folder` does the same with the store's public
pieces. Activation is the store's rule (`beats_active`, activate=None): the cycle runs unattended, so a new
version becomes active only when it is the reservoir's first or its validation MAE beats the active one.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from core.fleet.archive import unpack_into
from core.jsonio import dumps, write_atomic
from core.store.versions import META_FILE, _sha256, beats_active
from core.store.workspace import ModelVersion, Workspace


def staging_folder(ws: Workspace, reservoir: str, archive: bytes) -> Path:
    """Unpack a task's archive into a fresh hidden temp folder beside the reservoir's versions (same disk: rename)."""
    if hasattr(ws, "new_tmp_folder"):
        tmp = ws.new_tmp_folder(reservoir)
    else:
        tmp = ws._reservoir_dir(reservoir) / f".tmp-cycle-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
    try:
        unpack_into(archive, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def adopt_archive(ws: Workspace, reservoir: str, archive: bytes, meta: dict[str, Any], val_mae: float) -> ModelVersion:
    """Unpack and register a task's trained version; nothing is left behind when registration fails."""
    tmp = staging_folder(ws, reservoir, archive)
    try:
        adopt_folder = getattr(ws, "adopt_folder", None)
        if adopt_folder is not None:
            return adopt_folder(reservoir, tmp, meta, val_mae, activate=None)
        return _register_folder(ws, reservoir, tmp, meta, val_mae)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when it was renamed into place


def _register_folder(ws: Workspace, reservoir: str, tmp: Path, meta: dict[str, Any], val_mae: float) -> ModelVersion:
    """Fallback for stores without adopt_folder: number it, write its meta, rename into place, register."""
    version = ws.next_version(reservoir)
    meta = {**meta, "reservoir": reservoir, "version": version}
    write_atomic(tmp / META_FILE, dumps(meta))
    sha = _sha256(tmp / str(meta["model_file"]))
    final = tmp.parent / f"v{version}"
    if final.exists():  # left by a crash after rename but before registration: never registered, so not ours
        shutil.rmtree(final)
    tmp.rename(final)
    activate = beats_active(ws.active_version(reservoir), val_mae)
    try:
        ws.register_version(reservoir, version, str(final.relative_to(ws.root)), sha, meta, val_mae, activate)
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return ws.version(reservoir, version)
