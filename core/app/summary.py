"""The facts an overview card states about a reservoir: its main reading, the weekly trend, the model's skill.

Pure functions over stored data, so the Overview page only renders and tests can check the wording directly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from core.data import variables
from core.display import number as number_text
from core.jsonio import number
from core.model.leaderboard import Skill
from core.store.workspace import ModelVersion, ReservoirInfo, VariableInfo

TREND_DAYS = 7
STALE_DAYS = 3  # a daily record whose last reading is older than this is "stale": the feed probably stopped


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


def version_skill(record: ModelVersion) -> Skill:
    """A version's test skill on MAE and RMSE side by side (core.model.leaderboard.Skill: words, colour, sentence)."""
    return Skill.of(record.metrics)


def levels_words(count: int) -> str:
    """How many operating levels (flood/drought lines) are set, phrased for a card."""
    if count == 0:
        return "No operating levels set yet"
    return f"{count} operating level{'s' if count != 1 else ''} set"


def today_utc() -> date:
    """Today's date in UTC, the day ages are counted to (stored days are calendar days)."""
    return datetime.now(UTC).date()


def days_since(day: str | None, today: date | None = None) -> int | None:
    """Whole days from a stored day (YYYY-MM-DD...) to today; None without a day or for one that does not parse."""
    if not day:
        return None
    try:
        return ((today or today_utc()) - date.fromisoformat(str(day)[:10])).days
    except ValueError:
        return None


def age_words(days: int | None) -> str:
    """'today', 'yesterday', '12 days ago', '3,627 days ago'; 'no reading' without one."""
    if days is None:
        return "no reading"
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{number_text(days)} days ago"


@dataclass(frozen=True)
class Freshness:
    """How old the reading a forecast starts from is, and whether the forecast's days are already past."""

    last_reading: str  # the day the forecast starts from (YYYY-MM-DD)
    days: int  # whole days from that reading to today
    past: bool  # every forecast day lies before today: what the model would have said then, not what comes
    stale: bool  # older than STALE_DAYS: the feed may have stopped

    @property
    def age(self) -> str:
        """'yesterday', '3,627 days ago'."""
        return age_words(self.days)

    def title(self) -> str:
        """What to call the forecast: 'Forecast', or 'Forecast from the last reading (3,627 days ago)' when its
        days are past, so nobody reads a forecast of 2017 on a page dated today as what comes next."""
        return f"Forecast from the last reading ({self.age})" if self.past else "Forecast"

    def meaning(self) -> str:
        """What the age means for the forecast, without the date ('' for a fresh reading)."""
        if self.past:
            return (
                "Every forecast day is already past: this is what the model says from that reading, not a forecast "
                "of the days ahead. Upload newer readings for a real forecast."
            )
        if self.stale:
            return f"No reading for more than {STALE_DAYS} days: the feed may have stopped."
        return ""

    def words(self) -> str:
        """One sentence or two for a card, a page or a bulletin: the last reading's day and age, and what that means."""
        return f"Last reading {self.last_reading} ({self.age}). {self.meaning()}".strip()

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the CLI (`forecast --json` gains 'freshness')."""
        return {**asdict(self), "age": self.age, "title": self.title()}


def freshness(last_reading: str, last_day: str | None = None, today: date | None = None) -> Freshness:
    """The age of the reading a forecast starts from; `last_day` is the forecast's last day (past when before
    today). Without `last_day` only the age counts (a card's latest reading)."""
    today = today or today_utc()
    days = days_since(last_reading, today)
    days = 0 if days is None else days
    past = last_day is not None and (days_since(last_day, today) or 0) > 0
    return Freshness(str(last_reading)[:10], days, past, days > STALE_DAYS)
