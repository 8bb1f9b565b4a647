"""The clean daily frame the model trains on: QC masks applied, short gaps filled, every change flagged."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from core.data import qc

OK = np.int8(0)
INTERPOLATED = np.int8(1)
MASKED_SPIKE = np.int8(2)
MASKED_IMPOSSIBLE = np.int8(3)
MASKED_SENTINEL = np.int8(4)
MISSING = np.int8(5)
FLATLINE = np.int8(6)  # flag only: the value is kept

FLAG_NAMES: dict[int, str] = {
    1: "interpolated",
    2: "masked_spike",
    3: "masked_impossible",
    4: "masked_sentinel",
    5: "missing",
    6: "flatline",
}


class CleanError(ValueError):
    """The raw frame or the cleaning settings cannot be used; the message says why."""


@dataclass(frozen=True)
class CleanConfig:
    """How raw readings become training data; stored with each model so results can be reproduced."""

    max_gap_days: int = 3  # gaps up to this many days are linearly interpolated; longer gaps stay NaN
    mask_spikes: bool = True
    mask_impossible: bool = True
    denoise_window: int = 0  # 0 = off; else odd window of a centred rolling median applied after masking

    def __post_init__(self) -> None:
        """Reject settings that would silently do something else than asked."""
        if (
            isinstance(self.max_gap_days, bool)
            or not isinstance(self.max_gap_days, (int, np.integer))
            or self.max_gap_days < 0
        ):
            raise CleanError(f"max_gap_days must be a whole number of days >= 0, not {self.max_gap_days!r}.")
        window = self.denoise_window
        if (
            isinstance(window, bool)
            or not isinstance(window, (int, np.integer))
            or window < 0
            or (window and (window < 3 or window % 2 == 0))
        ):
            raise CleanError(f"denoise_window must be 0 (off) or an odd number >= 3, not {window!r}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, saved beside each trained model."""
        data = asdict(self)
        data["max_gap_days"] = int(self.max_gap_days)
        data["denoise_window"] = int(self.denoise_window)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CleanConfig:
        """Rebuild from stored JSON; unknown keys are an error so typos don't pass silently."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CleanError(f"Unknown cleaning setting(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        return cls(**data)


@dataclass(frozen=True, eq=False)
class CleanFrame:
    """Cleaned values plus a per-cell QC code saying what was done to each reading."""

    values: pd.DataFrame
    flags: pd.DataFrame
    config: CleanConfig = CleanConfig()  # the settings that produced it, for messages and provenance

    def summary(self) -> dict[str, dict[str, int]]:
        """Per variable, how many cells got each QC code (OK cells are not counted)."""
        out: dict[str, dict[str, int]] = {}
        for column in self.flags.columns:
            counts = self.flags[column].value_counts()
            out[str(column)] = {name: int(counts.get(code, 0)) for code, name in FLAG_NAMES.items()}
        return out

    def summary_lines(self) -> list[str]:
        """One readable line per variable, e.g. 'storage: 3 spikes masked and interpolated, ...'."""
        lines = []
        for column in self.flags.columns:
            flags = self.flags[column].to_numpy()
            filled = self.values[column].notna().to_numpy()
            parts = []
            for code, what in (
                (MASKED_SPIKE, ("spike", "spikes")),
                (MASKED_IMPOSSIBLE, ("impossible value", "impossible values")),
                (MASKED_SENTINEL, ("no-data code", "no-data codes")),
            ):
                hit = flags == code
                n_filled, n_left = int((hit & filled).sum()), int((hit & ~filled).sum())
                if n_filled:
                    parts.append(f"{n_filled} {what[n_filled != 1]} masked and interpolated")
                if n_left:
                    parts.append(f"{n_left} {what[n_left != 1]} masked (left missing, in a long gap)")
            n_interp = int((flags == INTERPOLATED).sum())
            if n_interp:
                parts.append(f"{n_interp} {'day' if n_interp == 1 else 'days'} interpolated")
            n_missing = int((flags == MISSING).sum())
            if n_missing:
                parts.append(
                    f"{n_missing} {'day' if n_missing == 1 else 'days'} missing "
                    f"(gaps > {self.config.max_gap_days} days or outside the record)"
                )
            n_flat = int((flags == FLATLINE).sum())
            if n_flat:
                parts.append(f"{n_flat} {'day' if n_flat == 1 else 'days'} on a flat line (kept, check the sensor)")
            lines.append(f"{column}: " + (", ".join(parts) if parts else "no changes"))
        return lines


def _check_raw(raw: pd.DataFrame) -> pd.DataFrame:
    """Return raw with a normalised, sorted, unique daily DatetimeIndex and float columns, or raise."""
    if not isinstance(raw, pd.DataFrame):
        raise CleanError("clean_daily needs a DataFrame indexed by date.")
    if not isinstance(raw.index, pd.DatetimeIndex):
        raise CleanError("clean_daily needs a DatetimeIndex (the 'date' index of an imported frame).")
    frame = raw.copy()
    index = frame.index.tz_localize(None) if frame.index.tz is not None else frame.index
    frame.index = index.normalize()
    if frame.index.hasnans:
        raise CleanError("Some rows have no date; drop them before cleaning.")
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0].date().isoformat()
        raise CleanError(f"Date {dup} appears more than once; combine to one row per day before cleaning.")
    try:
        frame = frame.sort_index().astype("float64")
    except (TypeError, ValueError) as exc:
        raise CleanError(f"All columns must hold numbers ({exc}).") from exc
    return frame


def _short_gaps(missing: np.ndarray, max_days: int) -> np.ndarray:
    """Cells in NaN runs of at most max_days that have readings on both sides."""
    out = np.zeros(len(missing), dtype=bool)
    if max_days <= 0 or not missing.any():
        return out
    change = np.diff(np.r_[0, missing.astype(np.int8), 0])
    starts, ends = np.flatnonzero(change == 1), np.flatnonzero(change == -1)  # ends exclusive
    for start, end in zip(starts, ends, strict=True):
        if start > 0 and end < len(missing) and end - start <= max_days:
            out[start:end] = True
    return out


def _clean_column(series: pd.Series, name: str, config: CleanConfig) -> tuple[pd.Series, np.ndarray]:
    """Mask, fill and flag one variable; returns values and int8 QC codes."""
    flags = np.where(series.isna().to_numpy(), MISSING, OK).astype(np.int8)
    values = series.copy()

    def mask(hit: pd.Series, code: np.int8) -> None:
        nonlocal values
        hit_arr = hit.to_numpy() & (flags == OK)
        flags[hit_arr] = code
        values = values.mask(hit_arr)

    mask(qc.find_sentinels(values), MASKED_SENTINEL)
    if config.mask_impossible:
        mask(qc.find_impossible(values, name), MASKED_IMPOSSIBLE)
    if config.mask_spikes:
        mask(qc.find_spikes(values, variable=name), MASKED_SPIKE)
    flat = qc.find_flatlines(values).to_numpy() & (flags == OK)
    flags[flat] = FLATLINE

    missing = values.isna().to_numpy()
    fill = _short_gaps(missing, config.max_gap_days)
    if fill.any():
        interpolated = values.interpolate(method="linear", limit_area="inside")
        values = values.where(~fill, interpolated)
        flags[fill & (flags == MISSING)] = INTERPOLATED
    if config.denoise_window:
        smooth = values.rolling(config.denoise_window, center=True, min_periods=1).median()
        values = smooth.where(values.notna())
    return values, flags


def clean_daily(raw: pd.DataFrame, config: CleanConfig = CleanConfig()) -> CleanFrame:
    """Put readings on a full daily calendar, mask QC failures, fill gaps <= max_gap_days, flag everything.

    Masked cells (spike, impossible, sentinel) keep their mask code after being interpolated;
    cells left NaN are either in a gap longer than max_gap_days or before/after a variable's
    first/last reading (flag MISSING, or the mask code when a masked cell sits in a long gap).
    """
    frame = _check_raw(raw)
    if frame.empty:
        index = pd.DatetimeIndex([], name="date")
        return CleanFrame(
            pd.DataFrame(index=index, columns=frame.columns, dtype="float64"),
            pd.DataFrame(index=index, columns=frame.columns, dtype="int8"),
            config,
        )
    calendar = pd.date_range(frame.index[0], frame.index[-1], freq="D", name="date")
    frame = frame.reindex(calendar)
    values: dict[str, pd.Series] = {}
    flags: dict[str, np.ndarray] = {}
    for column in frame.columns:
        values[column], flags[column] = _clean_column(frame[column], str(column), config)
    out_values = pd.DataFrame(values, index=calendar, columns=frame.columns).astype("float64")
    out_flags = pd.DataFrame(flags, index=calendar, columns=frame.columns).astype("int8")
    return CleanFrame(values=out_values, flags=out_flags, config=config)
