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

from core.registry import unpack_into
from core.store.health import failure_kind
from core.store.workspace import ModelVersion, StorageFailure, Workspace


def staging_folder(ws: Workspace, reservoir: str, archive: bytes) -> Path:
    """Unpack a task's archive into a fresh hidden temp folder beside the reservoir's versions (same disk: rename)."""
    tmp = ws.new_tmp_folder(reservoir)
    try:
        unpack_into(archive, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def adopt_archive(ws: Workspace, reservoir: str, archive: bytes, meta: dict[str, Any], val_mae: float) -> ModelVersion:
    """Unpack and register a task's trained version; nothing is left behind when registration fails, and a disk
    that refuses the files is named (StorageFailure), never an 'unexpected OSError'."""
    try:
        tmp = staging_folder(ws, reservoir, archive)
        try:
            return ws.adopt_folder(reservoir, tmp, meta, val_mae, activate=None)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already when it was renamed into place
    except OSError as exc:
        raise not_saved(ws, reservoir, exc) from exc


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
