"""Revisions: an operator's edits over the raw readings (mark a period bad, correct a value), with who, when, why.

As in CWMS-style validation editors the raw readings are never changed: a revision is a row of its own, laid over
them when the readings are read back. Rules a caller relies on:

* ``readings()`` returns the *revised* series by default (so cleaning, training, forecasts and charts use it);
  ``readings(..., raw=True)`` returns the readings as imported;
* a revision covers every day from ``start`` to ``end`` of one variable: ``value=None`` marks those days missing,
  a number replaces (or fills in) each of them; later revisions win where they overlap;
* undoing keeps the row (``undone``/``undone_by`` filled in), so the audit trail shows what was done and taken back;
  an undone revision no longer applies, which reveals whatever was beneath it.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.variables import canonical_name, is_nonnegative
from core.jsonio import AsDict
from core.store.connection import StoreError, now_utc
from core.store.readings import ReadingsStore

MAX_VALUE_DAYS = 366  # a typed value copied over more days than this is almost surely a slip of the date


@dataclass(frozen=True)
class Revision(AsDict):
    """One operator edit of one variable over a span of days (value None = marked missing)."""

    id: int
    reservoir: str
    variable: str
    start: str
    end: str
    value: float | None
    reason: str
    user: str
    time: str
    undone: str | None = None
    undone_by: str | None = None

    @property
    def active(self) -> bool:
        """Still applied to the readings (not undone)."""
        return self.undone is None

    @property
    def action(self) -> str:
        """'missing' or 'value', as the CLI flags spell it."""
        return "missing" if self.value is None else "value"

    @property
    def days(self) -> int:
        """Number of days the revision covers."""
        return (pd.Timestamp(self.end) - pd.Timestamp(self.start)).days + 1

    def describe(self, unit: str | None = None) -> str:
        """One line for the CLI and the Data page: what, where, who, when, why, and whether it was undone."""
        span = self.start if self.start == self.end else f"{self.start} to {self.end}"
        what = "marked missing" if self.value is None else f"set to {self.value:g}{f' {unit}' if unit else ''}"
        text = f"#{self.id} {self.variable} {span} {what} by {self.user} at {self.time}: {self.reason}"
        return text + (f" (undone by {self.undone_by} at {self.undone})" if self.undone else "")


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


def _day(value: str, what: str) -> pd.Timestamp:
    """A user-given day (ISO 8601, as every date in the workspace); refused with the flag's name otherwise."""
    try:
        day = pd.to_datetime(str(value).strip(), format="ISO8601")
    except (ValueError, TypeError):
        day = pd.NaT
    if pd.isna(day):
        raise StoreError(f"The {what} date '{value}' is not a date; use YYYY-MM-DD.")
    return day.normalize()


def _checked_span(start: str, end: str | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first, last) day of a revision, in order; `end` defaults to `start` (one day)."""
    first = _day(start, "from")
    last = _day(end, "to") if end is not None and str(end).strip() else first
    if last < first:
        raise StoreError(
            f"The period ends ({last.date()}) before it starts ({first.date()}); swap the from and to dates."
        )
    return first, last


def _check_value(variable: str, value: float | None, days: int) -> None:
    """A replacement value must be finite, possible for its variable, and not copied over an implausible span."""
    if value is None:
        return
    if not math.isfinite(value):
        raise StoreError(f"The new {variable} value must be a finite number, not {value}.")
    if value < 0 and is_nonnegative(canonical_name(variable)):
        raise StoreError(f"{variable} cannot be negative ({value:g}); check the sign, or mark the days missing.")
    if days > MAX_VALUE_DAYS:
        raise StoreError(
            f"Setting one {variable} value on {days} days (more than {MAX_VALUE_DAYS}) would invent a flat record; "
            "mark the period missing instead, or give a shorter period."
        )


def _overlay(frame: pd.DataFrame, revisions: Sequence[Revision]) -> pd.DataFrame:
    """The frame with active revisions applied in order (later wins); days left with no value at all are dropped."""
    out = frame.copy()
    for rev in revisions:
        if not rev.active or rev.variable not in out.columns:
            continue
        days = pd.date_range(rev.start, rev.end, freq="D")
        if rev.value is None:
            out.loc[out.index.isin(days), rev.variable] = np.nan
            continue
        out = out.reindex(out.index.union(days))
        out.loc[days, rev.variable] = rev.value
    out.index.name = "date"
    return out.loc[out.notna().any(axis=1)] if len(out.columns) else out


class RevisionStore(ReadingsStore):
    """Revisions of a workspace's readings, and readings read back with them applied (mixed into Workspace)."""

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
        first, last = _checked_span(start, end)
        reason, user = str(reason or "").strip(), str(user or "").strip()
        if not reason:
            raise StoreError("Say why the readings are revised (a reason is kept with the revision for the audit).")
        if not user:
            raise StoreError("A revision needs the name of who makes it.")
        _check_value(name, None if value is None else float(value), (last - first).days + 1)
        with self._tx(write=True) as conn:
            verb = "marked missing" if value is None else f"set to {float(value):g}"
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
        revised = _overlay(frame, revisions)
        lo = pd.Timestamp(start) if start else None
        hi = pd.Timestamp(end) if end else None
        keep = np.ones(len(revised), dtype=bool)
        if lo is not None:
            keep &= revised.index >= lo.normalize()
        if hi is not None:
            keep &= revised.index <= hi.normalize()
        return revised.loc[keep]
