"""Background jobs in SQLite: the `jobs` and `epochs` tables (the contract: core.store.jobs)."""

from __future__ import annotations

import sqlite3
from typing import Any

from core.jsonio import loads
from core.store.common import now_utc, to_json
from core.store.errors import StoreError
from core.store.jobs import (
    ACTIVE_JOB_STATUSES,
    FINISHED_JOB_STATUSES,
    JOB_STATUSES,
    Epoch,
    Job,
    JobProgress,
    interrupted_text,
    job_is_dead,
)
from core.store.sqlite.base import SqliteRepository

_JOB_SELECT = "SELECT j.*, r.name AS reservoir FROM jobs j JOIN reservoirs r ON r.id = j.reservoir_id"


def _job(row: sqlite3.Row, epochs: tuple[Epoch, ...] = ()) -> Job:
    """A job row as a Job; NULL JSON columns read as empty; a queued/running job whose process is gone reads as
    interrupted (any reader sees it at once; mark_interrupted writes it down)."""
    dead = row["status"] in ACTIVE_JOB_STATUSES and _job_dead(row)
    return Job(
        id=int(row["id"]),
        reservoir=row["reservoir"],
        kind=row["kind"],
        status="interrupted" if dead else row["status"],
        params=loads(row["params"], {}) or {},
        pid=row["pid"],
        created=row["created"],
        started=row["started"],
        finished=row["finished"],
        message=interrupted_text(row["kind"], row["pid"]) if dead else row["message"],
        result=loads(row["result"]),
        stop_requested=bool(row["stop_requested"]),
        progress=JobProgress.from_dict(loads(row["progress"])),
        epochs=epochs,
    )


def _epoch(row: sqlite3.Row) -> Epoch:
    """An epochs row as an Epoch."""
    return Epoch(
        epoch=int(row["epoch"]),
        logs=loads(row["logs"], {}),
        seconds=float(row["seconds"]),
        total_epochs=int(row["total_epochs"]),
        time=row["time"],
    )


def _job_dead(row: sqlite3.Row) -> bool:
    """A queued/running job whose process is gone (core.store.jobs.job_is_dead)."""
    return job_is_dead(row["pid"], row["started"] or row["created"])


def _interrupt(conn: sqlite3.Connection, row: sqlite3.Row) -> int:
    """Mark one dead job interrupted (if it is still queued/running); returns the rows changed."""
    cur = conn.execute(
        "UPDATE jobs SET status = 'interrupted', finished = ?, message = ? "
        "WHERE id = ? AND status IN ('queued', 'running')",
        (now_utc(), interrupted_text(row["kind"], row["pid"]), row["id"]),
    )
    return cur.rowcount


def _job_sets(
    status: str | None, pid: int | None, message: str | None, result: dict | None, progress: JobProgress | None
) -> tuple[list[str], list[Any]]:
    """The SET clauses and arguments of an update; 'running' stamps started, a final status stamps finished."""
    now = now_utc()
    sets: list[str] = []
    args: list[Any] = []
    if status is not None:
        sets.append("status = ?")
        args.append(status)
        if status == "running":
            sets.append("started = COALESCE(started, ?)")
            args.append(now)
        if status in FINISHED_JOB_STATUSES:
            sets.append("finished = ?")
            args.append(now)
    for column, value in (
        ("pid", None if pid is None else int(pid)),
        ("message", None if message is None else str(message)),
        ("result", None if result is None else to_json(result, "job result")),
        ("progress", None if progress is None else to_json(progress, "job progress")),
    ):
        if value is not None:
            sets.append(f"{column} = ?")
            args.append(value)
    return sets, args


class SqliteJobs(SqliteRepository):
    """Job rows, epochs and stop requests in SQLite (core.store.jobs.Jobs)."""

    def create_job(self, reservoir: str, kind: str, params: dict) -> int:
        """Queue a job; refused while the reservoir has a live queued/running job (dead ones are marked interrupted)."""
        params_json = to_json(params, "job params")
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, reservoir)
            self._guard(conn, "cycle" if kind == "cycle" else "train", res["name"], f"{kind} job queued")
            for row in conn.execute(
                "SELECT * FROM jobs WHERE reservoir_id = ? AND status IN ('queued', 'running') ORDER BY id",
                (res["id"],),
            ).fetchall():
                if _job_dead(row):
                    _interrupt(conn, row)
                    continue
                raise StoreError(
                    f"Reservoir '{res['name']}' already has a {row['kind']} job #{row['id']} ({row['status']}); "
                    "wait for it to finish or stop it first."
                )
            cur = conn.execute(
                "INSERT INTO jobs(reservoir_id, kind, status, params, created) VALUES (?, ?, 'queued', ?, ?)",
                (res["id"], str(kind), params_json, now_utc()),
            )
            return int(cur.lastrowid)

    def update_job(
        self,
        job_id: int,
        *,
        status: str | None = None,
        pid: int | None = None,
        message: str | None = None,
        result: dict | None = None,
        progress: JobProgress | None = None,
    ) -> None:
        """Report progress from the job's process; 'running' stamps started, a final status stamps finished."""
        if status is not None and status not in JOB_STATUSES:
            raise StoreError(f"Job status must be one of {', '.join(JOB_STATUSES)}, not '{status}'.")
        sets, args = _job_sets(status, pid, message, result, progress)
        with self._tx(write=True) as conn:
            row = self._job_row(conn, job_id)
            action = "cycle" if row["kind"] == "cycle" else "train"
            if status is None:  # progress of a logged job: checked, not logged
                self._guard(None, action)
            else:
                self._guard(conn, action, row["reservoir"], f"{row['kind']} job #{job_id} {status}")
            if sets:
                conn.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*args, int(job_id)))

    def add_epoch(self, job_id: int, epoch: int, logs: dict[str, float], seconds: float, total_epochs: int) -> None:
        """Record one finished epoch (re-reporting an epoch replaces it) so the page can draw live curves."""
        logs_json = to_json({str(k): float(v) if v is not None else None for k, v in logs.items()}, "epoch logs")
        with self._tx(write=True) as conn:
            row = self._job_row(conn, job_id)
            self._guard(None, "cycle" if row["kind"] == "cycle" else "train")  # progress of a logged job
            conn.execute(
                "INSERT OR REPLACE INTO epochs(job_id, epoch, logs, seconds, total_epochs, time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (int(job_id), int(epoch), logs_json, float(seconds), int(total_epochs), now_utc()),
            )

    @staticmethod
    def _job_row(conn: sqlite3.Connection, job_id: int) -> sqlite3.Row:
        """The job's row with its reservoir name; a clear error for an unknown id."""
        row = conn.execute(f"{_JOB_SELECT} WHERE j.id = ?", (int(job_id),)).fetchone()
        if row is None:
            raise StoreError(f"There is no job #{job_id} in this workspace; list jobs to see the known ones.")
        return row

    def job(self, job_id: int) -> Job:
        """One job with all its epochs in epoch order."""
        with self._tx(write=False) as conn:
            row = self._job_row(conn, job_id)
            epochs = conn.execute("SELECT * FROM epochs WHERE job_id = ? ORDER BY epoch", (int(job_id),)).fetchall()
        return _job(row, tuple(_epoch(e) for e in epochs))

    def jobs(self, reservoir: str | None = None, active_only: bool = False) -> list[Job]:
        """Jobs newest first (without epochs; use job(id) for those), optionally one reservoir / only queued+running
        (a job whose process is gone reads as interrupted, so it is not 'active')."""
        sql = f"{_JOB_SELECT} WHERE 1"
        args: list[Any] = []
        with self._tx(write=False) as conn:
            if reservoir is not None:
                sql += " AND j.reservoir_id = ?"
                args.append(self._reservoir_row(conn, reservoir)["id"])
            if active_only:
                sql += " AND j.status IN ('queued', 'running')"
            rows = conn.execute(sql + " ORDER BY j.id DESC", args).fetchall()
        jobs = [_job(r) for r in rows]
        return [j for j in jobs if j.active] if active_only else jobs

    def request_stop(self, job_id: int) -> None:
        """Ask the job's process to stop after the current epoch (it polls stop_requested)."""
        with self._tx(write=True) as conn:
            self._job_row(conn, job_id)
            self._guard(conn, "train", None, f"stop requested for job #{job_id}")
            conn.execute("UPDATE jobs SET stop_requested = 1 WHERE id = ?", (int(job_id),))

    def stop_requested(self, job_id: int) -> bool:
        """True once someone asked this job to stop."""
        with self._tx(write=False) as conn:
            return bool(self._job_row(conn, job_id)["stop_requested"])

    def mark_interrupted(self) -> int:
        """Write 'interrupted' on queued/running jobs whose process is gone (the app's start); returns how many.
        Looks first and writes only when there is one (the dashboard's start must not write, reads never do)."""
        self._guard(None, "train")
        live = f"{_JOB_SELECT} WHERE j.status IN ('queued', 'running') ORDER BY j.id"
        with self._tx(write=False) as conn:
            if not any(_job_dead(row) for row in conn.execute(live).fetchall()):
                return 0
        with self._tx(write=True) as conn:
            dead = [row for row in conn.execute(live).fetchall() if _job_dead(row)]
            for row in dead:
                self._guard(conn, "train", row["reservoir"], f"{row['kind']} job #{row['id']} marked interrupted")
            return sum(_interrupt(conn, row) for row in dead)
