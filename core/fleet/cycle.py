"""The daily cycle's driver: inbox, one pure task per reservoir on an engine, then adopt, judge, record, notify.

The driver is the only process that writes the workspace. For each reservoir it reads the clean readings and
the newest version's settings, decides the retrain verdict (core.fleet.due), and hands a TaskSpec to the engine
(core.fleet.engines). As each TaskResult arrives it adopts a trained archive as a new version (the store's
activation rule, core.fleet.adopt), judges the alert per side on the issued forecast with the reservoir's
levels and trigger, records the reservoir's CycleReservoir at once (a crash loses at most the reservoirs still
at work) and publishes alert changes; deliveries go out once at the end. One reservoir failing never stops the
others. TensorFlow is never imported here before the workers start (the serial engine excepted).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core import notify
from core.app.curves import stored_curve
from core.app.pipeline import (
    alert_trigger,
    first_model_config,
    forecast_history,
    forecast_levels,
    forecast_reservoir,
    load_clean,
    resolve_variables,
)
from core.auth.roles import system_actor
from core.export import report
from core.fleet.adopt import adopt_archive
from core.fleet.due import TRAIN_NO, DueRule, verdict
from core.fleet.engines import EngineSettings, run_tasks
from core.fleet.fleetstage import FLEET_TASK, FleetStage, fine_tune_spec, fleet_link, run_fleet_stage
from core.fleet.inbox import InboxError, InboxOutcome, process_inbox
from core.fleet.modes import RETRAIN_MODES
from core.fleet.tasks import CrashDrill, TaskResult, TaskSpec
from core.forecast import risk
from core.forecast.convert import attach
from core.forecast.risk import SideAlert
from core.model.config import SplitConfig, TrainConfig, with_overrides
from core.model.zoo import ZOO
from core.registry import ArchivedVersion, archived
from core.store.locks import TrainingLocked
from core.store.workspace import CycleReservoir, ModelVersion, Workspace

log = logging.getLogger(__name__)
LOG_DIR = "logs"  # <workspace>/logs/cycle-<id>.log: the workers' and Ray's output of each run
DRILL_ENV = "SENTINEL_CYCLE_CRASH_DRILL"  # "FOLDER[:TIMES[:RESERVOIR,...]]": the fault drill (core.fleet.tasks)
NOT_CONFIGURED = {"kind": "setup", "status": "not configured", "message": "notifications not configured"}
Progress = Callable[[int, int, str], None]  # (reservoirs done, total, reservoir just finished)


@dataclass(frozen=True)
class CycleOptions:
    """What one run does: inbox folder, retrain mode and rule, engine, a cap on epochs, which reservoirs."""

    inbox: str | None = None
    retrain: str = "due"
    engine: EngineSettings = field(default_factory=EngineSettings)
    rule: DueRule = field(default_factory=DueRule)
    max_epochs: int | None = None  # caps every training's epochs (early stopping usually ends sooner anyway)
    reservoirs: tuple[str, ...] = ()  # empty: every reservoir of the workspace
    drill: CrashDrill | None = None
    notify: bool = True
    fleet: bool = False  # also judge and retrain the fleet model, and fine-tune from it (core.fleet.fleetstage)


@dataclass(frozen=True)
class CycleReport:
    """A finished run: what each reservoir got, the inbox outcome, the notifications, and the task timings."""

    cycle_id: int
    engine: str
    status: str  # ok | partial | failed
    seconds: float
    reservoirs: tuple[CycleReservoir, ...]
    inbox: InboxOutcome
    notifications: tuple[dict[str, Any], ...] = ()
    timings: tuple[dict[str, Any], ...] = ()  # per task: seconds, cpu_seconds, pid, peak_rss_mb (bench/fleet.py)
    fleet: FleetStage | None = None  # with --fleet: what happened to the fleet model

    @property
    def failed(self) -> list[CycleReservoir]:
        """The reservoirs that failed this run."""
        return [r for r in self.reservoirs if r.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        """The `cycle --json` contract: engine, seconds, reservoirs, inbox, notifications."""
        return {
            "engine": self.engine,
            "seconds": self.seconds,
            "reservoirs": [r.to_dict() for r in self.reservoirs],
            "inbox": self.inbox.to_dict(),
            "notifications": list(self.notifications),
            **({"fleet": self.fleet.to_dict()} if self.fleet is not None else {}),
        }


@dataclass(frozen=True)
class _Context:
    """What the driver keeps about a reservoir while its task is away."""

    name: str
    last_day: str | None
    active: ModelVersion | None


class Interrupted(KeyboardInterrupt):
    """The cycle was told to stop (SIGTERM: systemd's stop or timeout, kill): workers are killed, the run ends as
    'interrupted', and the CLI exits like Ctrl-C."""


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While the cycle runs, SIGTERM raises Interrupted (so cleanup runs) instead of ending the process at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise Interrupted(f"stopped by signal {signal.Signals(signum).name} before it finished")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def drill_from_env() -> CrashDrill | None:
    """The fault drill named by $SENTINEL_CYCLE_CRASH_DRILL, if any."""
    text = os.environ.get(DRILL_ENV, "").strip()
    if not text:
        return None
    folder, _, rest = text.partition(":")
    times, _, names = rest.partition(":")
    reservoirs = tuple(n.strip() for n in names.split(",") if n.strip())
    return CrashDrill(folder=folder, times=int(times or 1), reservoirs=reservoirs)


def run_cycle(ws: Workspace, options: CycleOptions, progress: Progress | None = None) -> CycleReport:
    """Run the whole cycle once; the run and each reservoir's result are recorded in the workspace as they happen."""
    if options.retrain not in RETRAIN_MODES:
        raise ValueError(f"--retrain must be one of {', '.join(RETRAIN_MODES)}, not '{options.retrain}'.")
    if options.inbox is not None and not Path(options.inbox).is_dir():
        raise InboxError(f"The inbox {options.inbox} is not a folder; create it or pass another --inbox DIR.")
    with ws.in_use("the daily cycle"), _sigterm_interrupts():  # a restore is refused while the cycle runs
        t0 = time.perf_counter()
        cycle_id = ws.start_cycle(options.engine.name, options.retrain, pid=os.getpid())
        ws = ws.acting_as(system_actor(f"daily cycle #{cycle_id}", ws.actor))  # the run's writes name the run
        try:
            report = _run(ws, cycle_id, options, progress, t0)
        except BaseException as exc:  # the run row always ends: interrupted (Ctrl-C, SIGTERM) or failed
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            words = str(exc) if isinstance(exc, Interrupted) else f"{type(exc).__name__}: {exc}"
            ws.finish_cycle(cycle_id, status, time.perf_counter() - t0, message=words)
            raise
        message = f"{len(report.reservoirs) - len(report.failed)} of {len(report.reservoirs)} reservoirs ok"
        if report.fleet is not None:
            message += f"; {report.fleet.summary()}"
        ws.finish_cycle(
            cycle_id, report.status, report.seconds, report.inbox.to_dict(), list(report.notifications), message
        )
        return report


def _run(ws: Workspace, cycle_id: int, options: CycleOptions, progress: Progress | None, t0: float) -> CycleReport:
    """Inbox, tasks, adoption and judging, notifications; the body of run_cycle."""
    inbox = process_inbox(ws, options.inbox) if options.inbox else InboxOutcome()
    names = _names(ws, options.reservoirs)
    drill = options.drill or drill_from_env()
    done: dict[str, CycleReservoir] = {}
    locks: dict[str, ExitStack] = {}  # training locks the driver holds while a reservoir's training task is away
    timings: list[dict[str, Any]] = []
    contexts: dict[str, _Context] = {}
    notifier = notify if options.notify else None
    events: list[dict[str, Any]] = []

    def keep(result: CycleReservoir) -> None:
        ws.record_cycle_result(cycle_id, result)
        done[result.reservoir] = result
        if notifier is not None and result.status == "ok":
            events.extend(_publish(ws, notifier, result))
        if progress is not None:
            progress(len(done), len(names), result.reservoir)

    def on_result(task: TaskResult) -> None:
        timings.append(_timing(task))
        try:
            result = _finish(ws, task, contexts[task.reservoir])
        finally:
            lock = locks.pop(task.reservoir, None)
            if lock is not None:
                lock.close()
        keep(result)

    stage: FleetStage | None = None
    if options.fleet:
        if progress is not None:  # the fleet stage comes first and may take minutes: say so before it starts
            progress(0, len(names), FLEET_TASK)
        stage, fleet_tasks = run_fleet_stage(
            ws, names, options.retrain, options.rule, options.engine, options.max_epochs, _log_file(ws, cycle_id)
        )
        timings.extend(_timing(t) for t in fleet_tasks)

    def specs() -> Iterator[TaskSpec]:
        for name in names:
            try:
                spec, context = _prepare(ws, name, options, drill, stage)
                spec = _locked(ws, spec, locks)
            except Exception as exc:  # noqa: BLE001 - one reservoir's problem is its own failed row
                keep(CycleReservoir(reservoir=name, status="failed", error=_words(exc)))
                continue
            contexts[name] = context
            if spec is None:  # nothing to run: no model and no training wanted
                keep(_no_model(context, options.retrain))
                continue
            yield spec

    try:
        run_tasks(specs(), options.engine, on_result, log=_log_file(ws, cycle_id))
    finally:
        for lock in locks.values():
            lock.close()
    notifications = _deliver(ws, notifier, events) if options.notify else []
    results = tuple(done[n] for n in names if n in done)
    failed = sum(r.status == "failed" for r in results)
    status = "ok" if not failed else ("failed" if failed == len(results) else "partial")
    return CycleReport(
        cycle_id=cycle_id,
        engine=options.engine.name,
        status=status,
        seconds=round(time.perf_counter() - t0, 3),
        reservoirs=results,
        inbox=inbox,
        notifications=tuple(notifications),
        timings=tuple(timings),
        fleet=stage,
    )


def _log_file(ws: Workspace, cycle_id: int) -> Path:
    """Where the run's workers and Ray write their output: <workspace>/logs/cycle-<id>.log (never stdout)."""
    folder = ws.root / LOG_DIR
    folder.mkdir(exist_ok=True)
    return folder / f"cycle-{cycle_id}.log"


def _names(ws: Workspace, wanted: tuple[str, ...]) -> list[str]:
    """The reservoirs this run covers, by their stored names (unknown names are a user error)."""
    if not wanted:
        return [r.name for r in ws.reservoirs()]
    return [ws.reservoir(n).name for n in wanted]


def _words(exc: BaseException) -> str:
    """An error in words: a user-facing message as is, anything else with its type."""
    return str(exc) if isinstance(exc, ValueError) else f"unexpected {type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- preparing a task


def training_config(ws: Workspace, name: str, newest: ModelVersion | None, max_epochs: int | None) -> TrainConfig:
    """The newest version's settings (a fixed test start becomes the fractions, as retrain does), or the default."""
    if newest is None or newest.model not in ZOO:  # a fleet version: its own training starts from the default
        config = first_model_config(ws, name)
    else:
        config = TrainConfig.from_dict(newest.config)
        if config.split.test_from:  # a fixed test start would leave the new days out of testing
            config = replace(config, split=SplitConfig())
    if max_epochs is not None:
        config = with_overrides(config, epochs=min(config.epochs, max(1, int(max_epochs))))
    target, features = resolve_variables(ws, name, config.target, config.features)
    return replace(config, target=target, features=features)


def _prepare(
    ws: Workspace, name: str, options: CycleOptions, drill: CrashDrill | None, stage: FleetStage | None = None
) -> tuple[TaskSpec | None, _Context]:
    """Read what the task needs (clean readings, settings, the active version's archive) and decide the verdict;
    in a --fleet cycle a training is a fine-tune of the fleet version serving the reservoir (core.fleet.fleetstage)."""
    versions = ws.versions(name)
    newest = versions[-1] if versions else None
    active = next((v for v in versions if v.active), None)
    fleet = fleet_link(versions) if stage is not None else None
    if fleet is not None:
        config = TrainConfig.from_dict(fleet.config)
        config = with_overrides(config, epochs=min(config.epochs, options.max_epochs or config.epochs))
    else:
        config = training_config(ws, name, newest, options.max_epochs)
    clean = load_clean(ws, name, [config.target, *config.features], config.clean)
    last = clean.values[config.target].last_valid_index()
    context = _Context(name=name, last_day=None if last is None else last.date().isoformat(), active=active)
    if last is None:
        raise ValueError(f"'{name}' has no usable {config.target} readings after cleaning; import some.")
    decided = verdict(options.retrain, newest, last, options.rule)
    if decided.train == TRAIN_NO and active is None:
        return None, context
    spec = TaskSpec(
        reservoir=name,
        values=clean.values,
        config=config.to_dict(),
        train=decided.train,
        reason=decided.reason,
        rule=options.rule.to_dict(),
        active=_archived(ws, active),
        active_values=_active_values(ws, name, active, config),
        unit=ws.reservoir(name).variable(config.target).unit,
        clean_summary=clean.summary(),
        drill=drill,
    )
    if stage is not None:
        spec = fine_tune_spec(spec, fleet, stage.retrained and fleet is not None and fleet.id == stage.version_id, ws)
    return spec, context


def _locked(ws: Workspace, spec: TaskSpec | None, locks: dict[str, ExitStack]) -> TaskSpec | None:
    """Take the reservoir's training lock for a task that may train; when another training holds it, forecast only."""
    if spec is None or spec.train == TRAIN_NO:
        return spec
    stack = ExitStack()
    try:
        stack.enter_context(ws.training_lock(*spec.serves))
    except TrainingLocked as exc:
        if spec.active is None:
            raise
        return replace(spec, train=TRAIN_NO, reason=f"{spec.reason}; not retrained this cycle: {exc}")
    locks[spec.reservoir] = stack
    return spec


def _archived(ws: Workspace, version: ModelVersion | None) -> ArchivedVersion | None:
    """The active version's folder as archive bytes (the task checks its checksums before loading)."""
    return None if version is None else archived(version, ws.root)


def _active_values(ws: Workspace, name: str, active: ModelVersion | None, config: TrainConfig) -> Any:
    """The active version's own clean frame when its variables or cleaning differ from the training settings."""
    if active is None:
        return None
    own = TrainConfig.from_dict(active.config)
    if (own.target, tuple(own.features), own.clean) == (config.target, tuple(config.features), config.clean):
        return None
    return load_clean(ws, name, [own.target, *own.features], own.clean).values


def _no_model(context: _Context, retrain: str) -> CycleReservoir:
    """The row of a reservoir that has no model and was not allowed to train one."""
    return CycleReservoir(
        reservoir=context.name,
        status="failed",
        data_through=context.last_day,
        error=f"'{context.name}' has no model yet and --retrain {retrain} trains none; "
        "run the cycle with --retrain due (or train one) to start forecasting it.",
        retrain_reason="no model yet",
    )


# ---------------------------------------------------------------- finishing a task


def _timing(task: TaskResult) -> dict[str, Any]:
    """The task's own measurements (in-task wall and CPU time, its process and peak memory)."""
    return {
        "reservoir": task.reservoir,
        "status": task.status,
        "retrained": task.retrained,
        "seconds": task.seconds,
        "cpu_seconds": task.cpu_seconds,
        "pid": task.pid,
        "peak_rss_mb": task.peak_rss_mb,
        "threads": task.threads,
        "received": time.perf_counter(),
    }


def _finish(ws: Workspace, task: TaskResult, context: _Context) -> CycleReservoir:
    """Keep what the task trained, judge its forecast's alerts; any problem becomes this reservoir's failed row.

    A version the task trained is kept even when its forecast failed (a first model is not thrown away because its
    first forecast cannot be issued, and the newest version's data end stops the next cycle retraining it);
    `retrained` is true only when a version was kept.
    """
    base = CycleReservoir(
        reservoir=task.reservoir,
        status="failed",
        version=context.active.version if context.active else None,
        error=task.error,
        data_through=context.last_day,
        seconds=task.seconds,
        retrain_reason=task.reason,
    )
    try:
        record = _keep(ws, task)
    except Exception as exc:  # noqa: BLE001 - recorded in words (a full disk says so); the others go on
        log.warning("cycle: the version %s trained could not be kept: %s", task.reservoir, exc)
        return replace(base, error=_words(exc))
    if record is not None:
        version = record.version if record.active else base.version
        base = replace(base, retrained=True, new_version=record.version, version=version)
    if task.status != "ok":
        kept = f" Version {record.version}, trained this cycle, is kept." if record is not None else ""
        return replace(base, error=f"{task.error or 'the task failed'}{kept}")
    try:
        return _judge(ws, task, base, record)
    except Exception as exc:  # noqa: BLE001 - recorded in words; the other reservoirs go on
        log.warning("cycle: %s failed after its task: %s", task.reservoir, exc)
        return replace(base, error=_words(exc))


def _keep(ws: Workspace, task: TaskResult) -> ModelVersion | None:
    """Register the version the task trained (None when it trained none); the store's rule activates it."""
    if task.archive is None or task.meta is None or task.val_mae is None:
        return None
    return adopt_archive(ws, task.serves or task.reservoir, task.archive, task.meta, task.val_mae)


def _judge(ws: Workspace, task: TaskResult, base: CycleReservoir, record: ModelVersion | None) -> CycleReservoir:
    """Settle which version forecast, attach levels, alerts and the curve."""
    name = task.reservoir
    fc = task.forecast
    from_new = task.forecast_from == "new"
    if record is not None and from_new == record.active:
        fc = replace(fc, version=record.version) if from_new else fc
    elif record is not None:  # the store activated otherwise than the task foresaw: forecast from the store
        fc = forecast_reservoir(ws, name)
    unit = ws.reservoir(name).variable(fc.target).unit
    fc = replace(fc, unit=unit)
    fc = attach(risk.assess(fc, forecast_levels(ws, name, fc.target), alert_trigger(ws, name)), stored_curve(ws, name))
    hits = risk.raised(fc.alerts)
    words = " and ".join(a.words() for a in hits) if hits else str((fc.alert or {}).get("state") or "normal")
    return replace(
        base,
        status="ok",
        error=None,
        version=fc.version,
        alert=words,
        alerts={side: a.to_dict() for side, a in (fc.alerts or {}).items()},
        target=fc.target,
        unit=unit,
        issued=fc.issued,
        last_value=float(fc.last_observed["value"]),
        end_median=float(fc.points[-1].value),
        model=fc.model,
        skill=task.skill,
        coverage=task.coverage,
    )


# ---------------------------------------------------------------- notifications


def _publish(ws: Workspace, notify: Any, result: CycleReservoir) -> list[dict[str, Any]]:
    """Record this reservoir's alert changes (sent once per change); a failure is logged, never fatal."""
    alerts = {side: SideAlert(**a) for side, a in result.alerts.items()}
    try:
        changes = notify.publish(
            ws, result.reservoir, alerts, issued=str(result.issued), chart_png=lambda: _chart_png(ws, result.reservoir)
        )
    except Exception as exc:  # noqa: BLE001 - a notification problem must not lose the forecast
        log.warning("cycle: alert changes of %s could not be recorded: %s", result.reservoir, exc)
        return [{"kind": "change", "reservoir": result.reservoir, "status": "failed", "error": _words(exc)}]
    keys = ("id", "reservoir", "side", "change", "state", "previous", "level", "probability", "sent")
    return [{"kind": "change", **{k: getattr(c, k) for k in keys}} for c in changes]


def _chart_png(ws: Workspace, name: str) -> bytes:
    """The forecast chart as PNG for alert emails (drawn only when an email goes out)."""
    fc = forecast_reservoir(ws, name)
    return report.render(forecast_history(ws, fc), fc, forecast_levels(ws, name, fc.target), "png")


def _deliver(ws: Workspace, notify: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send what is pending (this run's changes and earlier failures); the changes plus each delivery's outcome."""
    if notify is None:
        return [NOT_CONFIGURED]
    try:
        deliveries = notify.deliver_pending(ws)
    except Exception as exc:  # noqa: BLE001 - retried on the next cycle
        log.warning("cycle: deliveries failed: %s", exc)
        return [*events, {"kind": "delivery", "status": "failed", "error": _words(exc)}]
    return [*events, *({**d.to_dict(), "kind": "delivery", "channel_kind": d.kind} for d in deliveries)]
