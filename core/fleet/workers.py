"""How the cycle's worker processes are tied to the run: they die with it, write to its log, and keep their temp
files in its scratch folder, so a killed run leaves nothing running and nothing that piles up.

* **Scratch**: each run gets ``<tmp>/sentinel-cycle-<pid>-<random>`` (result files, the tasks' temp folders, Ray's
  temp folder, short enough for Ray's socket paths). It is removed at the end; one left by a killed run is
  removed at the next run's start (its process is gone), like a killed task's ``sentinel-task-<pid>-*`` folder.
* **Death with the driver**: a worker asks the kernel to kill it when its parent dies (Linux ``PR_SET_PDEATHSIG``),
  and leads its own process group, which the driver kills whole (the worker and anything it started) when it
  ends, whether it ends normally, by an error or by SIGTERM.
* **Output**: a worker's stdout and stderr (TensorFlow notes, Ray's "(raylet) ..." lines) go to the run's log
  file, never to the driver's stdout, which carries `cycle --json`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.store.leftovers import sweep, tagged

SCRATCH_PREFIX = "sentinel-cycle-"
TASK_PREFIX = "sentinel-task-"
RAY_PATH_LIMIT = 40  # Ray's temp folder + its session and socket names must fit a Unix socket path (107 bytes)
_PR_SET_PDEATHSIG = 1


def temp_root() -> Path:
    """Where runs keep scratch folders (the system's temp folder)."""
    return Path(tempfile.gettempdir())


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A fresh scratch folder for one run (what killed runs and tasks left is removed first), gone at the end."""
    sweep(temp_root(), (SCRATCH_PREFIX, TASK_PREFIX))
    folder = temp_root() / tagged(SCRATCH_PREFIX, 8)  # a short random part keeps Ray's socket paths short
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ray_temp(folder: Path) -> Path:
    """Ray's temp folder inside the run's scratch folder, or a short tagged one under /tmp when that path is long."""
    inside = folder / "r"
    if len(str(inside)) <= RAY_PATH_LIMIT:
        return inside
    return Path("/tmp") / tagged(SCRATCH_PREFIX, 8)  # swept like any run's scratch folder


def die_with_parent(parent: int) -> None:
    """In a worker: be killed when the driver dies (Linux), and lead a process group the driver can kill whole."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the driver died before the line above: do not run orphaned
        os._exit(1)


def to_log(log: Path | None) -> None:
    """In a worker: send stdout and stderr (file descriptors 1 and 2, so native libraries' output too) to the log."""
    if log is None:
        return
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for std in (1, 2):
        os.dup2(fd, std)
    os.close(fd)


def kill_group(pid: int) -> None:
    """Kill a worker and everything in its process group (it leads its own); quiet when it is gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        os.kill(pid, signal.SIGKILL)


def use_scratch(folder: Path | None) -> None:
    """In a worker: its temp files (the task's temp folder) go under the run's scratch folder."""
    if folder is not None:
        tempfile.tempdir = str(folder)
