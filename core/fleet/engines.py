"""Where the per-reservoir tasks run: in-process (serial), in spawned local processes (local), or as Ray tasks (ray).

Every engine runs the same pure task function and calls `on_result` in the driver as each result arrives (the
driver writes the workspace; engines never do). Rules shared by local and ray:

* one task per worker process (Ray `max_calls=1`; local: a fresh spawned process per task), because repeated
  Keras fits in one process leak memory, and a fresh process lets each task cap TensorFlow's threads before TF
  starts;
* processes are spawned, never forked: the driver keeps TensorFlow out of its own process before workers start;
* a worker that dies (killed, out of memory, os._exit) is retried up to `max_retries` times; a task that keeps
  dying becomes a "failed" result with the reason. A dead worker returns nothing, so nothing of it is adopted.

`serial` runs in the driver's process (tests, debugging): no isolation, no retries.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import connection, get_context
from pathlib import Path
from typing import Any

from core.fleet.modes import ENGINES
from core.fleet.tasks import TaskResult, TaskSpec, run_task

MAX_RETRIES = 2
RAY_OBJECT_STORE_BYTES = 256 * 1024 * 1024  # a local instance's object store: archives are small
RAY_IN_FLIGHT_PER_CPU = 2  # tasks submitted ahead per cluster CPU (bounds the driver's and the store's memory)

Task = Callable[[TaskSpec], TaskResult]
OnResult = Callable[[TaskResult], None]


class EngineError(ValueError):
    """An engine cannot start (Ray missing or its cluster unreachable); the message says what to do."""


@dataclass(frozen=True)
class EngineSettings:
    """Which engine and how wide: workers (local processes / local Ray CPUs), Ray address, retries, CPUs per task."""

    name: str = "local"
    workers: int | None = None  # default: the machine's CPU count
    ray_address: str | None = None  # None: $RAY_ADDRESS, else a new local instance
    max_retries: int = MAX_RETRIES
    cpus_per_task: int = 1

    def width(self) -> int:
        """How many tasks run at once on this machine."""
        return max(1, int(self.workers or os.cpu_count() or 1))


def failed(spec: TaskSpec, error: str) -> TaskResult:
    """The result of a task that never returned (its worker died every time)."""
    return TaskResult(reservoir=spec.reservoir, status="failed", error=error, reason=spec.reason, seconds=0.0)


def run_tasks(specs: Iterable[TaskSpec], settings: EngineSettings, on_result: OnResult, task: Task = run_task) -> None:
    """Run every spec on the chosen engine, handing each result to `on_result` as it arrives."""
    if settings.name not in ENGINES:
        raise EngineError(f"--engine must be one of {', '.join(ENGINES)}, not '{settings.name}'.")
    runner = {"serial": _serial, "local": _local, "ray": _ray}[settings.name]
    runner(iter(specs), settings, on_result, task)


def _serial(specs: Iterator[TaskSpec], settings: EngineSettings, on_result: OnResult, task: Task) -> None:
    """In the driver's own process, one after another (the drill is ignored: it would kill the driver)."""
    from dataclasses import replace

    for spec in specs:
        on_result(task(replace(spec, drill=None, threads=settings.cpus_per_task)))


# ---------------------------------------------------------------- local processes


def _child(task: Task, spec: TaskSpec, out: str) -> None:
    """Body of a spawned worker: run the task, write the pickled result atomically (a dead worker writes none)."""
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


def _local(specs: Iterator[TaskSpec], settings: EngineSettings, on_result: OnResult, task: Task) -> None:
    """A fresh spawned process per task, `width()` at a time; a process that dies is started again."""
    from dataclasses import replace

    ctx = get_context("spawn")
    retry: deque[tuple[TaskSpec, int]] = deque()
    running: dict[int, _Running] = {}
    with tempfile.TemporaryDirectory(prefix="sentinel-cycle-") as tmp:
        counter = 0
        try:
            while True:
                while len(running) < settings.width():
                    nxt = retry.popleft() if retry else _next(specs)
                    if nxt is None:
                        break
                    spec, attempt = nxt
                    counter += 1
                    out = Path(tmp) / f"result-{counter}.pickle"
                    spec = replace(spec, threads=settings.cpus_per_task)
                    # not daemonic: a member may start its own pool (random_forest uses n_jobs=-1)
                    proc = ctx.Process(target=_child, args=(task, spec, str(out)))
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
                job.process.kill()
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


# ---------------------------------------------------------------- ray


def _ray(specs: Iterator[TaskSpec], settings: EngineSettings, on_result: OnResult, task: Task) -> None:
    """Ray core tasks (one per worker process, retried when the worker dies); starts or joins a cluster."""
    ray = _ray_module()
    started = _ray_start(ray, settings)
    try:
        remote = ray.remote(max_calls=1, max_retries=settings.max_retries, num_cpus=settings.cpus_per_task)(task)
        limit = max(1, int(ray.cluster_resources().get("CPU", 1)) * RAY_IN_FLIGHT_PER_CPU)
        pending: dict[Any, TaskSpec] = {}
        for spec in specs:
            spec = _with_threads(spec, settings.cpus_per_task)
            pending[remote.remote(spec)] = spec
            while len(pending) >= limit:
                _ray_collect(ray, pending, on_result, settings)
        while pending:
            _ray_collect(ray, pending, on_result, settings)
    finally:
        if started:
            ray.shutdown()


def _with_threads(spec: TaskSpec, threads: int) -> TaskSpec:
    """The spec with the task's CPU count (TensorFlow's intra-op threads)."""
    from dataclasses import replace

    return replace(spec, threads=threads)


def _ray_module() -> Any:
    """Ray, imported only for --engine ray (heavy: about a second and many threads)."""
    try:
        import ray
    except ImportError as exc:
        raise EngineError(
            "--engine ray needs the 'ray' package: pip install 'ray>=2.9' (make run installs it)."
        ) from exc
    return ray


def _ray_start(ray: Any, settings: EngineSettings) -> bool:
    """Join --ray-address / $RAY_ADDRESS, or start a private local instance; True when this call started it."""
    if ray.is_initialized():
        return False
    address = settings.ray_address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(
                address="local",
                num_cpus=settings.width(),
                include_dashboard=False,
                log_to_driver=False,
                object_store_memory=RAY_OBJECT_STORE_BYTES,
                _temp_dir=tempfile.mkdtemp(prefix="ray-", dir="/tmp"),
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise EngineError(f"Could not start or join {where}: {exc}. Check the address, or use --engine local.") from exc
    return True


def _ray_collect(ray: Any, pending: dict[Any, TaskSpec], on_result: OnResult, settings: EngineSettings) -> None:
    """Wait for one task to finish and hand over its result (or a failure in words when its worker kept dying)."""
    done, _ = ray.wait(list(pending), num_returns=1)
    for ref in done:
        spec = pending.pop(ref)
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as exc:
            attempts = settings.max_retries + 1
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            result = failed(spec, f"the Ray task failed after {attempts} attempts ({type(exc).__name__}: {first})")
        on_result(result)
