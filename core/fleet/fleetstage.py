"""The fleet model in the daily cycle (issue 22): retrain it as ONE task, then fan the fine-tunes out per reservoir.

With `cycle --fleet`, the driver first judges the fleet itself by the retrain mode and rule (`--retrain all`: always;
`due`: when there is no fleet version yet or its newest data end is `after_days` behind the readings; `none`:
never). When due, every reservoir's clean record goes to one task (`run_fleet_task`, on the chosen engine, with
the engine's whole width of threads where it is local), which trains the fleet and writes its version folder;
the driver, the only writer, adopts it for every reservoir it serves (the champion rule decides where it becomes
active), links the cold starts, and the per-reservoir tasks that follow fine-tune from it (core.fleet.tunes). The
training locks of every reservoir it serves are held while the task is away.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from core.app.fleettrain import MIN_FLEET, fit_parts, plan_fleet, promote_cold_starts, sort_frames, write_training
from core.fleet.adopt import adopt_archive
from core.fleet.due import TRAIN_NO, TRAIN_YES, DueRule, Verdict, verdict
from core.fleet.engines import EngineSettings, run_tasks
from core.fleet.tasks import TaskResult, TaskSpec, cap_threads, measured
from core.fleet.tunes import TUNE_TRAINER
from core.fleet.workers import TASK_PREFIX
from core.model.config import TrainError
from core.model.fleet import FleetConfig
from core.registry import FLEET, archived, pack_folder
from core.store.workspace import ModelVersion, Workspace

FLEET_TASK = "fleet model"  # the fleet training task's name in logs, timings and the fault drill
FLEET_TRAINER = "fleet"


@dataclass(frozen=True)
class FleetStage:
    """What the cycle did with the fleet model: retrained (its new version), not due, or failed (why)."""

    status: str  # ok | not due | failed
    reason: str
    version_id: int | None = None  # the newest fleet version after the stage (None: there is none)
    retrained: bool = False
    serves: tuple[str, ...] = ()
    error: str | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        """One phrase for the run's note (the Overview's history, the CLI summary): what happened to the fleet."""
        if self.status == "ok":
            return f"fleet model retrained: version id {self.version_id}, {len(self.serves)} reservoirs ({self.reason})"
        if self.status == "failed":
            return f"fleet model failed, the reservoirs kept their models: {self.error or self.reason}"
        return f"fleet model not retrained: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (`cycle --json`'s "fleet")."""
        return {**asdict(self), "serves": list(self.serves)}


def newest_fleet(ws: Workspace, names: Sequence[str]) -> ModelVersion | None:
    """The newest fleet version (not a fine-tune) serving any of these reservoirs, as the one with the latest data
    sees it (its data end is the fleet's)."""
    links = [v for n in names for v in ws.versions(n) if v.kind == FLEET and v.parent_id is None]
    links = [v for v in links if not v.meta.get("cold_start")] or links  # the data end of what it was trained on
    if not links:
        return None
    top = max(v.id for v in links)
    return max((v for v in links if v.id == top), key=lambda v: v.data_range[1] if v.data_range else "")


def fleet_verdict(ws: Workspace, names: Sequence[str], mode: str, rule: DueRule) -> tuple[Verdict, ModelVersion | None]:
    """Whether the fleet itself is retrained this cycle (the per-reservoir rule's age part, on the fleet's data)."""
    newest = newest_fleet(ws, names)
    days = [d for n in names if (d := ws.readings(n, [newest.target] if newest else None).index.max()) == d]
    last = max(days) if days else pd.Timestamp.now().normalize()
    decided = verdict(mode, newest, last, rule)
    if decided.train != TRAIN_YES:  # the skill part is judged per reservoir, by its fine-tune
        return Verdict(TRAIN_NO, decided.reason.split(";")[0].replace("version", "fleet version", 1)), newest
    if newest is None:
        return Verdict(TRAIN_YES, "no fleet version yet: the fleet model is trained"), None
    return Verdict(TRAIN_YES, f"fleet: {decided.reason}"), newest


def run_fleet_stage(
    ws: Workspace,
    names: Sequence[str],
    mode: str,
    rule: DueRule,
    engine: EngineSettings,
    max_epochs: int | None = None,
    log: Path | None = None,
) -> tuple[FleetStage, list[TaskResult]]:
    """Judge, train (one task on the engine) and adopt the fleet model; a failure is the stage's, never the run's."""
    decided, newest = fleet_verdict(ws, names, mode, rule)
    current = newest.id if newest is not None else None
    if decided.train != TRAIN_YES:
        return FleetStage("not due", decided.reason, current), []
    try:
        config = FleetConfig() if max_epochs is None else FleetConfig(epochs=max(1, int(max_epochs)))
        plan = plan_fleet(ws, None, newest.target if newest is not None else None, config)
        plan_names = [n for n in plan.names if n in set(names)]
        spec = TaskSpec(
            reservoir=FLEET_TASK, values=pd.DataFrame(), config=plan.config.to_dict(), train=TRAIN_YES,
            reason=decided.reason, trainer=FLEET_TRAINER,
            frames={n: f for n, f in {**plan.trained, **plan.cold}.items() if n in plan_names},
            clean_summary=plan.cleaning,
        )  # fmt: skip
        with ExitStack() as locks:
            locks.enter_context(ws.training_lock(*spec.frames))
            results: list[TaskResult] = []
            run_tasks([spec], _largest(engine), results.append, task=run_fleet_task, log=log)
            task = results[0]
            if task.status != "ok" or task.archive is None or task.meta is None:
                return FleetStage("failed", decided.reason, current, error=task.error, seconds=task.seconds), results
            record = adopt_archive(ws, task.serves, task.archive, task.meta, task.val_mae)
            promote_cold_starts(ws, record.id, [n for n in plan.cold if n in task.serves], None)
    except ValueError as exc:  # too few reservoirs, a lock held, a disk that refuses: said in words
        return FleetStage("failed", decided.reason, current, error=str(exc)), []
    stage = FleetStage("ok", decided.reason, record.id, True, task.serves, seconds=task.seconds)
    return stage, results


def _largest(engine: EngineSettings) -> EngineSettings:
    """The fleet task alone gets the engine's whole width locally, and the largest node's CPUs on Ray."""
    if engine.name == "ray":
        return replace(engine, whole_node=True)
    return replace(engine, cpus_per_task=engine.width(), workers=1)


def run_fleet_task(spec: TaskSpec) -> TaskResult:
    """The fleet training as a pure task: every record in, the version folder as archive bytes out."""
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        cap_threads(spec.threads, True)
        with tempfile.TemporaryDirectory(prefix=f"{TASK_PREFIX}{os.getpid()}-") as tmp:
            out = _train_fleet(spec, Path(tmp) / "fleet")
    except ValueError as exc:
        out = {"status": "failed", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - reported in words; the reservoirs still forecast with what they have
        out = {"status": "failed", "error": f"unexpected {type(exc).__name__}: {exc}"}
    return TaskResult(reservoir=spec.reservoir, reason=spec.reason, **measured(spec, t0, c0), **out)


def _train_fleet(spec: TaskSpec, folder: Path) -> dict[str, Any]:
    """Sort the records, fit the fleet and write its folder (core.app.fleettrain, as `train --fleet` does)."""
    config = FleetConfig.from_dict(spec.config)
    trained, cold, _ = sort_frames(spec.frames, config)
    if len(trained) < MIN_FLEET:
        raise TrainError(f"The fleet model needs at least {MIN_FLEET} reservoirs long enough for training.")
    training = fit_parts(trained, cold, config, spec.clean_summary)
    folder.mkdir(parents=True)
    meta = write_training(folder, training, {"trained_by": "daily cycle"})
    return {"status": "ok", "retrained": True, "archive": pack_folder(folder), "meta": meta,
            "val_mae": training.val_mae, "serves": tuple(training.served)}  # fmt: skip


def fleet_link(versions: Sequence[ModelVersion]) -> ModelVersion | None:
    """The newest fleet version (not a fine-tune) among one reservoir's versions, or None."""
    links = [v for v in versions if v.kind == FLEET and v.parent_id is None]
    return links[-1] if links else None


def fine_tune_spec(spec: TaskSpec, fleet: ModelVersion | None, retrained: bool, ws: Workspace) -> TaskSpec:
    """A reservoir's task in a --fleet cycle: a due training (or any, right after the fleet was retrained) becomes a
    fine-tune of the newest fleet version serving it (the spec's values read with that version's settings); a
    reservoir the fleet does not serve trains as before."""
    if fleet is None:
        return spec
    if retrained and not fleet.meta.get("cold_start"):  # a cold start is tuned once its record is long enough
        spec = replace(spec, train=TRAIN_YES, reason=f"{spec.reason}; the fleet model was retrained: fine-tune")
    if spec.train == TRAIN_NO:
        return spec
    return replace(spec, trainer=TUNE_TRAINER, parent=archived(fleet, ws.root))
