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

pytestmark = pytest.mark.slow  # worker processes and Ray instances, killed on purpose

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
from core.cli.main import main
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


# ---------------------------------------------------------------- ray (item 7)


def _ray_available() -> None:
    """Skip when Ray is not installed (make test installs it)."""
    pytest.importorskip("ray", reason="ray is not installed (make test installs it)")


def test_ray_lines_never_reach_stdout_and_its_temp_folder_goes(tmp_path: Path) -> None:
    """A Ray worker killed after its work (the crash drill) is retried; Ray's '(raylet) A worker died ...' lines
    go to the run's log, so `cycle --json` prints JSON only; Ray's temp folder lives and dies with the run."""
    from tests.test_cycle import add_reservoir, sample_frame

    _ray_available()
    ws = Workspace(tmp_path / "ws")
    add_reservoir(ws, "Alpha", sample_frame(), tmp_path)
    env = {**ENV, "SENTINEL_CYCLE_CRASH_DRILL": f"{tmp_path / 'drill'}:1"}
    args = ["--workspace", str(ws.root), "cycle", "--engine", "ray", "--workers", "2", "--retrain", "all", "--json"]
    done = subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, env=env, capture_output=True, text=True)
    data = json.loads(done.stdout)  # nothing but the JSON on stdout
    (row,) = data["reservoirs"]
    assert done.returncode == 0 and row["status"] == "ok" and row["retrained"], done.stderr[-2000:]
    assert (tmp_path / "drill").exists()  # the worker really died once
    assert (ws.root / "logs" / "cycle-1.log").exists()
    assert not list(Path("/tmp").glob(f"{SCRATCH_PREFIX}{os.getpid()}-*"))


def _our_agent() -> int | None:
    """The pid of the DashboardAgent of the Ray instance this process's run started (found by its temp folder)."""
    mine = f"{SCRATCH_PREFIX}{os.getpid()}-"
    raylets, agents = set(), []
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = stat.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((stat.parent / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "raylet/raylet" in args and mine in args:
            raylets.add(int(stat.parent.name))
        elif args.startswith("ray::DashboardAgent"):
            agents.append((int(stat.parent.name), ppid))
    return next((pid for pid, ppid in agents if ppid in raylets), None)


def test_a_ray_agent_that_dies_costs_a_retry_not_the_driver(tmp_path: Path, monkeypatch) -> None:
    """Killing the node's DashboardAgent (the raylet goes with it) while tasks run: the driver keeps going, the
    lost tasks run again on a fresh instance and every spec gets its result."""
    _ray_available()
    import ray

    if ray.is_initialized():
        ray.shutdown()
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # Ray's workers import tests.fleet_support
    marks = tmp_path / "pids"
    results = []
    from tests.fleet_support import slow_task

    def kill_agent_once() -> None:
        assert wait_for(lambda: len(pids_in(marks)) >= 2, 120), "the Ray tasks did not start"
        agent = _our_agent()
        assert agent is not None, "no DashboardAgent of this run's Ray instance"
        os.kill(agent, signal.SIGKILL)

    import threading

    killer = threading.Thread(target=kill_agent_once)
    killer.start()
    run_tasks(slow_specs(marks, 2, sleep=8), EngineSettings("ray", workers=2), results.append, task=slow_task)
    killer.join()
    assert sorted(r.reservoir for r in results) == ["R0", "R1"]
    assert all(r.status == "ok" for r in results), results
    assert len(pids_in(marks)) >= 3  # at least one task ran again after its node was lost
