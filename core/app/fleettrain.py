"""Training the fleet model across a workspace's reservoirs (issue 22): one action for the CLI, the Train page's job
and benchmarks.

`train_fleet` reads every chosen reservoir's clean record (the target + its default covariates), splits each
chronologically, trains one fleet model on all of them, saves it ONCE linked to every reservoir it was trained
on, fine-tunes a copy per reservoir (saved as that reservoir's version, parent = the fleet version) and links
every reservoir whose record is too short for its own training (at least FleetConfig.min_history_days of the
target) to the fleet version as a cold start, with bands from the fleet's residuals in its scale. Activation is
the store's champion rule on validation MAE (activate=None): the fleet never replaces a reservoir's own model
that does better on its validation split.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from core.app.pipeline import default_features, load_clean, test_metrics
from core.model.config import SplitConfig, TrainError
from core.model.fleet import (
    FineTuner,
    FleetConfig,
    FleetFit,
    FleetModel,
    ReservoirWindows,
    cold_profile,
    cold_start_calibration,
    fit_fleet,
    reservoir_calibration,
    scores,
)
from core.model.fleet.dataset import build_dataset, reservoir_windows
from core.model.zoo import EpochHook, StopHook
from core.registry import FLEET, ModelVersion
from core.registry.fleet import served_part, write_fleet
from core.store.workspace import StoreError, Workspace

MIN_FLEET = 2  # reservoirs with a record long enough for their own training that a fleet needs
TARGET_KINDS = ("storage", "level")  # what a fleet forecasts when no --target is given: the kind most have
Stage = Callable[[int, int, str], None]  # (step done, steps, what is at work) for a job's progress


@dataclass(frozen=True)
class FleetPlan:
    """Who takes part and how: trained on (record long enough), cold start (short record), left out (why)."""

    config: FleetConfig
    trained: dict[str, pd.DataFrame]
    cold: dict[str, pd.DataFrame]
    skipped: dict[str, str]
    cleaning: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Every reservoir the run saves a version for."""
        return [*self.trained, *self.cold]


@dataclass(frozen=True)
class FleetReservoirResult:
    """One reservoir's outcome: the version that serves it from this run, its history and test scores."""

    reservoir: str
    version: int  # the fine-tuned version, or its number for the fleet version (no fine-tune, cold start)
    model: str  # fleet | fleet_tuned
    active: bool
    history_days: int
    cold_start: bool
    metrics: dict[str, Any]  # on its own test split, as `train --json` (empty for a cold start: no test split)
    validation_metrics: dict[str, Any]
    fleet_version: int  # its number for the fleet version
    fleet_metrics: dict[str, Any]  # the fleet version's test scores (before fine-tuning)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (one entry of `train --fleet --json`'s reservoirs): every field, in this order."""
        return asdict(self)


@dataclass(frozen=True)
class FleetOutcome:
    """A finished fleet training: the `train --fleet --json` contract."""

    train_seconds: float
    fleet_version: dict[str, Any]
    target: str
    reservoirs: tuple[FleetReservoirResult, ...]
    skipped: dict[str, str]
    stopped_by_user: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form: train_seconds, the fleet version, one entry per reservoir, the reservoirs left out and why."""
        return {
            "train_seconds": self.train_seconds,
            "target": self.target,
            "fleet_version": self.fleet_version,
            "reservoirs": [r.to_dict() for r in self.reservoirs],
            "skipped": [{"reservoir": n, "reason": why} for n, why in self.skipped.items()],
            "stopped_by_user": self.stopped_by_user,
        }


# ---------------------------------------------------------------- who takes part


def fleet_possible(ws: Workspace) -> bool:
    """Whether offering the fleet model makes sense here: enough reservoirs to learn from (records not read)."""
    return len(ws.reservoirs()) >= MIN_FLEET


def fleet_target(ws: Workspace, names: Sequence[str]) -> str:
    """The target kind most of these reservoirs have (storage on a tie: it is what the fleet was measured on)."""
    counts = Counter(kind for n in names for kind in TARGET_KINDS if kind in ws.reservoir(n).variable_names)
    if not counts:
        raise TrainError("None of these reservoirs has storage or level readings; name the target with --target.")
    return max(TARGET_KINDS, key=lambda kind: (counts[kind], kind == "storage"))


def _target_of(ws: Workspace, name: str, target: str) -> str | None:
    """The reservoir's stored name for the target, or None when it has no such variable."""
    try:
        return ws.reservoir(name).variable(target).name
    except StoreError:
        return None


def plan_fleet(ws: Workspace, reservoirs: Sequence[str] | None, target: str | None, config: FleetConfig) -> FleetPlan:
    """Sort the reservoirs into trained on / cold start / left out, with a specific message when no fleet can form.

    A reservoir named explicitly that cannot take part is an error naming it; when all are taken, one without the
    target or with under `min_history_days` is only left out (listed with the reason).
    """
    named = reservoirs is not None and len(reservoirs) > 0
    names = [ws.reservoir(n).name for n in reservoirs] if named else [r.name for r in ws.reservoirs()]
    if not names:
        raise TrainError("The workspace has no reservoirs yet: import readings before training the fleet model.")
    wanted = target or fleet_target(ws, names)
    config = FleetConfig.from_dict({**config.to_dict(), "target": _stored(ws, names, wanted)})
    cleaning: dict[str, dict[str, Any]] = {}
    frames: dict[str, pd.DataFrame] = {}
    missing: dict[str, str] = {}
    for name in names:
        values, why = _record(ws, name, config, cleaning)
        if values is None:
            missing[name] = why
        else:
            frames[name] = values
    trained, cold, skipped = sort_frames(frames, config)
    skipped = {**missing, **skipped}
    if named and skipped:
        name, why = next(iter(skipped.items()))
        raise TrainError(f"'{name}' cannot take part in the fleet model: {why}. Leave it out of --reservoirs.")
    if len(trained) < MIN_FLEET:
        have = ", ".join(trained) or "none"
        raise TrainError(
            f"The fleet model needs at least {MIN_FLEET} reservoirs with {config.target} records long enough to "
            f"split into training/validation/test; this workspace has {len(trained)} ({have}). Import more "
            "reservoirs, pick another --target, or train each reservoir on its own (train --reservoir NAME)."
        )
    return FleetPlan(config, trained, cold, skipped, cleaning)


def _stored(ws: Workspace, names: Sequence[str], wanted: str) -> str:
    """The target's stored name most of the reservoirs use (what the user typed may be an alias or any case)."""
    found = Counter(stored for n in names if (stored := _target_of(ws, n, wanted)) is not None)
    if not found:
        raise TrainError(f"None of these reservoirs has a '{wanted}' variable; check --target.")
    return found.most_common(1)[0][0]


def _record(
    ws: Workspace, name: str, config: FleetConfig, cleaning: dict[str, dict[str, Any]]
) -> tuple[pd.DataFrame | None, str]:
    """The reservoir's clean record (target + its default covariates), or None and why it cannot take part."""
    if _target_of(ws, name, config.target) != config.target:
        return None, f"it has no '{config.target}' variable"
    clean = load_clean(ws, name, [config.target, *default_features(ws, name, config.target)], config.clean)
    cleaning[name] = clean.summary()
    if clean.values[config.target].notna().sum() == 0:
        return None, f"no usable {config.target} readings after cleaning"
    return clean.values, ""


def sort_frames(
    frames: dict[str, pd.DataFrame], config: FleetConfig
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict[str, str]]:
    """Records long enough for their own training (trained on), short ones served from min_history_days (cold
    starts), and the rest with the reason (left out)."""
    trained: dict[str, pd.DataFrame] = {}
    cold: dict[str, pd.DataFrame] = {}
    skipped: dict[str, str] = {}
    for name, values in frames.items():
        days = int(values[config.target].notna().sum())
        if _trainable(name, values, config):
            trained[name] = values
        elif days >= config.min_history_days:
            cold[name] = values
        else:
            skipped[name] = f"{days} day(s) of {config.target}; a cold start needs at least {config.min_history_days}"
    return trained, cold, skipped


def _trainable(name: str, values: pd.DataFrame, config: FleetConfig) -> bool:
    """Whether the record splits into training/validation/test with a complete window in each of the first two."""
    try:
        windows = reservoir_windows(name, values, config)
    except TrainError:
        return False
    return all(len(windows.sets[s]) for s in ("train", "val"))


# ---------------------------------------------------------------- training and saving


@dataclass
class FleetTraining:
    """A fitted fleet and what its version's meta.json says per reservoir (trained on, then cold starts)."""

    fit: FleetFit
    windows: dict[str, ReservoirWindows]
    served: dict[str, dict[str, Any]]
    cold: tuple[str, ...]

    @property
    def val_mae(self) -> dict[str, float | None]:
        """Each reservoir's validation MAE (None for a cold start: it has no validation split)."""
        return {n: part.get("val_mae") for n, part in self.served.items()}


def fit_parts(
    trained: dict[str, pd.DataFrame],
    cold: dict[str, pd.DataFrame],
    config: FleetConfig,
    cleaning: dict[str, dict[str, Any]] | None = None,
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
) -> FleetTraining:
    """Fit the fleet on the trained-on records and describe every reservoir it will serve (the CLI, the Train page's
    job and the daily cycle's task all train through here)."""
    cleaning = cleaning or {}
    dataset = build_dataset(trained, config)
    fit = fit_fleet(dataset, on_epoch=on_epoch, should_stop=should_stop)
    model = fit.model
    served = {n: served_part(model, n, _scores(model, w, cleaning.get(n, {}))) for n, w in dataset.reservoirs.items()}
    served.update({n: _cold_part(model, n, values, cleaning.get(n, {})) for n, values in cold.items()})
    return FleetTraining(fit, dataset.reservoirs, served, tuple(cold))


def write_training(folder: Path, training: FleetTraining, extra: dict[str, Any]) -> dict[str, Any]:
    """The fleet version's folder (core.registry.fleet) with its kind in meta.json; the meta written."""
    meta = {"kind": FLEET, "best_epoch": training.fit.best_epoch, **extra}
    return write_fleet(folder, training.fit.model, training.served, meta)


def tuned_part(
    fleet: FleetModel,
    windows: ReservoirWindows,
    parent_id: int | None,
    cleaning: dict[str, Any] | None = None,
    tuner: FineTuner | None = None,
) -> tuple[FleetModel, dict[str, Any]]:
    """One reservoir's fine-tuned copy of the fleet and its part of meta.json."""
    tuned = (tuner or FineTuner(fleet, parent_version=parent_id)).tune(windows)
    return tuned, served_part(tuned, windows.name, _scores(tuned, windows, cleaning or {}))


def write_tuned(folder: Path, tuned: FleetModel, name: str, part: dict[str, Any], parent_id: int | None) -> dict:
    """A fine-tuned copy's folder: one reservoir's version whose parent is the fleet version; the meta written."""
    extra = {"kind": FLEET, "parent_id": parent_id, "trained_by": "fleet fine-tune"}
    return write_fleet(folder, tuned, {name: part}, extra)


def train_fleet(
    ws: Workspace,
    reservoirs: Sequence[str] | None = None,
    *,
    target: str | None = None,
    test_from: str | None = None,
    fine_tune: bool = True,
    config: FleetConfig | None = None,
    activate: bool | None = None,
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
    stage: Stage | None = None,
) -> FleetOutcome:
    """Train, save and link the fleet model (see the module docstring); activate=None is the champion rule."""
    config = config or FleetConfig()
    if test_from:
        config = FleetConfig.from_dict({**config.to_dict(), "split": SplitConfig(test_from=test_from).to_dict()})
    plan = plan_fleet(ws, reservoirs, target, config)
    steps = 2 + (len(plan.trained) if fine_tune else 0)
    say = stage or (lambda done, total, what: None)
    with ws.training_lock(*plan.names):
        say(0, steps, f"training the fleet model on {len(plan.trained)} reservoirs")
        t0 = time.perf_counter()
        training = fit_parts(plan.trained, plan.cold, plan.config, plan.cleaning, on_epoch, should_stop)
        say(1, steps, "saving the fleet model")
        record = _adopt(ws, plan.names, training.val_mae, activate, lambda tmp: write_training(tmp, training, {}))
        promote_cold_starts(ws, record.id, training.cold, activate)
        links = {r.reservoir: r for r in ws.served_by(record.id)}
        results = [_linked_result(links[n], n in plan.cold) for n in plan.names]
        if fine_tune and not training.fit.stopped_by_user:
            results = _fine_tunes(ws, training, plan, record, activate, results, say, should_stop)
        seconds = round(time.perf_counter() - t0, 3)
    results = [replace(r, active=ws.version(r.reservoir, r.version).active) for r in results]  # as the rule left it
    say(steps, steps, "done")
    fit = training.fit
    version = {
        "id": record.id,
        "kind": FLEET,
        "reservoirs": sorted(plan.trained),
        "cold_start": sorted(plan.cold),
        "covariates": list(fit.model.config.covariates),
        "epochs_run": fit.epochs_run,
        "best_epoch": fit.best_epoch,
        "fleet_train_seconds": fit.model.train_seconds,
    }
    stopped = fit.stopped_by_user or bool(should_stop is not None and should_stop())
    return FleetOutcome(seconds, version, plan.config.target, tuple(results), plan.skipped, stopped)


def promote_cold_starts(ws: Workspace, version_id: int, cold: Sequence[str], activate: bool | None) -> None:
    """A cold start has no validation score; under the rule (activate=None) a newer fleet version replaces only an
    earlier cold start (it read more of the record), never a model the reservoir trained on its own."""
    if activate is not None:
        return
    for link in ws.served_by(version_id):
        if link.reservoir in cold and not link.active:
            active = ws.active_version(link.reservoir)
            if active is not None and active.meta.get("cold_start"):
                ws.activate(link.reservoir, link.version)


def _scores(model: FleetModel, windows: ReservoirWindows, cleaning: dict[str, Any]) -> dict[str, Any]:
    """What a trained reservoir's part of meta.json holds: test and validation scores, bands, data, val MAE."""
    name = windows.name
    both = scores(model, windows)
    val, test = both["val"], both["test"]
    splits = windows.profile.splits or {}
    days = [d for part in splits.values() for d in part]
    metrics = {**(test or {}), "validation": val, "test_period": splits.get("test")}
    return {
        "metrics": metrics,
        "calibration": reservoir_calibration(model, name, windows.sets["val"]).to_dict(),
        "val_mae": float(val["model"]["mae"]),
        "data": {
            "range": [min(days), max(days)] if days else None,
            "splits": splits,
            "n_windows": {s: len(w) for s, w in windows.sets.items()},
        },
        "data_cleaning": cleaning,
    }


def _cold_part(model: FleetModel, name: str, values: pd.DataFrame, cleaning: dict[str, Any]) -> dict[str, Any]:
    """A cold start's part: bands from the fleet's pooled residuals in its scale, its record's span; no scores."""
    served = model.with_profile(name, cold_profile(model, name, values))
    span = values[model.config.target].dropna().index
    return {
        **served_part(served, name, {}),
        "metrics": {},
        "calibration": cold_start_calibration(served, name).to_dict(),
        "val_mae": None,
        "data": {"range": [span[0].date().isoformat(), span[-1].date().isoformat()], "splits": {}},
        "data_cleaning": cleaning,
    }


def _adopt(
    ws: Workspace,
    names: list[str],
    val_mae: dict[str, float | None],
    activate: bool | None,
    write: Callable[[Path], dict[str, Any]],
) -> ModelVersion:
    """Write a fleet (or fine-tuned) model into a temp folder and register it in one transaction (core.registry)."""
    tmp = ws.new_tmp_folder(names)
    try:
        meta = write(tmp)
        return ws.adopt_folder(names, tmp, meta, val_mae, activate, kind=FLEET, parent_id=meta.get("parent_id"))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def reservoir_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """One reservoir's test scores in `train --fleet --json`: `train --json`'s form (pipeline.test_metrics) with the
    model's headline numbers also at the top (mae, rmse, nse, kge, mae_by_horizon) for tables across reservoirs."""
    if not metrics:
        return {}
    model = metrics.get("model") or {}
    flat = {k: model[k] for k in ("mae", "rmse", "nse", "kge", "mae_by_horizon") if k in model}
    return {**flat, **test_metrics(metrics)}


def _linked_result(record: ModelVersion, cold: bool) -> FleetReservoirResult:
    """A reservoir's result when the fleet version itself serves it (no fine-tune, or a cold start)."""
    metrics = reservoir_metrics(record.metrics)
    return FleetReservoirResult(
        reservoir=record.reservoir,
        version=record.version,
        model=record.model,
        active=record.active,
        history_days=int(record.meta.get("history_days") or 0),
        cold_start=cold,
        metrics=metrics,
        validation_metrics=record.metrics.get("validation") or {},
        fleet_version=record.version,
        fleet_metrics=metrics,
        note="served by the fleet model from its short record (no test split yet)" if cold else "",
    )


def _fine_tunes(
    ws: Workspace,
    training: FleetTraining,
    plan: FleetPlan,
    parent: ModelVersion,
    activate: bool | None,
    results: list[FleetReservoirResult],
    say: Stage,
    should_stop: StopHook | None = None,
) -> list[FleetReservoirResult]:
    """Each trained reservoir's fine-tuned copy, saved as its own version with the fleet version as parent."""
    tuner = FineTuner(training.fit.model, parent_version=parent.id)
    out = []
    trained = [r for r in results if not r.cold_start]
    for done, result in enumerate(trained):
        if should_stop is not None and should_stop():  # Stop: the reservoirs not tuned yet keep the fleet version
            out += trained[done:]
            break
        name = result.reservoir
        say(2 + done, 2 + len(training.windows), f"fine-tuning {name}")
        tuned, part = tuned_part(training.fit.model, training.windows[name], parent.id, plan.cleaning.get(name), tuner)
        write = partial(write_tuned, tuned=tuned, name=name, part=part, parent_id=parent.id)
        record = _adopt(ws, [name], {name: part["val_mae"]}, activate, write)
        improved = bool(tuned.parent and tuned.parent.get("improved"))
        out.append(
            replace(
                result,
                version=record.version,
                model=record.model,
                active=record.active,
                metrics=reservoir_metrics(record.metrics),
                validation_metrics=record.metrics.get("validation") or {},
                note="" if improved else "fine-tuning did not improve validation; the fleet's weights were kept",
            )
        )
    return out + [r for r in results if r.cold_start]
