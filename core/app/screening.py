"""What screening finds in a reservoir's stored readings, and the operator's out-of-range decision per variable.

The decision (mask / keep / relative, see core.data.screen) is reservoir metadata, so cleaning for training,
forecasts, hindcasts and charts all follow it; CLI `qc` and the Data page both go through these functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import pandas as pd

from core.data.balance import BalanceCheck, check_balance
from core.data.clean import CleanFrame, clean_daily
from core.data.config import MASK, OUT_OF_RANGE_DECISIONS, CleanConfig
from core.data.plausible import plausible_readings
from core.data.report import DateRun
from core.data.screen import date_runs, long_runs, screen_frame
from core.store.workspace import StoreError, Workspace

DECISIONS_KEY = "out_of_range"  # reservoir metadata: {variable: decision}
FINDING_LABELS = {
    "coded_run": "logger code",
    "absurd_value": "absurd magnitude",
    "companion": "companion of a code",
    "out_of_range": "outside the physical range",
}


@dataclass(frozen=True)
class Finding:
    """One kind of screening finding on one stored variable, with the runs of days it covers."""

    variable: str
    kind: str  # a FINDING_LABELS key
    count: int
    runs: tuple[DateRun, ...]
    decision: str | None = None  # out_of_range only: what cleaning does with them

    @property
    def long(self) -> bool:
        """An out-of-range run long enough to be a convention (relative storage) rather than an error."""
        return bool(long_runs(self.runs))

    def to_dict(self) -> dict[str, Any]:
        """JSON form for `qc --json`."""
        data = asdict(self)
        data["runs"] = [asdict(r) for r in self.runs]
        data["label"] = FINDING_LABELS[self.kind]
        return data


def out_of_range_decisions(ws: Workspace, reservoir: str) -> dict[str, str]:
    """Variable -> the operator's out-of-range decision; variables never decided are masked."""
    stored = ws.get_meta(reservoir, DECISIONS_KEY, {}) or {}
    return {str(k): str(v) for k, v in stored.items() if v in OUT_OF_RANGE_DECISIONS}


def decide_out_of_range(ws: Workspace, reservoir: str, variable: str, decision: str) -> dict[str, str]:
    """Store what cleaning does with a variable's out-of-range values; returns all decisions of the reservoir."""
    if decision not in OUT_OF_RANGE_DECISIONS:
        raise StoreError(f"Unknown decision '{decision}'; choose one of: {', '.join(OUT_OF_RANGE_DECISIONS)}.")
    info = ws.reservoir(reservoir)
    name = info.variable(variable).name
    decisions = out_of_range_decisions(ws, info.name)
    if decision == MASK:
        decisions.pop(name, None)  # the default: nothing to remember
    else:
        decisions[name] = decision
    ws.set_meta(info.name, DECISIONS_KEY, decisions or None)
    return decisions


def coded_days(ws: Workspace, reservoir: str, besides: list[str]) -> pd.Series | None:
    """Days any stored variable not in `besides` held a logger code: their companions are suspect in cleaning."""
    info = ws.reservoir(reservoir)
    others = [v for v in info.variable_names if v not in set(besides)]
    if not others:
        return None
    codes = screen_frame(ws.readings(info.name, others)).codes
    return codes.any(axis=1)


def stored_units(ws: Workspace, reservoir: str) -> dict[str, str | None]:
    """Each stored variable's unit, so cleaning judges a level's physical range in the unit it was stored in."""
    return {v.name: v.unit for v in ws.reservoir(reservoir).variables}


def clean_record(
    ws: Workspace, reservoir: str, variables: list[str], config: CleanConfig = CleanConfig()
) -> CleanFrame:
    """The cleaned record of some variables: mis-dated days left out, logger codes, companions and impossible
    values masked (out-of-range ones as the operator decided), short gaps filled. Training, forecasts and every
    consistency check (curve coverage, levels against the record) judge this, never the raw readings."""
    raw, held = plausible_readings(ws.readings(reservoir, variables))
    if raw.empty:
        raise StoreError(f"'{reservoir}' has no readings of {', '.join(variables)}.")
    elsewhere = coded_days(ws, reservoir, list(raw.columns))
    decisions = out_of_range_decisions(ws, reservoir)
    clean = clean_daily(raw, config, decisions, elsewhere, stored_units(ws, reservoir))
    return replace(clean, held_out=held) if held else clean


def frame_findings(frame: pd.DataFrame, decisions: dict[str, str]) -> list[Finding]:
    """Screening findings of a daily frame of stored variables (out-of-range judged before 'relative' applies)."""
    screen = screen_frame(frame)
    out: list[Finding] = []
    for column in frame.columns:
        name = str(column)
        for kind, mask in (
            ("coded_run", screen.codes[column]),
            ("absurd_value", screen.absurd[column]),
            ("companion", screen.companions[column]),
            ("out_of_range", screen.out_of_range[column]),
        ):
            if mask.any():
                decision = decisions.get(name, MASK) if kind == "out_of_range" else None
                out.append(Finding(name, kind, int(mask.sum()), date_runs(mask, frame[column]), decision))
    return out


def stored_findings(ws: Workspace, reservoir: str, variables: list[str] | None = None) -> list[Finding]:
    """What screening finds in the stored readings (all variables, or some), with the decisions in force."""
    info = ws.reservoir(reservoir)
    names = [info.variable(v).name for v in variables] if variables else list(info.variable_names)
    raw = ws.readings(info.name)  # all variables: a code in one makes the others' values that day companions
    if raw.empty:
        return []
    return [f for f in frame_findings(raw, out_of_range_decisions(ws, info.name)) if f.variable in names]


def stored_balance(ws: Workspace, reservoir: str) -> BalanceCheck:
    """The water-balance check (core.data.balance) on the stored readings, revisions applied, units as stored."""
    info = ws.reservoir(reservoir)
    units = {v.name: v.unit for v in info.variables}
    return check_balance(ws.readings(info.name), units)
