"""One training at a time per reservoir: an OS file lock on ``models/r<id>/.train.lock``.

The rule (the same for every way a model gets trained): ``core.app.pipeline.train_reservoir`` holds this lock
for the whole fit + save, and every trainer goes through it: the CLI's ``train``/``retrain``/``compare``, the
dashboard's background jobs (``core.app.jobs``) and the daily cycle. The lock is taken without waiting; when
another process (or another thread of this one) holds it, the training is refused with a StoreError naming
the holder's pid and start time, so the operator can wait or stop it. The OS drops the lock when the holder
ends, however it ends (kill -9 included), so a crashed trainer never leaves the reservoir locked.

The lock file's content (``pid start-time``) is only a hint for the message; the lock itself is ``flock``
(``msvcrt.locking`` on Windows; the primitives are core.store.inuse's). Holding it also holds the workspace in use,
so a restore is refused while any training runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.store.common import now_utc
from core.store.errors import StoreError
from core.store.inuse import try_flock, unflock

LOCK_NAME = ".train.lock"



class TrainingLocked(StoreError):
    """Another training of the same reservoir holds its lock; the message says by whom and what to do."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a reservoir's training lock, as written into the lock file (a hint; may be blank)."""

    pid: int | None
    since: str

    def describe(self) -> str:
        """'by pid N since T', or a vaguer phrase when the file does not say."""
        if self.pid is None:
            return "by another process"
        return f"by pid {self.pid} since {self.since}" if self.since else f"by pid {self.pid}"


def refusal(reservoir: str, holder: LockHolder) -> TrainingLocked:
    """The one refusal text, for a training refused at its start or a job refused before its launch."""
    return TrainingLocked(
        f"Reservoir '{reservoir}' is already being trained ({holder.describe()}); wait for it to finish "
        "or stop it on the Train page (a command-line run: end that process)."
    )


def read_holder(path: Path) -> LockHolder:
    """What the lock file says about its holder (blank when unreadable or being rewritten)."""
    try:
        parts = path.read_text(encoding="utf-8").split()
    except OSError:
        parts = []
    pid = int(parts[0]) if parts and parts[0].isdigit() else None
    return LockHolder(pid, parts[1] if len(parts) > 1 else "")


def _open(path: Path) -> IO[str]:
    """Open (creating) the lock file without truncating it: the holder's note must survive a refused attempt."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise StoreError(
            f"Cannot create the training lock {path} ({exc.strerror or exc}); check that the workspace folder "
            "is writable."
        ) from exc


@contextmanager
def training_lock(folder: Path, reservoir: str) -> Iterator[None]:
    """Hold the reservoir's training lock (folder = models/r<id>) for the block, or refuse at once."""
    path = Path(folder) / LOCK_NAME
    fh = _open(path)
    try:
        if not try_flock(fh):
            raise refusal(reservoir, read_holder(path))
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} {now_utc()}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            unflock(fh)
    finally:
        fh.close()


def is_locked(folder: Path) -> LockHolder | None:
    """The holder when the reservoir's training lock is held right now, else None (takes and drops it)."""
    path = Path(folder) / LOCK_NAME
    if not path.exists():
        return None
    try:
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        return None
    try:
        if try_flock(fh):
            unflock(fh)
            return None
        return read_holder(path)
    finally:
        fh.close()
