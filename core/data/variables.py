"""Names, units and physical limits of reservoir variables, shared by ingest, QC and charts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from core.data.names import name_problem
from core.data.units import LENGTH, factor, find_unit, measures, normalize_unit, unit_in_header


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

# Header words that name each canonical variable: whole words first (plurals and the words agencies and departments
# use: 'drawl' is the water drawn from a reservoir), then abbreviations. A header is read word by word, never by
# substrings, and a whole word beats an abbreviation wherever it stands ('Level in Feet' is a level: 'in' there
# introduces the unit, it is not an inflow).
_WORDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "rainfall",
        ("rainfall", "rain", "precipitation", "rains", "niederschlag", "precipitacion", "lluvia", "pluie",
         "pluviometrie", "precipitations", "pioggia"),
        ("precip", "prcp", "ppt"),
    ),
    ("evaporation", ("evaporation", "verdunstung", "evaporacion"), ("evap", "pan")),
    (
        "inflow",
        ("inflow", "inflows", "zufluss", "zulauf", "entrada", "entradas", "aportacion", "aportaciones", "apport",
         "apports", "afflusso"),
        ("q_in", "qin", "in"),
    ),
    (
        "outflow",
        ("outflow", "outflows", "release", "releases", "discharge", "drawl", "drawal", "withdrawal", "outgo",
         "abfluss", "abgabe", "salida", "salidas", "desembalse", "lachure", "lachures", "deflusso", "rilascio"),
        ("q_out", "qout", "out"),
    ),
    (
        "storage",
        ("storage", "volume", "capacity", "content", "volumen", "stauinhalt", "inhalt", "speicherinhalt",
         "embalsado", "invaso"),
        ("stor", "vol"),
    ),
    (
        "level",
        ("level", "levels", "elevation", "stage", "nivel", "cota", "cote", "niveau", "wasserstand", "stauhohe",
         "stauspiegel", "pegel", "livello"),
        ("elev", "wl", "head", "lvl"),
    ),
)  # fmt: skip
FULL_WORDS = frozenset(w for _, full, _ in _WORDS for w in full)
# A header naming a change of a variable ('Volume change', 'Storage difference') is not the variable itself.
CHANGE_WORDS = frozenset({"change", "changes", "difference", "diff", "delta", "variation", "anderung", "variacion"})

# Headers of a lagged copy of a reading ('Level on previous day', 'Last year Level in Feet on same date'): the
# value repeats the record's own history, so it is never a covariate by default. (suffix, phrases of header words)
_LAGS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("previous_day", (("previous", "day"), ("prev", "day"), ("yesterday",), ("day", "before"), ("yesterdays",))),
    ("last_year", (("last", "year"), ("previous", "year"), ("last", "yr"), ("prev", "year"), ("same", "date"))),
)
LAG_WORDS = frozenset(
    {"previous", "prev", "day", "yesterday", "yesterdays", "before", "last", "year", "yr", "same", "date", "on"}
)


def _tokens(column: str) -> list[str]:
    """Split a header like 'Q_out_m3d' or 'Rain (mm)' into lower-case words, accents dropped ('Débit' -> 'debit',
    'Stauhöhe' -> 'stauhohe') so a header in any Latin-script language is read word by word."""
    text = "".join(c for c in unicodedata.normalize("NFKD", column.strip()) if not unicodedata.combining(c))
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return [t for t in re.split(r"[^0-9a-zA-Z]+", text.lower()) if t]


def header_words(column: str) -> list[str]:
    """The lower-case words of a header, as the variable and unit guesses read them."""
    return _tokens(column)


def lag_of(column: str) -> str | None:
    """'previous_day' / 'last_year' when the header describes a lagged copy of a reading, else None."""
    tokens = _tokens(column)
    for suffix, phrases in _LAGS:
        for phrase in phrases:
            n = len(phrase)
            if any(tuple(tokens[i : i + n]) == phrase for i in range(len(tokens) - n + 1)):
                return suffix
    return None


def variable_word(column: str) -> tuple[str, bool] | None:
    """(variable, read from a whole word) for the first whole word of the header naming a variable, else the first
    abbreviation; None when the header names none."""
    tokens = _tokens(column)
    if CHANGE_WORDS & set(tokens):
        return None  # a change of storage is not storage: stored under its own name
    joined = "_".join(tokens)
    for pick_full in (True, False):
        hits = []
        for name, full, short in _WORDS:
            for alias in full if pick_full else short:
                if alias in tokens:
                    hits.append((tokens.index(alias), name))
                elif "_" in alias and alias in joined:
                    hits.append((joined[: joined.index(alias)].count("_"), name))  # q_in / q_out: its first word
        if hits:
            return min(hits)[1], pick_full
    return None


def canonical_name(column: str) -> str:
    """Map a logger header to a canonical variable name (a lagged copy gets a suffix: 'level_previous_day'), or a
    tidy slug when it names none."""
    found = variable_word(column)
    if found is not None:
        lag = lag_of(column)
        return f"{found[0]}_{lag}" if lag else found[0]
    slug = re.sub(r"[^0-9a-z]+", "_", "_".join(_tokens(column))).strip("_")
    return slug or "value"


def bracket_unit(column: str) -> str | None:
    """The text in a header's first brackets ('Level (m)' -> 'm'), as written, or None."""
    bracket = re.search(r"[\(\[]([^\)\]]+)[\)\]]", column)
    return bracket.group(1).strip() if bracket else None


def guess_unit(column: str) -> str | None:
    """Read a unit from a header: in brackets ('Rain (mm)'), after 'in' ('Level in Feet') or as a suffix
    ('Storage_m3'); None when the header gives none, or its bracket text is not a usable name (core.data.names)."""
    inside = bracket_unit(column)
    if inside is not None:
        if name_problem(inside, "unit") is not None:
            return None  # ingest reports the column (core.data.ingest): never a control sequence as a unit
        if find_unit(inside) is None and (found := unit_in_header(["", *_tokens(inside)])) is not None:
            return found.symbol  # 'Elevation (feet NGVD29)', 'Capacity (acre-feet)': the unit among other words
        return normalize_unit(inside)
    found = unit_in_header(_tokens(column))
    return found.symbol if found else None


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
    if found is None or not measures(found, LENGTH):
        return LEVEL_BOUNDS
    per_metre = factor("m", found.symbol)
    return LEVEL_BOUNDS_M[0] * per_metre, LEVEL_BOUNDS_M[1] * per_metre


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
