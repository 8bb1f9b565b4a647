"""The daily cycle as a dashboard background job: "Run the cycle now" on the Overview, `run-job` in its process.

`start_cycle_job` registers a cycle job (refused while a cycle runs) and launches it like any job
(core.app.jobs.start_job); `run_cycle_job` is its body, reporting progress per reservoir in the job's row. The CLI
hands it to core.app.jobs.run_job for the "cycle" kind, so the job layer never imports the cycle above it.
"""

from __future__ import annotations

import os
from typing import Any

from core.app.jobs import CYCLE, start_job
from core.fleet.cycle import CycleOptions, run_cycle
from core.fleet.engines import EngineSettings
from core.fleet.fleetstage import FLEET_TASK
from core.fleet.modes import ENGINES, RETRAIN_MODES
from core.store.workspace import Job, JobProgress, Workspace


def start_cycle_job(ws: Workspace, retrain: str = "due", engine: str = "local", fleet: bool = False) -> int:
    """Launch the daily cycle as a background job (the fleet view's "Run the cycle now"); its job id. With `fleet`
    it is `cycle --fleet`: the fleet model is judged (and retrained) first and trainings are its fine-tunes.

    A job row belongs to a reservoir, so the cycle's is filed under the first reservoir (by name) with no job of its
    own running; refused while a cycle is already running (from the CLI, a timer or another click).
    """
    if retrain not in RETRAIN_MODES or engine not in ENGINES:
        raise ValueError(
            f"Cycle retrain must be one of {', '.join(RETRAIN_MODES)} and engine one of {', '.join(ENGINES)}."
        )
    reservoirs = ws.reservoirs()
    if not reservoirs:
        raise ValueError("The workspace has no reservoirs yet: import readings before running the cycle.")
    ws.mark_interrupted()  # a cycle job whose process died must not block the button forever
    running = [run for run in ws.cycle_runs(5) if run.status == "running"]
    active = [j for j in ws.jobs(active_only=True) if j.kind == CYCLE]
    if running or active:
        since = running[0].started if running else active[0].created
        raise ValueError(f"A cycle is already running (since {since}); wait for it to finish.")
    busy = {j.reservoir for j in ws.jobs(active_only=True)}
    anchor = next((r.name for r in reservoirs if r.name not in busy and ws.training_holder(r.name) is None), None)
    if anchor is None:
        raise ValueError("Every reservoir has a training job running; start the cycle when one has finished.")
    return start_job(ws, anchor, CYCLE, {"retrain": retrain, "engine": engine, "fleet": bool(fleet)})


def run_cycle_job(ws: Workspace, job_id: int, job: Job) -> dict[str, Any]:
    """Body of a cycle job: progress per reservoir (JobProgress: index done, total, the reservoir's name)."""
    params = job.params
    ws.update_job(job_id, status="running", pid=os.getpid(), message="importing the inbox and preparing reservoirs")

    def progress(done: int, total: int, reservoir: str) -> None:
        words = f"{done} of {total} reservoirs done" if reservoir != FLEET_TASK else "judging the fleet model"
        ws.update_job(job_id, message=words, progress=JobProgress(done, total, reservoir))

    options = CycleOptions(
        inbox=params.get("inbox"),
        retrain=str(params.get("retrain") or "due"),
        engine=EngineSettings(name=str(params.get("engine") or "local")),
        fleet=bool(params.get("fleet")),
    )
    try:
        report = run_cycle(ws, options, progress)
    except BaseException as exc:
        ws.update_job(job_id, status="failed", message=f"{type(exc).__name__}: {exc}")
        raise
    result = {"cycle": report.cycle_id, **report.to_dict()}
    ok = len(report.reservoirs) - len(report.failed)
    ws.update_job(
        job_id, status="done", message=f"cycle #{report.cycle_id}: {ok} of {len(report.reservoirs)} ok", result=result
    )
    return result


BODIES = {CYCLE: run_cycle_job}  # the job kinds this layer runs (core.app.jobs.run_job's `bodies`)
