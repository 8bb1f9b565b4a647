"""A generated fleet for the fleet view's tests, its benchmark and its screenshot: readings, model rows and one
daily-cycle run written straight into a workspace (no training, no forecasting), with a known mix of states.

Reservoir i (0-based) of `make_fleet` is, by rule, so tests can count what the table must show:
* never cycled when i >= count - NEVER_CYCLED;
* a failed cycle result when i % 17 == 5;
* flood DANGER when i % 13 == 0, else flood WARNING when i % 7 == 3, else normal on the flood side;
* drought WATCH when i % 11 == 4, else normal on the drought side (no drought levels when i % 5 == 2);
* stale (its feed stopped STALE_GAP days before the others) when i % 9 == 8.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from core.app.fleet import today_utc
from core.store.workspace import CycleReservoir, UploadInfo, Workspace
from tests.store_support import add_version

NEVER_CYCLED = 3
STALE_GAP = 12  # days
MODELS = ("conv1d", "ridge", "lstm", "random_forest")


@dataclass(frozen=True)
class Fleet:
    """What make_fleet wrote: the names in order, the day the feeds end, and the cycle run id."""

    names: tuple[str, ...]
    end: date
    cycle_id: int


def fleet_name(i: int) -> str:
    """The generated reservoir's name: zero-padded so name order is index order."""
    return f"Reservoir {i + 1:03d}"


def is_failed(i: int) -> bool:
    """The cycle failed for this reservoir."""
    return i % 17 == 5


def flood_state(i: int) -> str:
    """The flood side's state the cycle found."""
    return "danger" if i % 13 == 0 else "warning" if i % 7 == 3 else "normal"


def drought_state(i: int) -> str:
    """The drought side's state the cycle found."""
    return "watch" if i % 11 == 4 else "no levels" if i % 5 == 2 else "normal"


def is_stale(i: int) -> bool:
    """Its readings stop STALE_GAP days early."""
    return i % 9 == 8


def _readings(i: int, days: int, end: date, with_inflow: bool) -> pd.DataFrame:
    """A smooth seasonal level (m) with some noise, plus inflow (m³/s) for every other reservoir."""
    last = end - timedelta(days=STALE_GAP if is_stale(i) else 0)
    index = pd.date_range(end=pd.Timestamp(last), periods=days, freq="D", name="date")
    rng = np.random.default_rng(i)
    t = np.arange(days)
    level = 100 + 10 * i % 37 + 3 * np.sin(2 * np.pi * (t + 7 * i) / 365) + rng.normal(0, 0.05, days).cumsum() * 0.1
    frame = pd.DataFrame({"level": level}, index=index)
    if with_inflow:
        frame["inflow"] = np.abs(20 + 5 * np.sin(t / 9) + rng.normal(0, 1, days))
    return frame


def _side(i: int, side: str, state: str, end: date) -> dict:
    """A SideAlert.to_dict() as the cycle stores it."""
    if state in ("watch", "warning", "danger"):
        probability = {"watch": 0.25, "warning": 0.45, "danger": 0.8}[state]
        level = "Flood warning" if side == "flood" else "Low supply"
        verb = "passing" if side == "flood" else "falling below"
        reason = f"{probability:.0%} chance of {verb} {level} by {end + timedelta(days=7)}."
        return {
            "side": side,
            "state": state,
            "reason": reason,
            "level": level,
            "value": 110.0 + i % 5,
            "probability": probability,
            "date": str(end + timedelta(days=3)),
            "days_until_likely": 4,
        }
    if state == "no levels":
        return {"side": side, "state": state, "reason": f"No {side} levels are set for level.", "probability": 0.0}
    return {
        "side": side,
        "state": "normal",
        "reason": "No level is 20% likely to be crossed in the next 7 days.",
        "probability": 0.02,
    }


def cycle_result(i: int, name: str, frame: pd.DataFrame) -> CycleReservoir:
    """What the cycle would have recorded for reservoir i."""
    if is_failed(i):
        return CycleReservoir(name, "failed", error="no readings in the last 14 days: import recent data first")
    end = frame.index[-1].date()
    alerts = {"flood": _side(i, "flood", flood_state(i), end), "drought": _side(i, "drought", drought_state(i), end)}
    raised = [f"{s} {a['state'].upper()}" for s, a in alerts.items() if a["state"] in ("watch", "warning", "danger")]
    last = float(frame["level"].iloc[-1])
    return CycleReservoir(
        reservoir=name,
        status="ok",
        version=1,
        alert=", ".join(raised) or "normal",
        alerts=alerts,
        target="level",
        unit="m",
        data_through=str(end),
        issued=str(end),
        last_value=last,
        end_median=last + 0.05 * ((i % 9) - 4),
        model=MODELS[i % len(MODELS)],
        skill=0.1 + (i % 6) / 20,
        coverage=0.7 + (i % 4) / 20,
        seconds=2.0 + i % 3,
    )


def _register_models(ws: Workspace, names: list[str]) -> None:
    """One active version row per reservoir with its stored metrics (no files: nothing here loads a model)."""
    for i, name in enumerate(names):
        meta = {
            "config": {"target": "level", "model": {"name": MODELS[i % len(MODELS)]}},
            "metrics": {"skill_vs_persistence": 0.1 + (i % 6) / 20},
        }
        add_version(ws, name, meta, 0.1, activate=True)


def make_fleet(ws: Workspace, count: int, days: int = 60, end: date | None = None) -> Fleet:
    """Write `count` reservoirs (one upload), their model rows and one finished cycle run into `ws`."""
    end = end or today_utc() - timedelta(days=1)
    names = [fleet_name(i) for i in range(count)]
    frames = {name: _readings(i, days, end, with_inflow=i % 2 == 0) for i, name in enumerate(names)}
    units = {name: {"level": "m", "inflow": "m³/s"} if "inflow" in f else {"level": "m"} for name, f in frames.items()}
    ws.merge(frames, units, UploadInfo(filename="fleet.csv", sha256=f"fleet-{count}-{days}-{end}"))
    _register_models(ws, names)
    cycle_id = ws.start_cycle("local", "due")
    for i, name in enumerate(names[: count - NEVER_CYCLED]):
        ws.record_cycle_result(cycle_id, cycle_result(i, name, frames[name]))
    ran = count - NEVER_CYCLED
    failed = sum(is_failed(i) for i in range(ran))
    inbox = {"imported": ["fleet.csv"], "failed": [{"file": "bad.csv", "reason": "no date column"}]}
    ws.finish_cycle(cycle_id, "partial" if failed else "ok", 12.5, inbox, [{"reservoir": names[0]}])
    return Fleet(tuple(names), end, cycle_id)


def slow_task(spec):  # noqa: ANN001, ANN201 - a core.fleet task: TaskSpec in, TaskResult out
    """A stand-in task for engine fault tests: notes its pid in the folder $SENTINEL_TEST_MARKS (else spec.reason),
    then sleeps spec.clean_summary["sleep"] seconds (default 60) and returns an ok result."""
    import os
    import time
    from pathlib import Path

    from core.fleet.tasks import TaskResult

    folder = Path(os.environ.get("SENTINEL_TEST_MARKS") or spec.reason)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{spec.reservoir}-{os.getpid()}").write_text(str(os.getpid()))
    time.sleep(float(spec.clean_summary.get("sleep", 60)))
    return TaskResult(reservoir=spec.reservoir, status="ok", reason=spec.reason, pid=os.getpid())


def slow_specs(folder, count: int, sleep: float = 60.0) -> list:  # noqa: ANN001 - a Path
    """`count` specs for slow_task, noting pids in `folder`."""
    from core.fleet.tasks import TaskSpec

    return [
        TaskSpec(f"R{i}", pd.DataFrame(), {}, "no", str(folder), clean_summary={"sleep": sleep}) for i in range(count)
    ]
