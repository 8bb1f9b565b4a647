"""The fleet model's training as a dashboard background job (the Train page's "All reservoirs" tab), and the
leaderboard that puts each reservoir's own default, the fleet model and its fine-tune side by side.

The job runs `core.app.fleettrain.train_fleet` in its own process (`python -m core run-job`, like every training):
each epoch goes to the store for the live loss chart, each stage (fleet, then each fine-tune) to the job's progress,
and a Stop request ends the fleet's training after its epoch (its best epoch is kept; no fine-tunes follow).
A job row belongs to a reservoir, so the fleet's is filed under the reservoir the page had picked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from core.app.fleettrain import train_fleet
from core.app.jobs import failures_recorded, start_job
from core.app.serving import model_label
from core.model.config import DEFAULT_MODEL
from core.model.fleet import FLEET_MODEL, TUNED_MODEL, FleetConfig
from core.registry import FLEET
from core.store.workspace import Job, JobProgress, ModelVersion, Workspace

FLEET_JOB = "train_fleet"


def fleet_job_running(ws: Workspace) -> Job | None:
    """The fleet training job at work now (one per workspace), or None."""
    ws.mark_interrupted()  # a job whose process died must not block the button forever
    return next((j for j in ws.jobs(active_only=True) if j.kind == FLEET_JOB), None)


def start_fleet_training(
    ws: Workspace, anchor: str, target: str | None = None, fine_tune: bool = True, config: FleetConfig | None = None
) -> int:
    """Launch the fleet training job (refused while one runs); its job id. New versions follow the dashboard's rule:
    one becomes active by itself only where the reservoir has no active model (activate=False)."""
    running = fleet_job_running(ws)
    if running is not None:
        raise ValueError(f"The fleet model is already training (job #{running.id}); wait for it to finish.")
    params = {"config": (config or FleetConfig()).to_dict(), "target": target, "fine_tune": fine_tune}
    return start_job(ws, anchor, FLEET_JOB, params)


def run_fleet_job(ws: Workspace, job_id: int, job: Job) -> dict[str, Any]:
    """Body of the fleet job: live epochs, a progress line per stage, the `train --fleet --json` result."""
    params = job.params
    config = FleetConfig.from_dict(params["config"])
    ws.update_job(job_id, status="running", pid=os.getpid(), message="preparing every reservoir's record")

    def on_epoch(epoch: int, logs: dict[str, float], seconds: float) -> None:
        ws.add_epoch(job_id, epoch, logs, seconds, config.epochs)

    def stage(done: int, total: int, what: str) -> None:
        ws.update_job(job_id, message=what, progress=JobProgress(done, total, what))

    with failures_recorded(ws, job_id):
        outcome = train_fleet(
            ws, None, target=params.get("target"), fine_tune=bool(params.get("fine_tune", True)), config=config,
            activate=False, on_epoch=on_epoch, should_stop=lambda: ws.stop_requested(job_id), stage=stage,
        )  # fmt: skip
    result = outcome.to_dict()
    status = "stopped" if outcome.stopped_by_user else "done"
    message = f"fleet version id {outcome.fleet_version['id']} saved for {len(outcome.reservoirs)} reservoirs"
    ws.update_job(job_id, status=status, message=message, result=result)
    return result


BODIES = {FLEET_JOB: run_fleet_job}  # core.app.jobs.run_job's `bodies` (passed by the CLI's run-job)


# ---------------------------------------------------------------- the leaderboard


@dataclass(frozen=True)
class BoardEntry:
    """One model of one reservoir on the fleet leaderboard."""

    version: int
    label: str
    skill: float | None  # test skill vs persistence
    mae: float | None  # test MAE
    val_mae: float | None
    active: bool
    test_period: tuple[str, str] | None


@dataclass(frozen=True)
class BoardRow:
    """A reservoir's own default, the fleet model and the fleet + fine-tune, side by side (None: not trained)."""

    reservoir: str
    own: BoardEntry | None
    fleet: BoardEntry | None
    tuned: BoardEntry | None
    cold_start: bool
    active: str = ""  # the active version in words ('v3 · Fleet + fine-tune'), whichever it is

    def best(self) -> str:
        """Which of the three has the lowest validation MAE (the champion rule's measure), '' when none has one."""
        scored = [(e.val_mae, name) for name, e in self.entries() if e is not None and e.val_mae is not None]
        return min(scored)[1] if scored else ""

    def entries(self) -> list[tuple[str, BoardEntry | None]]:
        """(kind, entry) in the order the page shows them."""
        return [("own", self.own), ("fleet", self.fleet), ("tuned", self.tuned)]


def _entry(v: ModelVersion | None) -> BoardEntry | None:
    """A version's numbers for the board."""
    if v is None:
        return None
    model = v.metrics.get("model") or {}
    skill = v.metrics.get("skill_vs_persistence")
    return BoardEntry(v.version, model_label(v.model), skill if isinstance(skill, (int, float)) else None,
                      model.get("mae"), v.val_mae, v.active, v.test_period)  # fmt: skip


def fleet_board(ws: Workspace) -> list[BoardRow]:
    """Per reservoir: its newest own default model, the newest fleet version serving it and that fleet's fine-tune."""
    rows = []
    for info in ws.reservoirs():
        versions = ws.versions(info.name)
        own = next((v for v in reversed(versions) if v.kind != FLEET and v.model == DEFAULT_MODEL), None)
        fleet = next((v for v in reversed(versions) if v.model == FLEET_MODEL), None)
        tuned = None
        if fleet is not None:
            tuned = next((v for v in reversed(versions) if v.model == TUNED_MODEL and v.parent_id == fleet.id), None)
        if own is None and fleet is None:
            continue
        cold = bool(fleet is not None and fleet.meta.get("cold_start"))
        active = next((v for v in versions if v.active), None)
        said = "" if active is None else f"v{active.version} · {model_label(active.model)}"
        if active is not None and active not in (own, fleet, tuned):
            said += " (an earlier version)"
        rows.append(BoardRow(info.name, _entry(own), _entry(fleet), _entry(tuned), cold, said))
    return rows
