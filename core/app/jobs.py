"""Long work (training) in its own process; progress goes through the store so any page or tab can follow it."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

from core.store.workspace import Job, JobProgress, Workspace

TRAIN = "train"
COMPARE = "compare"


def start_job(ws: Workspace, reservoir: str, kind: str, params: dict[str, Any]) -> int:
    """Register a job (refused if this reservoir already has one running) and launch its process."""
    job_id = ws.create_job(reservoir, kind, params)  # marks a dead job of this reservoir interrupted first
    log_dir = ws.root / "jobs"
    log_dir.mkdir(exist_ok=True)
    log = open(log_dir / f"job-{job_id}.log", "ab")  # noqa: SIM115 - handed to the child process
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "--workspace", str(ws.root), "run-job", str(job_id)],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # survives a Streamlit rerun or the browser tab closing
    )
    log.close()
    ws.update_job(job_id, pid=proc.pid)
    return job_id


def run_job(ws: Workspace, job_id: int) -> dict[str, Any]:
    """Body of the job process: do the work, report every epoch, honour stop requests, record the outcome."""
    from core.model.config import TrainConfig

    job = ws.job(job_id)
    if job.kind not in (TRAIN, COMPARE):
        raise ValueError(f"Unknown job kind '{job.kind}'.")
    ws.update_job(job_id, status="running", pid=os.getpid(), message="preparing data")
    params = job.params
    config = TrainConfig.from_dict(params["config"])
    stop = lambda: ws.stop_requested(job_id)  # noqa: E731
    try:
        if job.kind == COMPARE:
            result, message, stopped = _compare(ws, job_id, job.reservoir, config, params, stop)
        else:
            result, message, stopped = _train(ws, job_id, job.reservoir, config, params, stop)
    except ValueError as exc:  # a user-facing problem: show its message as is
        ws.update_job(job_id, status="failed", message=str(exc))
        raise
    except BaseException as exc:
        ws.update_job(job_id, status="failed", message=f"unexpected {type(exc).__name__}: {exc}")
        traceback.print_exc()
        raise
    ws.update_job(job_id, status="stopped" if stopped else "done", message=message, result=result)
    return result


def _train(
    ws: Workspace, job_id: int, reservoir: str, config: Any, params: dict[str, Any], stop: Any
) -> tuple[dict[str, Any], str, bool]:
    """One training (or retraining) run with live epochs."""
    from core.app.pipeline import retrain_reservoir, train_reservoir

    def on_epoch(epoch: int, logs: dict[str, float], seconds: float) -> None:
        ws.add_epoch(job_id, epoch, logs, seconds, config.epochs)

    comparison = None
    if params.get("retrain"):
        outcome, comparison = retrain_reservoir(ws, reservoir, on_epoch=on_epoch, should_stop=stop)
    else:
        outcome = train_reservoir(
            ws, reservoir, config, activate=params.get("activate"), on_epoch=on_epoch, should_stop=stop
        )
    summary = outcome.summary(comparison)  # the page reads it back with TrainSummary.from_dict
    return summary.to_dict(), f"version {summary.version} saved", summary.stopped_by_user


def _compare(
    ws: Workspace, job_id: int, reservoir: str, config: Any, params: dict[str, Any], stop: Any
) -> tuple[dict[str, Any], str, bool]:
    """The leaderboard, one model after another; progress, message and partial result say which model is at work.

    Epochs are numbered across models (the epochs table has one row per job and epoch) and carry
    the model's index, so the page can draw the current model's loss curve.
    """
    from core.app.compare import compare_models
    from core.model.leaderboard import parse_models

    names = parse_models(params.get("models"))
    state: dict[str, Any] = {"epoch": 0, "index": 0, "done": []}

    def on_model(index: int, total: int, name: str, row: dict[str, Any] | None) -> None:
        state["index"] = index
        if row is None:
            ws.update_job(
                job_id, message=f"model {index + 1} of {total}: {name}", progress=JobProgress(index, total, name)
            )
        else:
            brief = {k: row[k] for k in ("model", "label", "version", "val_mae", "val_skill", "train_seconds")}
            state["done"].append({**brief, "skill": row["metrics"]["skill_vs_persistence"]})
            ws.update_job(job_id, result={"models": list(names), "done": state["done"]})

    def on_epoch(epoch: int, logs: dict[str, float], seconds: float) -> None:
        state["epoch"] += 1
        ws.add_epoch(
            job_id,
            state["epoch"],
            {**logs, "model_index": state["index"], "model_epoch": epoch},
            seconds,
            config.epochs,
        )

    board = compare_models(
        ws,
        reservoir,
        config,
        names,
        activate_best=params.get("activate_best"),
        on_model=on_model,
        on_epoch=on_epoch,
        should_stop=stop,
    )
    message = f"{len(board['models'])} models compared; best: {board['models'][0]['label']}"
    return board, message, board["stopped_by_user"]


def start_training(
    ws: Workspace, reservoir: str, config: Any, *, activate: bool | None = None, retrain: bool = False
) -> int:
    """Launch a training (or retraining with the active version's settings) job for the dashboard."""
    params = {"config": config.to_dict(), "activate": activate, "retrain": retrain}
    return start_job(ws, reservoir, TRAIN, params)


def start_comparison(
    ws: Workspace, reservoir: str, config: Any, models: list[str] | None = None, *, activate_best: bool | None = None
) -> int:
    """Launch a leaderboard job (all zoo members by default) for the dashboard's "Compare models"."""
    from core.model.leaderboard import parse_models

    params = {"config": config.to_dict(), "models": list(parse_models(models)), "activate_best": activate_best}
    return start_job(ws, reservoir, COMPARE, params)


def running_job(ws: Workspace, reservoir: str) -> Job | None:
    """The reservoir's queued or running job, so a page can re-attach to it after a refresh."""
    ws.mark_interrupted()
    jobs = ws.jobs(reservoir, active_only=True)
    return jobs[0] if jobs else None


def eta_seconds(job: Job) -> float | None:
    """Rough time left: mean epoch time x epochs left (early stopping usually ends sooner)."""
    epochs = job.epochs
    if not epochs:
        return None
    total = int(job.config.get("epochs", len(epochs)))
    mean = sum(e.seconds for e in epochs) / len(epochs)
    return max(total - len(epochs), 0) * mean
