"""Quality-control detectors, shared so that ingest warns about exactly what cleaning will mask."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import pandas as pd

from core.data.variables import canonical_name, daily_aggregate, physical_range


class QcFlag(IntEnum):
    """Per-cell QC code of a cleaned frame (stored as int8): what cleaning did to each reading."""

    OK = 0
    INTERPOLATED = 1
    MASKED_SPIKE = 2
    MASKED_IMPOSSIBLE = 3
    MASKED_SENTINEL = 4
    MISSING = 5
    FLATLINE = 6  # flag only: the value is kept
    MASKED_COMPANION = 7  # a value written on a day another column holds a logger code
    OUT_OF_RANGE = 8  # flag only: outside the variable's physical range, kept because the operator said so

    @property
    def label(self) -> str:
        """The code's name in summaries and stored import records, e.g. 'masked_spike'."""
        return self.name.lower()


MASKED_FLAGS = (  # cleaned value is NaN here (or interpolated over)
    QcFlag.MASKED_SPIKE,
    QcFlag.MASKED_IMPOSSIBLE,
    QcFlag.MASKED_SENTINEL,
    QcFlag.MASKED_COMPANION,
)

SENTINELS: tuple[float, ...] = (-9999.0, -999.0, 9999.0, -99999.0, 99999.0)

SPIKE_WINDOW = 7  # centred median window: tolerates excursions of up to 3 days
SPIKE_MAX_DAYS = 3  # longer excursions are treated as real episodes, not errors
SPIKE_K = 9.0  # threshold in robust standard deviations of the day-to-day change
SPIKE_MIN_FRACTION = 0.05  # ... and never below this share of the series range
SPIKE_LOCAL_WINDOW = 31  # days over which the local day-to-day variability is measured
SPIKE_MAX_SHARE = 0.01  # more "spikes" than this share of readings means pulses are the signal


def _false_like(values: pd.Series) -> pd.Series:
    """An all-False mask aligned with the input, the answer for 'nothing found'."""
    return pd.Series(False, index=values.index, dtype=bool)


def find_sentinels(values: pd.Series) -> pd.Series:
    """Mark logger 'no data' codes (-9999 and friends) that would otherwise pass as readings."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.isin(SENTINELS).astype(bool)


def find_impossible(values: pd.Series, variable: str, *, relative: bool = False, unit: str | None = None) -> pd.Series:
    """Mark values outside the physical range of the variable's kind: negative storage, rainfall or release,
    elevations below any plausible bed (judged in the declared unit); a variable declared relative may go below
    zero."""
    low, high = physical_range(canonical_name(variable), relative=relative, unit=unit)
    numbers = pd.to_numeric(values, errors="coerce")
    return ((numbers < low) | (numbers > high)).fillna(False).astype(bool)


def _runs(mask: np.ndarray, key: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) positions of consecutive True cells in `mask` that share the same `key`."""
    if not mask.any():
        return []
    breaks = np.ones(len(mask), dtype=bool)
    breaks[1:] = (mask[1:] != mask[:-1]) | (key[1:] != key[:-1])
    starts = np.flatnonzero(breaks)
    ends = np.append(starts[1:] - 1, len(mask) - 1)
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if mask[s]]


def find_spikes(values: pd.Series, *, variable: str | None = None) -> pd.Series:
    """Mark 1-3 day excursions that jump away and come straight back: data errors, not floods.

    A reading is a candidate when it departs from the centred 7-day median by more than
    max(9 x robust scale of the day-to-day change, 5 % of the series range); the scale is the
    larger of the whole-record and the local (31-day) one, so busy flood periods need bigger
    jumps. A run of at most 3 such readings is a spike only if the jump into it and the jump
    out of it are both above the threshold and opposite, i.e. the series returns. A rise that
    stays up moves the median with it and is never flagged. Depth-like variables (rainfall)
    and series that are zero on most days are left alone: there, pulses are the signal, and so
    are series where "spikes" would exceed 1 % of the readings.
    """
    flags = _false_like(values)
    if variable is not None and daily_aggregate(canonical_name(variable)) == "sum":
        return flags
    series = pd.to_numeric(values, errors="coerce").astype(float).dropna()
    n = len(series)
    if n < SPIKE_WINDOW or (series == 0).mean() >= 0.5:
        return flags
    span = float(series.max() - series.min())
    if span <= 0:
        return flags
    change = series.diff()
    steps = change.dropna()
    global_scale = 1.4826 * float((steps - steps.median()).abs().median())
    local_scale = 1.4826 * change.abs().rolling(SPIKE_LOCAL_WINDOW, center=True, min_periods=5).median()
    scale = np.maximum(local_scale.fillna(global_scale).to_numpy(), global_scale)
    threshold = np.maximum(SPIKE_K * scale, SPIKE_MIN_FRACTION * span)

    x = series.to_numpy()
    baseline = series.rolling(SPIKE_WINDOW, center=True, min_periods=SPIKE_WINDOW // 2 + 1).median().to_numpy()
    deviation = x - baseline
    far = np.abs(deviation) > threshold
    sign = np.sign(deviation)
    hits = np.zeros(n, dtype=bool)
    for start, end in _runs(far, sign):
        if end - start + 1 > SPIKE_MAX_DAYS or start == 0 or end == n - 1 or far[start - 1] or far[end + 1]:
            continue  # too long, at an edge, or next to another excursion (oscillation, not a blip)
        jump_in = sign[start] * (x[start] - x[start - 1])
        jump_out = sign[start] * (x[end] - x[end + 1])
        if jump_in > threshold[start] and jump_out > threshold[end]:
            hits[start : end + 1] = True
    if hits.sum() > max(3, SPIKE_MAX_SHARE * n):
        return flags
    flags.loc[series.index[hits]] = True
    return flags


def find_flatlines(values: pd.Series, min_days: int = 14) -> pd.Series:
    """Mark runs of >= min_days identical non-zero readings, the signature of a frozen sensor.

    Runs of exact zeros are a dry reservoir or a dry spell, not a fault, so they are skipped.
    Missing readings inside a run do not break it.
    """
    flags = _false_like(values)
    series = pd.to_numeric(values, errors="coerce").astype(float).dropna()
    if len(series) < min_days:
        return flags
    x = series.to_numpy()
    starts = np.r_[True, x[1:] != x[:-1]]
    run_id = np.cumsum(starts)
    lengths = np.bincount(run_id)[run_id]
    hits = (lengths >= min_days) & (x != 0)
    flags.loc[series.index[hits]] = True
    return flags
