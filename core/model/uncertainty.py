"""Calibrated prediction intervals: conformal bands per lead day, scaled by recent variability, adapting to errors.

Why this method: the residuals of forecasts the model did not train on give an empirical error
distribution per lead day, so bands widen with lead time exactly as the errors do. Dividing each
residual by the target's recent variability at issue time (mean absolute daily change over the
input window, plus a floor) makes the band narrow in calm spells and wide in floods.

The validation period is not the test regime (a static validation calibration held the 50 % band
39-65 % per reservoir), so bands adapt: on each issue day the residuals are those of the forecasts
whose truth is known by that day (a lead-h forecast issued h or more days earlier) over the last
`window_days` (one seasonal cycle), with the validation residuals as the prior while fewer are
known. Chosen over ACI and quantile tracking in the issue-10 research (one knob, stateless: a hindcast equals
the live forecast); bench/RESULTS.md holds the measured coverage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

BANDS = (50, 80, 95)
METHODS = ("scaled", "absolute")
# Floor of the variability scale, in units of the training set's typical daily change: keeps
# bands from collapsing to zero width when the series has been flat for two weeks.
FLOOR = 0.5


DECAYED_LEVELS = 400  # a decayed residual distribution is carried as its quantiles at this many even levels


@dataclass(frozen=True)
class AdaptiveConfig:
    """How bands follow recent errors; saved with the model so a hindcast reproduces its bands.

    decay_days > 0 weighs each known residual by exp(-age / decay_days) (age: days from its truth to the
    issue day) within window_days; 0 is the plain window with equal weights (versions saved before it).
    Measured (hindcast over the test period, 9 shared reservoirs, conv_lstm_ensemble / conv1d): equal weights
    over 365 days put 2/27 and 0/27 band x reservoir cells more than 5 points off nominal (worst REDHILLS
    50 %: 56.1); 180 days 0/27 and 0/27 (worst 4.2 / 5.0); decay 90 days over 730 days 0/27 and 0/27 (worst
    4.4 / 4.2), decay 60: worst 4.0 / 4.6, decay 180: 4/27 off for the ensemble.
    """

    window_days: int = 730  # truth dates this many days back from the issue day at most
    min_known: int = 30  # with fewer known residuals per lead, pool them with the validation residuals
    decay_days: float = 90.0  # e-folding age of a residual's weight; 0 = equal weights over the window

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored inside the calibration."""
        return {"window_days": self.window_days, "min_known": self.min_known, "decay_days": self.decay_days}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdaptiveConfig:
        """Rebuild from a saved model's JSON (without decay_days: a version saved with equal weights)."""
        return cls(
            window_days=int(data["window_days"]),
            min_known=int(data["min_known"]),
            decay_days=float(data.get("decay_days", 0.0)),
        )


@dataclass(frozen=True)
class ResidualHistory:
    """Scaled residuals of past forecasts by issue day; NaN where the truth is missing."""

    issued: np.ndarray  # (n,) datetime64[D], ascending
    residuals: np.ndarray  # (n, horizon)

    def truth_days(self) -> np.ndarray:
        """Day on which each residual's truth was observed (issue day + lead), (n, horizon)."""
        leads = np.arange(1, self.residuals.shape[1] + 1).astype("timedelta64[D]")
        return self.issued.astype("datetime64[D]")[:, None] + leads[None, :]


@dataclass(frozen=True)
class Calibration:
    """The validation residuals (normalised) that turn a point forecast into bands and probabilities."""

    method: str
    residuals: np.ndarray  # (n, horizon): (truth - forecast) / scale at issue time
    floor: float  # in target units
    nonnegative: bool = False
    adaptive: AdaptiveConfig | None = None  # None: static bands (versions saved before adaptation)

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored with the model (residuals to 5 significant digits)."""
        return {
            "method": self.method,
            "floor": self.floor,
            "nonnegative": self.nonnegative,
            "adaptive": self.adaptive.to_dict() if self.adaptive else None,
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
            adaptive=AdaptiveConfig.from_dict(data["adaptive"]) if data.get("adaptive") else None,
        )

    def at(self, history: ResidualHistory | None, issue_day: Any) -> Calibration:
        """The calibration as it stood on issue_day: residuals known by then (static without adaptation)."""
        if self.adaptive is None or history is None:
            return self
        recent = recent_residuals(history.residuals, history.truth_days(), issue_day, self)
        return replace(self, residuals=recent)

    def bands_at(
        self, history: ResidualHistory | None, issued: Any, forecast: np.ndarray, recent_change: np.ndarray
    ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Bands of many forecasts, each calibrated on what was known on its own issue day."""
        forecast = np.atleast_2d(np.asarray(forecast, dtype=float))
        change = np.atleast_1d(np.asarray(recent_change, dtype=float))
        parts = [self.at(history, day).bands(forecast[i : i + 1], change[i : i + 1]) for i, day in enumerate(issued)]
        return {b: tuple(np.concatenate([p[b][k] for p in parts]) for k in (0, 1)) for b in BANDS}

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
        """Lower and upper bound per band (50/80/95), per forecast and lead day; nested, widening with lead."""
        forecast = np.atleast_2d(np.asarray(forecast, dtype=float))
        s = self.scale(np.atleast_1d(recent_change))
        out = {}
        for band, (lo_q, hi_q) in band_quantiles(self.residuals).items():
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


def band_quantiles(residuals: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Conformal quantiles per band and lead, widened where needed so no band narrows with lead.

    Quantiles of one sample at nested levels are nested; a running min/max over leads keeps them so.
    """
    out = {}
    for band in BANDS:
        lo_q, hi_q = conformal_quantiles(residuals, band)
        out[band] = (np.minimum.accumulate(lo_q), np.maximum.accumulate(hi_q))
    return out


def recent_residuals(residuals: np.ndarray, truth_days: np.ndarray, issue_day: Any, calib: Calibration) -> np.ndarray:
    """Scaled residuals per lead whose truth was known on issue_day, over the last window_days (m, horizon).

    Pure: only entries with truth day <= issue_day are read, so the band of a past issue day never
    depends on later truths. Every lead keeps the same count (the last m of each); with fewer than
    min_known, the validation residuals are pooled in as the prior. With decay_days, each lead's
    weighted distribution comes back as its quantiles at DECAYED_LEVELS even levels (an equal-weight
    sample of it, which the bands and the exceedance ensemble read like any other).
    """
    config = calib.adaptive or AdaptiveConfig()
    day = np.datetime64(issue_day, "D")
    since = day - np.timedelta64(config.window_days, "D")
    residuals = np.asarray(residuals, dtype=float)
    known = (truth_days <= day) & (truth_days > since) & np.isfinite(residuals)
    columns = [residuals[known[:, h], h] for h in range(residuals.shape[1])]
    m = min(len(c) for c in columns)
    recent = np.stack([c[len(c) - m :] for c in columns], axis=1) if m else np.zeros((0, residuals.shape[1]))
    if m < config.min_known:
        return np.concatenate([calib.residuals, recent])
    if not config.decay_days:
        return recent
    ages = [(day - truth_days[known[:, h], h]).astype(float) for h in range(residuals.shape[1])]
    return np.stack([_decayed(columns[h], ages[h], config.decay_days) for h in range(len(columns))], axis=1)


def _decayed(values: np.ndarray, ages: np.ndarray, decay_days: float) -> np.ndarray:
    """Quantiles at DECAYED_LEVELS even levels of values weighted by exp(-age / decay_days)."""
    order = np.argsort(values, kind="stable")
    weights = np.exp(-ages[order] / decay_days)
    levels = (np.cumsum(weights) - weights / 2) / weights.sum()
    return np.interp((np.arange(DECAYED_LEVELS) + 0.5) / DECAYED_LEVELS, levels, values[order])


def scaled_residuals(truth: np.ndarray, forecast: np.ndarray, change: np.ndarray, calib: Calibration) -> np.ndarray:
    """(truth - forecast) / scale at issue time, per forecast and lead (NaN where truth is missing)."""
    s = calib.scale(np.atleast_1d(change))
    return (np.asarray(truth, float) - np.asarray(forecast, float)) / s[:, None]


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
    adaptive: AdaptiveConfig | None = None,
) -> Calibration:
    """Fit the calibration on held-out forecasts (never the training windows)."""
    if method not in METHODS:
        raise ValueError(f"Unknown interval method '{method}'. Known: {', '.join(METHODS)}.")
    floor = FLOOR * delta_scale
    proto = Calibration(method=method, residuals=np.zeros((1, truth.shape[1])), floor=floor)
    residuals = scaled_residuals(truth, forecast, change, proto)
    return Calibration(method=method, residuals=residuals, floor=floor, nonnegative=nonnegative, adaptive=adaptive)


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
