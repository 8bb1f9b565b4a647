"""The fleet model: one Keras ensemble serving many reservoirs, each through its own saved profile.

A `FleetModel` holds the net, its settings, the descriptor normalisation and one `ReservoirProfile` per
reservoir it serves (its scaling and descriptors). The fleet itself serves every reservoir it was trained on;
a fine-tuned copy serves one reservoir and records its parent; a cold-start reservoir is added to a fleet
model with the profile of its short record. Saved as model.keras + fleet.json in one folder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.jsonio import dumps, loads
from core.model.fleet.config import FleetConfig
from core.model.fleet.dataset import ReservoirProfile, to_layout
from core.model.fleet.descriptors import DescriptorNorm
from core.model.windows import WindowSet, latest_window
from core.model.zoo.base import KERAS_FILE, Forecaster
from core.model.zoo.keras_net import use_threads

FLEET_FILE = "fleet.json"
FORMAT = 1  # fleet.json's layout; a later change bumps it and load refuses what it cannot read


@dataclass
class FleetModel:
    """A fitted fleet (or fine-tuned) ensemble and the profiles of the reservoirs it serves."""

    net: Any
    config: FleetConfig
    norm: DescriptorNorm | None
    profiles: dict[str, ReservoirProfile]
    parent: dict[str, Any] | None = None  # a fine-tuned copy: {"weights": parent's digest, "version": its label}
    residuals: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # pooled scaled validation residuals
    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0

    @property
    def horizon(self) -> int:
        """Days ahead."""
        return self.config.horizon

    def profile(self, name: str) -> ReservoirProfile:
        """The profile of a reservoir this model serves, or a KeyError naming the ones it does."""
        if name not in self.profiles:
            raise KeyError(f"This fleet model does not serve '{name}' (it serves {', '.join(self.profiles)}).")
        return self.profiles[name]

    def static(self, name: str) -> np.ndarray:
        """The reservoir's static input (presence flags + normalised descriptors)."""
        return self.profile(name).static(self.config.covariates, self.norm)

    def predict(self, name: str, X: np.ndarray, batch: int = 4096) -> np.ndarray:
        """Scaled changes (n, horizon) for windows already in the fleet's layout."""
        if len(X) == 0:
            return np.zeros((0, self.horizon), np.float32)
        S = np.repeat(self.static(name)[None], min(len(X), batch), axis=0)
        parts = [
            np.asarray(self.net.predict_on_batch([X[i : i + batch], S[: len(X[i : i + batch])]]))
            for i in range(0, len(X), batch)
        ]
        return np.concatenate(parts)

    def forecaster(self, name: str) -> FleetForecaster:
        """A zoo-style Forecaster for one reservoir: reads its own Scaling.inputs windows (history, bands, issue)."""
        return FleetForecaster(self, name)

    def forecast(self, name: str, values: pd.DataFrame, as_of: pd.Timestamp | None = None) -> np.ndarray:
        """The target's forecast (horizon,) in its own units from the n_steps days ending on as_of (last day)."""
        scaling = self.profile(name).scaling
        as_of = values.index.max() if as_of is None else pd.Timestamp(as_of)
        window = latest_window(scaling.inputs(values), values.index, self.config.n_steps, as_of)
        change = self.forecaster(name).predict(window)[0]
        return float(values[scaling.target].loc[as_of]) + change.astype(float) * scaling.delta_scale

    def values(self, name: str, windows: WindowSet) -> np.ndarray:
        """Forecasts in the target's units for windows in the fleet layout (scored against windows.truth)."""
        return windows.to_values(self.predict(name, windows.X), self.profile(name).scaling.delta_scale)

    def weights_digest(self) -> str:
        """sha256 of the net's weights: what a fine-tuned copy records as its parent."""
        h = hashlib.sha256()
        for weight in self.net.weights:
            h.update(np.ascontiguousarray(weight.numpy()).tobytes())
        return h.hexdigest()

    def with_profile(self, name: str, profile: ReservoirProfile) -> FleetModel:
        """The same net also (or now) serving `name` with this profile (a cold start; a link's saved profile)."""
        return replace(self, profiles={**self.profiles, name: profile})

    def serving(self, names: list[str]) -> FleetModel:
        """The same net serving only these reservoirs (e.g. one reservoir's registry entry)."""
        return replace(self, profiles={n: self.profile(n) for n in names})

    def meta(self) -> dict[str, Any]:
        """Everything but the weights, as saved in fleet.json."""
        return {
            "format": FORMAT,
            "config": self.config.to_dict(),
            "descriptor_norm": self.norm.to_dict() if self.norm else None,
            "reservoirs": {name: p.to_dict() for name, p in self.profiles.items()},
            "parent": self.parent,
            "residuals": [[float(f"{v:.5g}") for v in row] for row in self.residuals],
            "history": self.history,
            "train_seconds": self.train_seconds,
        }

    def save(self, folder: Path) -> list[str]:
        """Write model.keras and fleet.json into folder (the caller makes it atomic); returns the file names."""
        folder.mkdir(parents=True, exist_ok=True)
        self.net.save(folder / KERAS_FILE)
        (folder / FLEET_FILE).write_text(dumps(self.meta()))
        return [KERAS_FILE, FLEET_FILE]

    @classmethod
    def load(cls, folder: Path) -> FleetModel:
        """Read a saved folder: the .keras with safe_mode=True (registered layers only), fleet.json checked."""
        import keras

        import core.model.layers  # noqa: F401 - registers the custom layers before loading

        meta = loads((folder / FLEET_FILE).read_text())
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"{folder / FLEET_FILE} is not a fleet model this version can read.")
        use_threads()
        net = keras.saving.load_model(folder / KERAS_FILE, compile=False, safe_mode=True)
        norm = meta.get("descriptor_norm")
        return cls(
            net=net,
            config=FleetConfig.from_dict(meta["config"]),
            norm=DescriptorNorm.from_dict(norm) if norm else None,
            profiles={n: ReservoirProfile.from_dict(p) for n, p in meta["reservoirs"].items()},
            parent=meta.get("parent"),
            residuals=np.asarray(meta.get("residuals") or np.zeros((0, 0)), dtype=float),
            history=list(meta.get("history") or []),
            train_seconds=float(meta.get("train_seconds") or 0.0),
        )


class FleetForecaster(Forecaster):
    """One reservoir's view of a fleet model, in the zoo's interface: predict() reads its own input windows.

    So core.model.history.issued_forecasts, the bands and forecast issuing treat it like any member.
    """

    name = "fleet"

    def __init__(self, model: FleetModel, reservoir: str):
        super().__init__(model.horizon)
        self.model, self.reservoir = model, reservoir
        self.scaling = model.profile(reservoir).scaling

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Scaled changes for windows of this reservoir's own inputs (Scaling.inputs)."""
        return self.model.predict(self.reservoir, to_layout(X, self.scaling, self.model.config.covariates))

    def save(self, folder: Path) -> str:
        """Saving goes through the FleetModel (it holds every reservoir's profile)."""
        raise TypeError("Save the FleetModel (FleetModel.save), not one reservoir's view of it.")
