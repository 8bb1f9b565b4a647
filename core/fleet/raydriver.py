"""The ray engine: Ray core tasks, driven from a child process of the cycle's driver, never from the driver itself.

Ray's own processes print to their driver's stdout (the "(raylet) A worker died ..." lines, even with
log_to_driver off), and when a node's raylet or agent dies its driver can no longer submit anything. So the cycle's
driver (the only writer of the workspace) starts a child process that joins or starts Ray and runs the tasks; the
child's stdout and stderr go to the run's log, its Ray temp folder into the run's scratch folder (both
core.fleet.workers), and it dies with the driver. Specs go to the child and results come back over a pipe, a few
per CPU in flight.

When the child dies, or reports that its node died (LocalRayletDiedError, NodeDiedError, RaySystemError), the
tasks it had are started again in a fresh child (a fresh local Ray instance, or the cluster again), each up to
`max_retries` times; one that keeps losing its node, or a run whose children keep dying, becomes failed
reservoirs with the reason, retried by the next cycle. A task whose worker dies is retried by Ray itself
(`max_retries`, one task per worker process); one that keeps dying is a failed reservoir, as before.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from multiprocessing import connection, get_context
from pathlib import Path
from typing import Any

from core.fleet.runs import EngineError, EngineSettings, OnResult, Run, Task, failed
from core.fleet.tasks import TaskResult, TaskSpec
from core.fleet.workers import die_with_parent, kill_group, ray_temp, to_log

RAY_OBJECT_STORE_BYTES = 256 * 1024 * 1024  # a local instance's object store: archives are small
RAY_IN_FLIGHT_PER_CPU = 2  # tasks submitted ahead per cluster CPU (bounds the driver's and the store's memory)
NODE_LOST = ("LocalRayletDiedError", "NodeDiedError", "RaySystemError")  # the instance is gone, not the task
STOP_WAIT_S = 20.0


class _ChildLost(Exception):
    """The child (or its Ray node) is gone; the reason in words."""


# ---------------------------------------------------------------- the child process


def _ray_module() -> Any:
    """Ray, imported only for --engine ray (heavy: about a second and many threads)."""
    try:
        import ray
    except ImportError as exc:
        raise EngineError(
            "--engine ray needs the 'ray' package: pip install 'ray>=2.9' (make run installs it)."
        ) from exc
    return ray


def _ray_start(ray: Any, settings: EngineSettings, address: str | None, temp: Path) -> None:
    """Join `address`, or start a private local instance with its temp folder in the run's scratch folder."""
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
                _temp_dir=str(temp),
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise EngineError(f"Could not start or join {where}: {exc}. Check the address, or use --engine local.") from exc


def _child_main(pipe: Any, settings: EngineSettings, task: Task, run: Run, address: str | None, parent: int) -> None:
    """Body of the child: start or join Ray, then run what the driver sends until it says 'end'."""
    die_with_parent(parent)
    to_log(run.log)
    try:
        ray = _ray_module()
        _ray_start(ray, settings, address, ray_temp(run.scratch))
    except EngineError as exc:
        pipe.send(("error", str(exc)))
        return
    try:
        cpus = largest_node_cpus(ray.nodes()) if settings.whole_node else settings.cpus_per_task
        remote = ray.remote(max_calls=1, max_retries=settings.max_retries, num_cpus=cpus)(task)
        pipe.send(("ready", max(1, int(ray.cluster_resources().get("CPU", 1)) * RAY_IN_FLIGHT_PER_CPU), cpus))
        _child_loop(ray, remote, pipe, settings)
    finally:
        ray.shutdown()


def largest_node_cpus(nodes: list[dict[str, Any]]) -> int:
    """The CPUs of the largest live node (`ray.nodes()` rows): a whole-node task fits there and nowhere bigger."""
    return max([int(n.get("Resources", {}).get("CPU", 0)) for n in nodes if n.get("Alive")] + [1])


def _child_loop(ray: Any, remote: Any, pipe: Any, settings: EngineSettings) -> None:
    """Submit what arrives, send back what finishes; stop at 'end' once nothing is pending, or when the node died."""
    pending: dict[Any, tuple[int, TaskSpec]] = {}
    ended = False
    while not (ended and not pending):
        while pipe.poll(0 if pending or ended else None):
            message = pipe.recv()
            if message[0] == "end":
                ended = True
                break
            _, key, spec = message
            pending[remote.remote(spec)] = (key, spec)
        if not pending:
            continue
        done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
        for ref in done:
            key, spec = pending.pop(ref)
            try:
                pipe.send(("result", key, ray.get(ref)))
            except ray.exceptions.RayError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                why = f"{type(exc).__name__}: {first}"
                if type(exc).__name__ in NODE_LOST:
                    pipe.send(("lost", key, why))
                    return  # this instance is gone: the driver starts a fresh one for the rest
                attempts = settings.max_retries + 1
                pipe.send(("result", key, failed(spec, f"the Ray task failed after {attempts} attempts ({why})")))


# ---------------------------------------------------------------- the driver's side


def _address(settings: EngineSettings) -> str | None:
    """--ray-address, $RAY_ADDRESS, or the instance this process already runs (tests), else None: a new one."""
    address = settings.ray_address or os.environ.get("RAY_ADDRESS") or None
    if address is None and "ray" in sys.modules:
        ray = sys.modules["ray"]
        if ray.is_initialized():
            address = ray.get_runtime_context().gcs_address
    return address


class _Child:
    """One child process driving Ray: the pipe to it, its process, what it has in flight."""

    def __init__(self, settings: EngineSettings, task: Task, run: Run, address: str | None) -> None:
        ctx = get_context("spawn")
        self.pipe, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_child_main, args=(theirs, settings, task, run, address, os.getpid()))
        self.process.start()
        theirs.close()
        self.in_flight: dict[int, tuple[TaskSpec, int]] = {}
        self.limit = 1

    def receive(self) -> tuple[Any, ...]:
        """The next message (what the child sent before ending included); _ChildLost when it ended without one."""
        ready = connection.wait([self.pipe, self.process.sentinel])
        if self.pipe in ready or self.pipe.poll(0):
            try:
                return self.pipe.recv()
            except (EOFError, OSError):
                pass
        self.process.join(STOP_WAIT_S)
        raise _ChildLost(f"the Ray driver process ended (exit code {self.process.exitcode})")

    def stop(self) -> None:
        """Say 'end' if it still listens, give it a moment to shut Ray down, then kill what is left."""
        with contextlib.suppress(OSError):  # it is gone already
            self.pipe.send(("end",))
        self.process.join(STOP_WAIT_S if not self.in_flight else 1.0)
        if self.process.is_alive():
            kill_group(self.process.pid)
            self.process.join()
        self.pipe.close()


def run_ray(specs: Iterator[TaskSpec], settings: EngineSettings, on_result: OnResult, task: Task, run: Run) -> None:
    """Every spec on Ray through child processes (see the module docstring); results handed over as they arrive."""
    waiting: deque[tuple[TaskSpec, int]] = deque()
    address = _address(settings)
    for _ in range(settings.max_retries + 1):
        child = _Child(settings, task, run, address)
        try:
            _drive(child, specs, waiting, on_result)
            return
        except _ChildLost as lost:
            _requeue(child, waiting, on_result, settings, str(lost))
        finally:
            child.stop()
    reason = "the Ray instance kept failing on every start; see the run's log"
    for spec, _ in waiting:
        on_result(failed(spec, reason))
    for spec in specs:
        on_result(failed(spec, reason))


def _requeue(child: _Child, waiting: deque, on_result: OnResult, settings: EngineSettings, why: str) -> None:
    """The child's tasks in flight go to the next child (up to max_retries more attempts), or fail with the reason."""
    for spec, attempt in child.in_flight.values():
        if attempt <= settings.max_retries:
            waiting.append((spec, attempt + 1))
        else:
            on_result(failed(spec, f"its Ray node was lost on all {attempt} attempts ({why})"))
    child.in_flight.clear()


def _drive(child: _Child, specs: Iterator[TaskSpec], waiting: deque, on_result: OnResult) -> None:
    """Feed the child a few specs per CPU, each with the CPUs Ray gives it; hand over each result; return when every
    spec has its result."""
    first = child.receive()
    if first[0] == "error":
        raise EngineError(first[1])
    child.limit, threads = int(first[1]), int(first[2])
    key = 0
    exhausted = False
    while True:
        while not exhausted and len(child.in_flight) < child.limit:
            nxt = waiting.popleft() if waiting else _fresh(specs)
            if nxt is None:
                exhausted = True
                break
            key += 1
            child.in_flight[key] = nxt
            child.pipe.send(("spec", key, replace(nxt[0], threads=threads)))
        if exhausted and not child.in_flight:
            return
        message = child.receive()
        if message[0] == "lost":
            raise _ChildLost(message[2])
        _, done_key, result = message
        child.in_flight.pop(done_key, None)
        on_result(_as_result(result))


def _fresh(specs: Iterator[TaskSpec]) -> tuple[TaskSpec, int] | None:
    """The next new spec (first attempt), or None when all were sent."""
    spec = next(specs, None)
    return None if spec is None else (spec, 1)


def _as_result(result: Any) -> TaskResult:
    """What the child sent back, checked."""
    if not isinstance(result, TaskResult):
        raise TypeError(f"the Ray driver process sent {type(result).__name__}, not a task result")
    return result
