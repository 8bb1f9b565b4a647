"""Residual history: what a model's past forecasts missed by, so bands can adapt to the errors known by an issue day."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from core.model.preprocess import Scaling
from core.model.uncertainty import Calibration, ResidualHistory, recent_change, scaled_residuals


class Predicts(Protocol):
    """Any zoo member (typed structurally: core.model.zoo imports the training code, which imports this)."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Scaled changes, shape (n, horizon)."""
        ...


def residual_history(
    model: Predicts,
    scaling: Scaling,
    values: pd.DataFrame,
    target: str,
    n_steps: int,
    horizon: int,
    calib: Calibration,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> ResidualHistory:
    """Scaled residuals of the forecasts issued from start to end, in one batched predict.

    Unlike training windows, a forecast whose later lead days are not observed yet is kept (NaN
    truth), so the lead-1 error of yesterday's forecast counts today.
    """
    inputs = scaling.inputs(values)
    series = values[target].to_numpy(dtype=float)
    positions = _issue_positions(inputs, values.index, n_steps, start, end)
    if len(positions) == 0:
        return ResidualHistory(np.zeros(0, "datetime64[D]"), np.zeros((0, horizon)))
    X = sliding_window_view(inputs, (n_steps, inputs.shape[1]))[:, 0][positions - n_steps + 1]
    X = np.ascontiguousarray(X, dtype=np.float32)
    padded = np.concatenate([series, np.full(horizon, np.nan)])
    truth = sliding_window_view(padded, horizon)[positions + 1]
    base = series[positions]
    forecast = base[:, None] + np.asarray(model.predict(X), dtype=float) * scaling.delta_scale
    change = recent_change(X, scaling.delta_scale, scaling.change_column)
    issued = values.index[positions].values.astype("datetime64[D]")
    return ResidualHistory(issued, scaled_residuals(truth, forecast, change, calib))


def _issue_positions(
    inputs: np.ndarray, dates: pd.DatetimeIndex, n_steps: int, start: pd.Timestamp, end: pd.Timestamp
) -> np.ndarray:
    """Row positions of issue days in [start, end] with a complete n_steps input window and a base value."""
    complete = np.isfinite(inputs).all(axis=1).astype(np.int64)
    run = np.convolve(complete, np.ones(n_steps, np.int64), mode="full")[: len(complete)]
    ok = (run == n_steps) & (dates >= start) & (dates <= end)
    return np.flatnonzero(ok)
