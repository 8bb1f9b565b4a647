"""Fit a forecaster on a clean daily frame: leak-free scaling, windows, early stopping, test metrics."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.data.variables import canonical_name, is_nonnegative
from core.model import zoo
from core.model.config import TrainConfig, TrainError
from core.model.evaluate import compare
from core.model.history import issued_forecasts
from core.model.preprocess import Scaling, fit_scaling
from core.model.splits import SplitBounds, split_bounds
from core.model.uncertainty import METHODS, AdaptiveConfig, Calibration, calibrate, coverage, recent_change
from core.model.windows import WindowSet, make_windows
from core.model.zoo import EpochHook, StopHook


@dataclass
class TrainResult:
    """A fitted model with what is needed to save, explain and reuse it."""

    model: zoo.Forecaster
    config: TrainConfig
    scaling: Scaling
    bounds: SplitBounds
    history: list[dict[str, float]]
    epochs_run: int
    best_epoch: int
    train_seconds: float
    val_mae: float
    metrics: dict[str, Any]
    n_windows: dict[str, int]
    fingerprint: str
    data_range: tuple[str, str]
    calibration: Calibration | None = None
    stopped_by_user: bool = False
    test_predictions: dict[str, list] = field(default_factory=dict)  # issue dates, truth, forecasts (charts)
    val_errors: tuple[float, ...] = ()  # per validation window, the mean absolute error over the horizon (tests)


def window_errors(truth: np.ndarray, pred: np.ndarray) -> tuple[float, ...]:
    """Each forecast's mean absolute error over its horizon: the loss series the leaderboard's noise test reads."""
    errors = np.mean(np.abs(np.asarray(truth, dtype=float) - np.asarray(pred, dtype=float)), axis=1)
    return tuple(float(f"{e:.6g}") for e in errors)


def fingerprint(values: pd.DataFrame) -> str:
    """sha256 of dates and values, so a model records exactly which data it saw."""
    h = hashlib.sha256()
    h.update(",".join(values.columns).encode())
    h.update(values.index.asi8.tobytes())
    h.update(np.ascontiguousarray(values.to_numpy(dtype=float)).tobytes())
    return h.hexdigest()


def prepare(values: pd.DataFrame, config: TrainConfig) -> tuple[Scaling, SplitBounds, dict[str, WindowSet]]:
    """Split chronologically, fit scaling on training days, and cut windows inside each split."""
    missing = [c for c in (config.target, *config.features) if c not in values.columns]
    if missing:
        raise TrainError(f"Variable(s) not found: {', '.join(missing)}. Available: {', '.join(values.columns)}.")
    try:
        bounds = split_bounds(values.index, config.split, min_days=config.n_steps + config.horizon)
    except ValueError as exc:
        raise TrainError(str(exc)) from exc
    labels = bounds.labels(values.index)
    scaling = fit_scaling(
        values, config.target, config.features, labels == "train", config.seasonal, config.level_input
    )
    inputs = scaling.inputs(values)
    target = values[config.target].to_numpy(dtype=float)
    sets = {
        name: make_windows(
            inputs, target, values.index, labels, name, config.n_steps, config.horizon, scaling.delta_scale
        )
        for name in ("train", "val", "test")
    }
    for name, ws in sets.items():
        if len(ws) == 0:
            raise TrainError(
                f"The {name} period ({bounds.to_dict()[name][0]} to {bounds.to_dict()[name][1]}) has no complete "
                f"{config.n_steps}+{config.horizon}-day window (too short or too many gaps). "
                "Import more data, shorten n_steps/horizon or move --test-from."
            )
    return scaling, bounds, sets


def fit(
    values: pd.DataFrame,
    config: TrainConfig,
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
) -> TrainResult:
    """Train one zoo member on a clean daily frame and score it on the untouched test split."""
    config = config.checked()
    if config.model.name in zoo.ZOO:  # an unknown name is refused by zoo.create below, with the known ones
        config = config.with_model_defaults(zoo.ZOO[config.model.name].learning_rate)
    scaling, bounds, sets = prepare(values, config)
    train, val, test = sets["train"], sets["val"], sets["test"]
    try:
        model = zoo.create(config.model, config.n_steps, scaling.n_features, config.horizon, config.seed)
    except ValueError as exc:
        raise TrainError(str(exc)) from exc
    t0 = time.perf_counter()
    log = model.fit(train, val, config.fit_settings(), on_epoch=on_epoch, should_stop=should_stop)
    seconds = time.perf_counter() - t0
    history = log.history
    if not history:
        raise TrainError("Training stopped before the first epoch finished.")
    best = log.best_epoch
    val_pred = val.to_values(model.predict(val.X), scaling.delta_scale)
    test_pred = test.to_values(model.predict(test.X), scaling.delta_scale)
    metrics = compare(test.truth, test_pred, test.base)
    metrics["validation"] = compare(val.truth, val_pred, val.base)
    metrics["test_period"] = bounds.to_dict()["test"]
    nonneg = is_nonnegative(canonical_name(config.target))
    val_change = recent_change(val.X, scaling.delta_scale, scaling.change_column)
    test_change = recent_change(test.X, scaling.delta_scale, scaling.change_column)
    by_method = {}
    for method in METHODS:  # both measured, so the choice of default stays an evidence-based one
        calib = calibrate(val.truth, val_pred, val_change, scaling.delta_scale, method, nonneg)
        by_method[method] = coverage(test.truth, calib.bands(test_pred, test_change))
        if method == config.interval_method:
            calibration = replace(calib, adaptive=AdaptiveConfig())
    # The stored coverage is the adaptive bands' (what forecasts and hindcasts issue); static ones kept for contrast.
    errors = issued_forecasts(
        model, scaling, values, config.target, config.n_steps, config.horizon, bounds.val_start, bounds.end
    ).residuals(calibration)
    by_method["adaptive"] = coverage(test.truth, calibration.bands_at(errors, test.issued, test_pred, test_change))
    metrics["coverage"] = by_method["adaptive"]
    metrics["coverage_by_method"] = by_method
    return TrainResult(
        model=model,
        config=config,
        scaling=scaling,
        bounds=bounds,
        history=history,
        epochs_run=len(history),
        best_epoch=best,
        train_seconds=round(seconds, 3),
        val_mae=float(metrics["validation"]["model"]["mae"]),
        metrics=metrics,
        n_windows={k: len(v) for k, v in sets.items()},
        fingerprint=fingerprint(values[[config.target, *config.features]]),
        data_range=(values.index.min().date().isoformat(), values.index.max().date().isoformat()),
        calibration=calibration,
        stopped_by_user=log.stopped,
        val_errors=window_errors(val.truth, val_pred),
        test_predictions={
            "issued": [d.date().isoformat() for d in test.issued],
            "truth": np.round(test.truth, 6).tolist(),
            "pred": [[float(f"{v:.7g}") for v in row] for row in test_pred],
        },
    )
