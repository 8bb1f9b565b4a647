"""What is wrong with a workspace, in words an operator can act on: database and file-system failures, and
what a damaged workspace still holds on disk.

A leaf of core.store (version folders are core.registry's): core.store.sqlite.database turns these texts into
StoreErrors. Nothing here changes a file; the remedies it names (``python -m core restore FILE``,
``python -m core repair``) never delete the damaged database either (repair moves it aside first).
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from core.registry.layout import VersionFolder
from core.store.common import size_now

try:
    import resource  # POSIX: the file-size limit (ulimit -f)
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

LOW_SPACE_BYTES = 16 << 20  # an I/O failure with less free space than this is a full disk
FSIZE_MARGIN_BYTES = 1 << 20  # a database this close to the file-size limit has hit it
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}

RECOVER = (
    "Restore it from a backup (python -m core restore FILE --force) or rebuild the reservoirs and model versions "
    "from the model folders (python -m core repair); repair cannot rebuild readings, so re-import the CSV files "
    "afterwards."
)


def describe_folders(folders: list[VersionFolder]) -> str:
    """'7 saved model version folders (Poondi: v1-v3; r2: v1)': what a damaged workspace still holds."""
    by_res: dict[int, list[VersionFolder]] = {}
    for f in folders:
        by_res.setdefault(-1 if f.reservoir_id is None else f.reservoir_id, []).append(f)
    parts = []
    for rid, group in sorted(by_res.items()):
        fallback = "shared" if rid < 0 else f"r{rid}"
        name = next((f.reservoir for f in reversed(group) if f.reservoir), "") or fallback
        parts.append(f"{name}: " + ", ".join(f"v{f.version}" for f in group))
    noun = "folder" if len(folders) == 1 else "folders"
    return f"{len(folders)} saved model version {noun} ({'; '.join(parts)})"


def damaged_text(db_path: Path, state: str, folders: list[VersionFolder]) -> str:
    """Why a missing, empty or unreadable database beside saved versions is refused, and how to recover."""
    return (
        f"The workspace database {db_path} {state}, but {db_path.parent} still holds "
        f"{describe_folders(folders)}; it is not started afresh, so nothing is lost. {RECOVER} "
        f"To start a new workspace on purpose, move the folder {db_path.parent / 'models'} away first."
    )


def failure_kind(exc: BaseException) -> str | None:
    """Which failure a sqlite3 or OS error is: full, corrupt, notadb, readonly, shm, cantopen, ioerr, busy."""
    if isinstance(exc, OSError):
        if exc.errno == errno.EFBIG:
            return "fsize"
        return "full" if exc.errno in _FULL_ERRNOS else None
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, sqlite3.IntegrityError):
        return None
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc).lower()
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return "full"
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return "corrupt"
    if name == "SQLITE_NOTADB" or "not a database" in text:
        return "notadb"
    if name.startswith(("SQLITE_READONLY_CANTINIT", "SQLITE_READONLY_RECOVERY", "SQLITE_IOERR_SHM")):
        return "shm"
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return "readonly"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open database" in text:
        return "cantopen"
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in text:
        return "ioerr"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text:
        return "busy"
    return None


def disk_cause(kind: str, db_path: Path) -> str:
    """An I/O, -shm or open failure is often a full disk or a file-size limit: look, and name the real cause."""
    if kind not in ("ioerr", "shm", "cantopen"):
        return kind
    try:
        if shutil.disk_usage(db_path.parent).free < LOW_SPACE_BYTES:
            return "full"
    except OSError:
        pass
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0] if resource is not None else -1
    if limit != getattr(resource, "RLIM_INFINITY", -1) and limit >= 0:
        sizes = [size_now(Path(f"{db_path}{s}")) for s in ("", "-wal")]
        if max(sizes) + FSIZE_MARGIN_BYTES >= limit:
            return "fsize"
    return kind


def failure_text(kind: str, db_path: Path, detail: str, busy_s: float, folders: list[VersionFolder]) -> str:
    """The operator's message for one failure kind (see failure_kind); names the file and what to do."""
    root = db_path.parent
    held = f" The folder holds {describe_folders(folders)}." if folders else ""
    texts = {
        "full": f"The disk holding the workspace {root} is full ({detail}): the change was not saved and nothing "
        "already stored was lost. Free some space (or move the workspace to a larger disk) and try again.",
        "corrupt": f"The workspace database {db_path} is damaged ({detail}); nothing was changed.{held} {RECOVER}",
        "notadb": f"{db_path} is not a usable Reservoir Sentinel database ({detail}); choose another workspace "
        f"folder.{held}" + (f" {RECOVER}" if folders else ""),
        "fsize": f"This process may not write files larger than its file-size limit (ulimit -f) and "
        f"{db_path} has reached it ({detail}): the change was not saved and nothing already stored was lost. "
        "Raise the limit (ulimit -f unlimited) and try again.",
        "readonly": f"The workspace database {db_path} cannot be written ({detail}): the file or its folder is "
        "read-only. Make the folder and sentinel.db (with its -wal and -shm files) writable for this user, or "
        "copy the workspace to a writable folder.",
        "shm": f"The shared-memory file {db_path}-shm is stale or not writable ({detail}), left by another user "
        "or a crash. Close every program using the workspace; if the error stays, move sentinel.db-shm (only "
        "that file, never sentinel.db-wal) out of the folder and try again.",
        "cantopen": f"Cannot open or create the workspace database {db_path} ({detail}). Check that the folder "
        "exists, is writable for this user and is on a local disk.",
        "ioerr": f"The disk failed while reading or writing {db_path} ({detail}); nothing was changed. Check the "
        "disk (or network share) and try again; if it keeps failing, restore from a backup.",
        "busy": f"The workspace database {db_path} stayed busy for {busy_s:.0f} s (another process is writing); "
        "try again in a moment.",
    }
    return texts[kind]


def folder_problem(root: Path, db_path: Path) -> str | None:
    """A reason the workspace cannot be written at all (read-only folder, database or -wal/-shm), else None."""
    if not os.access(root, os.W_OK | os.X_OK):
        return (
            f"The workspace folder {root} is read-only for this user, so sentinel.db and its -wal/-shm files "
            "cannot be created or written. Make the folder writable, or copy the workspace to a writable folder."
        )
    if db_path.exists() and not os.access(db_path, os.R_OK | os.W_OK):
        return (
            f"The workspace database {db_path} is read-only for this user. Make it writable (with its -wal and "
            "-shm files), or copy the workspace to a writable folder."
        )
    for suffix in ("-wal", "-shm"):
        side = Path(f"{db_path}{suffix}")
        if side.exists() and not os.access(side, os.R_OK | os.W_OK):
            extra = "" if suffix == "-wal" else " If no program uses the workspace, moving that -shm file away is safe."
            return (
                f"The file {side} is stale or not writable for this user (left by another user or a crash), so "
                "the database cannot be opened safely. Close every program using the workspace and make it "
                f"writable.{extra}"
            )
    return None
