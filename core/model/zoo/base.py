"""What every zoo member is: a Forecaster (fit on windows, predict scaled changes, save/load) and its declaration.

Every member predicts y = (target[t+k] - target[t]) / delta_scale from a window of scaled inputs, so
training, scoring, bands, risk and the store treat them all alike. Non-Keras members save their
parameters as JSON (never pickle); Keras members as .keras (loaded with safe_mode=True).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from core.model.config import LEARNING_RATE, FitSettings, ModelConfig

if TYPE_CHECKING:
    from core.model.windows import WindowSet

EpochHook = Callable[[int, dict[str, float], float], None]
StopHook = Callable[[], bool]
KERAS_FILE = "model.keras"
JSON_FILE = "model.json"


@dataclass
class FitLog:
    """How a fit went: per-epoch losses (one row for one-shot models), the best epoch, a user stop."""

    history: list[dict[str, float]]
    best_epoch: int
    stopped: bool = False


@dataclass(frozen=True)
class Member:
    """A zoo member declared once: what the app says about it, how it is drawn, and the class that runs it.

    `builder` is the Keras architecture of a net: (input window tensor, horizon, cfg) -> the output tensor;
    `order` places the member in pickers and leaderboards (cheapest reference first).
    """

    name: str
    label: str
    description: str
    colour: str
    forecaster: type[Forecaster]
    order: int
    builder: Callable[..., Any] | None = None
    learning_rate: float = LEARNING_RATE  # used when the operator leaves the learning rate to the model

    @property
    def trains_over_epochs(self) -> bool:
        """Trained over epochs with early stopping (live loss chart) rather than fitted in one pass."""
        return self.forecaster.over_epochs

    @property
    def file(self) -> str:
        """The file name its parameters are saved under."""
        return self.forecaster.file

    def create(self, cfg: ModelConfig, n_steps: int, n_features: int, horizon: int, seed: int) -> Forecaster:
        """A fresh, unfitted instance."""
        return self.forecaster.fresh(self, cfg, n_steps, n_features, horizon, seed)

    def load(self, path: Path) -> Forecaster:
        """Rebuild a saved instance from the file the store checksummed."""
        return self.forecaster.restore(self, path)


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    """Loss in the same (scaled change) units the Keras nets report."""
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(pred, float)))) if len(y) else float("nan")


def flat(X: np.ndarray) -> np.ndarray:
    """(n, steps, features) -> (n, steps*features) for the tabular members."""
    return np.asarray(X).reshape(len(X), -1)


class Forecaster:
    """Base of every member: one-shot fit reported as a single 'epoch', so the progress UI needs no special case."""

    name: str = ""
    horizon: int = 0
    over_epochs: ClassVar[bool] = False
    file: ClassVar[str] = JSON_FILE

    def __init__(self, horizon: int):
        self.horizon = horizon

    @classmethod
    def fresh(
        cls, member: Member, cfg: ModelConfig, n_steps: int, n_features: int, horizon: int, seed: int
    ) -> Forecaster:
        """An unfitted instance (one-shot members need only the horizon)."""
        return cls(horizon)

    @classmethod
    def restore(cls, member: Member, path: Path) -> Forecaster:
        """Rebuild from the saved JSON, refusing a file that holds another member."""
        data = json.loads(path.read_text())
        if data.get("name") != member.name:
            raise ValueError(f"{path.name} does not hold a '{member.name}' model.")
        return cls.from_params(data)

    @classmethod
    def from_params(cls, data: dict[str, Any]) -> Forecaster:
        """Rebuild from the saved JSON parameters."""
        return cls(int(data["horizon"]))

    def fit(
        self,
        train: WindowSet,
        val: WindowSet,
        settings: FitSettings,
        on_epoch: EpochHook | None = None,
        should_stop: StopHook | None = None,
    ) -> FitLog:
        """Fit on training windows (validation only for choices such as the ridge penalty)."""
        t0 = time.perf_counter()
        self._fit(train, val, settings)
        logs = {"loss": mae(train.y, self.predict(train.X)), "val_loss": mae(val.y, self.predict(val.X))}
        seconds = time.perf_counter() - t0
        if on_epoch:
            on_epoch(1, logs, seconds)
        return FitLog(history=[{"epoch": 1, **logs, "seconds": seconds}], best_epoch=1)

    def _fit(self, train: WindowSet, val: WindowSet, settings: FitSettings) -> None:
        """Learn the parameters (one-shot members); Keras members override fit instead."""
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Scaled changes, shape (n, horizon)."""
        raise NotImplementedError

    def attention(self, X: np.ndarray) -> np.ndarray | None:
        """Per-input-day weights (n, n_steps) for members that have them; None otherwise."""
        return None

    def save(self, folder: Path) -> str:
        """Write the parameters into folder; returns the file name (checksummed by the store)."""
        (folder / JSON_FILE).write_text(json.dumps({"name": self.name, "horizon": self.horizon, **self._params()}))
        return JSON_FILE

    def _params(self) -> dict[str, Any]:
        """The fitted parameters as JSON-ready values."""
        return {}
