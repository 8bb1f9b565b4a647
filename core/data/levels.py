"""Operating levels (flood and drought lines) that an operator sets per reservoir."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from core.data.typed_numbers import NumberEntryError, parse_number_strict
from core.data.variables import canonical_name, is_nonnegative, main_variable
from core.display import entered

SIDES = ("flood", "drought")  # flood: alert when above; drought: alert when below
SEVERITIES = ("watch", "warning", "danger")


class LevelError(ValueError):
    """An operating level the operator entered cannot be used; the message says why."""


@dataclass(frozen=True)
class OperatingLevel:
    """One threshold line: crossing it on its side raises an alert of its severity."""

    name: str
    value: float
    unit: str | None
    side: str
    severity: str
    variable: str = "level"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored in the workspace."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OperatingLevel:
        """Rebuild a level from its stored JSON, checking it on the way in (its sign was judged when it was set,
        with the variable's relative declaration known, so it is not judged again here)."""
        level = cls(
            name=str(data["name"]),
            value=float(data["value"]),
            unit=data.get("unit"),
            side=str(data["side"]),
            severity=str(data["severity"]),
            variable=str(data.get("variable", "level")),
        )
        check_level(level, relative=True)
        return level


def check_level(level: OperatingLevel, *, relative: bool = False) -> None:
    """Reject a level with an unknown side/severity, empty name or non-finite value, or below zero for a variable
    that cannot be negative (unless the operator declared that variable relative, e.g. storage from a pool bottom)."""
    if not level.name.strip():
        raise LevelError("An operating level needs a name, e.g. 'Flood warning'.")
    if level.side not in SIDES:
        raise LevelError(f"Level '{level.name}': side must be one of {', '.join(SIDES)}, not '{level.side}'.")
    if level.severity not in SEVERITIES:
        raise LevelError(
            f"Level '{level.name}': severity must be one of {', '.join(SEVERITIES)}, not '{level.severity}'."
        )
    if level.value != level.value or level.value in (float("inf"), float("-inf")):
        raise LevelError(f"Level '{level.name}': value must be a finite number.")
    if level.value < 0 and is_nonnegative(canonical_name(level.variable)) and not relative:
        raise LevelError(
            f"Level '{level.name}': {entered(level.value)} is below zero, but {level.variable} cannot be negative; "
            "check the sign and the unit (or declare the variable relative on the Data page or with "
            "`qc --out-of-range relative` when it is counted from a pool bottom)."
        )


def check_unique_names(levels: list[OperatingLevel]) -> None:
    """Reject two levels with one name (any case): levels are stored and replaced by name."""
    names = [lv.name.strip().lower() for lv in levels]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LevelError(f"Two levels share the name '{dupes[0]}'; give each level its own name.")


def check_levels(levels: list[OperatingLevel]) -> None:
    """Reject a set whose order makes no sense: per variable, flood lines above drought lines and
    severities stepping outwards (flood: watch < warning < danger; drought: watch > warning > danger)."""
    check_unique_names(levels)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    for variable in {lv.variable for lv in levels}:
        mine = [lv for lv in levels if lv.variable == variable]
        flood = [lv for lv in mine if lv.side == "flood"]
        drought = [lv for lv in mine if lv.side == "drought"]
        if flood and drought:
            top_drought = max(drought, key=lambda lv: lv.value)
            low_flood = min(flood, key=lambda lv: lv.value)
            if top_drought.value >= low_flood.value:
                raise LevelError(
                    f"Drought level '{top_drought.name}' ({entered(top_drought.value)}) must lie below flood level "
                    f"'{low_flood.name}' ({entered(low_flood.value)})."
                )
        for side, group, sign in (("flood", flood, 1), ("drought", drought, -1)):
            for a in group:
                for b in group:
                    if rank[a.severity] < rank[b.severity] and sign * (a.value - b.value) > 0:
                        direction = "below" if side == "flood" else "above"
                        raise LevelError(
                            f"On the {side} side, '{a.name}' ({a.severity}, {entered(a.value)}) should lie {direction} "
                            f"'{b.name}' ({b.severity}, {entered(b.value)}): more severe levels are further out."
                        )


# Words in a level's name that say which side it belongs on; a name with words of one side set on the other is
# probably a slip ('Drought watch' saved on the flood side alerts when the water RISES past it).
SIDE_WORDS = {
    "flood": frozenset({"flood", "spill", "spillway", "crest", "overflow", "high", "maximum", "max", "top"}),
    "drought": frozenset({"drought", "low", "minimum", "min", "dead", "empty", "dry", "shortage", "bottom"}),
}


def side_from_name(name: str) -> str | None:
    """The side a level's name speaks of ('flood' for 'Flood warning'), or None when it names neither or both."""
    words = set(re.findall(r"[a-z]+", name.lower()))
    sides = [side for side, vocabulary in SIDE_WORDS.items() if words & vocabulary]
    return sides[0] if len(sides) == 1 else None


def level_warnings(levels: Sequence[OperatingLevel], latest: Mapping[str, tuple[str, float]]) -> list[str]:
    """What a valid set may still get wrong, in words: a line whose side disagrees with its name, and a line the
    latest reading (`latest`: variable -> (day, value)) has already crossed, so its alert is raised from the start."""
    out = []
    for lv in levels:
        named = side_from_name(lv.name)
        if named is not None and named != lv.side:
            rises = "rises above" if lv.side == "flood" else "falls below"
            out.append(
                f"'{lv.name}' is on the {lv.side} side although its name speaks of {named}: it alerts when the "
                f"{lv.variable} {rises} {entered(lv.value, lv.unit)}. Check the side."
            )
        day, value = latest.get(lv.variable, (None, None))
        if value is not None and (value > lv.value if lv.side == "flood" else value < lv.value):
            where = "above" if lv.side == "flood" else "below"
            out.append(
                f"'{lv.name}' ({entered(lv.value, lv.unit)}) is already crossed: the latest {lv.variable} reading "
                f"({entered(value, lv.unit)} on {day}) is {where} it, so its {lv.severity} alert is raised from the "
                "first forecast. Check the value and the unit if that is not so."
            )
    return out


def default_level_variable(recorded: Sequence[str], active_target: str | None) -> str:
    """The variable new levels go on (page and CLI alike): what the active model forecasts when the reservoir records
    it, else its main variable (level, else storage, else the first); 'level' before any readings. A target the
    reservoir no longer records is passed over: a level there could be neither drawn nor judged."""
    if active_target and active_target in recorded:
        return active_target
    return main_variable(recorded) or "level"


def parse_level(spec: str, unit: str | None, variable: str, *, relative: bool = False) -> OperatingLevel:
    """Read 'Flood warning=313.5:flood:warning' (the CLI's --set) into a checked level (`relative`: the variable
    was declared relative, so it may be negative)."""
    name, sep, rest = spec.partition("=")
    parts = rest.split(":")
    if not sep or len(parts) != 3:
        raise LevelError(
            f"'{spec}': write a level as NAME=VALUE:SIDE:SEVERITY, e.g. 'Flood warning=313.5:flood:warning'."
        )
    try:
        value = parse_number_strict(parts[0])
    except NumberEntryError as exc:
        raise LevelError(f"'{spec}': the value is not a number: {exc}") from None
    level = OperatingLevel(name.strip(), value, unit, parts[1].strip().lower(), parts[2].strip().lower(), variable)
    check_level(level, relative=relative)
    return level
