"""Where the per-reservoir tasks run: in-process (serial), in spawned local processes (local), or as Ray tasks (ray).

Every engine runs the same pure task function and calls `on_result` in the driver as each result arrives (the
driver writes the workspace; engines never do). Rules shared by local and ray:

* one task per worker process (Ray `max_calls=1`; local: a fresh spawned process per task), because repeated
  Keras fits in one process leak memory, and a fresh process lets each task cap TensorFlow's threads before TF
  starts;
* processes are spawned, never forked: the driver keeps TensorFlow out of its own process before workers start;
* a worker that dies (killed, out of memory, os._exit) is retried up to `max_retries` times; a task that keeps
  dying becomes a "failed" result with the reason. A dead worker returns nothing, so nothing of it is adopted;
* workers die with the driver, write to the run's log and keep temp files in its scratch folder
  (core.fleet.workers); Ray itself runs in a child process of the driver (core.fleet.raydriver), so a Ray node,
  agent or raylet dying can only fail (and retry) reservoirs, never the driver or its stdout.

`serial` runs in the driver's process (tests, debugging): no isolation, no retries.
"""

from __future__ import annotations

import os
import pickle
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import connection, get_context
from pathlib import Path
from typing import Any

from core.fleet.modes import ENGINES
from core.fleet.raydriver import RAY_OBJECT_STORE_BYTES, run_ray
from core.fleet.runs import EngineError, EngineSettings, OnResult, Run, Task, failed
from core.fleet.tasks import TaskSpec, run_task
from core.fleet.workers import die_with_parent, kill_group, scratch, to_log, use_scratch

__all__ = ["RAY_OBJECT_STORE_BYTES", "EngineError", "EngineSettings", "Run", "failed", "run_tasks"]


def run_tasks(
    specs: Iterable[TaskSpec],
    settings: EngineSettings,
    on_result: OnResult,
    task: Task = run_task,
    log: Path | None = None,
) -> None:
    """Run every spec on the chosen engine, handing each result to `on_result` as it arrives; workers' output goes
    to `log` (when given)."""
    if settings.name not in ENGINES:
        raise EngineError(f"--engine must be one of {', '.join(ENGINES)}, not '{settings.name}'.")
    if settings.name == "serial":
        _serial(iter(specs), settings, on_result, task)
        return
    with scratch() as folder:
        runner = _local if settings.name == "local" else run_ray
        runner(iter(specs), settings, on_result, task, Run(folder, log))


def _serial(specs: Iterator[TaskSpec], settings: EngineSettings, on_result: OnResult, task: Task) -> None:
    """In the driver's own process, one after another (the drill is ignored: it would kill the driver)."""
    from dataclasses import replace

    for spec in specs:
        on_result(task(replace(spec, drill=None, threads=settings.cpus_per_task)))


# ---------------------------------------------------------------- local processes


def _child(task: Task, spec: TaskSpec, out: str, parent: int, run: Run) -> None:
    """Body of a spawned worker: tie it to the driver, run the task, write the pickled result atomically (a dead
    worker writes none)."""
    die_with_parent(parent)
    to_log(run.log)
    use_scratch(run.scratch)
    result = task(spec)
    tmp = f"{out}.part"
    with open(tmp, "wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, out)


@dataclass
class _Running:
    """A spawned worker at work: its process, spec, attempt number and result file."""

    process: Any
    spec: TaskSpec
    attempt: int
    out: Path


def _local(specs: Iterator[TaskSpec], settings: EngineSettings, on_result: OnResult, task: Task, run: Run) -> None:
    """A fresh spawned process per task, `width()` at a time; a process that dies is started again; whatever ends
    the driver's loop (the end, an error, SIGTERM) kills the workers still at work, each with its process group."""
    from dataclasses import replace

    ctx = get_context("spawn")
    retry: deque[tuple[TaskSpec, int]] = deque()
    running: dict[int, _Running] = {}
    counter = 0
    try:
        while True:
            while len(running) < settings.width():
                nxt = retry.popleft() if retry else _next(specs)
                if nxt is None:
                    break
                spec, attempt = nxt
                counter += 1
                out = run.scratch / f"result-{counter}.pickle"
                spec = replace(spec, threads=settings.cpus_per_task)
                # not daemonic: a member may start its own pool (random_forest uses n_jobs=-1)
                proc = ctx.Process(target=_child, args=(task, spec, str(out), os.getpid(), run))
                proc.start()
                running[proc.sentinel] = _Running(proc, spec, attempt, out)
            if not running:
                return
            for sentinel in connection.wait(list(running)):
                job = running.pop(sentinel)  # type: ignore[arg-type]
                job.process.join()
                _local_done(job, settings, on_result, retry)
    finally:
        for job in running.values():
            kill_group(job.process.pid)
            job.process.join()


def _next(specs: Iterator[TaskSpec]) -> tuple[TaskSpec, int] | None:
    """The next new spec (first attempt), or None when all were started."""
    spec = next(specs, None)
    return None if spec is None else (spec, 1)


def _local_done(job: _Running, settings: EngineSettings, on_result: OnResult, retry: deque) -> None:
    """Hand over a finished worker's result, or retry / fail a worker that died without one."""
    if job.out.exists():
        with open(job.out, "rb") as fh:
            result = pickle.load(fh)  # noqa: S301 - written by our own child process a moment ago
        job.out.unlink()
        on_result(result)
        return
    code = job.process.exitcode
    if job.attempt <= settings.max_retries:
        retry.append((job.spec, job.attempt + 1))
        return
    on_result(failed(job.spec, f"the worker process died (exit code {code}) on all {job.attempt} attempts"))
