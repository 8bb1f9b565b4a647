"""Who is using a workspace right now, so a restore (or repair) never swaps the files under a writer.

One OS lock file, ``<workspace>/.workspace.lock``, taken two ways:

* **shared** by every user: each database transaction for its moment (core.store.sqlite.database: an import's merge
  is one), and every writer that runs longer than one transaction for its whole run (a training, the daily cycle
  with its inbox imports, a background job, a backup), which also leaves a note in ``.in-use/`` saying who (pid,
  since, what) for the refusal text;
* **exclusive** by restore and repair, taken without waiting for long: when a writer holds the shared lock the
  restore is refused, naming the writers. While a restore holds it, a transaction waits (up to the database's busy
  time) and a long writer is refused ("being restored"), so nobody writes into files about to be replaced.

The OS drops the lock when its holder ends, however it ends (kill -9 included); a note whose process is gone is
ignored and removed. A leaf of core.store (``flock`` on POSIX, ``msvcrt`` byte locks on Windows): the training lock
(core.store.locks) uses its primitives too.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

try:  # POSIX
    import fcntl
except ImportError:  # Windows: msvcrt byte-range locks instead (shared = exclusive there)
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".workspace.lock"
NOTES_DIR = ".in-use"
EXCLUSIVE_TRIES_S = 3.0  # restore retries this long: a transaction holds the shared lock only for a moment
POLL_S = 0.05
_STILL_ACTIVE = 259  # Windows exit code of a process that has not ended


class InUse(ValueError):
    """The workspace is in use (a restore is refused) or being restored (a writer is refused); says by whom."""


def try_flock(fh: IO[str], shared: bool = False) -> bool:
    """Take the OS lock on an open file without waiting; False when it conflicts with another holder."""
    try:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            import msvcrt

            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
    except (BlockingIOError, PermissionError, OSError):
        return False
    return True


def unflock(fh: IO[str]) -> None:
    """Release the OS lock (closing the file would too; this makes it explicit)."""
    try:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        else:  # pragma: no cover - Windows
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
    except OSError:
        pass


def pid_alive(pid: int | None) -> bool:
    """True while a process with this pid exists and is not a zombie (a finished child nobody reaped)."""
    if pid is None or pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, OSError):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _windows_pid_alive(pid: int) -> bool:
    """Ask Windows for the process's exit code: STILL_ACTIVE means it runs."""
    import ctypes  # Windows only

    handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    code = ctypes.c_ulong()
    ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
    ctypes.windll.kernel32.CloseHandle(handle)
    return code.value == _STILL_ACTIVE


def _open(root: Path, reading: bool = False) -> IO[str] | None:
    """The workspace's lock file, opened (created when missing). A reader on storage that cannot be written opens
    it read-only (flock works on that too), or goes without when it is not there: no restore runs on such storage."""
    path = Path(root) / LOCK_FILE
    try:
        return open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    except OSError:
        if not reading:
            raise
    try:
        return open(path, encoding="utf-8")  # noqa: SIM115 - closed by the caller
    except OSError:
        return None


def holders(root: Path) -> list[str]:
    """'what (pid N since T)' for every live note of a long writer (stale notes are removed on the way)."""
    out = []
    folder = Path(root) / NOTES_DIR
    try:
        notes = sorted(folder.iterdir())
    except OSError:
        return out
    for note in notes:
        try:
            pid_text, since, what = note.read_text(encoding="utf-8").split(" ", 2)
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if pid_alive(pid):
            out.append(f"{what.strip()} (pid {pid} since {since})")
        else:
            note.unlink(missing_ok=True)
    return out


@contextlib.contextmanager
def _note(root: Path, what: str) -> Iterator[None]:
    """A note saying who holds the lock for a long run, removed at the end (a killed run's note is stale)."""
    folder = Path(root) / NOTES_DIR
    folder.mkdir(exist_ok=True)
    note = folder / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    note.write_text(f"{os.getpid()} {stamp} {what}", encoding="utf-8")
    try:
        yield
    finally:
        note.unlink(missing_ok=True)


@contextlib.contextmanager
def shared(root: Path, what: str | None = None, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the shared lock for the block: a transaction (what=None, waits up to wait_s) or a long writer named by
    `what` (refused at once while a restore holds the lock)."""
    fh = _open(root, reading=what is None)
    if fh is None:  # a reader on read-only storage without a lock file
        yield
        return
    try:
        end = time.monotonic() + wait_s
        while not try_flock(fh, shared=True):
            if time.monotonic() >= end:
                busy = ", ".join(holders(root)) or "another process"
                raise InUse(
                    f"The workspace {root} is being restored or repaired ({busy}); try again when that has finished."
                )
            time.sleep(POLL_S)
        if what is None:
            yield
        else:
            with _note(root, what):
                yield
    finally:
        unflock(fh)
        fh.close()


@contextlib.contextmanager
def exclusive(root: Path, what: str, tries_s: float = EXCLUSIVE_TRIES_S) -> Iterator[None]:
    """Hold the exclusive lock for the block (restore, repair), or refuse naming who uses the workspace."""
    fh = _open(root)
    assert fh is not None  # a writer's open raises instead
    try:
        end = time.monotonic() + tries_s
        while not try_flock(fh):
            users = holders(root)
            if users or time.monotonic() >= end:  # a long writer is refused at once; transactions are waited out
                who = ", ".join(users) if users else "another process (the dashboard, or a command now running)"
                raise InUse(
                    f"The workspace {root} is in use: {who}. Wait for it to finish or stop it (the dashboard's Train "
                    f"page stops a training; end a command-line run), then {what} again."
                )
            time.sleep(POLL_S)
        with _note(root, what):
            yield
    finally:
        unflock(fh)
        fh.close()
