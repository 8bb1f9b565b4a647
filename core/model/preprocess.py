"""Turn a clean daily frame into scaled model inputs, with statistics fitted on training days only."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

# Scaled inputs are clipped so one undetected data error cannot saturate the network.
CLIP = 10.0


def robust_scale(values: np.ndarray) -> float:
    """A spread estimate that survives outliers and long zero runs (IQR, then MAD, then std, then 1)."""
    x = values[np.isfinite(values)]
    if x.size == 0:
        return 1.0
    q25, q75 = np.percentile(x, [25, 75])
    candidates = (
        (q75 - q25) / 1.349,
        np.mean(np.abs(x - np.median(x))),
        float(np.std(x)),
    )
    for value in candidates:
        if value > 1e-12:
            return float(value)
    return 1.0


@dataclass(frozen=True)
class Scaling:
    """Everything needed to rebuild model inputs and outputs; saved as JSON with the model."""

    target: str
    covariates: tuple[str, ...]
    seasonal: bool
    columns: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    delta_scale: float
    level: bool = True  # versions saved before the option existed fed the level

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaling:
        """Rebuild from a saved model's JSON."""
        return cls(
            target=data["target"],
            covariates=tuple(data["covariates"]),
            seasonal=bool(data["seasonal"]),
            columns=tuple(data["columns"]),
            center=tuple(float(v) for v in data["center"]),
            scale=tuple(float(v) for v in data["scale"]),
            delta_scale=float(data["delta_scale"]),
            level=bool(data.get("level", True)),
        )

    @property
    def change_column(self) -> int:
        """Index of the target's daily change in each input step (the uncertainty scaling reads it)."""
        return 1 if self.level else 0

    @property
    def n_features(self) -> int:
        """Width of one input time step."""
        return len(self.columns) + (2 if self.seasonal else 0)

    def inputs(self, values: pd.DataFrame) -> np.ndarray:
        """Model input matrix (days x features), NaN where a reading is missing."""
        raw = _raw_columns(values, self.target, self.covariates, self.level)
        scaled = (raw - np.asarray(self.center)) / np.asarray(self.scale)
        scaled = np.clip(scaled, -CLIP, CLIP)
        if self.seasonal:
            doy = values.index.dayofyear.to_numpy() / 365.25 * 2 * np.pi
            scaled = np.column_stack([scaled, np.sin(doy), np.cos(doy)])
        return scaled.astype(np.float32)


def _raw_columns(values: pd.DataFrame, target: str, covariates: tuple[str, ...], level: bool = True) -> np.ndarray:
    """Unscaled inputs: target level (optional), its daily change, then each covariate."""
    y = values[target].to_numpy(dtype=float)
    dy = np.concatenate([[np.nan], np.diff(y)])
    cols = ([y] if level else []) + [dy] + [values[c].to_numpy(dtype=float) for c in covariates]
    return np.column_stack(cols)


def fit_scaling(
    values: pd.DataFrame,
    target: str,
    covariates: tuple[str, ...],
    train_mask: np.ndarray,
    seasonal: bool = True,
    level: bool = True,
) -> Scaling:
    """Fit centres and spreads on training days only, so nothing leaks from validation or test."""
    if not np.isfinite(values[target].to_numpy(dtype=float)[train_mask]).any():
        raise ValueError(f"The training period has no readings of '{target}'.")
    raw = _raw_columns(values, target, covariates, level)[train_mask]
    change = 1 if level else 0
    center = np.nanmedian(raw, axis=0)
    center[change] = 0.0  # a daily change is centred on "no change", not on the training trend
    scale = np.array([robust_scale(raw[:, j]) for j in range(raw.shape[1])])
    return Scaling(
        target=target,
        covariates=tuple(covariates),
        seasonal=seasonal,
        columns=(*([target] if level else []), f"{target}_change", *covariates),
        center=tuple(float(np.nan_to_num(c)) for c in center),
        scale=tuple(float(s) for s in scale),
        delta_scale=float(scale[change]),
        level=level,
    )
