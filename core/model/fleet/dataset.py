"""The fleet's training data: every reservoir's windows, each scaled by its OWN training statistics, in one layout.

Each reservoir goes through the single-reservoir pipeline's own pieces (core.model.splits, preprocess, windows):
its calendar is cut chronologically, its scaling is fitted on its training days only, and its windows never
straddle a split. Only then are the windows put side by side: the target's daily change first, then one
column per covariate the fleet knows (0 where this reservoir has none: its presence flag says so), then the
season. Each window also carries its reservoir's static vector (presence flags + normalised descriptors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data.clean import CleanFrame
from core.model.config import TrainError
from core.model.fleet.config import FleetConfig
from core.model.fleet.descriptors import DescriptorNorm, describe, fit_norm
from core.model.preprocess import Scaling, fit_scaling
from core.model.splits import split_bounds
from core.model.windows import WindowSet, make_windows

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ReservoirProfile:
    """What the fleet model must keep per reservoir to serve it: its scaling, descriptors, splits and history."""

    name: str
    scaling: Scaling
    descriptors: dict[str, float]
    splits: dict[str, list[str]] | None  # ISO dates of train/val/test; None for a cold start (all of it is history)
    history_days: int  # days of record the scaling and descriptors came from
    cold_start: bool = False
    conditioned: bool = True  # the net reads these descriptors; False: the fleet's mean (a cold start's short record)

    @property
    def covariates(self) -> tuple[str, ...]:
        """The covariates this reservoir has (a subset of the fleet's)."""
        return self.scaling.covariates

    def presence(self, layout: tuple[str, ...]) -> np.ndarray:
        """1 for each fleet covariate this reservoir has, 0 for each it lacks."""
        return np.array([c in self.scaling.covariates for c in layout], dtype=np.float32)

    def static(self, layout: tuple[str, ...], norm: DescriptorNorm | None) -> np.ndarray:
        """The static input: presence flags, then the normalised descriptors (when the fleet uses them)."""
        described = self.descriptors if self.conditioned else {}
        parts = [self.presence(layout)] + ([norm.apply(described)] if norm is not None else [])
        return np.concatenate(parts).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, saved with every fleet or fine-tuned version."""
        return {
            "name": self.name,
            "scaling": self.scaling.to_dict(),
            "descriptors": {k: (v if np.isfinite(v) else None) for k, v in self.descriptors.items()},
            "splits": self.splits,
            "history_days": self.history_days,
            "cold_start": self.cold_start,
            "conditioned": self.conditioned,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReservoirProfile:
        """Rebuild from saved JSON (a descriptor saved as null was not computable: NaN)."""
        return cls(
            name=data["name"],
            scaling=Scaling.from_dict(data["scaling"]),
            descriptors={k: float("nan") if v is None else float(v) for k, v in data["descriptors"].items()},
            splits=data.get("splits"),
            history_days=int(data["history_days"]),
            cold_start=bool(data.get("cold_start", False)),
            conditioned=bool(data.get("conditioned", True)),
        )


def to_layout(X: np.ndarray, scaling: Scaling, layout: tuple[str, ...]) -> np.ndarray:
    """A reservoir's own model inputs (..., its columns) placed in the fleet's columns (..., fleet columns).

    Own columns: [change, own covariates..., (sin, cos)] (Scaling.inputs without the level); fleet columns:
    [change, every fleet covariate..., (sin, cos)], 0 where this reservoir lacks a covariate.
    """
    if scaling.level:
        raise ValueError("The fleet model reads daily changes, not the level: scale without level_input.")
    X = np.asarray(X, dtype=np.float32)
    out = np.zeros((*X.shape[:-1], 1 + len(layout) + (X.shape[-1] - 1 - len(scaling.covariates))), np.float32)
    out[..., 0] = X[..., 0]
    for j, name in enumerate(scaling.covariates):
        if name in layout:  # a covariate the fleet never learnt is dropped
            out[..., 1 + layout.index(name)] = X[..., 1 + j]
    n_season = X.shape[-1] - 1 - len(scaling.covariates)
    if n_season:
        out[..., -n_season:] = X[..., -n_season:]
    return out


@dataclass(frozen=True)
class ReservoirWindows:
    """One reservoir's profile and its windows per split, already in the fleet's layout."""

    profile: ReservoirProfile
    sets: dict[str, WindowSet]

    @property
    def name(self) -> str:
        """The reservoir's name."""
        return self.profile.name


@dataclass(frozen=True)
class Pool:
    """Windows of many reservoirs stacked for training: inputs, static vectors, targets, loss weights, owner."""

    X: np.ndarray  # (n, n_steps, features)
    S: np.ndarray  # (n, static)
    y: np.ndarray  # (n, horizon) scaled changes
    w: np.ndarray  # (n,) loss weight
    owner: np.ndarray  # (n,) index into the reservoir list

    def __len__(self) -> int:
        return int(self.X.shape[0])


@dataclass(frozen=True)
class FleetDataset:
    """All reservoirs of the fleet, the descriptor normalisation fitted on them, and the settings."""

    config: FleetConfig
    reservoirs: dict[str, ReservoirWindows]
    norm: DescriptorNorm | None

    def static(self, name: str) -> np.ndarray:
        """One reservoir's static vector."""
        return self.reservoirs[name].profile.static(self.config.covariates, self.norm)

    def weight(self, name: str) -> float:
        """Loss weight of one reservoir's windows (FleetConfig.balance), from its training windows."""
        y = self.reservoirs[name].sets["train"].y
        if self.config.balance == "none" or not len(y):
            return 1.0
        weight = 1.0 / max(float(np.mean(np.abs(y))), 1e-6)  # 1 / persistence MAE in scaled units
        return weight / len(y) if self.config.balance == "reservoirs" else weight

    def pool(self, split: str, names: list[str] | None = None) -> Pool:
        """The windows of one split of these reservoirs (all by default), stacked; train weights average 1."""
        names = list(self.reservoirs) if names is None else names
        weights = np.array([self.weight(n) for n in names])
        counts = np.array([len(self.reservoirs[n].sets["train"]) for n in names], dtype=float)
        weights = weights * counts.sum() / max(float((weights * counts).sum()), 1e-12)
        parts = [self.reservoirs[n].sets[split] for n in names]
        return stack(parts, [self.static(n) for n in names], list(weights))


def stack(parts: list[WindowSet], statics: list[np.ndarray], weights: list[float]) -> Pool:
    """Window sets of several reservoirs as one Pool, each with its static vector and loss weight."""
    return Pool(
        X=np.concatenate([p.X for p in parts]),
        S=np.concatenate([np.repeat(s[None], len(p), axis=0) for s, p in zip(statics, parts, strict=True)]),
        y=np.concatenate([p.y for p in parts]),
        w=np.concatenate([np.full(len(p), w, np.float32) for w, p in zip(weights, parts, strict=True)]),
        owner=np.concatenate([np.full(len(p), i, np.int32) for i, p in enumerate(parts)]),
    )


def frame_values(frame: CleanFrame | pd.DataFrame) -> pd.DataFrame:
    """The daily values of a clean frame (a plain DataFrame is taken as already clean)."""
    return frame.values if isinstance(frame, CleanFrame) else frame


def reservoir_windows(name: str, values: pd.DataFrame, config: FleetConfig) -> ReservoirWindows:
    """Split, scale on training days, describe and window one reservoir (its own covariates among the fleet's)."""
    target = config.target
    if target not in values.columns:
        raise TrainError(f"'{name}' has no '{target}' readings; the fleet model forecasts {target}.")
    covariates = tuple(c for c in values.columns if c != target and (not config.covariates or c in config.covariates))
    try:
        bounds = split_bounds(values.index, config.split, min_days=config.n_steps + config.horizon)
    except ValueError as exc:
        raise TrainError(f"{name}: {exc}") from exc
    labels = bounds.labels(values.index)
    train_days = labels == "train"
    scaling = fit_scaling(values, target, covariates, train_days, config.seasonal, level=False)
    inputs = to_layout(scaling.inputs(values), scaling, config.covariates or covariates)
    series = values[target].to_numpy(dtype=float)
    sets = {
        split: make_windows(
            inputs, series, values.index, labels, split, config.n_steps, config.horizon, scaling.delta_scale
        )
        for split in SPLITS
    }
    profile = ReservoirProfile(
        name=name,
        scaling=scaling,
        descriptors=describe(values, target, covariates, train_days),
        splits=bounds.to_dict(),
        history_days=int(train_days.sum()),
    )
    return ReservoirWindows(profile, sets)


def fleet_layout(frames: Mapping[str, pd.DataFrame], target: str) -> tuple[str, ...]:
    """The union of every reservoir's covariates, sorted."""
    return tuple(sorted({c for values in frames.values() for c in values.columns if c != target}))


def build_dataset(frames: Mapping[str, CleanFrame | pd.DataFrame], config: FleetConfig) -> FleetDataset:
    """Every reservoir's windows in one layout (the union of their covariates unless config names them).

    A frame's columns are the target and that reservoir's covariates. A reservoir whose record cannot be split
    (too short) is refused with its name: serve it as a cold start instead (coldstart.add_reservoir).
    """
    config = config.checked()
    plain = {name: frame_values(frame) for name, frame in frames.items()}
    if not plain:
        raise TrainError("The fleet model needs at least one reservoir.")
    if not config.covariates:
        config = config.with_covariates(fleet_layout(plain, config.target))
    reservoirs: dict[str, ReservoirWindows] = {}
    for name, values in plain.items():
        windows = reservoir_windows(name, values, config)
        empty = [s for s in ("train", "val") if len(windows.sets[s]) == 0]
        if empty:
            raise TrainError(
                f"{name}: its {' and '.join(empty)} period has no complete {config.n_steps}+{config.horizon}-day "
                "window (too short or too many gaps); serve it as a cold start instead."
            )
        reservoirs[name] = windows
    norm = fit_norm([r.profile.descriptors for r in reservoirs.values()]) if config.descriptors else None
    return FleetDataset(config=config, reservoirs=reservoirs, norm=norm)
