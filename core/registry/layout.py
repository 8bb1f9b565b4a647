"""Where model versions live on disk and what may happen to their folders (no database here).

``models/r<id>/v<N>/``: a version serving one reservoir (reservoir id, never user text; N is the number operators
see). ``models/shared/v<id>/``: a version serving several reservoirs (its own id). Each folder holds the model
file(s) and ``meta.json``. A version is written into a hidden temp folder beside its final place
(``.tmp-<uuid>``) and renamed into place when its row is registered; a temp folder nobody is writing any more
(older than LEFTOVER_AGE_S, no training holding the reservoir) belongs to a killed save and is removed, and a
``v<N>`` folder no row points to is moved to ``quarantine/`` beside it, never deleted.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.digest import sha256_file

META_FILE = "meta.json"
TMP_PREFIX = ".tmp-"  # a version folder being written; never registered
QUARANTINE_DIR = "quarantine"  # version folders found on disk that the database did not know
SHARED_DIR = "shared"  # versions serving several reservoirs
LEFTOVER_AGE_S = 15 * 60  # a .tmp- folder older than this belongs to a save that was killed
RESERVOIR_DIR = re.compile(r"^r(\d+)$")
VERSION_DIR = re.compile(r"^v(\d+)$")
log = logging.getLogger(__name__)


def home(models_dir: Path, reservoir_ids: Sequence[int]) -> Path:
    """The folder a version's folder goes into: its reservoir's (r<id>), or shared/ when it serves several."""
    ids = sorted(set(reservoir_ids))
    if not ids:
        raise ValueError("A model version must serve at least one reservoir.")
    return Path(models_dir) / (f"r{ids[0]}" if len(ids) == 1 else SHARED_DIR)


def version_dir(models_dir: Path, reservoir_ids: Sequence[int], number: int, version_id: int) -> Path:
    """The final folder: r<id>/v<number> for one reservoir, shared/v<version id> for several."""
    one = len(set(reservoir_ids)) == 1
    return home(models_dir, reservoir_ids) / f"v{number if one else version_id}"


def new_tmp_folder(parent: Path) -> Path:
    """An empty hidden folder to write a version into before it is registered."""
    tmp = Path(parent) / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    return tmp


def relative(root: Path, path: str | Path) -> str:
    """A version path relative to the workspace root (so a moved workspace still finds its files)."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(Path(root).resolve())
        except ValueError as exc:
            raise ValueError(f"Model folder {path} is outside the workspace {root}; save it under models/.") from exc
    return p.as_posix()


def checksums(folder: Path) -> dict[str, str]:
    """Every file of a version folder but meta.json (rewritten when registered) -> its sha256."""
    return {p.name: sha256_file(p) for p in sorted(Path(folder).iterdir()) if p.is_file() and p.name != META_FILE}


def fsync_tree(folder: Path) -> None:
    """Flush every file of a finished version folder to disk before its row is committed."""
    for path in Path(folder).rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def stamp() -> str:
    """A file-name-safe UTC time for quarantined, damaged and moved-aside names."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def quarantine(folder: Path, why: str) -> Path:
    """Move a version folder to <its parent>/quarantine/<name>-<time> (never delete it); logs where it went."""
    target_dir = folder.parent / QUARANTINE_DIR
    target_dir.mkdir(exist_ok=True)
    target = target_dir / f"{folder.name}-{stamp()}"
    if target.exists():
        target = target_dir / f"{folder.name}-{stamp()}-{uuid.uuid4().hex[:8]}"
    folder.rename(target)
    log.warning("Moved model folder %s to %s: %s. Nothing was deleted.", folder, target, why)
    return target


@dataclass(frozen=True)
class VersionFolder:
    """A saved version's folder on disk, read without the database (repair, damaged-workspace messages)."""

    reservoir_id: int | None  # None: a shared folder (it names its reservoirs in meta.json)
    version: int  # the number (r<id>/v<N>) or, for a shared folder, the version id
    reservoir: str  # as meta.json names it ("" when unreadable or shared)
    path: Path


def _meta_reservoir(meta_file: Path) -> str:
    """The reservoir name a version's meta.json records ("" when the file cannot be read)."""
    try:
        data = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(data.get("reservoir") or "") if isinstance(data, dict) else ""


def _homes(models_dir: Path) -> list[tuple[int | None, Path]]:
    """(reservoir id or None for shared/, folder) for every folder that holds versions."""
    try:
        entries = [p for p in Path(models_dir).iterdir() if p.is_dir()]
    except OSError:
        return []
    out: list[tuple[int | None, Path]] = []
    for p in entries:
        match = RESERVOIR_DIR.match(p.name)
        if match or p.name == SHARED_DIR:
            out.append((int(match.group(1)) if match else None, p))
    return out


def _entries(folder: Path) -> list[Path]:
    """A folder's entries ([] when it cannot be listed)."""
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def version_folders(models_dir: Path) -> list[VersionFolder]:
    """Every version folder holding a meta.json, by reservoir id (shared last) then number (quarantine excluded)."""
    out: list[VersionFolder] = []
    for rid, folder in _homes(models_dir):
        for vdir in _entries(folder):
            match = VERSION_DIR.match(vdir.name)
            if match and (vdir / META_FILE).is_file():
                name = _meta_reservoir(vdir / META_FILE) if rid is not None else ""
                out.append(VersionFolder(rid, int(match.group(1)), name, vdir))
    return sorted(out, key=lambda f: (f.reservoir_id is None, f.reservoir_id or 0, f.version))


@dataclass(frozen=True)
class Leftovers:
    """What a sweep found: removed temp folders of killed saves, quarantined unregistered versions."""

    removed: tuple[str, ...] = ()
    quarantined: tuple[str, ...] = ()


def _age(path: Path) -> float:
    """Seconds since a folder last changed (a save writing into it keeps it young)."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def sweep_leftovers(
    root: Path, models_dir: Path, used: Iterable[str], busy: Callable[[Path], bool], older_than_s: float
) -> Leftovers:
    """Remove temp folders of killed saves and quarantine version folders no row knows (one log line each).

    `used`: the registered paths (relative to root); `busy(folder)`: a training holds that folder's reservoir,
    so its temp folders are not leftovers. The caller holds the database's write lock, so no save is between its
    rename and its row.
    """
    known = set(used)
    removed: list[str] = []
    held: list[str] = []
    for _rid, folder in _homes(models_dir):
        at_work = busy(folder)
        for entry in _entries(folder):
            if not entry.is_dir():
                continue
            if entry.name.startswith(TMP_PREFIX) and not at_work and _age(entry) > older_than_s:
                shutil.rmtree(entry, ignore_errors=True)
                log.warning("Removed %s, left by a save that was interrupted (never registered).", entry)
                removed.append(relative(root, entry))
            elif VERSION_DIR.match(entry.name) and relative(root, entry) not in known:
                held.append(relative(root, quarantine(entry, "no model version row points to it")))
    return Leftovers(tuple(removed), tuple(held))
