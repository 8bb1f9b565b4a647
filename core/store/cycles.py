"""The daily cycle's record: one row per run (engine, status, inbox, notifications) and one result per reservoir.

The cycle's driver is the only writer (Ray tasks and local worker processes return results; they never open the
workspace). A run whose process died is read as 'interrupted', so the fleet view never shows a cycle "running"
forever and the next run simply starts again. The fleet view reads the latest result per reservoir from here
instead of forecasting a hundred reservoirs on every page load. `Cycles` is the contract;
core.store.sqlite.cycles implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

from core.jsonio import AsDict

CYCLE_STATUSES = ("running", "ok", "partial", "failed", "interrupted")
RESULT_STATUSES = ("ok", "failed")


@dataclass(frozen=True)
class CycleReservoir(AsDict):
    """What the cycle did for one reservoir and what it found: the fleet table's row, the `cycle --json` entry."""

    reservoir: str
    status: str  # "ok" | "failed"
    retrained: bool = False
    version: int | None = None  # the version the forecast came from (active after any activation)
    alert: str | None = None  # overall alert in words, e.g. "flood WARNING" or "normal"
    error: str | None = None  # why it failed, in words (None when ok)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)  # side -> SideAlert.to_dict()
    target: str | None = None  # the forecast variable
    unit: str | None = None
    data_through: str | None = None  # last reading day
    issued: str | None = None  # forecast issue day
    last_value: float | None = None  # last observed value of the target
    end_median: float | None = None  # median at the last lead day
    model: str | None = None  # zoo member name
    skill: float | None = None  # test skill vs persistence of the version used
    coverage: float | None = None  # recent 80 % band coverage (0..1), None when not yet known
    seconds: float | None = None  # task wall time
    new_version: int | None = None  # the version trained this cycle (None if none), active or not
    retrain_reason: str | None = None  # why it was (not) retrained, in words

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CycleReservoir:
        """Read a stored result tolerantly: unknown keys are ignored, missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def change(self) -> float | None:
        """Forecast change over the horizon (last lead median minus last reading)."""
        if self.last_value is None or self.end_median is None:
            return None
        return self.end_median - self.last_value


@dataclass(frozen=True)
class CycleRun(AsDict):
    """One run of the daily cycle."""

    id: int
    started: str
    finished: str | None
    engine: str  # "local" | "ray" | "serial"
    retrain: str  # "none" | "due" | "all"
    status: str  # one of CYCLE_STATUSES
    seconds: float | None
    message: str | None
    inbox: dict[str, Any] = field(default_factory=dict)  # {"imported": [...], "failed": [{"file", "reason"}]}
    notifications: list[dict[str, Any]] = field(default_factory=list)
    reservoirs: tuple[CycleReservoir, ...] = ()


@runtime_checkable
class Cycles(Protocol):
    """The daily cycle's runs and each reservoir's latest result."""

    def start_cycle(self, engine: str, retrain: str, pid: int | None = None) -> int:
        """Open a run ('running'); returns its id."""
        ...

    def record_cycle_result(self, cycle_id: int, result: CycleReservoir) -> None:
        """Store (or replace) one reservoir's result in a run, as soon as it is known."""
        ...

    def finish_cycle(self, cycle_id: int, status: str, seconds: float, inbox: dict[str, Any] | None = None,
                     notifications: list[dict[str, Any]] | None = None, message: str | None = None) -> None:
        """Close a run with its status, duration, inbox outcome and notifications."""
        ...

    def cycle_runs(self, limit: int = 20, with_results: bool = False) -> list[CycleRun]:
        """The most recent runs, newest first; a run whose process died reads as 'interrupted'."""
        ...

    def latest_cycle_results(self) -> dict[str, CycleReservoir]:
        """Each reservoir's most recent cycle result, by reservoir name (reservoirs never cycled are absent)."""
        ...
