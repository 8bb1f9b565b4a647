"""Background jobs in the workspace: one row per run, its epochs, progress, stop requests and crash detection.

Rows cross to the pages and CLI as frozen dataclasses (Job, Epoch, JobProgress), read tolerantly: a row
written by an earlier app version (missing keys, no progress column value) still loads. `Jobs` is the contract;
core.store.sqlite.jobs implements it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from core.jsonio import AsDict
from core.store.inuse import pid_alive

JOB_STATUSES = ("queued", "running", "done", "failed", "stopped", "interrupted")
ACTIVE_JOB_STATUSES = ("queued", "running")
FINISHED_JOB_STATUSES = ("done", "failed", "stopped", "interrupted")
# A job with no pid yet (the launcher has not reported it) is only presumed dead after this long.
PIDLESS_GRACE_S = 120.0

@dataclass(frozen=True)
class Epoch(AsDict):
    """One finished epoch as the job reported it, so a page can draw the live loss curve."""

    epoch: int
    logs: dict[str, Any]
    seconds: float
    total_epochs: int
    time: str


@dataclass(frozen=True)
class JobProgress(AsDict):
    """Which model of a comparison is at work: index counts from 0, of `total`, zoo member name `model`."""

    index: int
    total: int
    model: str

    @classmethod
    def from_dict(cls, data: Any) -> JobProgress | None:
        """Read stored progress; anything incomplete (older rows, hand edits) is no progress rather than an error."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(index=int(data["index"]), total=int(data["total"]), model=str(data["model"]))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Job:
    """A job row: what runs (kind, params), how far it is (status, message, progress, epochs), what it produced."""

    id: int
    reservoir: str
    kind: str
    status: str
    params: dict[str, Any]
    pid: int | None = None
    created: str = ""
    started: str | None = None
    finished: str | None = None
    message: str | None = None
    result: dict[str, Any] | None = None
    stop_requested: bool = False
    progress: JobProgress | None = None
    epochs: tuple[Epoch, ...] = ()  # filled by Workspace.job(id) only

    @property
    def active(self) -> bool:
        """Queued or running (not yet finished one way or another)."""
        return self.status in ACTIVE_JOB_STATUSES

    @property
    def config(self) -> dict[str, Any]:
        """The training settings the job was started with ({} when the row has none)."""
        return self.params.get("config") or {}

    def to_dict(self) -> dict[str, Any]:
        """JSON form with the row's keys, progress as a mapping and epochs as a list."""
        out = asdict(self)
        out["epochs"] = [e.to_dict() for e in self.epochs]
        return out


def job_is_dead(pid: int | None, since: str | None) -> bool:
    """A queued/running job whose process is gone (or never reported a pid within the grace period)."""
    if pid is not None:
        return not pid_alive(int(pid))
    try:
        age = time.time() - datetime.strptime(str(since), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except (TypeError, ValueError):
        return True
    return age > PIDLESS_GRACE_S


def interrupted_text(kind: str, pid: int | None) -> str:
    """What an interrupted job's message says."""
    where = f" (pid {pid})" if pid is not None else ""
    return f"The {kind} process{where} stopped without reporting (app restart or crash); start it again."


@runtime_checkable
class Jobs(Protocol):
    """Background job rows: queue, progress, epochs, stop requests, crash detection."""

    def create_job(self, reservoir: str, kind: str, params: dict) -> int:
        """Queue a job; refused while the reservoir has a live queued/running job (dead ones are marked interrupted)."""
        ...

    def update_job(self, job_id: int, *, status: str | None = None, pid: int | None = None, message: str | None = None,
                   result: dict | None = None, progress: JobProgress | None = None) -> None:
        """Report progress from the job's process; 'running' stamps started, a final status stamps finished."""
        ...

    def add_epoch(self, job_id: int, epoch: int, logs: dict[str, float], seconds: float, total_epochs: int) -> None:
        """Record one finished epoch (re-reporting an epoch replaces it) so the page can draw live curves."""
        ...

    def job(self, job_id: int) -> Job:
        """One job with all its epochs in epoch order (an unknown id is a StoreError)."""
        ...

    def jobs(self, reservoir: str | None = None, active_only: bool = False) -> list[Job]:
        """Jobs newest first (without epochs), optionally one reservoir's / only live queued+running ones."""
        ...

    def request_stop(self, job_id: int) -> None:
        """Ask the job's process to stop after the current epoch (it polls stop_requested)."""
        ...

    def stop_requested(self, job_id: int) -> bool:
        """True once someone asked this job to stop."""
        ...

    def mark_interrupted(self) -> int:
        """Write 'interrupted' on queued/running jobs whose process is gone; returns how many."""
        ...
