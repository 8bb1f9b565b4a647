"""Supervised windows (n_steps days in, horizon days out) that never straddle a split or a long gap."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class WindowSet:
    """Windows of one split; targets are changes from the last observed value, in scaled units."""

    X: np.ndarray  # (n, n_steps, features) float32
    y: np.ndarray  # (n, horizon) float32: (target[t+k] - target[t]) / delta_scale
    base: np.ndarray  # (n,) last observed target value, original units
    truth: np.ndarray  # (n, horizon) observed target, original units
    issued: pd.DatetimeIndex  # (n,) date of the last input day (the forecast issue date)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def to_values(self, y_scaled: np.ndarray, delta_scale: float) -> np.ndarray:
        """Model outputs back to target units (absolute values per lead day)."""
        return self.base[:, None] + np.asarray(y_scaled, dtype=float) * delta_scale


def make_windows(
    inputs: np.ndarray,
    target: np.ndarray,
    dates: pd.DatetimeIndex,
    labels: np.ndarray,
    split: str,
    n_steps: int,
    horizon: int,
    delta_scale: float,
) -> WindowSet:
    """All complete windows lying wholly inside `split`.

    Written with sliding_window_view rather than keras.utils.timeseries_dataset_from_array because
    windows must be dropped when they touch a gap or another split, which that helper cannot do.
    """
    n_days, n_feat = inputs.shape
    span = n_steps + horizon
    if n_days < span:
        return _empty(n_steps, n_feat, horizon)
    x_win = sliding_window_view(inputs, (n_steps, n_feat))[:, 0]  # (n_days-n_steps+1, n_steps, F)
    x_win = x_win[: n_days - span + 1]
    y_all = sliding_window_view(target, span)  # (n_days-span+1, span)
    lab = sliding_window_view((labels == split).astype(np.int8), span)
    inside = lab.all(axis=1)
    complete = np.isfinite(x_win).all(axis=(1, 2)) & np.isfinite(y_all).all(axis=1)
    keep = np.flatnonzero(inside & complete)
    base = y_all[keep, n_steps - 1]
    truth = y_all[keep, n_steps:]
    y = (truth - base[:, None]) / delta_scale
    return WindowSet(
        X=np.ascontiguousarray(x_win[keep], dtype=np.float32),
        y=y.astype(np.float32),
        base=base.astype(float),
        truth=truth.astype(float),
        issued=dates[keep + n_steps - 1],
    )


def _empty(n_steps: int, n_feat: int, horizon: int) -> WindowSet:
    """A window set with no windows, shaped so callers need no special case."""
    return WindowSet(
        X=np.zeros((0, n_steps, n_feat), np.float32),
        y=np.zeros((0, horizon), np.float32),
        base=np.zeros(0),
        truth=np.zeros((0, horizon)),
        issued=pd.DatetimeIndex([]),
    )


def latest_window(inputs: np.ndarray, dates: pd.DatetimeIndex, n_steps: int, as_of: pd.Timestamp) -> np.ndarray:
    """The n_steps input days ending on `as_of`, or a ValueError naming the missing days."""
    pos = dates.get_indexer([as_of])[0]
    if pos < 0:
        raise ValueError(f"There is no reading on {as_of.date()}.")
    if pos + 1 < n_steps:
        raise ValueError(
            f"A forecast needs {n_steps} days of history before {as_of.date()}; only {pos + 1} are stored."
        )
    window = inputs[pos - n_steps + 1 : pos + 1]
    bad = ~np.isfinite(window).all(axis=1)
    if bad.any():
        missing = dates[pos - n_steps + 1 : pos + 1][bad]
        shown = ", ".join(d.date().isoformat() for d in missing[:5])
        raise ValueError(
            f"The {n_steps} days before {as_of.date()} have {int(bad.sum())} day(s) without usable readings "
            f"({shown}{', ...' if bad.sum() > 5 else ''}). Upload the missing days or pick an earlier as-of date."
        )
    return window[None].astype(np.float32)
