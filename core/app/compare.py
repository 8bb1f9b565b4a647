"""Compare zoo members on one reservoir: same data, same split, ranked on validation, scored on test.

Every candidate is stored as a version, so the operator can activate any of them; the best by
validation MAE is the recommendation (the test period never takes part in the choice).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from core.app.pipeline import TrainOutcome, train_reservoir
from core.model.config import DEFAULT_MODEL, TrainConfig, TrainError
from core.model.leaderboard import parse_models, rank, verdict
from core.model.zoo import ZOO, EpochHook, StopHook
from core.store.workspace import Workspace, beats_active

ModelHook = Callable[[int, int, str, dict[str, Any] | None], None]  # (index, total, model, finished row or None)


def _row(outcome: TrainOutcome) -> dict[str, Any]:
    """One leaderboard row: the `train --json` metric keys plus validation, timing and the test forecasts."""
    out = outcome.to_dict()
    return {
        "model": out["model"],
        "label": ZOO[out["model"]].label,
        "version": out["version"],
        "train_seconds": out["train_seconds"],
        "epochs_run": out["epochs_run"],
        "val_mae": out["val_mae"],
        "val_skill": out["validation_metrics"]["skill_vs_persistence"],
        "metrics": out["metrics"],
        "stopped_by_user": out["stopped_by_user"],
        "test_pred": outcome.result.test_predictions["pred"],
        "val_errors": list(outcome.result.val_errors),  # the same validation days for every member: the noise test
    }


def compare_models(
    ws: Workspace,
    reservoir: str,
    config: TrainConfig,
    models: Sequence[str] | None = None,
    *,
    activate_best: bool | None = None,
    on_model: ModelHook | None = None,
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
) -> dict[str, Any]:
    """Train each member with the same settings, save each as a version, rank by validation MAE.

    activate_best=None applies the registry's rule once, to the winner: it becomes active when the
    reservoir has no active version or when it beats the active one's validation MAE. True always
    activates the winner, False never touches the active version.
    """
    names = parse_models(models)
    rows: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    test: dict[str, list] = {}
    stopped = False
    for i, name in enumerate(names):
        if should_stop and should_stop():
            stopped = True
            break
        if on_model:
            on_model(i, len(names), name, None)
        cfg = replace(config, model=replace(config.model, name=name))
        try:
            outcome = train_reservoir(ws, reservoir, cfg, activate=False, on_epoch=on_epoch, should_stop=should_stop)
        except TrainError as exc:  # one member that cannot run here must not sink the comparison
            failed.append({"model": name, "error": str(exc)})
            continue
        rows.append(_row(outcome))
        test = test or {k: outcome.result.test_predictions[k] for k in ("issued", "truth")}
        stopped = stopped or outcome.result.stopped_by_user
        if on_model:
            on_model(i, len(names), name, rows[-1])
        if stopped:
            break
    if not rows:
        detail = "; ".join(f"{f['model']}: {f['error']}" for f in failed) or "stopped before the first model finished"
        raise TrainError(f"No model could be trained ({detail}).")
    board = _board(ws, reservoir, config.target, rows, failed, stopped, activate_best)
    return {**board, "target": config.target, "test": test}


def _board(
    ws: Workspace,
    reservoir: str,
    target: str,
    rows: list[dict[str, Any]],
    failed: list[dict[str, str]],
    stopped: bool,
    activate_best: bool | None,
) -> dict[str, Any]:
    """Rank, recommend, optionally activate the winner, and say in words what the operator should take away."""
    rows = rank(rows)
    best = rows[0]
    name = ws.reservoir(reservoir).name
    activated = None
    if activate_best is None:
        activate_best = beats_active(ws.active_version(name), best["val_mae"])
    if activate_best:
        ws.activate(name, best["version"])
        activated = best["version"]
    return {
        "reservoir": name,
        "default": DEFAULT_MODEL,
        "best": best["model"],
        "activated": activated,
        "stopped_by_user": stopped,
        "failed": failed,
        "verdict": verdict(rows, ws.reservoir(name).variable(target).unit),
        "models": rows,
    }
