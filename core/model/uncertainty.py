"""Calibrated prediction intervals: split-conformal on validation residuals, per lead day, scaled by recent variability.

Why this method: the residuals of forecasts the model did not train on (the validation split) give
an empirical error distribution per lead day, so bands widen with lead time exactly as the errors
do. Dividing each residual by the target's recent variability at issue time (mean absolute daily
change over the input window, plus a floor) makes the band narrow in calm spells and wide in
floods; see bench/RESULTS.md for the measured coverage of both variants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BANDS = (50, 80, 95)
METHODS = ("scaled", "absolute")
# Floor of the variability scale, in units of the training set's typical daily change: keeps
# bands from collapsing to zero width when the series has been flat for two weeks.
FLOOR = 0.5


@dataclass(frozen=True)
class Calibration:
    """The validation residuals (normalised) that turn a point forecast into bands and probabilities."""

    method: str
    residuals: np.ndarray  # (n, horizon): (truth - forecast) / scale at issue time
    floor: float  # in target units
    nonnegative: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored with the model (residuals to 5 significant digits)."""
        return {
            "method": self.method,
            "floor": self.floor,
            "nonnegative": self.nonnegative,
            "residuals": [[float(f"{v:.5g}") for v in row] for row in self.residuals],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Rebuild from a saved model's JSON."""
        return cls(
            method=data["method"],
            residuals=np.asarray(data["residuals"], dtype=float),
            floor=float(data["floor"]),
            nonnegative=bool(data.get("nonnegative", False)),
        )

    def scale(self, recent_change: np.ndarray) -> np.ndarray:
        """Spread multiplier per forecast from the mean absolute daily change before issue (target units)."""
        recent_change = np.asarray(recent_change, dtype=float)
        if self.method == "absolute":
            return np.ones_like(recent_change)
        return recent_change + self.floor

    def samples(self, forecast: np.ndarray, recent_change: np.ndarray) -> np.ndarray:
        """Predictive ensemble (forecasts x residuals x lead days) in target units."""
        forecast = np.atleast_2d(np.asarray(forecast, dtype=float))
        s = self.scale(np.atleast_1d(recent_change))
        out = forecast[:, None, :] + s[:, None, None] * self.residuals[None, :, :]
        return np.maximum(out, 0.0) if self.nonnegative else out

    def bands(self, forecast: np.ndarray, recent_change: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Lower and upper bound per band (50/80/95), per forecast and lead day; nested by construction."""
        forecast = np.atleast_2d(np.asarray(forecast, dtype=float))
        s = self.scale(np.atleast_1d(recent_change))
        out = {}
        for band in BANDS:
            lo_q, hi_q = conformal_quantiles(self.residuals, band)
            lower = forecast + s[:, None] * lo_q[None, :]
            upper = forecast + s[:, None] * hi_q[None, :]
            if self.nonnegative:
                lower, upper = np.maximum(lower, 0.0), np.maximum(upper, 0.0)
            out[band] = (lower, upper)
        return out


def conformal_quantiles(residuals: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead residual quantiles with the split-conformal finite-sample correction (n+1)."""
    n = residuals.shape[0]
    alpha = 1 - band / 100
    lo_level = np.floor((n + 1) * alpha / 2) / n
    hi_level = min(np.ceil((n + 1) * (1 - alpha / 2)) / n, 1.0)
    lower = np.quantile(residuals, max(lo_level, 0.0), axis=0, method="lower")
    upper = np.quantile(residuals, hi_level, axis=0, method="higher")
    return lower, upper


def recent_change(X: np.ndarray, delta_scale: float, column: int = 1) -> np.ndarray:
    """Mean absolute daily change of the target over each input window, in target units.

    `column` of the model input is the target's daily change divided by delta_scale
    (Scaling.change_column, see preprocess).
    """
    return np.mean(np.abs(X[:, :, column]), axis=1).astype(float) * delta_scale


def calibrate(
    truth: np.ndarray,
    forecast: np.ndarray,
    change: np.ndarray,
    delta_scale: float,
    method: str = "scaled",
    nonnegative: bool = False,
) -> Calibration:
    """Fit the calibration on held-out forecasts (never the training windows)."""
    if method not in METHODS:
        raise ValueError(f"Unknown interval method '{method}'. Known: {', '.join(METHODS)}.")
    floor = FLOOR * delta_scale
    proto = Calibration(method=method, residuals=np.zeros((1, truth.shape[1])), floor=floor)
    s = proto.scale(change)
    residuals = (np.asarray(truth, float) - np.asarray(forecast, float)) / s[:, None]
    return Calibration(method=method, residuals=residuals, floor=floor, nonnegative=nonnegative)


def coverage(truth: np.ndarray, bands: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Share of observations inside each band, overall and per lead day (0..1)."""
    out: dict[str, Any] = {}
    for band, (lower, upper) in bands.items():
        inside = (truth >= lower) & (truth <= upper)
        out[str(band)] = {
            "nominal": band / 100,
            "mean": float(inside.mean()) if inside.size else float("nan"),
            "by_horizon": [float(v) for v in inside.mean(axis=0)] if inside.size else [],
            "mean_width": float(np.mean(upper - lower)) if inside.size else float("nan"),
        }
    return out
