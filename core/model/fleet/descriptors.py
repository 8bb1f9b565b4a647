"""Static descriptors of a reservoir, from the part of its record the model may learn from.

Why these: the fleet model must know *which kind* of reservoir a window comes from without a per-reservoir
identity (an identity, e.g. a learned embedding, has nothing to say about a reservoir it never saw, and a
cold-start reservoir is exactly that). Every descriptor is unit-free, so a reservoir in mcft sits next to one
in m³, and each can be computed from a few months of record (seasonality needs a year; below that it is
left at the fleet's mean, 0 after normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data.variables import canonical_name
from core.model.preprocess import robust_scale

DESCRIPTORS = (
    "change_to_spread",  # log10(typical daily change / spread of the level): how fast it moves for its size
    "tail_weight",  # log10(std / robust spread of the daily change): floods and big releases vs steady days
    "change_autocorr",  # lag-1 autocorrelation of the daily change: smooth trends vs day-to-day noise
    "flat_share",  # share of days without change: a dry or closed reservoir, coarse readings
    "rise_share",  # share of the changing days that rise
    "seasonality",  # share of the level's variance explained by the day of year (NaN under a year of record)
    "wet_share",  # share of days with rainfall (NaN without a rainfall covariate)
)
SEASONAL_MIN_DAYS = 365


@dataclass(frozen=True)
class DescriptorNorm:
    """Centre and spread of each descriptor over the fleet's reservoirs; a missing descriptor becomes 0 (the mean)."""

    center: tuple[float, ...]
    scale: tuple[float, ...]

    def apply(self, raw: dict[str, float]) -> np.ndarray:
        """The normalised vector in DESCRIPTORS order, NaN (not computable) as the fleet's mean."""
        values = np.array([raw.get(name, np.nan) for name in DESCRIPTORS], dtype=float)
        z = (values - np.asarray(self.center)) / np.asarray(self.scale)
        return np.clip(np.nan_to_num(z, nan=0.0), -5.0, 5.0).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, keyed by descriptor."""
        return {"names": list(DESCRIPTORS), "center": list(self.center), "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DescriptorNorm:
        """Rebuild from saved JSON (the names must be this version's)."""
        if tuple(data["names"]) != DESCRIPTORS:
            raise ValueError("The saved fleet model uses other reservoir descriptors than this version knows.")
        return cls(tuple(float(v) for v in data["center"]), tuple(float(v) for v in data["scale"]))


def fit_norm(described: list[dict[str, float]]) -> DescriptorNorm:
    """Centre/spread of each descriptor over the fleet (a descriptor nobody has: centre 0, spread 1)."""
    table = np.array([[d.get(name, np.nan) for name in DESCRIPTORS] for d in described], dtype=float)
    center, scale = [], []
    for column in table.T:
        ok = column[np.isfinite(column)]
        center.append(float(ok.mean()) if ok.size else 0.0)
        spread = float(ok.std()) if ok.size > 1 else 0.0
        scale.append(spread if spread > 1e-6 else 1.0)
    return DescriptorNorm(tuple(center), tuple(scale))


def describe(values: pd.DataFrame, target: str, covariates: tuple[str, ...], mask: np.ndarray) -> dict[str, float]:
    """The DESCRIPTORS of one record's days in mask (its training part; a cold start's whole record)."""
    level = values[target].to_numpy(dtype=float)
    change = np.concatenate([[np.nan], np.diff(level)])[mask]
    level, dates = level[mask], values.index[mask]
    moving = change[np.isfinite(change)]
    typical = robust_scale(moving)
    out = {
        "change_to_spread": float(np.log10(typical / robust_scale(level))),
        "tail_weight": float(np.log10(max(float(np.std(moving)), 1e-12) / typical)) if moving.size else np.nan,
        "change_autocorr": _autocorr(change),
        "flat_share": float(np.mean(np.abs(moving) <= 1e-9 * max(typical, 1e-12))) if moving.size else np.nan,
        "rise_share": _rise_share(moving),
        "seasonality": _seasonality(level, dates),
        "wet_share": np.nan,
    }
    rain = [c for c in covariates if canonical_name(c) == "rainfall"]
    if rain:
        wet = values[rain[0]].to_numpy(dtype=float)[mask]
        wet = wet[np.isfinite(wet)]
        out["wet_share"] = float(np.mean(wet > 0)) if wet.size else np.nan
    return {k: float(v) for k, v in out.items()}


def _autocorr(change: np.ndarray) -> float:
    """Lag-1 autocorrelation over consecutive days that both have a change (NaN if flat or too short)."""
    a, b = change[:-1], change[1:]
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return np.nan
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _rise_share(moving: np.ndarray) -> float:
    """Share of non-zero changes that are rises (NaN if the level never moved)."""
    nonzero = moving[moving != 0]
    return float(np.mean(nonzero > 0)) if nonzero.size else np.nan


def _seasonality(level: np.ndarray, dates: pd.DatetimeIndex) -> float:
    """R² of two annual harmonics fitted to the level (NaN under SEASONAL_MIN_DAYS of readings)."""
    ok = np.isfinite(level)
    if ok.sum() < SEASONAL_MIN_DAYS or np.std(level[ok]) == 0:
        return np.nan
    angle = dates.dayofyear.to_numpy()[ok] / 365.25 * 2 * np.pi
    design = np.column_stack([np.ones(ok.sum()), np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)])
    coef, *_ = np.linalg.lstsq(design, level[ok], rcond=None)
    residual = level[ok] - design @ coef
    return float(1 - residual.var() / level[ok].var())
