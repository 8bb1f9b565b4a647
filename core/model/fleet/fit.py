"""Fitting: the fleet on every reservoir's windows, and a fine-tuned copy for one reservoir from the fleet weights."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.data.variables import canonical_name, is_nonnegative
from core.model.config import TrainError
from core.model.evaluate import compare
from core.model.fleet.dataset import FleetDataset, Pool, ReservoirWindows, stack
from core.model.fleet.model import FleetModel
from core.model.fleet.net import build_net
from core.model.fleet.train import Plan, Trainer
from core.model.uncertainty import FLOOR, AdaptiveConfig, Calibration, calibrate, recent_change
from core.model.zoo.base import EpochHook, StopHook

RESIDUAL_ROWS = 2000  # pooled validation residuals kept with the fleet for cold-start bands (evenly thinned)


@dataclass
class FleetFit:
    """A fitted fleet and how the fit went."""

    model: FleetModel
    epochs_run: int
    best_epoch: int
    stopped_by_user: bool


def fit_fleet(
    dataset: FleetDataset, on_epoch: EpochHook | None = None, should_stop: StopHook | None = None
) -> FleetFit:
    """Train the fleet ensemble on every reservoir's training windows; early stopping on the pooled validation."""
    config = dataset.config
    n_static = len(dataset.static(next(iter(dataset.reservoirs))))
    net = build_net(config, n_static)
    plan = Plan(
        epochs=config.epochs,
        patience=config.patience,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        seed=config.seed,
        steps_per_epoch=config.steps_per_epoch,
        jitter=config.scale_jitter,
        jitter_columns=1 + len(config.covariates),
        static_dropout=config.descriptor_dropout,
        static_kept=len(config.covariates),
    )
    t0 = time.perf_counter()
    log = Trainer(net).run(dataset.pool("train"), dataset.pool("val"), plan, on_epoch, should_stop)
    seconds = time.perf_counter() - t0
    if not log.history:
        raise TrainError("Training stopped before the first epoch finished.")
    profiles = {name: r.profile for name, r in dataset.reservoirs.items()}
    model = FleetModel(net, config, dataset.norm, profiles, history=log.history, train_seconds=round(seconds, 3))
    model.residuals = pooled_residuals(model, list(dataset.reservoirs.values()))
    return FleetFit(model, len(log.history), log.best_epoch, log.stopped)


class FineTuner:
    """Fine-tunes reservoirs one after another from one fleet model, paying TensorFlow's tracing once."""

    def __init__(self, fleet: FleetModel, parent_version: Any = None):
        import keras

        settings = fleet.config.fine_tune
        self.fleet, self.settings = fleet, settings
        self.parent = {"weights": fleet.weights_digest(), "version": parent_version}
        self.net = keras.models.clone_model(fleet.net)
        self.start = fleet.net.get_weights()
        self.trainer = Trainer(self.net)

    def tune(
        self, windows: ReservoirWindows, on_epoch: EpochHook | None = None, should_stop: StopHook | None = None
    ) -> FleetModel:
        """One reservoir's copy of the fleet weights, trained a few epochs on its own training windows.

        Each member stops early on its own validation split, starting from the fleet's loss there; if the members'
        median still ends worse there than the fleet's (each member better does not make their median better),
        the fleet's weights are kept (parent["improved"] is False). The copy serves that reservoir only and
        records its parent.
        """
        import keras

        fleet, settings, profile = self.fleet, self.settings, windows.profile
        static = profile.static(fleet.config.covariates, fleet.norm)
        plan = Plan(
            epochs=settings.epochs,
            patience=settings.patience,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            seed=fleet.config.seed,
            from_current=True,
        )
        t0 = time.perf_counter()
        self.net.set_weights(self.start)
        _reseed_dropout(self.net, fleet.config.seed)
        train, val = (stack([windows.sets[s]], [static], [1.0]) for s in ("train", "val"))
        before = self._val_mae(val)
        log = self.trainer.run(train, val, plan, on_epoch, should_stop)
        improved = self._val_mae(val) <= before
        if not improved:
            self.net.set_weights(self.start)
        net = keras.models.clone_model(self.net)
        net.set_weights(self.net.get_weights())
        seconds = time.perf_counter() - t0
        return FleetModel(
            net, fleet.config, fleet.norm, {windows.name: profile}, parent={**self.parent, "improved": improved},
            residuals=fleet.residuals, history=log.history, train_seconds=round(seconds, 3),
        )  # fmt: skip

    def _val_mae(self, val: Pool) -> float:
        """The working net's (members' median) MAE on one reservoir's validation windows, in scaled units."""
        return float(np.mean(np.abs(val.y - np.asarray(self.net.predict_on_batch([val.X, val.S])))))


def _reseed_dropout(net: Any, seed: int) -> None:
    """Put every dropout layer's random state at a fixed start, so a fine-tune never depends on what ran before."""
    for k, generator in enumerate(g for layer in net.layers for g in getattr(layer, "_seed_generators", [])):
        generator.state.assign(np.array([seed + k, 0], dtype=generator.state.dtype))


def fine_tune(
    fleet: FleetModel,
    windows: ReservoirWindows,
    parent_version: Any = None,
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
) -> FleetModel:
    """One reservoir's fine-tuned copy (FineTuner.tune); use one FineTuner for many reservoirs."""
    return FineTuner(fleet, parent_version).tune(windows, on_epoch, should_stop)


def pooled_residuals(model: FleetModel, reservoirs: list[ReservoirWindows]) -> np.ndarray:
    """Every reservoir's validation residuals, each divided by its own band scale (unit-free), pooled and thinned.

    The scale is the 'scaled' band method's (core.model.uncertainty): recent mean |daily change| + FLOOR x the
    reservoir's typical daily change, so the pool can be carried to a reservoir in any unit.
    """
    parts = []
    for r in reservoirs:
        val = r.sets["val"]
        if len(val) == 0 or r.name not in model.profiles:
            continue
        calib = reservoir_calibration(model, r.name, val)
        parts.append(calib.residuals)
    if not parts:
        return np.zeros((0, model.horizon))
    pooled = np.concatenate(parts)
    keep = np.unique(np.linspace(0, len(pooled) - 1, min(RESIDUAL_ROWS, len(pooled))).astype(int))
    return pooled[keep]


def reservoir_calibration(model: FleetModel, name: str, val: Any) -> Calibration:
    """Bands from this model's forecasts of one reservoir's validation windows, adaptive (as core.model.train.fit)."""
    scaling = model.profile(name).scaling
    pred = model.values(name, val)
    change = recent_change(val.X, scaling.delta_scale, scaling.change_column)
    nonneg = is_nonnegative(canonical_name(scaling.target))
    return calibrate(val.truth, pred, change, scaling.delta_scale, "scaled", nonneg, AdaptiveConfig())


def cold_start_calibration(model: FleetModel, name: str) -> Calibration:
    """Bands for a reservoir without its own validation forecasts: the fleet's pooled residuals in its scale.

    Residuals are unit-free (see pooled_residuals); the floor is this reservoir's (FLOOR x its typical daily
    change). With the adaptive rule the pool is only the prior: once 30 of its own residuals are known per
    lead day, its own (recent, age-weighted) residuals replace it.
    """
    scaling = model.profile(name).scaling
    if model.residuals.size == 0:
        raise TrainError("This fleet model was saved without validation residuals; retrain it for cold-start bands.")
    nonneg = is_nonnegative(canonical_name(scaling.target))
    return Calibration(
        method="scaled",
        residuals=np.asarray(model.residuals, dtype=float),
        floor=FLOOR * scaling.delta_scale,
        nonnegative=nonneg,
        adaptive=AdaptiveConfig(),
    )


def scores(model: FleetModel, windows: ReservoirWindows, splits: tuple[str, ...] = ("val", "test")) -> dict[str, Any]:
    """compare() (model vs persistence, core.model.evaluate) on each split of one reservoir."""
    out = {}
    for split in splits:
        ws = windows.sets[split]
        out[split] = compare(ws.truth, model.values(windows.name, ws), ws.base) if len(ws) else None
    return out
