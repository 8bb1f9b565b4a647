"""Long work (training) in its own process; progress goes through the store so any page or tab can follow it."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from core.app.compare import compare_models
from core.app.pipeline import first_model_config, retrain_reservoir, train_reservoir
from core.auth.roles import system_actor
from core.model.config import TrainConfig
from core.model.leaderboard import parse_models
from core.store.locks import refusal
from core.store.workspace import Job, JobProgress, Workspace

TRAIN = "train"
COMPARE = "compare"
CYCLE = "cycle"  # the daily cycle over every reservoir (core.fleet.job), started by "Run the cycle now"
# The dashboard's activation rule: a reservoir's first model becomes active by itself (there is nothing to forecast
# with otherwise); after that only the operator's click changes the active model. The CLI keeps bool | None.
FIRST_ONLY = "first"
Activation = bool | Literal["first"] | None


def start_job(ws: Workspace, reservoir: str, kind: str, params: dict[str, Any]) -> int:
    """Register a job (refused if the reservoir has one running, or a training holds its lock) and launch it."""
    holder = ws.training_holder(reservoir) if kind in (TRAIN, COMPARE) else None
    if holder is not None:  # e.g. a command-line `train`: the job would only be refused when it starts
        raise refusal(ws.reservoir(reservoir).name, holder)
    job_id = ws.create_job(reservoir, kind, params)  # marks a dead job of this reservoir interrupted first
    ws.update_job(job_id, pid=_launch(ws, job_id))
    return job_id


def _launch(ws: Workspace, job_id: int) -> int:
    """Start `python -m core run-job` for a registered job in its own session; returns its pid (tests replace it)."""
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
    return proc.pid


def resolve_activation(ws: Workspace, reservoir: str, wanted: Activation) -> bool | None:
    """What train_reservoir/compare_models get: FIRST_ONLY is True only while the reservoir has no active model."""
    if wanted == FIRST_ONLY:
        return ws.active_version(reservoir) is None
    return wanted


JobBody = Callable[[Workspace, int, Job], dict[str, Any]]  # the work of one job kind, given its row


def run_job(ws: Workspace, job_id: int, bodies: Mapping[str, JobBody] | None = None) -> dict[str, Any]:
    """Body of the job process: do the work, report every epoch, honour stop requests, record the outcome.

    `bodies` adds kinds run by layers above this one (the daily cycle's job: core.fleet.job, passed by the CLI).
    """
    job = ws.job(job_id)
    known = {TRAIN: _run_training, COMPARE: _run_training, **(bodies or {})}
    if job.kind not in known:
        raise ValueError(f"Unknown job kind '{job.kind}'.")
    ws = ws.acting_as(system_actor(f"{job.kind} job #{job_id}"))  # its writes are logged as the job's
    with ws.in_use(f"{job.kind} job #{job_id} of '{job.reservoir}'"):  # a restore is refused while it runs
        return known[job.kind](ws, job_id, job)


@contextmanager
def failures_recorded(ws: Workspace, job_id: int) -> Iterator[None]:
    """A job's failure goes into its row (a user-facing problem's message as is), then on up to the process."""
    try:
        yield
    except ValueError as exc:
        ws.update_job(job_id, status="failed", message=str(exc))
        raise
    except BaseException as exc:
        ws.update_job(job_id, status="failed", message=f"unexpected {type(exc).__name__}: {exc}")
        traceback.print_exc()
        raise


def _run_training(ws: Workspace, job_id: int, job: Job) -> dict[str, Any]:
    """A training or comparison job: the work, its progress and outcome in the job's row."""
    ws.update_job(job_id, status="running", pid=os.getpid(), message="preparing data")
    params = job.params
    config = TrainConfig.from_dict(params["config"])
    stop = lambda: ws.stop_requested(job_id)  # noqa: E731
    with failures_recorded(ws, job_id):
        if job.kind == COMPARE:
            result, message, stopped = _compare(ws, job_id, job.reservoir, config, params, stop)
        else:
            result, message, stopped = _train(ws, job_id, job.reservoir, config, params, stop)
    ws.update_job(job_id, status="stopped" if stopped else "done", message=message, result=result)
    return result


def _train(
    ws: Workspace, job_id: int, reservoir: str, config: Any, params: dict[str, Any], stop: Any
) -> tuple[dict[str, Any], str, bool]:
    """One training (or retraining) run with live epochs."""
    def on_epoch(epoch: int, logs: dict[str, float], seconds: float) -> None:
        ws.add_epoch(job_id, epoch, logs, seconds, config.epochs)

    comparison = None
    if params.get("retrain"):
        outcome, comparison = retrain_reservoir(ws, reservoir, on_epoch=on_epoch, should_stop=stop)
    else:
        activate = resolve_activation(ws, reservoir, params.get("activate"))
        outcome = train_reservoir(ws, reservoir, config, activate=activate, on_epoch=on_epoch, should_stop=stop)
    summary = outcome.summary(comparison)  # the page reads it back with TrainSummary.from_dict
    return summary.to_dict(), f"version {summary.version} saved", summary.stopped_by_user


def _compare(
    ws: Workspace, job_id: int, reservoir: str, config: Any, params: dict[str, Any], stop: Any
) -> tuple[dict[str, Any], str, bool]:
    """The leaderboard, one model after another; progress, message and partial result say which model is at work.

    Epochs are numbered across models (the epochs table has one row per job and epoch) and carry
    the model's index, so the page can draw the current model's loss curve.
    """
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
        activate_best=resolve_activation(ws, reservoir, params.get("activate_best")),
        on_model=on_model,
        on_epoch=on_epoch,
        should_stop=stop,
    )
    message = f"{len(board['models'])} models compared; best: {board['models'][0]['label']}"
    return board, message, board["stopped_by_user"]


def start_training(
    ws: Workspace, reservoir: str, config: Any, *, activate: Activation = FIRST_ONLY, retrain: bool = False
) -> int:
    """Launch a training (or retraining with the active version's settings) job for the dashboard.

    By default the new version becomes active only when it is the reservoir's first model (FIRST_ONLY); a retrain
    never activates (retrain_reservoir leaves that to the operator).
    """
    params = {"config": config.to_dict(), "activate": activate, "retrain": retrain}
    return start_job(ws, reservoir, TRAIN, params)


def start_comparison(
    ws: Workspace,
    reservoir: str,
    config: Any,
    models: list[str] | None = None,
    *,
    activate_best: Activation = FIRST_ONLY,
) -> int:
    """Launch a leaderboard job (all zoo members by default) for the dashboard's "Compare models".

    The winner is only recommended, unless the reservoir has no active model yet (FIRST_ONLY): then it is activated.
    """
    params = {"config": config.to_dict(), "models": list(parse_models(models)), "activate_best": activate_best}
    return start_job(ws, reservoir, COMPARE, params)


def start_first_model(ws: Workspace, reservoir: str) -> int | None:
    """Train the default model in the background for a reservoir that never had a model nor a job; its job id.

    None when the reservoir has a version or any job (a first run that failed or was stopped is not retried).
    """
    if ws.versions(reservoir) or ws.jobs(reservoir):
        return None
    return start_training(ws, reservoir, first_model_config(ws, reservoir), activate=FIRST_ONLY)


def running_job(ws: Workspace, reservoir: str) -> Job | None:
    """The reservoir's queued or running job, so a page can re-attach to it after a refresh (a dead one reads as
    interrupted, so it is not returned)."""
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
