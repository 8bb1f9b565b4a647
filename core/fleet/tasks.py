"""One reservoir's cycle work as a PURE function: readings and settings in, archive bytes + metrics + forecast out.

`run_task` never opens the workspace (SQLite in WAL mode stays on the driver's host): it gets the clean daily
frame, the training settings as a dict and, when the reservoir has one, the active version's folder as archive
bytes. It trains when told to (or when the skill rule says so), forecasts with the version that will be active
after the driver adopts the result (the store's rule, `beats_active`, applied to the same numbers), and returns
everything as a picklable `TaskResult`. The same function runs in-process (serial), in a spawned process (local)
or in a Ray worker. A user-facing problem (ValueError) becomes a "failed" result with its message; a version
trained before the forecast failed is still returned (the driver keeps it: a first model is not thrown away
because its first forecast cannot be issued); a worker that dies returns nothing, so nothing of it is adopted.
"""

from __future__ import annotations

import hashlib
import os
import resource
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.fleet.due import TRAIN_IF_SKILL_DROPPED, TRAIN_YES, DueRule, data_end, skill_verdict
from core.fleet.tunes import TUNE_TRAINER, tune_trainer
from core.fleet.workers import TASK_PREFIX
from core.forecast.coverage import recent_coverage
from core.forecast.issue import issue, version_forecasts
from core.model import zoo
from core.model.config import TrainConfig
from core.model.evaluate import compare
from core.model.fleet import MODEL_LABELS
from core.model.train import fit
from core.model.zoo.keras_net import use_threads
from core.registry import (
    SINGLE,
    ArchivedVersion,
    LoadedModel,
    ModelVersion,
    VersionError,
    beats_active,
    load_archived,
    pack_folder,
    write_single,
    written_record,
)
from core.store.versions import Scores

if TYPE_CHECKING:
    from core.forecast.issue import Forecast

COVERAGE_BAND = 80


@dataclass(frozen=True)
class CrashDrill:
    """Fault drill: the first `times` attempts of a task (per reservoir) kill their own process after the work.

    Attempts are counted in files under `folder` (shared with the workers). Used by the tests and by operators
    who want to see that a dying worker is retried and leaves nothing half-written (SENTINEL_CYCLE_CRASH_DRILL).
    """

    folder: str
    times: int = 1
    reservoirs: tuple[str, ...] = ()  # empty: every reservoir
    at: str = "end"  # "end": after the work (the archive is built, then lost); "start": before any work


@dataclass(frozen=True)
class TaskSpec:
    """Everything one task needs; plain data only (it crosses process and machine boundaries).

    A task is one reservoir's (`reservoir`, `values`), or a training across several reservoirs: `frames` holds each
    one's clean frame and `trainer` names the TRAINERS entry that fits them; the version it trains serves them all
    (`serves`) and the driver holds each one's training lock meanwhile.
    """

    reservoir: str  # the reservoir it forecasts, or the name of a training across several (its log and drill)
    values: pd.DataFrame  # clean daily frame for the training settings (target + features)
    config: dict[str, Any]  # TrainConfig.to_dict(): the newest version's settings, or the default model's
    train: str  # due.TRAIN_YES | TRAIN_NO | TRAIN_IF_SKILL_DROPPED
    reason: str  # the driver's verdict in words
    rule: dict[str, Any] = field(default_factory=dict)  # DueRule.to_dict()
    active: ArchivedVersion | None = None
    active_values: pd.DataFrame | None = None  # the active version's clean frame when its settings differ
    unit: str | None = None
    clean_summary: dict[str, Any] = field(default_factory=dict)
    threads: int = 1  # CPUs this task may use (TensorFlow's intra-op pool)
    drill: CrashDrill | None = None
    trainer: str = SINGLE  # which TRAINERS entry fits a due training
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)  # a training across reservoirs: name -> clean frame
    parent: ArchivedVersion | None = None  # a fine-tune's fleet version (core.fleet.tunes)

    @property
    def serves(self) -> tuple[str, ...]:
        """The reservoirs the version this task trains will serve."""
        return tuple(self.frames) or (self.reservoir,)


@dataclass(frozen=True)
class TaskResult:
    """What a task hands back to the driver; `archive`/`meta` only when it trained a new version."""

    reservoir: str
    status: str  # "ok" | "failed"
    error: str | None = None
    retrained: bool = False
    reason: str = ""
    archive: bytes | None = None
    meta: dict[str, Any] | None = None
    val_mae: Scores = None  # one validation MAE, or one per reservoir served
    serves: tuple[str, ...] = ()  # the reservoirs the trained version serves (empty: `reservoir`)
    forecast: Forecast | None = None  # as issued (no levels/alerts yet: the driver judges those)
    forecast_from: str | None = None  # "new" (the version this task trained) | "active"
    skill: float | None = None  # test skill vs persistence of the version forecasting
    coverage: float | None = None  # recent 80 % band coverage of that version
    seconds: float = 0.0  # wall time inside the task
    cpu_seconds: float = 0.0
    threads: int = 0  # the CPUs the engine gave the task
    pid: int = 0
    peak_rss_mb: float = 0.0


def run_task(spec: TaskSpec) -> TaskResult:
    """The cycle's work for one reservoir, never raising for a problem in its data or settings."""
    t0, c0 = time.perf_counter(), time.process_time()
    _drill(spec, "start")
    out: dict[str, Any]
    try:
        cap_threads(spec.threads, _needs_tensorflow(spec))
        with tempfile.TemporaryDirectory(prefix=f"{TASK_PREFIX}{os.getpid()}-") as tmp:  # a killed task's is swept
            out = _work(spec, Path(tmp))
    except ValueError as exc:  # every user-facing error class in core derives from ValueError
        out = {"status": "failed", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one reservoir's bug must not stop the fleet; reported in words
        out = {"status": "failed", "error": f"unexpected {type(exc).__name__}: {exc}"}
    _drill(spec, "end")
    return TaskResult(
        reservoir=spec.reservoir, serves=spec.serves, **measured(spec, t0, c0), **{"reason": spec.reason, **out}
    )


def measured(spec: TaskSpec, t0: float, c0: float) -> dict[str, Any]:
    """A task's own measurements since (wall t0, CPU c0): seconds, CPU seconds, its process, peak memory, CPUs."""
    return {
        "seconds": round(time.perf_counter() - t0, 3),
        "cpu_seconds": round(time.process_time() - c0, 3),
        "pid": os.getpid(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": spec.threads,
    }


def cap_threads(n: int, tensorflow: bool) -> None:
    """Give TensorFlow's pools the task's CPUs before any TF op (Ray's OMP setting does not reach them)."""
    n = max(1, int(n))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # a worker's TF start-up notes are noise in the cycle's log
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    if not tensorflow:
        return

    use_threads(intra=1, inter=n)  # one thread per op (tiny ops), the task's CPUs for ops side by side


def _needs_tensorflow(spec: TaskSpec) -> bool:
    """Whether the trained or the active model is a Keras member."""
    names = [TrainConfig.from_dict(spec.config).model.name]
    if spec.active is not None:
        names.append(str(ModelVersion.from_dict(spec.active.record).model))
    keras = [zoo.ZOO[n].file == zoo.KERAS_FILE if n in zoo.ZOO else n in MODEL_LABELS for n in names]
    return spec.trainer != SINGLE or any(keras)  # MODEL_LABELS: the fleet model and its fine-tunes (Keras)


def _work(spec: TaskSpec, tmp: Path) -> dict[str, Any]:
    """Train if due, pick the version the store will make active, forecast with it, measure its recent bands."""
    active_values = spec.values if spec.active_values is None else spec.active_values
    active = load_archived(spec.active, tmp / "active") if spec.active is not None else None
    train, reason = spec.train == TRAIN_YES, spec.reason
    if spec.train == TRAIN_IF_SKILL_DROPPED and active is not None:
        skill, n = recent_skill(active, active_values)
        train, why = skill_verdict(skill, n, DueRule.from_dict(spec.rule))
        reason = f"{reason}; {why}"
    out: dict[str, Any] = {"status": "ok", "reason": reason, "retrained": train}
    loaded, values, used = active, active_values, "active"
    if train:
        new, trained = TRAINERS[spec.trainer](spec, tmp / "new")
        out.update(trained)
        if beats_active(active.record if active is not None else None, own_score(trained["val_mae"], spec.reservoir)):
            loaded, values, used = new, spec.values, "new"
    if loaded is None:
        raise VersionError(f"'{spec.reservoir}' has no model yet; run the cycle with --retrain due to train one.")
    try:
        issued = _forecast(loaded, values, spec.unit)
    except ValueError as exc:  # the trained version (if any) still goes back to be kept
        if not train:
            raise
        return {**out, "status": "failed", "error": f"No forecast could be issued: {exc}", "forecast_from": used}
    return {**out, **issued, "forecast_from": used}


def _train(spec: TaskSpec, folder: Path) -> tuple[LoadedModel, dict[str, Any]]:
    """Fit the settings on the clean frame and write the version folder through the registry (version unset)."""
    result = fit(spec.values, TrainConfig.from_dict(spec.config))
    folder.mkdir(parents=True)
    extra = {"data_cleaning": spec.clean_summary, "trained_by": "daily cycle"}
    meta = write_single(folder, result, spec.reservoir, extra)
    record = written_record(folder, meta, spec.reservoir)
    loaded = LoadedModel(record=record, model=result.model, scaling=result.scaling, config=result.config)
    return loaded, {"archive": pack_folder(folder), "meta": meta, "val_mae": float(result.val_mae)}


def own_score(val_mae: Scores, reservoir: str) -> float:
    """The task's own reservoir's validation MAE out of one score or one per reservoir served."""
    return float(val_mae[reservoir] if isinstance(val_mae, Mapping) else val_mae)  # type: ignore[arg-type]


# trainer name -> fit the spec's data and write the version folder: (the loaded version, archive/meta/val_mae)
Trainer = Callable[[TaskSpec, Path], tuple[LoadedModel, dict[str, Any]]]
TRAINERS: dict[str, Trainer] = {SINGLE: _train, TUNE_TRAINER: tune_trainer}


def _forecast(loaded: LoadedModel, values: pd.DataFrame, unit: str | None) -> dict[str, Any]:
    """The issued forecast (the version's own calibration as it stood on the issue day) and its recent coverage."""
    fc = issue(loaded, values, unit=unit)
    recent = recent_coverage(loaded, values, pd.Timestamp(fc.issued))
    share = None
    if recent is not None:
        band = next((b for b in recent.bands if b.band == COVERAGE_BAND), None)
        share = float(band.share) if band is not None and band.outcomes and np.isfinite(band.share) else None
    skill = loaded.record.metrics.get("skill_vs_persistence")
    return {"forecast": fc, "coverage": share, "skill": float(skill) if isinstance(skill, (int, float)) else None}


def recent_skill(loaded: LoadedModel, values: pd.DataFrame) -> tuple[float | None, int]:
    """Skill vs persistence of the version's forecasts issued after its data end whose horizon is observed."""
    end = data_end(loaded.record)
    if end is None or values.empty or values.index[-1] <= end:
        return None, 0
    fcs = version_forecasts(loaded, values, end + pd.Timedelta(days=1), values.index[-1])
    complete = np.isfinite(fcs.truth).all(axis=1) & np.isfinite(fcs.forecast).all(axis=1)
    if not complete.any():
        return None, 0
    issued = pd.DatetimeIndex(fcs.issued[complete])
    base = values[loaded.config.target].reindex(issued).to_numpy(dtype=float)
    scores = compare(fcs.truth[complete], fcs.forecast[complete], base)
    return float(scores["skill_vs_persistence"]), int(complete.sum())


def _drill(spec: TaskSpec, moment: str) -> None:
    """The fault drill: die (no result, no cleanup) on the first `times` attempts for the chosen reservoirs."""
    drill = spec.drill
    if drill is None or drill.at != moment or (drill.reservoirs and spec.reservoir not in drill.reservoirs):
        return
    folder = Path(drill.folder)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / f"{_stable_name(spec.reservoir)}.attempts"
    attempts = int(marker.read_text() or 0) if marker.exists() else 0
    marker.write_text(str(attempts + 1))
    if attempts < drill.times:
        os._exit(1)


def _stable_name(reservoir: str) -> str:
    """A file-name-safe, process-independent name for a reservoir's drill marker."""
    return hashlib.sha256(reservoir.encode()).hexdigest()[:16]
