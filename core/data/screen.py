"""Readings no forecast may start from: logger codes, absurd magnitudes, values outside a variable's physical range,
and the companion values a logger writes beside a code. Import warnings and cleaning both screen through here.

Codes are found by what they are, not from a list: one value repeated, far outside the series' robust range, and
isolated from it (nothing between it and the bulk of the readings). Absurd magnitudes need no neighbour, so the
first and last readings are judged like any other. Out-of-range values may be a convention (storage counted from
a pool bottom goes negative): the operator decides per variable whether they are masked, kept or the variable is
relative (OUT_OF_RANGE_DECISIONS); nothing about them is ever silent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data import qc
from core.data.config import KEEP, RELATIVE
from core.data.report import DateRun
from core.data.variables import canonical_name, daily_aggregate
from core.display import plain

CODE_MIN_REPEATS = 2  # a value seen once is judged as a magnitude, not as a code
CODE_FAR_IQR = 10.0  # a code lies more than this many interquartile ranges outside the quartiles ...
CODE_GAP_SHARE = 0.6  # ... with nothing in the first 60 % of the way back to the median
CODE_GAP_SHARE_PULSES = 0.9  # rainfall-like series: a big storm day may stand alone, so demand near-total isolation
ABSURD_SPAN = 100.0  # |value - median| above 100 x the series' scale (5-95 % span or magnitude) is absurd
ABSURD_LIMIT = 1e15  # no reservoir quantity in any unit reaches this (the largest reservoir holds ~1.8e11 m³)
LONG_RUN_DAYS = 30  # an out-of-range run this long may be a convention rather than an error: say so
COMPANION_JUMP = 3.0  # a companion further than 3 x the series' largest usual daily change from its line is odd


def _numbers(values: pd.Series) -> np.ndarray:
    """A column as a float array (NaN where there is no number)."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _is_pulses(x: np.ndarray, variable: str | None) -> bool:
    """Rainfall-like: summed per day or zero on most days, where isolated big values can be real."""
    return (variable is not None and daily_aggregate(canonical_name(variable)) == "sum") or bool((x == 0).mean() >= 0.5)


def find_codes(values: pd.Series, variable: str | None = None) -> pd.Series:
    """Mark cells holding a logger code: a value repeated, far outside the robust range and isolated from it."""
    numbers = _numbers(values)
    x = numbers[np.isfinite(numbers)]
    hit = np.zeros(len(numbers), dtype=bool)
    if len(x) >= 4:
        pulses = _is_pulses(x, variable)
        wet = x[x != 0]
        bulk = wet if pulses and len(wet) >= 4 else x  # rainfall: the range of the rainy days, not of the dry ones
        q25, median, q75 = np.quantile(bulk, [0.25, 0.5, 0.75])
        spread = max(q75 - q25, 1e-6 * abs(median), 1e-12)
        distinct, counts = np.unique(x, return_counts=True)
        repeated = distinct[counts >= CODE_MIN_REPEATS]
        far = repeated[(repeated < q25 - CODE_FAR_IQR * spread) | (repeated > q75 + CODE_FAR_IQR * spread)]
        if pulses:
            far = far[far != 0]  # a dry day is the baseline of a rainfall-like series, never a code
        share = CODE_GAP_SHARE_PULSES if pulses else CODE_GAP_SHARE
        codes = [v for v in far if _isolated(v, median, distinct, share)]
        if codes:
            hit = np.isin(numbers, codes)
    return pd.Series(hit, index=values.index, dtype=bool)


def _isolated(value: float, median: float, distinct: np.ndarray, share: float) -> bool:
    """True when no reading lies within `share` of the way from `value` back to the median."""
    if value < median:
        between = distinct[(distinct > value) & (distinct < median)]
        nearest = between.min() if len(between) else median
    else:
        between = distinct[(distinct < value) & (distinct > median)]
        nearest = between.max() if len(between) else median
    return abs(nearest - value) >= share * abs(value - median)


def find_absurd(values: pd.Series) -> pd.Series:
    """Mark magnitudes no reading of this series can have (1e308, -1e30), first and last rows included."""
    numbers = _numbers(values)
    finite = np.isfinite(numbers)
    x = numbers[finite]
    with np.errstate(invalid="ignore"):
        hit = np.abs(numbers) >= ABSURD_LIMIT
        if len(x) >= 3:
            q05, median, q95 = np.quantile(x, [0.05, 0.5, 0.95])
            scale = max(q95 - q05, abs(q05), abs(q95))
            if scale > 0:
                hit |= np.abs(numbers - median) > ABSURD_SPAN * scale
    return pd.Series(hit & finite, index=values.index, dtype=bool)


def odd_for_series(values: pd.Series, coded_day: np.ndarray, variable: str | None = None) -> np.ndarray:
    """Cells whose value would be odd for their own series on any day: a companion written beside a code is
    suspect only when it is (0 mm of rain on a coded level day is an ordinary dry day, not a companion).

    Judged against the readings on days without a code (nor an absurd magnitude): a rainfall-like series by its
    range (any value the other days also reach is ordinary); a continuous series (level, storage, flows) by its
    distance from the line between the nearest uncoded days, beyond COMPANION_JUMP times its largest usual
    day-to-day change. With too few uncoded readings to judge, every value counts as odd (the safe side: it is
    masked, and the report says so).
    """
    x = _numbers(values)
    finite = np.isfinite(x)
    reference = finite & ~coded_day & ~find_absurd(values).to_numpy()  # an absurd one-off is no yardstick
    ref = x[reference]
    if len(ref) < 4:
        return finite
    if _is_pulses(ref, variable):
        return finite & ((x < ref.min()) | (x > ref.max()))
    position = np.arange(len(x), dtype=float)
    expected = np.interp(position, position[reference], ref)  # flat beyond the first/last uncoded reading
    steps = np.abs(np.diff(ref))
    usual = float(np.quantile(steps, 0.99)) if len(steps) else 0.0
    tolerance = max(COMPANION_JUMP * usual, 1e-9 * float(np.median(np.abs(ref))), 1e-12)
    with np.errstate(invalid="ignore"):
        return finite & (np.abs(x - expected) > tolerance)


def find_companions(
    codes: pd.DataFrame,
    frame: pd.DataFrame,
    variables: Mapping[str, str] | None = None,
    coded_elsewhere: pd.Series | None = None,
) -> pd.DataFrame:
    """Cells with a reading on a day another column (or a variable outside the frame, `coded_elsewhere`) holds a
    code, and odd for their own series: loggers write a bogus companion value beside a code."""
    code_cells = codes.reindex(index=frame.index, columns=frame.columns, fill_value=False).to_numpy(dtype=bool)
    elsewhere = np.zeros(len(frame), dtype=bool)
    if coded_elsewhere is not None:
        elsewhere = coded_elsewhere.reindex(frame.index, fill_value=False).to_numpy(dtype=bool)
    others = (code_cells.sum(axis=1)[:, None] - code_cells.astype(int) > 0) | elsewhere[:, None]
    hit = others & frame.notna().to_numpy() & ~code_cells
    coded_day = code_cells.any(axis=1) | elsewhere
    for j, column in enumerate(frame.columns):
        if hit[:, j].any():
            hit[:, j] &= odd_for_series(frame[column], coded_day, (variables or {}).get(column) or str(column))
    return pd.DataFrame(hit, index=frame.index, columns=frame.columns)


@dataclass(frozen=True, eq=False)
class Screen:
    """Per cell of a daily frame, what screening found (boolean frames aligned with it)."""

    codes: pd.DataFrame  # logger codes: repeated isolated extremes, plus fixed no-data codes given by the caller
    absurd: pd.DataFrame
    out_of_range: pd.DataFrame  # outside the physical range (after the operator's 'relative' declarations)
    companions: pd.DataFrame
    coded_days: pd.DataFrame  # every cell holding a code, fixed ones read as missing included: what companions sit by

    def kept(self, decisions: Mapping[str, str]) -> pd.DataFrame:
        """Out-of-range cells the operator chose to keep (flagged, not masked)."""
        keep = [c for c in self.out_of_range.columns if decisions.get(str(c)) == KEEP]
        out = self.out_of_range.copy()
        out.loc[:, [c for c in out.columns if c not in keep]] = False
        return out


def screen_frame(
    frame: pd.DataFrame,
    variables: Mapping[str, str] | None = None,
    decisions: Mapping[str, str] | None = None,
    known_codes: pd.DataFrame | None = None,
    coded_elsewhere: pd.Series | None = None,
    units: Mapping[str, str | None] | None = None,
) -> Screen:
    """Screen every column of a daily frame; `variables` maps a column to its declared variable (else its header),
    `decisions` a column to mask/keep/relative, `known_codes` marks cells that held a fixed no-data code,
    `coded_elsewhere` days a variable outside the frame held a code (its companions are in the frame), and
    `units` a column to its declared unit (a level's physical range is judged in it)."""
    variables, decisions, units = variables or {}, decisions or {}, units or {}
    codes, absurd, out = {}, {}, {}
    for column in frame.columns:
        values, kind = frame[column], variables.get(column) or str(column)
        codes[column] = find_codes(values, kind) | qc.find_sentinels(values)
        absurd[column] = find_absurd(values) & ~codes[column]
        relative = decisions.get(str(column)) == RELATIVE
        impossible = qc.find_impossible(values, kind, relative=relative, unit=units.get(column))
        out[column] = impossible & ~codes[column] & ~absurd[column]
    code_frame = pd.DataFrame(codes, index=frame.index, columns=frame.columns).astype(bool)
    absurd_frame = pd.DataFrame(absurd, index=frame.index, columns=frame.columns).astype(bool)
    every_code = code_frame.copy()  # an absurd one-off is not a code: the other columns that day are left alone
    if known_codes is not None:
        every_code |= known_codes.reindex(index=frame.index, columns=frame.columns, fill_value=False).astype(bool)
    companions = find_companions(every_code, frame, variables, coded_elsewhere)
    return Screen(
        codes=code_frame,
        absurd=absurd_frame,
        out_of_range=pd.DataFrame(out, index=frame.index, columns=frame.columns).astype(bool),
        companions=companions,
        coded_days=every_code,
    )


def date_runs(mask: pd.Series, values: pd.Series | None = None) -> tuple[DateRun, ...]:
    """First and last day of each stretch of consecutive calendar days where `mask` holds."""
    days = mask.index[mask.to_numpy(dtype=bool)]
    if not len(days):
        return ()
    day_numbers = days.values.astype("datetime64[D]").astype(np.int64)
    breaks = np.flatnonzero(np.diff(day_numbers) > 1)
    starts, ends = np.r_[0, breaks + 1], np.r_[breaks, len(days) - 1]
    held = None if values is None else values.reindex(days).to_numpy(dtype=float)
    runs = []
    for s, e in zip(starts, ends, strict=True):
        value, text = None, ""
        if held is not None and np.all(held[s : e + 1] == held[s]):
            value = float(held[s])
        elif held is not None:
            text = values_text(held[s : e + 1])
        first, last = days[s].date().isoformat(), days[e].date().isoformat()
        runs.append(DateRun(first, last, int(day_numbers[e] - day_numbers[s]) + 1, value, text))
    return tuple(runs)


def values_text(held: np.ndarray, listed: int = 3) -> str:
    """A run's differing values for a table cell: up to `listed` of them in order, else their span."""
    finite = held[np.isfinite(held)]
    if not len(finite):
        return ""
    distinct = list(dict.fromkeys(float(v) for v in finite))
    if len(distinct) <= listed:
        return ", ".join(f"{plain(v)}" for v in distinct)
    return f"{plain(finite.min())} to {plain(finite.max())}"


def long_runs(runs: Collection[DateRun]) -> list[DateRun]:
    """Runs long enough to be a convention (relative storage) rather than a glitch."""
    return [run for run in runs if run.days >= LONG_RUN_DAYS]


def spans(frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Each column's lowest and highest reading once logger codes and absurd magnitudes are masked: the range a
    header's unit is judged against (a -999999 code says nothing about the unit)."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        real = values[~(find_codes(values) | qc.find_sentinels(values) | find_absurd(values))].dropna()
        if len(real):
            out[str(column)] = (float(real.min()), float(real.max()))
    return out
