"""Revisions: an operator's edits over the raw readings (mark a period bad, correct a value), with who, when, why.

As in CWMS-style validation editors the raw readings are never changed: a revision is a row of its own, laid over
them when the readings are read back. Rules a caller relies on:

* ``readings()`` returns the *revised* series by default (so cleaning, training, forecasts and charts use it);
  ``readings(..., raw=True)`` returns the readings as imported;
* a revision covers every day from ``start`` to ``end`` of one variable: ``value=None`` marks those days missing,
  a number replaces (or fills in) each of them; later revisions win where they overlap;
* undoing keeps the row (``undone``/``undone_by`` filled in), so the audit trail shows what was done and taken back;
  an undone revision no longer applies, which reveals whatever was beneath it.

The repository's methods are part of core.store.readings.Readings; this module holds what any backend shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.variables import canonical_name, is_nonnegative
from core.display import entered
from core.jsonio import AsDict
from core.store.errors import StoreError

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
        what = "marked missing" if self.value is None else f"set to {entered(self.value)}{f' {unit}' if unit else ''}"
        text = f"#{self.id} {self.variable} {span} {what} by {self.user} at {self.time}: {self.reason}"
        return text + (f" (undone by {self.undone_by} at {self.undone})" if self.undone else "")


def _day(value: str, what: str) -> pd.Timestamp:
    """A user-given day (ISO 8601, as every date in the workspace); refused with the flag's name otherwise."""
    try:
        day = pd.to_datetime(str(value).strip(), format="ISO8601")
    except (ValueError, TypeError):
        day = pd.NaT
    if pd.isna(day):
        raise StoreError(f"The {what} date '{value}' is not a date; use YYYY-MM-DD.")
    return day.normalize()


def checked_span(start: str, end: str | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first, last) day of a revision, in order; `end` defaults to `start` (one day)."""
    first = _day(start, "from")
    last = _day(end, "to") if end is not None and str(end).strip() else first
    if last < first:
        raise StoreError(
            f"The period ends ({last.date()}) before it starts ({first.date()}); swap the from and to dates."
        )
    return first, last


def check_value(variable: str, value: float | None, days: int) -> None:
    """A replacement value must be finite, possible for its variable, and not copied over an implausible span."""
    if value is None:
        return
    if not math.isfinite(value):
        raise StoreError(f"The new {variable} value must be a finite number, not {value}.")
    if value < 0 and is_nonnegative(canonical_name(variable)):
        raise StoreError(f"{variable} cannot be negative ({entered(value)}); check the sign, or mark the days missing.")
    if days > MAX_VALUE_DAYS:
        raise StoreError(
            f"Setting one {variable} value on {days} days (more than {MAX_VALUE_DAYS}) would invent a flat record; "
            "mark the period missing instead, or give a shorter period."
        )


def overlay(frame: pd.DataFrame, revisions: Sequence[Revision]) -> pd.DataFrame:
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


