"""What every engine shares: its settings, the run's scratch folder and log, and the result of a task that never
returned (core.fleet.engines runs the tasks; core.fleet.raydriver is the Ray engine)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.fleet.tasks import TaskResult, TaskSpec

MAX_RETRIES = 2

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
    whole_node: bool = False  # on Ray, a task takes every CPU of the cluster's largest node (the fleet training)

    def width(self) -> int:
        """How many tasks run at once on this machine."""
        return max(1, int(self.workers or os.cpu_count() or 1))


def failed(spec: TaskSpec, error: str) -> TaskResult:
    """The result of a task that never returned (its worker died every time)."""
    return TaskResult(reservoir=spec.reservoir, status="failed", error=error, reason=spec.reason, seconds=0.0)


@dataclass(frozen=True)
class Run:
    """Where one run's engine keeps its files: the scratch folder (core.fleet.workers) and the log for workers'
    and Ray's output (None: they inherit the driver's, as tests and the serial engine do)."""

    scratch: Path
    log: Path | None = None
