"""Names, units and physical limits of reservoir variables, shared by ingest, QC and charts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.data.units import LENGTH, find_unit


@dataclass(frozen=True)
class VariableKind:
    """What the app knows about a canonical variable, so QC and resampling treat it right."""

    name: str
    default_unit: str | None
    nonnegative: bool
    daily_aggregate: str  # "mean" for states and flows, "sum" for depths such as rainfall
    description: str


KINDS: dict[str, VariableKind] = {
    "level": VariableKind("level", "m", False, "mean", "water surface elevation"),
    "storage": VariableKind("storage", None, True, "mean", "stored volume"),
    "inflow": VariableKind("inflow", None, False, "mean", "inflow (computed inflows can dip below zero)"),
    "outflow": VariableKind("outflow", None, True, "mean", "release / outflow"),
    "rainfall": VariableKind("rainfall", "mm", True, "sum", "daily rainfall depth"),
    "evaporation": VariableKind("evaporation", "mm", True, "sum", "daily evaporation depth"),
}

# The state variables an operator watches a reservoir by, in order of preference: the first one a reservoir has
# is the one its overview card leads with, new levels are set on and a forecast targets by default.
MAIN_VARIABLES: tuple[str, ...] = ("level", "storage")

# Header words that identify a canonical variable (checked in order, on lower-cased tokens).
_ALIASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rainfall", ("rainfall", "rain", "precip", "precipitation", "prcp", "ppt")),
    ("evaporation", ("evaporation", "evap", "pan")),
    ("inflow", ("inflow", "q_in", "qin", "in")),
    ("outflow", ("outflow", "release", "releases", "discharge", "q_out", "qout", "out")),
    ("storage", ("storage", "volume", "stor", "vol", "capacity")),
    ("level", ("level", "elevation", "elev", "stage", "wl", "head", "lvl")),
)

_UNIT_HINTS: tuple[tuple[str, str], ...] = (
    ("m3d", "m³/day"),
    ("m3/d", "m³/day"),
    ("m3s", "m³/s"),
    ("m3/s", "m³/s"),
    ("cumecs", "m³/s"),
    ("cfs", "ft³/s"),
    ("mcft", "mcft"),
    ("tmc", "TMC"),
    ("hm3", "hm³"),
    ("mcm", "MCM"),
    ("af", "acre-ft"),
    ("acft", "acre-ft"),
    ("m3", "m³"),
    ("mm", "mm"),
    ("ft", "ft"),
    ("masl", "m"),
    ("m", "m"),
)


def _tokens(column: str) -> list[str]:
    """Split a header like 'Q_out_m3d' or 'Rain (mm)' into lower-case words."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", column.strip())
    return [t for t in re.split(r"[^0-9a-zA-Z³]+", text.lower()) if t]


def header_words(column: str) -> list[str]:
    """The lower-case words of a header, as the variable and unit guesses read them."""
    return _tokens(column)


def canonical_name(column: str) -> str:
    """Map a logger header to a canonical variable name, or a tidy slug when it is unknown."""
    tokens = _tokens(column)
    joined = "_".join(tokens)
    for name, aliases in _ALIASES:
        for alias in aliases:
            if alias in tokens or ("_" in alias and alias in joined):
                return name
    slug = re.sub(r"[^0-9a-z]+", "_", joined).strip("_")
    return slug or "value"


def guess_unit(column: str) -> str | None:
    """Read a unit from a header suffix ('Storage_m3' -> m³); None when the header gives none."""
    tokens = _tokens(column)
    bracket = re.search(r"[\(\[]([^\)\]]+)[\)\]]", column)
    if bracket:
        return bracket.group(1).strip()
    for token in reversed(tokens[1:]):
        for hint, unit in _UNIT_HINTS:
            if token == hint:
                return unit
    return None


def is_nonnegative(variable: str) -> bool:
    """True for quantities that cannot physically be below zero (storage, rainfall, release)."""
    kind = KINDS.get(variable)
    return bool(kind and kind.nonnegative)


# Water surface elevations no reservoir can have, in any unit the app meets: below the Dead Sea shore (-430 m,
# -1412 ft) or above Everest (8849 m, 29032 ft). The foot figures bound both units, so no unit has to be known.
LEVEL_BOUNDS = (-1412.0, 29032.0)
LEVEL_BOUNDS_M = (-430.0, 8849.0)  # the same bounds in metres, converted into a declared length unit


def level_bounds(unit: str | None = None) -> tuple[float, float]:
    """Elevation bounds in the level's declared unit (metres, feet, cm); LEVEL_BOUNDS when the unit is unknown."""
    found = find_unit(unit)
    if found is None or found.quantity != LENGTH:
        return LEVEL_BOUNDS
    return LEVEL_BOUNDS_M[0] / found.factor, LEVEL_BOUNDS_M[1] / found.factor


def physical_range(variable: str, *, relative: bool = False, unit: str | None = None) -> tuple[float, float]:
    """(lowest, highest) value the variable's kind can physically take; a relative variable has no lower bound.

    Quantities that cannot be negative start at 0 unless the operator declared them relative (storage counted from
    a pool bottom goes negative); elevations are bounded by level_bounds(unit), so a level declared in metres is
    judged in metres and one in feet in feet; anything else is unbounded.
    """
    low, high = -float("inf"), float("inf")
    if variable == "level":
        low, high = level_bounds(unit)
    elif is_nonnegative(variable):
        low = 0.0
    return (-float("inf") if relative else low), high


def daily_aggregate(variable: str) -> str:
    """How sub-daily readings of this variable combine into one day ('mean' or 'sum')."""
    kind = KINDS.get(variable)
    return kind.daily_aggregate if kind else "mean"


def main_variable(names: Iterable[str]) -> str | None:
    """Level, else storage, else the first name (None when there is none): the one variable a reservoir is read by."""
    names = list(names)
    return next((n for n in MAIN_VARIABLES if n in names), names[0] if names else None)
