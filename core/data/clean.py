"""The clean daily frame the model trains on: QC masks applied, short gaps filled, every change flagged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.data import qc
from core.data.config import KEEP, MASK, CleanConfig, CleanError
from core.data.plausible import held_text
from core.data.qc import QcFlag
from core.data.screen import Screen, screen_frame


@dataclass(frozen=True, eq=False)
class CleanFrame:
    """Cleaned values plus a per-cell QC code saying what was done to each reading."""

    values: pd.DataFrame
    flags: pd.DataFrame
    config: CleanConfig = CleanConfig()  # the settings that produced it, for messages and provenance
    held_out: dict[str, str] = field(default_factory=dict)  # day -> why a stored reading was left out (mis-dated)

    def summary(self) -> dict[str, dict[str, int]]:
        """Per variable, how many cells got each QC code (OK cells are not counted)."""
        out: dict[str, dict[str, int]] = {}
        for column in self.flags.columns:
            counts = self.flags[column].value_counts()
            out[str(column)] = {flag.label: int(counts.get(flag, 0)) for flag in QcFlag if flag is not QcFlag.OK}
        return out

    def summary_lines(self) -> list[str]:
        """One readable line per variable, e.g. 'storage: 3 spikes masked and interpolated, ...'."""
        lines = []
        for column in self.flags.columns:
            flags = self.flags[column].to_numpy()
            filled = self.values[column].notna().to_numpy()
            parts = []
            for code, what in (
                (QcFlag.MASKED_SPIKE, ("spike", "spikes")),
                (QcFlag.MASKED_IMPOSSIBLE, ("impossible value", "impossible values")),
                (QcFlag.MASKED_SENTINEL, ("no-data code", "no-data codes")),
                (QcFlag.MASKED_COMPANION, ("companion value of a code", "companion values of codes")),
            ):
                hit = flags == code
                n_filled, n_left = int((hit & filled).sum()), int((hit & ~filled).sum())
                if n_filled:
                    parts.append(f"{n_filled} {what[n_filled != 1]} masked and interpolated")
                if n_left:
                    parts.append(f"{n_left} {what[n_left != 1]} masked (left missing, in a long gap)")
            n_interp = int((flags == QcFlag.INTERPOLATED).sum())
            if n_interp:
                parts.append(f"{n_interp} {'day' if n_interp == 1 else 'days'} interpolated")
            n_missing = int((flags == QcFlag.MISSING).sum())
            if n_missing:
                parts.append(
                    f"{n_missing} {'day' if n_missing == 1 else 'days'} missing "
                    f"(gaps > {self.config.max_gap_days} days or outside the record)"
                )
            n_flat = int((flags == QcFlag.FLATLINE).sum())
            if n_flat:
                parts.append(f"{n_flat} {'day' if n_flat == 1 else 'days'} on a flat line (kept, check the sensor)")
            n_kept = int((flags == QcFlag.OUT_OF_RANGE).sum())
            if n_kept:
                parts.append(f"{n_kept} out-of-range {'value' if n_kept == 1 else 'values'} kept (as you chose)")
            lines.append(f"{column}: " + (", ".join(parts) if parts else "no changes"))
        if self.held_out:
            lines.append(
                f"{len(self.held_out)} mis-dated stored {'day' if len(self.held_out) == 1 else 'days'} left out: "
                f"{held_text(self.held_out)}. Correct or delete those readings (python -m core edit ... --missing)."
            )
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


def _clean_column(
    series: pd.Series, name: str, config: CleanConfig, screened: Screen, decision: str
) -> tuple[pd.Series, np.ndarray]:
    """Mask, fill and flag one variable (`screened`: what screening found; `decision`: its out-of-range choice)."""
    flags = np.where(series.isna().to_numpy(), QcFlag.MISSING, QcFlag.OK).astype(np.int8)
    values = series.copy()

    def mask(hit: pd.Series, code: QcFlag) -> None:
        nonlocal values
        hit_arr = hit.to_numpy() & (flags == QcFlag.OK)
        flags[hit_arr] = code
        values = values.mask(hit_arr)

    mask(screened.codes[name], QcFlag.MASKED_SENTINEL)
    mask(screened.absurd[name], QcFlag.MASKED_IMPOSSIBLE)  # absurd magnitudes go whatever mask_impossible says
    mask(screened.companions[name], QcFlag.MASKED_COMPANION)
    out_of_range = screened.out_of_range[name]
    if config.mask_impossible and decision != KEEP:
        mask(out_of_range, QcFlag.MASKED_IMPOSSIBLE)
    else:
        flags[out_of_range.to_numpy() & (flags == QcFlag.OK)] = QcFlag.OUT_OF_RANGE
    if config.mask_spikes:
        mask(qc.find_spikes(values, variable=name), QcFlag.MASKED_SPIKE)
    flat = qc.find_flatlines(values).to_numpy() & (flags == QcFlag.OK)  # after masking: a code run is no flat line
    flags[flat] = QcFlag.FLATLINE

    missing = values.isna().to_numpy()
    fill = _short_gaps(missing, config.max_gap_days)
    if fill.any():
        interpolated = values.interpolate(method="linear", limit_area="inside")
        values = values.where(~fill, interpolated)
        flags[fill & (flags == QcFlag.MISSING)] = QcFlag.INTERPOLATED
    if config.denoise_window:
        smooth = values.rolling(config.denoise_window, center=True, min_periods=1).median()
        values = smooth.where(values.notna())
    return values, flags


def clean_daily(
    raw: pd.DataFrame,
    config: CleanConfig = CleanConfig(),
    out_of_range: Mapping[str, str] | None = None,
    coded_elsewhere: pd.Series | None = None,
    units: Mapping[str, str | None] | None = None,
) -> CleanFrame:
    """Put readings on a full daily calendar, mask QC failures, fill gaps <= max_gap_days, flag everything.

    Logger codes, absurd magnitudes and their companion values are always masked; values outside a variable's
    physical range follow the operator's choice in `out_of_range` (variable -> mask / keep / relative; mask
    when unset). `coded_elsewhere` marks days another stored variable (not in `raw`) held a code; `units` gives
    each variable's stored unit (a level's physical range is judged in it).

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
    decisions = dict(out_of_range or {})
    screened = screen_frame(frame, decisions=decisions, coded_elsewhere=coded_elsewhere, units=units)
    values: dict[str, pd.Series] = {}
    flags: dict[str, np.ndarray] = {}
    for column in frame.columns:
        decision = decisions.get(str(column), MASK)
        values[column], flags[column] = _clean_column(frame[column], column, config, screened, decision)
    out_values = pd.DataFrame(values, index=calendar, columns=frame.columns).astype("float64")
    out_flags = pd.DataFrame(flags, index=calendar, columns=frame.columns).astype("int8")
    return CleanFrame(values=out_values, flags=out_flags, config=config)
