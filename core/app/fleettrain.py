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
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from core.app.pipeline import default_features, load_clean, test_metrics
from core.model.config import SplitConfig, TrainError
from core.model.fleet import (
    FineTuner,
    FleetConfig,
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
        """JSON form (one entry of `train --fleet --json`'s reservoirs)."""
        return {
            "reservoir": self.reservoir,
            "version": self.version,
            "model": self.model,
            "active": self.active,
            "history_days": self.history_days,
            "cold_start": self.cold_start,
            "metrics": self.metrics,
            "validation_metrics": self.validation_metrics,
            "fleet_version": self.fleet_version,
            "fleet_metrics": self.fleet_metrics,
            "note": self.note,
        }


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
    trained: dict[str, pd.DataFrame] = {}
    cold: dict[str, pd.DataFrame] = {}
    skipped: dict[str, str] = {}
    cleaning: dict[str, dict[str, Any]] = {}
    for name in names:
        values, why = _record(ws, name, config, cleaning)
        if values is None:
            skipped[name] = why
        elif _trainable(name, values, config):
            trained[name] = values
        elif int(values[config.target].notna().sum()) >= config.min_history_days:
            cold[name] = values
        else:
            skipped[name] = (
                f"{int(values[config.target].notna().sum())} day(s) of {config.target}; a cold start needs at least "
                f"{config.min_history_days}"
            )
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


def _trainable(name: str, values: pd.DataFrame, config: FleetConfig) -> bool:
    """Whether the record splits into training/validation/test with a complete window in each of the first two."""
    try:
        windows = reservoir_windows(name, values, config)
    except TrainError:
        return False
    return all(len(windows.sets[s]) for s in ("train", "val"))


# ---------------------------------------------------------------- training and saving


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
        dataset = build_dataset(plan.trained, plan.config)
        fit = fit_fleet(dataset, on_epoch=on_epoch, should_stop=should_stop)
        say(1, steps, "saving the fleet model")
        fleet_record = _save_fleet(ws, fit.model, dataset.reservoirs, plan, activate, fit.best_epoch)
        links = {r.reservoir: r for r in ws.served_by(fleet_record.id)}
        results = [_linked_result(links[n], n in plan.cold) for n in plan.names]
        if fine_tune and not fit.stopped_by_user:
            results = _fine_tunes(ws, fit.model, dataset.reservoirs, plan, fleet_record, activate, results, say)
        seconds = round(time.perf_counter() - t0, 3)
    results = [replace(r, active=ws.version(r.reservoir, r.version).active) for r in results]  # as the rule left it
    say(steps, steps, "done")
    version = {
        "id": fleet_record.id,
        "kind": FLEET,
        "reservoirs": sorted(plan.trained),
        "cold_start": sorted(plan.cold),
        "covariates": list(dataset.config.covariates),
        "epochs_run": fit.epochs_run,
        "best_epoch": fit.best_epoch,
        "fleet_train_seconds": fit.model.train_seconds,
    }
    return FleetOutcome(seconds, version, plan.config.target, tuple(results), plan.skipped, fit.stopped_by_user)


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


def _cold_scores(model: FleetModel, name: str, values: pd.DataFrame, cleaning: dict[str, Any]) -> dict[str, Any]:
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


def _save_fleet(
    ws: Workspace,
    model: FleetModel,
    windows: dict[str, ReservoirWindows],
    plan: FleetPlan,
    activate: bool | None,
    best_epoch: int,
) -> ModelVersion:
    """The fleet version saved once, linked to every reservoir it was trained on; then each cold start linked."""
    served = {n: served_part(model, n, _scores(model, w, plan.cleaning.get(n, {}))) for n, w in windows.items()}
    extra = {"best_epoch": best_epoch, "trained_by": "fleet training"}
    record = _adopt(ws, list(windows), model, served, {n: p["val_mae"] for n, p in served.items()}, activate, extra)
    for name, values in plan.cold.items():
        part = _cold_scores(model, name, values, plan.cleaning.get(name, {}))
        ws.link(record.id, name, val_mae=None, meta=part, activate=_cold_activation(ws, name, activate))
    return record


def _cold_activation(ws: Workspace, name: str, activate: bool | None) -> bool | None:
    """A cold start has no validation score; under the rule it replaces only an earlier cold start (the newer fleet
    read more of its record) or nothing, never a model the reservoir trained on its own."""
    active = ws.active_version(name)
    if activate is None and active is not None and active.meta.get("cold_start"):
        return True
    return activate


def _adopt(
    ws: Workspace,
    names: list[str],
    model: FleetModel,
    served: dict[str, dict[str, Any]],
    val_mae: dict[str, float],
    activate: bool | None,
    extra: dict[str, Any],
    parent_id: int | None = None,
) -> ModelVersion:
    """Write a fleet (or fine-tuned) model into a temp folder and register it in one transaction (core.registry)."""
    tmp = ws.new_tmp_folder(names)
    try:
        meta = write_fleet(tmp, model, served, extra)
        return ws.adopt_folder(names, tmp, meta, val_mae, activate, kind=FLEET, parent_id=parent_id)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _linked_result(record: ModelVersion, cold: bool) -> FleetReservoirResult:
    """A reservoir's result when the fleet version itself serves it (no fine-tune, or a cold start)."""
    metrics = record.metrics
    return FleetReservoirResult(
        reservoir=record.reservoir,
        version=record.version,
        model=record.model,
        active=record.active,
        history_days=int(record.meta.get("history_days") or 0),
        cold_start=cold,
        metrics=test_metrics(metrics) if metrics else {},
        validation_metrics=metrics.get("validation") or {},
        fleet_version=record.version,
        fleet_metrics=test_metrics(metrics) if metrics else {},
        note="served by the fleet model from its short record (no test split yet)" if cold else "",
    )


def _fine_tunes(
    ws: Workspace,
    fleet: FleetModel,
    windows: dict[str, ReservoirWindows],
    plan: FleetPlan,
    parent: ModelVersion,
    activate: bool | None,
    results: list[FleetReservoirResult],
    say: Stage,
) -> list[FleetReservoirResult]:
    """Each trained reservoir's fine-tuned copy, saved as its own version with the fleet version as parent."""
    tuner = FineTuner(fleet, parent_version=parent.id)
    out = []
    for result in results:
        if result.cold_start:
            out.append(result)
            continue
        name = result.reservoir
        say(2 + len([r for r in out if not r.cold_start]), 2 + len(windows), f"fine-tuning {name}")
        tuned = tuner.tune(windows[name])
        part = served_part(tuned, name, _scores(tuned, windows[name], plan.cleaning.get(name, {})))
        extra = {"trained_by": "fleet fine-tune"}
        record = _adopt(ws, [name], tuned, {name: part}, {name: part["val_mae"]}, activate, extra, parent.id)
        fleet_link = ws.version(name, result.fleet_version)
        out.append(
            replace(
                result,
                version=record.version,
                model=record.model,
                active=record.active,
                metrics=test_metrics(record.metrics),
                validation_metrics=record.metrics.get("validation") or {},
                fleet_metrics=test_metrics(fleet_link.metrics),
                note=""
                if tuned.parent and tuned.parent.get("improved")
                else "fine-tuning did not improve validation; the fleet's weights were kept",
            )
        )
    return out
