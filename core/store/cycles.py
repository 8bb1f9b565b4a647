"""The daily cycle's record: one row per run (engine, status, inbox, notifications) and one result per reservoir.

The cycle's driver is the only writer (Ray tasks and local worker processes return results; they never open the
workspace). A run whose process died is read as 'interrupted', so the fleet view never shows a cycle "running"
forever and the next run simply starts again. The fleet view reads the latest result per reservoir from here
instead of forecasting a hundred reservoirs on every page load.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, fields
from typing import Any

from core.jsonio import AsDict, loads, number
from core.store.connection import StoreBase, StoreError, now_utc, pid_alive, to_json

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


class CycleStore(StoreBase):
    """Cycle runs and their per-reservoir results (mixed into Workspace)."""

    def start_cycle(self, engine: str, retrain: str, pid: int | None = None) -> int:
        """Open a run row ('running'); returns its id."""
        with self._tx(write=True) as conn:
            self._guard(conn, "cycle", None, f"cycle started (engine {engine}, retrain {retrain})")
            cur = conn.execute(
                "INSERT INTO cycles(started, engine, retrain, status, pid) VALUES (?, ?, ?, 'running', ?)",
                (now_utc(), engine, retrain, pid),
            )
            return int(cur.lastrowid)

    def record_cycle_result(self, cycle_id: int, result: CycleReservoir) -> None:
        """Store (or replace) one reservoir's result in a run, as soon as it is known."""
        if result.status not in RESULT_STATUSES:
            raise StoreError(f"Cycle result status must be one of {', '.join(RESULT_STATUSES)}, not {result.status!r}.")
        text = to_json(result.to_dict(), "cycle result")
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, result.reservoir)
            rid = res["id"]
            new = f", version {result.new_version} saved" if result.new_version is not None else ""
            self._guard(conn, "cycle", res["name"], f"cycle #{cycle_id}: {result.status}{new}")
            conn.execute(
                "INSERT OR REPLACE INTO cycle_results(cycle_id, reservoir_id, result, time) VALUES (?, ?, ?, ?)",
                (int(cycle_id), rid, text, now_utc()),
            )

    def finish_cycle(
        self,
        cycle_id: int,
        status: str,
        seconds: float,
        inbox: dict[str, Any] | None = None,
        notifications: list[dict[str, Any]] | None = None,
        message: str | None = None,
    ) -> None:
        """Close a run with its status, duration, inbox outcome and notifications."""
        if status not in CYCLE_STATUSES or status == "running":
            raise StoreError(f"A finished cycle's status must be ok, partial, failed or interrupted, not {status!r}.")
        with self._tx(write=True) as conn:
            said = f" ({message})" if message else ""
            self._guard(conn, "cycle", None, f"cycle #{cycle_id} finished: {status}{said}")
            conn.execute(
                "UPDATE cycles SET status = ?, finished = ?, seconds = ?, inbox = ?, notifications = ?, message = ? "
                "WHERE id = ?",
                (
                    status,
                    now_utc(),
                    float(seconds),
                    to_json(inbox or {}, "cycle inbox"),
                    to_json(notifications or [], "cycle notifications"),
                    message,
                    int(cycle_id),
                ),
            )

    def _run(self, conn: sqlite3.Connection, row: sqlite3.Row, with_results: bool) -> CycleRun:
        """A cycles row as a CycleRun; a 'running' row whose process is gone reads as 'interrupted'."""
        status = row["status"]
        if status == "running" and row["pid"] is not None and not pid_alive(int(row["pid"])):
            status = "interrupted"
        results: tuple[CycleReservoir, ...] = ()
        if with_results:
            rows = conn.execute(
                "SELECT c.result FROM cycle_results c JOIN reservoirs r ON r.id = c.reservoir_id "
                "WHERE c.cycle_id = ? ORDER BY r.name COLLATE NOCASE",
                (row["id"],),
            ).fetchall()
            results = tuple(CycleReservoir.from_dict(loads(r[0], {})) for r in rows)
        return CycleRun(
            id=int(row["id"]),
            started=row["started"],
            finished=row["finished"],
            engine=row["engine"],
            retrain=row["retrain"],
            status=status,
            seconds=number(row["seconds"]),
            message=row["message"],
            inbox=loads(row["inbox"], {}),
            notifications=loads(row["notifications"], []),
            reservoirs=results,
        )

    def cycle_runs(self, limit: int = 20, with_results: bool = False) -> list[CycleRun]:
        """The most recent runs, newest first (results only when asked: the history table does not need them)."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT * FROM cycles ORDER BY id DESC LIMIT ?", (int(limit),)).fetchall()
            return [self._run(conn, r, with_results) for r in rows]

    def cycle_run(self, cycle_id: int) -> CycleRun:
        """One run with its per-reservoir results."""
        with self._tx(write=False) as conn:
            row = conn.execute("SELECT * FROM cycles WHERE id = ?", (int(cycle_id),)).fetchone()
            if row is None:
                raise StoreError(f"No cycle run {cycle_id}; `python -m core cycle` starts one.")
            return self._run(conn, row, with_results=True)

    def latest_cycle_results(self) -> dict[str, CycleReservoir]:
        """Each reservoir's most recent cycle result, by reservoir name (reservoirs never cycled are absent)."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT r.name, c.result FROM cycle_results c JOIN reservoirs r ON r.id = c.reservoir_id "
                "WHERE c.cycle_id = (SELECT MAX(cycle_id) FROM cycle_results WHERE reservoir_id = c.reservoir_id)"
            ).fetchall()
        return {r[0]: CycleReservoir.from_dict(loads(r[1], {})) for r in rows}
