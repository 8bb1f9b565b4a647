"""The cycle's engines under faults (issue 19, items 7 and 12): a killed driver leaves no worker running and no
scratch files once the next run starts; SIGTERM ends the run row as 'interrupted'; Ray's own lines never reach
stdout; a Ray node whose agent dies fails (and retries) reservoirs instead of the driver.

Workers run tests/fleet_support.slow_task (it notes its pid, then sleeps) so a test can kill things mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.fleet.engines import EngineSettings, run_tasks
from core.fleet.workers import SCRATCH_PREFIX, temp_root
from core.store.workspace import Workspace, pid_alive
from tests.fleet_support import slow_specs

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}

_DRIVER = """
import sys
from pathlib import Path
from core.fleet.engines import EngineSettings, run_tasks
from tests.fleet_support import slow_specs, slow_task
run_tasks(slow_specs(Path(sys.argv[1]), 2), EngineSettings("local", workers=2), lambda r: None, task=slow_task)
"""


def wait_for(check, seconds: float = 60.0) -> bool:  # noqa: ANN001 - a callable
    """Poll `check` until it is true or the time is up."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return False


def pids_in(folder: Path) -> list[int]:
    """The worker pids slow_task noted."""
    return [int(p.read_text()) for p in folder.glob("*-*")] if folder.exists() else []


def scratch_of(pid: int) -> list[Path]:
    """The scratch folders a driver with this pid made."""
    return list(temp_root().glob(f"{SCRATCH_PREFIX}{pid}-*"))


def test_a_killed_driver_takes_its_workers_and_leaves_no_scratch(tmp_path: Path) -> None:
    """kill -9 of the local engine's driver: its workers die at once (not when their task ends), and the next run's
    start removes the scratch folder it left."""
    marks = tmp_path / "pids"
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(marks)], cwd=REPO, env=ENV)
    try:
        assert wait_for(lambda: len(pids_in(marks)) == 2), "the workers did not start"
        workers = pids_in(marks)
        assert scratch_of(driver.pid)
    finally:
        driver.kill()
        driver.wait()
    assert wait_for(lambda: not any(pid_alive(p) for p in workers), 10), "workers outlived their driver"
    run_tasks([], EngineSettings("local", workers=1), lambda r: None)  # the next run starts
    assert scratch_of(driver.pid) == []


_CYCLE = """
import functools, sys
import core.fleet.cycle as cycle
from core.app.cli import main
from tests.fleet_support import slow_task
cycle.run_tasks = functools.partial(cycle.run_tasks, task=slow_task)
sys.exit(main(["--workspace", sys.argv[1], "cycle", "--engine", "local", "--workers", "2", "--retrain", "none"]))
"""


def test_sigterm_ends_the_run_as_interrupted_and_takes_the_workers(tmp_path: Path) -> None:
    """systemd stopping the cycle (SIGTERM): the run row says interrupted, the workers are gone, the exit is 130."""
    from tests.test_cycle import add_reservoir, sample_frame

    ws = Workspace(tmp_path / "ws")
    add_reservoir(ws, "Alpha", sample_frame(), tmp_path)
    add_reservoir(ws, "Beta", sample_frame(shift=1.0), tmp_path)
    marks = tmp_path / "pids"
    env = {**ENV, "SENTINEL_TEST_MARKS": str(marks)}
    driver = subprocess.Popen([sys.executable, "-c", _CYCLE, str(ws.root)], cwd=REPO, env=env)
    try:
        assert wait_for(lambda: len(pids_in(marks)) == 2), "the workers did not start"
        workers = pids_in(marks)
        driver.send_signal(signal.SIGTERM)
        assert driver.wait(timeout=60) == 130
    finally:
        if driver.poll() is None:
            driver.kill()
    assert wait_for(lambda: not any(pid_alive(p) for p in workers), 10), "workers outlived the cycle"
    run = ws.cycle_runs(1)[0]
    assert run.status == "interrupted" and "SIGTERM" in (run.message or ""), run
    assert scratch_of(driver.pid) == []  # removed on the way out
