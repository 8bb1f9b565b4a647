"""Revisions in SQLite: the `revisions` table, laid over the raw readings when they are read back (the rules:
core.store.revisions)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.display import entered
from core.store.common import now_utc
from core.store.errors import StoreError
from core.store.revisions import Revision, check_value, checked_span, overlay
from core.store.sqlite.readings import RawReadings


def _row_revision(row: sqlite3.Row, reservoir: str) -> Revision:
    """A revisions row as a Revision."""
    return Revision(
        id=int(row["id"]),
        reservoir=reservoir,
        variable=row["variable"],
        start=row["start"],
        end=row["end"],
        value=None if row["value"] is None else float(row["value"]),
        reason=row["reason"],
        user=row["user"],
        time=row["time"],
        undone=row["undone"],
        undone_by=row["undone_by"],
    )


class RevisedReadings(RawReadings):
    """Revisions in SQLite, and readings read back with them applied."""

    def revise(
        self,
        reservoir: str,
        variable: str,
        start: str,
        end: str | None,
        *,
        value: float | None,
        reason: str,
        user: str,
    ) -> Revision:
        """Store one revision (value None = mark missing); the raw readings stay as imported."""
        info = self.reservoir(reservoir)
        name = info.variable(variable).name
        first, last = checked_span(start, end)
        reason, user = str(reason or "").strip(), str(user or "").strip()
        if not reason:
            raise StoreError("Say why the readings are revised (a reason is kept with the revision for the audit).")
        if not user:
            raise StoreError("A revision needs the name of who makes it.")
        check_value(name, None if value is None else float(value), (last - first).days + 1)
        with self._tx(write=True) as conn:
            verb = "marked missing" if value is None else f"set to {entered(float(value))}"
            self._guard(conn, "edit", info.name, f"{name} {first:%Y-%m-%d}..{last:%Y-%m-%d} {verb}: {reason}")
            cur = conn.execute(
                "INSERT INTO revisions(reservoir_id, variable, start, end, value, reason, user, time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    info.id,
                    name,
                    first.strftime("%Y-%m-%d"),
                    last.strftime("%Y-%m-%d"),
                    None if value is None else float(value),
                    reason,
                    user,
                    now_utc(),
                ),
            )
            row = conn.execute("SELECT * FROM revisions WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _row_revision(row, info.name)

    def undo_revision(self, reservoir: str, revision_id: int, user: str) -> Revision:
        """Take a revision back (the row stays, marked undone); an unknown or already undone one is refused."""
        user = str(user or "").strip()
        if not user:
            raise StoreError("Undoing a revision needs the name of who undoes it.")
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, reservoir)
            row = conn.execute(
                "SELECT * FROM revisions WHERE id = ? AND reservoir_id = ?", (int(revision_id), res["id"])
            ).fetchone()
            if row is None:
                ids = [str(r[0]) for r in conn.execute("SELECT id FROM revisions WHERE reservoir_id = ?", (res["id"],))]
                known = f"its revisions: {', '.join(ids)}" if ids else "it has no revisions"
                raise StoreError(f"Reservoir '{res['name']}' has no revision #{revision_id} ({known}).")
            if row["undone"] is not None:
                raise StoreError(
                    f"Revision #{revision_id} was already undone by {row['undone_by']} at {row['undone']}."
                )
            self._guard(conn, "edit", res["name"], f"undid revision #{revision_id}")
            conn.execute(
                "UPDATE revisions SET undone = ?, undone_by = ? WHERE id = ?", (now_utc(), user, int(revision_id))
            )
            row = conn.execute("SELECT * FROM revisions WHERE id = ?", (int(revision_id),)).fetchone()
        return _row_revision(row, res["name"])

    def revisions(self, reservoir: str, variable: str | None = None) -> list[Revision]:
        """Every revision of a reservoir (optionally one variable), oldest first, undone ones included."""
        with self._tx(write=False) as conn:
            res = self._reservoir_row(conn, reservoir)
            rows = conn.execute("SELECT * FROM revisions WHERE reservoir_id = ? ORDER BY id", (res["id"],)).fetchall()
        found = [_row_revision(r, res["name"]) for r in rows]
        if variable is None:
            return found
        name = self.reservoir(res["name"]).variable(variable).name
        return [r for r in found if r.variable == name]

    def revision_stamp(self, reservoir: str) -> str:
        """Changes whenever a revision is made or undone, to key cached reads of the revised readings."""
        with self._tx(write=False) as conn:
            res = self._reservoir_row(conn, reservoir)
            count, last, undone = conn.execute(
                "SELECT COUNT(*), MAX(id), COUNT(undone) FROM revisions WHERE reservoir_id = ?", (res["id"],)
            ).fetchone()
        return f"r{count}-{last or 0}-{undone}"

    def readings(
        self,
        reservoir: str,
        variables: Sequence[str] | None = None,
        start: str | None = None,
        end: str | None = None,
        *,
        raw: bool = False,
    ) -> pd.DataFrame:
        """Stored readings with the active revisions applied (see the module docstring); raw=True: as imported."""
        frame = super().readings(reservoir, variables, start, end)
        if raw:
            return frame
        revisions = [r for r in self.revisions(reservoir) if r.active and r.variable in frame.columns]
        if not revisions:
            return frame
        revised = overlay(frame, revisions)
        lo = pd.Timestamp(start) if start else None
        hi = pd.Timestamp(end) if end else None
        keep = np.ones(len(revised), dtype=bool)
        if lo is not None:
            keep &= revised.index >= lo.normalize()
        if hi is not None:
            keep &= revised.index <= hi.normalize()
        return revised.loc[keep]
