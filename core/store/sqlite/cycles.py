"""The daily cycle's record in SQLite: the `cycles` and `cycle_results` tables (the contract: core.store.cycles)."""

from __future__ import annotations

import sqlite3
from typing import Any

from core.jsonio import loads, number
from core.store.common import now_utc, to_json
from core.store.cycles import CYCLE_STATUSES, RESULT_STATUSES, CycleReservoir, CycleRun
from core.store.errors import StoreError
from core.store.inuse import pid_alive
from core.store.sqlite.base import SqliteRepository


class SqliteCycles(SqliteRepository):
    """Cycle runs and their per-reservoir results in SQLite (core.store.cycles.Cycles)."""

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

    def latest_cycle_results(self) -> dict[str, CycleReservoir]:
        """Each reservoir's most recent cycle result, by reservoir name (reservoirs never cycled are absent)."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT r.name, c.result FROM cycle_results c JOIN reservoirs r ON r.id = c.reservoir_id "
                "WHERE c.cycle_id = (SELECT MAX(cycle_id) FROM cycle_results WHERE reservoir_id = c.reservoir_id)"
            ).fetchall()
        return {r[0]: CycleReservoir.from_dict(loads(r[1], {})) for r in rows}
