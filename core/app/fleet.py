"""The fleet view's facts: one status row per reservoir, the filters, the cycle's progress and history.

Pure core over cheap reads (no TensorFlow, no forecasting): the alert per side comes from the latest daily-cycle
result (core.store.cycles), the last reading day from one index lookup per variable, the model and its skill from
the active versions' stored metrics. A whole fleet is read in a handful of queries, so the Overview can list 100+
reservoirs on every page load; pages/overview_fleet.py renders what this module returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from core.app.summary import STALE_DAYS, days_since, model_skill, today_utc
from core.data.levels import SEVERITIES, SIDES
from core.data.variables import main_variable
from core.jsonio import AsDict, number
from core.store.workspace import CycleReservoir, CycleRun, ModelVersion, Workspace

NOT_RUN = "not run yet"  # never forecast by the daily cycle
NO_FORECAST = "no forecast"  # the latest cycle failed for this reservoir
RANK = {state: i + 1 for i, state in enumerate(SEVERITIES)}  # watch 1 < warning 2 < danger 3
STATE_ORDER = (*reversed(SEVERITIES), "normal", "no levels", "unknown", NO_FORECAST, NOT_RUN)
EITHER = "either"  # the side filter's "both sides"
DEFAULT_CARDS = 6  # at most this many cards by default (each card forecasts with its model)
FEW_CARDS = 3  # cards shown by default when nothing is raised


@dataclass(frozen=True)
class FleetRow(AsDict):
    """One reservoir's line in the fleet table: alert per side, data freshness, forecast change, model, last cycle."""

    reservoir: str
    flood: str  # the side's state: normal/watch/warning/danger, "no levels", "unknown", NO_FORECAST or NOT_RUN
    drought: str
    severity: int  # 0 = nothing raised, else the most severe raised side's rank (watch 1 .. danger 3)
    alert: str  # overall in words: "flood WARNING", "normal", "not run yet", ...
    reason: str  # the most severe raised side's reason, or why there is no forecast ("" otherwise)
    variable: str | None  # the forecast variable (else the main reading) the dates and change refer to
    unit: str | None
    last_reading: str | None  # YYYY-MM-DD of that variable's last stored reading
    age_days: int | None  # days from the last reading to today
    stale: bool  # no reading for more than STALE_DAYS days (or none at all)
    change: float | None  # forecast median at the last lead day minus the last reading
    issued: str | None  # the day the cycle's forecast was issued from
    model: str | None  # zoo member name of the active version
    version: int | None
    skill: float | None  # test skill vs persistence of the active version
    coverage: float | None  # share (0..1) of recent outcomes inside the issued 80 % band
    cycle_status: str  # "ok", "failed" or NOT_RUN
    error: str | None  # the latest cycle's error for this reservoir
    retrained: bool = False  # the latest cycle trained a new version

    @property
    def raised(self) -> bool:
        """True when a level on either side passed the alert trigger."""
        return self.severity > 0

    def side(self, side: str) -> str:
        """The state of one side ('flood' or 'drought')."""
        return self.flood if side == "flood" else self.drought


@dataclass(frozen=True)
class FleetFilter:
    """What the operator narrowed the table to; the defaults keep every row."""

    states: tuple[str, ...] = ()  # empty: any state
    side: str = EITHER  # which side's state `states` and `only_alerts` look at
    search: str = ""  # part of the reservoir name, any case
    only_alerts: bool = False
    stale_only: bool = False


@dataclass(frozen=True)
class CycleProgress:
    """How far a running (or just finished) cycle is: reservoirs done of the fleet, and what each gave."""

    cycle_id: int
    status: str
    done: int
    failed: int
    total: int
    results: tuple[CycleReservoir, ...]
    started: str

    @property
    def fraction(self) -> float:
        """Share of the fleet done, 0..1, for a progress bar."""
        return min(self.done / self.total, 1.0) if self.total else 0.0


@dataclass(frozen=True)
class CycleHistoryRow(AsDict):
    """One past run in the history table: when, how, how it went, what it imported and sent."""

    id: int
    started: str
    finished: str | None
    engine: str
    retrain: str
    status: str
    seconds: float | None
    ok: int
    failed: int
    imported: int
    inbox_failed: int
    notifications: int
    message: str | None
    inbox_held: tuple[dict, ...] = ()  # files held (not imported on a guess): {"file", "questions", "moved_to"}


def _side_states(result: CycleReservoir | None) -> dict[str, str]:
    """Each side's state from a cycle result; a failed or missing result has none."""
    if result is None:
        return dict.fromkeys(SIDES, NOT_RUN)
    if result.status != "ok":
        return dict.fromkeys(SIDES, NO_FORECAST)
    return {side: str((result.alerts.get(side) or {}).get("state") or "unknown") for side in SIDES}


def _top_side(result: CycleReservoir | None) -> tuple[int, str, str]:
    """(rank, words, reason) of the most severe raised side; rank 0 when nothing is raised."""
    if result is None or result.status != "ok":
        return 0, "", ""
    best: tuple[int, float, str, str] = (0, 0.0, "", "")
    for side in SIDES:
        alert = result.alerts.get(side) or {}
        rank = RANK.get(str(alert.get("state")), 0)
        probability = number(alert.get("probability")) or 0.0
        if rank and (rank, probability) > best[:2]:
            best = (rank, probability, f"{side} {str(alert['state']).upper()}", str(alert.get("reason") or ""))
    return best[0], best[2], best[3]


def _overall(result: CycleReservoir | None, states: dict[str, str], top: tuple[int, str, str]) -> tuple[str, str]:
    """The row's alert words and reason: the raised side, else 'normal', else why nothing is known."""
    rank, words, reason = top
    if result is None:
        return NOT_RUN, ""
    if result.status != "ok":
        return NO_FORECAST, result.error or "the latest cycle failed for this reservoir"
    if rank:
        return words, reason
    if "normal" in states.values():
        return "normal", ""
    return result.alert or next(iter(states.values())), ""


def _reading_variable(
    days: dict[str, str | None], result: CycleReservoir | None, record: ModelVersion | None
) -> str | None:
    """The variable the row's dates refer to: what the cycle forecast, else the model's target, else the main one."""
    for name in (result.target if result else None, record.target if record else None, main_variable(days)):
        if name and name in days:
            return name
    return None


def _row(
    name: str,
    days: dict[str, str | None],
    result: CycleReservoir | None,
    record: ModelVersion | None,
    today: date,
    stale_days: int,
) -> FleetRow:
    """One reservoir's row from what the store holds about it."""
    states = _side_states(result)
    top = _top_side(result)
    alert, reason = _overall(result, states, top)
    variable = _reading_variable(days, result, record)
    last = days.get(variable) if variable else max((d for d in days.values() if d), default=None)
    age = days_since(last, today)
    ok = result is not None and result.status == "ok"
    return FleetRow(
        reservoir=name,
        flood=states["flood"],
        drought=states["drought"],
        severity=top[0],
        alert=alert,
        reason=reason,
        variable=variable,
        unit=result.unit if ok and result else None,
        last_reading=last,
        age_days=age,
        stale=age is None or age > stale_days,
        change=result.change if ok and result else None,
        issued=result.issued if ok and result else None,
        model=(record.model or None) if record else (result.model if result else None),
        version=record.version if record else (result.version if result else None),
        skill=model_skill(record) if record else (result.skill if result else None),
        coverage=result.coverage if ok and result else None,
        cycle_status=result.status if result else NOT_RUN,
        error=result.error if result else None,
        retrained=bool(result.retrained) if result else False,
    )


def fleet_status(ws: Workspace, today: date | None = None, stale_days: int = STALE_DAYS) -> list[FleetRow]:
    """Every reservoir's status row, by name; three queries for the whole fleet, nothing forecast or loaded."""
    today = today or today_utc()
    days = ws.latest_days()
    results = ws.latest_cycle_results()
    active = ws.active_versions()
    return [_row(name, days[name], results.get(name), active.get(name), today, stale_days) for name in days]


def by_urgency(rows: Iterable[FleetRow]) -> list[FleetRow]:
    """Most severe first, then failed forecasts, then stale data, then by name: how an operator works a fleet."""
    return sorted(rows, key=lambda r: (-r.severity, r.cycle_status != "failed", not r.stale, r.reservoir.lower()))


def _sides(side: str) -> tuple[str, ...]:
    """The sides a filter looks at."""
    if side == EITHER:
        return SIDES
    if side not in SIDES:
        raise ValueError(f"Side must be flood, drought or {EITHER}, not {side!r}.")
    return (side,)


def matches(row: FleetRow, wanted: FleetFilter) -> bool:
    """True when a row passes every part of the filter."""
    sides = _sides(wanted.side)
    if wanted.search.strip() and wanted.search.strip().lower() not in row.reservoir.lower():
        return False
    if wanted.states and not any(row.side(s) in wanted.states for s in sides):
        return False
    if wanted.only_alerts and not any(row.side(s) in RANK for s in sides):
        return False
    return not (wanted.stale_only and not row.stale)


def filter_rows(rows: Sequence[FleetRow], wanted: FleetFilter) -> list[FleetRow]:
    """The rows the operator asked for, in their order."""
    return [r for r in rows if matches(r, wanted)]


def default_cards(rows: Sequence[FleetRow], limit: int = DEFAULT_CARDS, few: int = FEW_CARDS) -> list[str]:
    """Reservoirs to show cards for by default: the raised alerts (most severe first), else the first few."""
    raised = [r.reservoir for r in by_urgency(rows) if r.raised]
    return raised[:limit] if raised else [r.reservoir for r in rows[:few]]


def counts(rows: Sequence[FleetRow]) -> dict[str, int]:
    """How many reservoirs are in each overall state, for the headline metrics."""
    return {
        "reservoirs": len(rows),
        "raised": sum(r.raised for r in rows),
        "danger": sum(r.severity == RANK["danger"] for r in rows),
        "stale": sum(r.stale for r in rows),
        "failed": sum(r.cycle_status == "failed" for r in rows),
        "not_run": sum(r.cycle_status == NOT_RUN for r in rows),
    }


def _history_row(run: CycleRun) -> CycleHistoryRow:
    """A run as one history line."""
    inbox = run.inbox if isinstance(run.inbox, dict) else {}
    return CycleHistoryRow(
        id=run.id,
        started=run.started,
        finished=run.finished,
        engine=run.engine,
        retrain=run.retrain,
        status=run.status,
        seconds=run.seconds,
        ok=sum(r.status == "ok" for r in run.reservoirs),
        failed=sum(r.status != "ok" for r in run.reservoirs),
        imported=len(inbox.get("imported") or ()),
        inbox_failed=len(inbox.get("failed") or ()),
        notifications=len(run.notifications or ()),
        message=run.message,
        inbox_held=tuple(inbox.get("held") or ()),
    )


def cycle_history(ws: Workspace, limit: int = 10) -> list[CycleHistoryRow]:
    """The most recent cycle runs, newest first, with their per-reservoir counts."""
    return [_history_row(run) for run in ws.cycle_runs(limit=limit, with_results=True)]


def latest_cycle_id(ws: Workspace) -> int:
    """The newest run's id (0 when the cycle never ran): a started job's run is any newer one."""
    runs = ws.cycle_runs(limit=1)
    return runs[0].id if runs else 0


def cycle_progress(ws: Workspace, after: int = 0) -> CycleProgress | None:
    """The newest run started after run `after` with its results so far; None while it has not started yet."""
    runs = ws.cycle_runs(limit=1, with_results=True)
    if not runs or runs[0].id <= after:
        return None
    run = runs[0]
    total = max(len(ws.latest_days()), len(run.reservoirs))
    return CycleProgress(
        cycle_id=run.id,
        status=run.status,
        done=len(run.reservoirs),
        failed=sum(r.status != "ok" for r in run.reservoirs),
        total=total,
        results=run.reservoirs,
        started=run.started,
    )
