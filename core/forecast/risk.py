"""Operating-level risk: exceedance probabilities per day, the alert rule, and its hindcast verification."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from core.data.levels import SEVERITIES, SIDES, OperatingLevel
from core.data.variables import canonical_name
from core.display import entered
from core.forecast.issue import Forecast
from core.jsonio import AsDict

DEFAULT_TRIGGER = 0.20  # alert when the chance of crossing a level within the horizon is at least this
LIKELY = 0.5  # "likely crossed" = more likely than not
RANK = {s: i + 1 for i, s in enumerate(SEVERITIES)}  # watch < warning < danger


def applicable(levels: Sequence[OperatingLevel], target: str) -> list[OperatingLevel]:
    """Levels drawn on the forecast's own variable (a level line means nothing on a storage forecast)."""
    key = canonical_name(target)
    return [lv for lv in levels if canonical_name(lv.variable) == key]


def beyond(samples: np.ndarray, level: OperatingLevel) -> np.ndarray:
    """Boolean: each sample value on the alert side of the level (above for flood, below for drought)."""
    return samples > level.value if level.side == "flood" else samples < level.value


def exceedance(samples: np.ndarray, levels: Sequence[OperatingLevel]) -> dict[str, list[float]]:
    """Probability, for each level and forecast day, of being beyond the level."""
    return {lv.name: [float(p) for p in beyond(samples, lv).mean(axis=0)] for lv in levels}


def within_horizon(samples: np.ndarray, level: OperatingLevel) -> float:
    """Probability of being beyond the level on at least one forecast day (joint over lead days)."""
    return float(beyond(samples, level).any(axis=-1).mean())


def alert_state(
    forecast: Forecast, levels: Sequence[OperatingLevel], trigger: float = DEFAULT_TRIGGER
) -> dict[str, Any]:
    """The most severe level whose crossing within the horizon is at least `trigger` likely, in words."""
    if not 0 < trigger < 1:
        raise ValueError("The trigger probability must be between 0 and 1 (e.g. 0.2 for 20 %).")
    base = {"trigger": trigger, "state": "normal", "level": None, "probability": 0.0, "date": None}
    if forecast.samples is None:
        return {**base, "state": "unknown", "reason": "This model version has no calibrated bands; retrain it."}
    if not levels:
        return {**base, "state": "no levels", "reason": f"No operating levels are set for {forecast.target}."}
    candidates = []
    for lv in levels:
        p_any = within_horizon(forecast.samples, lv)
        daily = beyond(forecast.samples, lv).mean(axis=0)
        first = int(np.argmax(daily >= trigger)) if (daily >= trigger).any() else int(np.argmax(daily))
        likely = int(np.argmax(daily >= LIKELY)) + 1 if (daily >= LIKELY).any() else None
        candidates.append((lv, p_any, forecast.points[first].date, float(daily[first]), likely))
    hits = [c for c in candidates if c[1] >= trigger]
    if not hits:
        lv, p, _, _, _ = max(candidates, key=lambda c: c[1])
        highest = f"highest: {lv.name}, {p:.0%}" if p > 0 else "none has any chance in the calibrated bands"
        return {
            **base,
            "probability": p,
            "reason": f"No level is {trigger:.0%} likely to be crossed in the next {len(forecast.points)} days "
            f"({highest}).",
        }
    lv, p, date, _, likely = max(hits, key=lambda c: (RANK[c[0].severity], c[1]))
    verb = "passing" if lv.side == "flood" else "falling below"
    return {
        "trigger": trigger,
        "state": lv.severity,
        "level": lv.name,
        "value": lv.value,
        "side": lv.side,
        "probability": p,
        "date": date,
        "days_until_likely": likely,
        "reason": f"{p:.0%} chance of {verb} {lv.name} ({entered(lv.value, forecast.unit)}) by "
        f"{forecast.points[-1].date}; "
        f"first day at or above {trigger:.0%}: {date}.",
    }


@dataclass(frozen=True)
class SideAlert(AsDict):
    """The alert state of one side (flood: above the lines, drought: below them), kept apart so both can be raised."""

    side: str
    state: str  # normal, watch, warning, danger; or "no levels" / "unknown" when it cannot be judged
    reason: str
    level: str | None = None
    value: float | None = None
    probability: float = 0.0
    date: str | None = None
    days_until_likely: int | None = None

    @property
    def raised(self) -> bool:
        """True when a level on this side passed the trigger."""
        return self.state in SEVERITIES

    def words(self) -> str:
        """'flood WARNING' or 'drought: no levels', for one-line summaries."""
        return f"{self.side} {self.state.upper()}" if self.raised else f"{self.side}: {self.state}"


def side_alerts(
    forecast: Forecast, levels: Sequence[OperatingLevel], trigger: float = DEFAULT_TRIGGER
) -> dict[str, SideAlert]:
    """The alert rule applied to each side's levels on its own: {"flood": SideAlert, "drought": SideAlert}."""
    out = {}
    for side in SIDES:
        mine = [lv for lv in levels if lv.side == side]
        state = alert_state(forecast, mine, trigger)
        if state["state"] == "no levels":
            state["reason"] = f"No {side} levels are set for {forecast.target}."
        fields = ("level", "value", "probability", "date", "days_until_likely")
        out[side] = SideAlert(side, state["state"], state["reason"], **{k: state.get(k) for k in fields if k in state})
    return out


def raised(alerts: Mapping[str, SideAlert] | None) -> list[SideAlert]:
    """The sides whose alert is raised, most severe first."""
    hits = [a for a in (alerts or {}).values() if a.raised]
    return sorted(hits, key=lambda a: (-RANK[a.state], -a.probability))


def both_sides_words(alerts: Mapping[str, SideAlert] | None) -> str | None:
    """'Alerts on both sides: flood WARNING and drought WATCH' when both are raised, else None."""
    hits = raised(alerts)
    if len(hits) < 2:
        return None
    return "Alerts on both sides: " + " and ".join(a.words() for a in hits)


def side_lines(alerts: Mapping[str, SideAlert] | None) -> list[str]:
    """The per-side alert lines the CLI and the CSV header print under the overall 'alert:' line."""
    if not alerts:
        return []
    both = both_sides_words(alerts)
    lines = [both] if both else []
    return lines + [f"alert {a.side}: {a.state.upper() if a.raised else a.state} - {a.reason}" for a in alerts.values()]


def alert_lines(
    alert: Mapping[str, Any] | None, alerts: Mapping[str, SideAlert] | None, *, upper: bool = False
) -> list[str]:
    """The overall 'alert:' line once, then one line per side: each reason is said once, on its side's line.

    The overall line names the state and which sides are raised ('alerts on both sides: flood WARNING and drought
    WATCH'); without per-side alerts (an old forecast) it carries the reason itself.
    """
    if not alert:
        return side_lines(alerts)
    state = alert["state"].upper() if upper else alert["state"]
    if not alerts:
        return [f"alert: {state} - {alert['reason']}"]
    both = both_sides_words(alerts)
    summary = both[0].lower() + both[1:] if both else "; ".join(a.words() for a in alerts.values())
    sides = [f"alert {a.side}: {a.state.upper() if a.raised else a.state} - {a.reason}" for a in alerts.values()]
    return [f"alert: {state} - {summary}", *sides]


def assess(forecast: Forecast, levels: Sequence[OperatingLevel], trigger: float = DEFAULT_TRIGGER) -> Forecast:
    """The forecast with exceedance probabilities, the alert (most severe overall) and the alert per side attached
    (levels of other variables ignored)."""
    mine = applicable(levels, forecast.target)
    probs = exceedance(forecast.samples, mine) if forecast.samples is not None else None
    return replace(
        forecast,
        exceedance=probs,
        alert=alert_state(forecast, mine, trigger),
        alerts=side_alerts(forecast, mine, trigger),
        levels=tuple(lv.to_dict() for lv in mine),
    )


def verify(prob_any: np.ndarray, crossed: np.ndarray, trigger: float = DEFAULT_TRIGGER) -> dict[str, Any]:
    """Hits, misses and false alarms of the alert rule over past forecasts, with POD, FAR and CSI."""
    warned = np.asarray(prob_any) >= trigger
    crossed = np.asarray(crossed, dtype=bool)
    hits = int((warned & crossed).sum())
    misses = int((~warned & crossed).sum())
    false_alarms = int((warned & ~crossed).sum())
    return {
        "forecasts": int(warned.size),
        "events": int(crossed.sum()),
        "alerts": int(warned.sum()),
        "hits": hits,
        "misses": misses,
        "false_alarms": false_alarms,
        "pod": hits / (hits + misses) if hits + misses else None,
        "far": false_alarms / (hits + false_alarms) if hits + false_alarms else None,
        "csi": hits / (hits + misses + false_alarms) if hits + misses + false_alarms else None,
    }
