"""Mis-dated readings: a reading dated after today, before any daily reservoir record, or stranded far from the
rest of the record is held out of it, with a finding that names it.

One row dated 2099-06-01 makes "today" 2099 for every forecast and puts the training's validation period in the
2080s; one dated 1800-01-01 does the same at the other end. Such rows are nearly always typing or export errors (a
two-digit year, Excel's zero date), so they are held out of the record at import (the report names the line, the
date and what to do) and, for records stored before this rule, when the record is cleaned for training and
forecasts, which then judge "today" from the last plausible reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FUTURE_TOLERANCE_DAYS = 1  # a reading up to one day ahead of the import day: time zones, not an error
EARLIEST = pd.Timestamp("1850-01-01")  # no daily reservoir record starts before this
STRANDED_GAP_DAYS = 365  # a stretch at either end of the record, a year or more away from the rest ...
STRANDED_SHARE = 0.01  # ... holding at most 1 % of its days (at least one day) is stranded, not a record


@dataclass(frozen=True, eq=False)
class HeldOut:
    """Which days are held out of a record, and why each is (keyed by the day)."""

    mask: np.ndarray  # per reading (aligned with the stamps given), True when held out
    reasons: dict[str, str]  # ISO day -> 'after today' / 'before 1850' / 'a year or more before the rest'

    @property
    def any(self) -> bool:
        """True when at least one reading is held out."""
        return bool(self.mask.any())


def today() -> pd.Timestamp:
    """The import day (UTC): readings may not be dated after it."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()


def held_out(stamps: pd.Series | pd.DatetimeIndex, as_of: pd.Timestamp | None = None) -> HeldOut:
    """The readings a record must not hold: after `as_of` (+ a day), before EARLIEST, or stranded at either end."""
    days = np.asarray(stamps, dtype="datetime64[ns]").astype("datetime64[D]")  # one array, also for 1M readings
    limit = (as_of if as_of is not None else today()) + pd.Timedelta(days=FUTURE_TOLERANCE_DAYS)
    present = ~np.isnat(days)
    future = present & (days > np.datetime64(limit.date(), "D"))
    ancient = present & (days < np.datetime64(EARLIEST.date(), "D"))
    reasons: dict[str, str] = {}
    for day in np.unique(days[future]):
        reasons[str(day)] = f"after the import day ({(limit - pd.Timedelta(days=1)).date()})"
    for day in np.unique(days[ancient]):
        reasons[str(day)] = f"before {EARLIEST.year}, earlier than any daily reservoir record"
    rest = present & ~future & ~ancient
    stranded = _stranded(days, rest)
    for day, side in stranded.items():
        reasons[day] = f"a year or more {side} the rest of the record"
    stranded_mask = rest & np.isin(days, np.array(sorted(stranded), dtype="datetime64[D]"))
    return HeldOut(future | ancient | stranded_mask, reasons)


def _stranded(all_days: np.ndarray, usable: np.ndarray) -> dict[str, str]:
    """Days at either end of the record separated from the rest by STRANDED_GAP_DAYS or more, when they are few."""
    days = np.unique(all_days[usable])
    if len(days) < 3:
        return {}
    allowed = max(1, int(len(days) * STRANDED_SHARE))
    out: dict[str, str] = {}
    steps = np.diff(days).astype(int)
    big = np.flatnonzero(steps >= STRANDED_GAP_DAYS)
    if not len(big):
        return out
    head = big[0] + 1  # days before the first big gap
    if head <= allowed:
        out.update({str(d): "before" for d in days[:head]})
    tail = len(days) - (big[-1] + 1)  # days after the last big gap
    if tail <= allowed and tail < len(days) - head:
        out.update({str(d): "after" for d in days[big[-1] + 1 :]})
    return out


def held_text(reasons: dict[str, str], limit: int = 4) -> str:
    """'2099-06-01 (after the import day (2025-03-02)), 1800-01-01 (before 1850, ...)' for a message."""
    items = list(reasons.items())
    text = ", ".join(f"{day} ({why})" for day, why in items[:limit])
    if len(items) > limit:
        text += f" and {len(items) - limit} more"
    return text


def plausible_readings(raw: pd.DataFrame, as_of: pd.Timestamp | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """A stored record without the days no record can hold, and why each was left out; forecasts and trainings
    then judge "today" from the last plausible reading."""
    if raw.empty:
        return raw, {}
    found = held_out(raw.index.to_series(), as_of)
    return (raw[~found.mask], found.reasons) if found.any else (raw, {})
