"""Residual history: what a model's past forecasts missed by, so bands can adapt to the errors known by an issue day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from core.model.preprocess import Scaling
from core.model.uncertainty import Calibration, ResidualHistory, recent_change, scaled_residuals
from core.model.zoo.base import Forecaster


@dataclass(frozen=True)
class IssuedForecasts:
    """Every forecast a model would have issued over a span, in target units, with the truth known so far."""

    issued: np.ndarray  # (n,) datetime64[D], ascending
    forecast: np.ndarray  # (n, horizon) target units
    truth: np.ndarray  # (n, horizon) NaN where not (yet) observed
    change: np.ndarray  # (n,) mean absolute daily change over each input window (the band scale)

    def residuals(self, calib: Calibration) -> ResidualHistory:
        """Scaled residuals by issue day, the sample the adaptive bands are drawn from."""
        return ResidualHistory(self.issued, scaled_residuals(self.truth, self.forecast, self.change, calib))


def issued_forecasts(
    model: Forecaster,
    scaling: Scaling,
    values: pd.DataFrame,
    target: str,
    n_steps: int,
    horizon: int,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> IssuedForecasts:
    """The forecasts issued on each day from start to end with a complete input window, in one batched predict.

    Unlike training windows, a forecast whose later lead days are not observed yet is kept (NaN
    truth), so the lead-1 error of yesterday's forecast counts today.
    """
    inputs = scaling.inputs(values)
    series = values[target].to_numpy(dtype=float)
    positions = _issue_positions(inputs, values.index, n_steps, start, end)
    if len(positions) == 0:
        empty = np.zeros((0, horizon))
        return IssuedForecasts(np.zeros(0, "datetime64[D]"), empty, empty, np.zeros(0))
    X = sliding_window_view(inputs, (n_steps, inputs.shape[1]))[:, 0][positions - n_steps + 1]
    X = np.ascontiguousarray(X, dtype=np.float32)
    padded = np.concatenate([series, np.full(horizon, np.nan)])
    truth = sliding_window_view(padded, horizon)[positions + 1]
    base = series[positions]
    forecast = base[:, None] + np.asarray(model.predict(X), dtype=float) * scaling.delta_scale
    change = recent_change(X, scaling.delta_scale, scaling.change_column)
    issued = values.index[positions].values.astype("datetime64[D]")
    return IssuedForecasts(issued, forecast, truth, change)


def _issue_positions(
    inputs: np.ndarray, dates: pd.DatetimeIndex, n_steps: int, start: pd.Timestamp, end: pd.Timestamp
) -> np.ndarray:
    """Row positions of issue days in [start, end] with a complete n_steps input window and a base value."""
    complete = np.isfinite(inputs).all(axis=1).astype(np.int64)
    run = np.convolve(complete, np.ones(n_steps, np.int64), mode="full")[: len(complete)]
    ok = (run == n_steps) & (dates >= start) & (dates <= end)
    return np.flatnonzero(ok)
