"""The facts an overview card states about a reservoir: its main reading, the weekly trend, the model's skill.

Pure functions over stored data, so the Overview page only renders and tests can check the wording directly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from core.data import variables
from core.jsonio import number
from core.store.workspace import ModelVersion, ReservoirInfo, VariableInfo

TREND_DAYS = 7


@dataclass(frozen=True)
class Trend:
    """The latest reading and how much it moved since about `days` days earlier."""

    date: str  # YYYY-MM-DD of the latest reading
    value: float
    since: str | None  # date of the reading compared against (None: no reading that far back)
    change: float | None  # value - value on `since`
    days: int = TREND_DAYS

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for tests and exports."""
        return asdict(self)


def main_variable(info: ReservoirInfo) -> VariableInfo | None:
    """Level if stored, else storage, else the first variable: the reading a card leads with."""
    name = variables.main_variable(v.name for v in info.variables)
    return next((v for v in info.variables if v.name == name), None)


def headline_variables(info: ReservoirInfo, target: str | None) -> list[VariableInfo]:
    """What a card leads with: the variable the active model forecasts, then the main reading when that differs
    (a storage model on a reservoir read by level shows both); without a model, the main reading alone."""
    main = main_variable(info)
    forecast = next((v for v in info.variables if target and v.name == target), None)
    chosen = [v for v in (forecast, main) if v is not None]
    return list({v.name: v for v in chosen}.values())


def latest_trend(series: pd.Series, days: int = TREND_DAYS) -> Trend | None:
    """Latest reading and its change against the last reading at least `days` earlier (within 2 x days).

    A reading further back than twice the window would describe a different period, so no change is given then.
    """
    values = pd.to_numeric(series, errors="coerce").dropna()
    if values.empty:
        return None
    values.index = pd.DatetimeIndex(values.index)
    values = values.sort_index()
    last_day, last_value = values.index[-1], float(values.iloc[-1])
    earlier = values[values.index <= last_day - pd.Timedelta(days=days)]
    since, change = None, None
    if len(earlier) and earlier.index[-1] >= last_day - pd.Timedelta(days=2 * days):
        since = earlier.index[-1].date().isoformat()
        change = last_value - float(earlier.iloc[-1])
    return Trend(date=last_day.date().isoformat(), value=last_value, since=since, change=change, days=days)


SKILL_FORMAT = "%+.0f%%"  # one rule for skill on every page and table: whole percent with its sign ("+66%")


def skill_percent(skill: Any) -> float | None:
    """A skill (fraction) in whole percent for tables formatted with SKILL_FORMAT, so every screen shows +66%."""
    value = skill_value(skill)
    return None if value is None else float(round(100 * value))


def skill_value(value: Any) -> float | None:
    """A stored skill as a number, or None when it is missing or could not be computed (NaN, text)."""
    return number(value)


def model_skill(record: ModelVersion) -> float | None:
    """Skill vs persistence on the version's test period (None when it was not scored)."""
    return skill_value(record.metrics.get("skill_vs_persistence"))


def skill_words(skill: float | None) -> str:
    """Skill in operator language: how much the model beats the 'tomorrow = today' guess, or that it does not."""
    if skill is None:
        return "not scored against 'tomorrow = today' yet"
    if skill > 0:
        percent = round(skill * 100)
        return f"beats 'tomorrow = today' by {percent} %" if percent >= 1 else "beats 'tomorrow = today' by < 1 %"
    return "does not beat persistence yet: forecasts are shown with a warning"


def skill_sentence(skill: float | None) -> str:
    """Skill as a full sentence an operator can repeat: how the test errors compared with 'tomorrow = today'."""
    if skill is None:
        return "Its skill against 'tomorrow = today' could not be measured on its test period."
    percent = f"{abs(skill):.0%}" if round(abs(skill) * 100) >= 1 else "less than 1%"
    if skill > 0:
        how = f"{percent} smaller than"
    elif skill < 0:
        how = f"{percent} larger than"
    else:
        how = "the same as"
    return f"On its test period its errors were {how} simply assuming 'tomorrow = today' (persistence)."


def levels_words(count: int) -> str:
    """How many operating levels (flood/drought lines) are set, phrased for a card."""
    if count == 0:
        return "No operating levels set yet"
    return f"{count} operating level{'s' if count != 1 else ''} set"
