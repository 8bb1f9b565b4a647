"""Putting a verified restore in place in steps a kill can interrupt anywhere, and finishing it at the next open.

Restore (core.store.backup) extracts and verifies the backup into a staging folder inside the workspace folder,
then ``swap_in`` writes a journal (``.restore-journal.json``: the staging folder and the moved-aside stamp) and
moves the files: the current ``models/`` aside (``models.replaced-<stamp>``), the staged ``models/`` in, the
current database with its -wal/-shm aside, the staged database in, then the journal and the staging folder go.
Each step reads what is left in the staging folder, so the same function finishes a swap from wherever a kill
stopped it: every workspace open calls ``finish_interrupted`` first, which completes the restore (the staged copy
was verified before the journal was written) or, when the staged copy is gone, moves the set-aside files back.
Never a silent empty workspace, nothing deleted but the journal and the emptied staging folder.

A leaf of core.store (no store imports; the file names come from the caller).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

JOURNAL = ".restore-journal.json"


def _step(name: str) -> None:
    """A point a kill may hit; does nothing (tests replace it to kill the process there)."""


def set_aside(path: Path, label: str) -> str | None:
    """Move one existing file or folder to <name>.<label> (never over another: -2, -3... appended); its new path.

    The one way the store moves something aside instead of deleting it: a restore's replaced files
    (``replaced-<stamp>``), a damaged database repair rebuilds (``damaged-<stamp>``)."""
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.{label}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{label}-{n}")
    path.rename(target)
    return str(target)


def set_aside_database(root: Path, db_name: str, label: str) -> list[str]:
    """The database and its -wal/-shm set aside together (set_aside each); the new paths."""
    return [p for name in (db_name, f"{db_name}-wal", f"{db_name}-shm") if (p := set_aside(root / name, label))]


def _aside(path: Path, stamp: str) -> str | None:
    """Move one existing file or folder aside as replaced by the restore of `stamp`."""
    return set_aside(path, f"replaced-{stamp}")


def _write_journal(root: Path, staging: Path, stamp: str) -> None:
    """The journal, written atomically and flushed before the first move."""
    tmp = root / f"{JOURNAL}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"staging": staging.name, "stamp": stamp}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / JOURNAL)


def _finish(root: Path, staging: Path, stamp: str, db_name: str, models_name: str) -> list[str]:
    """Move what the staging folder still holds into place (the current files aside first); the moved-aside paths."""
    moved: list[str] = []
    staged_models, current_models = staging / models_name, root / models_name
    if staged_models.exists():
        if current_models.is_dir() and not any(current_models.iterdir()):
            current_models.rmdir()  # an empty folder (made by an open in between) holds nothing to keep
        moved += filter(None, [_aside(current_models, stamp)])
        _step("models aside")
        staged_models.rename(current_models)
        _step("models in place")
    if (staging / db_name).exists():
        for name in (db_name, f"{db_name}-wal", f"{db_name}-shm"):
            moved += filter(None, [_aside(root / name, stamp)])
            _step(f"{name} aside")
        os.replace(staging / db_name, root / db_name)
        _step("database in place")
    return moved


def swap_in(root: Path, staging: Path, stamp: str, db_name: str, models_name: str) -> tuple[str, ...]:
    """Put a verified staging folder's database and models/ in place (see the module docstring); the set-aside paths."""
    (staging / models_name).mkdir(exist_ok=True)
    _write_journal(root, staging, stamp)
    _step("journal written")
    moved = _finish(root, staging, stamp, db_name, models_name)
    (root / JOURNAL).unlink()
    _step("journal removed")
    shutil.rmtree(staging, ignore_errors=True)
    return tuple(moved)


def _roll_back(root: Path, stamp: str, db_name: str, models_name: str) -> list[str]:
    """The staged copy is gone: bring the set-aside files back (what replaced them is set aside in turn)."""
    back = []
    for name in (models_name, db_name, f"{db_name}-wal", f"{db_name}-shm"):
        aside = root / f"{name}.replaced-{stamp}"
        if aside.exists():
            _aside(root / name, f"{stamp}-partial")
            aside.rename(root / name)
            back.append(name)
    return back


def finish_interrupted(root: Path, db_name: str, models_name: str) -> str | None:
    """Complete (or roll back) a restore a kill interrupted; what was done in words, or None when none was."""
    journal = Path(root) / JOURNAL
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        staging, stamp = Path(root) / str(data["staging"]), str(data["stamp"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        why = f"the restore journal {journal} cannot be read ({exc}); move it away to open the workspace"
        raise OSError(why) from exc
    if staging.is_dir():
        _finish(Path(root), staging, stamp, db_name, models_name)
        done = f"finished the restore interrupted at {stamp} (what it replaced is kept as *.replaced-{stamp})"
    else:
        back = _roll_back(Path(root), stamp, db_name, models_name)
        done = f"rolled back the restore interrupted at {stamp}: {', '.join(back) or 'nothing'} put back"
    journal.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    return done
