"""Units operators write (metric and US customary), what each measures, and the factor to its base unit.

The one home of unit knowledge: aliases ('feet', 'acft', 'cumecs'), the quantity each unit measures (length,
volume, flow, depth), the factor to that quantity's base unit, and the sentence the Data page shows
("1 acre-ft = 1,233.48 m³"). Readings are stored in the unit the operator declared; conversions are applied only
where two units meet (a curve in feet on a record in metres, a level typed in another unit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

LENGTH, VOLUME, FLOW, DEPTH = "length", "volume", "flow", "depth"
BASE = {LENGTH: "m", VOLUME: "m³", FLOW: "m³/s", DEPTH: "mm"}  # what factors convert to

# The quantity each known variable kind is measured in (a level is a length, a storage a volume, ...).
KIND_QUANTITY = {
    "level": LENGTH,
    "storage": VOLUME,
    "inflow": FLOW,
    "outflow": FLOW,
    "rainfall": DEPTH,
    "evaporation": DEPTH,
}


class UnitError(ValueError):
    """A declared unit cannot be used for what it was declared for; the message says why and what to write."""


@dataclass(frozen=True)
class Unit:
    """One unit: how it is displayed, what it measures, how many base units one of it is, and how it is written."""

    symbol: str
    quantity: str
    factor: float  # one of this unit in BASE[quantity]
    aliases: tuple[str, ...]
    system: str  # "metric" or "US customary"

    def conversion(self) -> str:
        """The sentence the app shows for this unit, e.g. '1 acre-ft = 1,233.48 m³' (empty for a base unit)."""
        base = BASE[self.quantity]
        if self.symbol == base:
            return ""
        return f"1 {self.symbol} = {_number(self.factor)} {base}"


_DAY = 86_400.0
_ACRE_FT = 1233.48183754752
_FT3 = 0.028316846592

UNITS: tuple[Unit, ...] = (
    Unit("m", LENGTH, 1.0, ("m", "meter", "meters", "metre", "metres", "masl", "m asl", "mamsl"), "metric"),
    Unit("cm", LENGTH, 0.01, ("cm", "centimeter", "centimeters", "centimetre", "centimetres"), "metric"),
    Unit("ft", LENGTH, 0.3048, ("ft", "feet", "foot", "ft asl", "ftasl", "ft msl", "fasl"), "US customary"),
    Unit("m³", VOLUME, 1.0, ("m³", "m3", "cubic meters", "cubic metres", "cum"), "metric"),
    Unit("ML", VOLUME, 1e3, ("ml", "megalitre", "megaliter", "megalitres", "megaliters", "tcm"), "metric"),
    Unit("dam³", VOLUME, 1e3, ("dam³", "dam3", "cubic decametres", "cubic decameters"), "metric"),
    Unit("hm³", VOLUME, 1e6, ("hm³", "hm3", "cubic hectometres", "cubic hectometers"), "metric"),
    Unit("MCM", VOLUME, 1e6, ("mcm", "mm3", "mm³", "million m3", "million m³", "million cubic meters"), "metric"),
    Unit("GL", VOLUME, 1e9, ("gl", "gigalitre", "gigaliter", "gigalitres", "gigaliters"), "metric"),
    Unit("km³", VOLUME, 1e9, ("km³", "km3", "bcm", "billion m3", "billion m³", "billion cubic meters"), "metric"),
    Unit("ft³", VOLUME, _FT3, ("ft³", "ft3", "cf", "cubic feet", "cuft"), "US customary"),
    Unit(
        "acre-ft",
        VOLUME,
        _ACRE_FT,
        ("acre-ft", "af", "acft", "ac-ft", "acre-feet", "acre-foot", "acre feet", "acre ft"),
        "US customary",
    ),
    Unit("kaf", VOLUME, 1e3 * _ACRE_FT, ("kaf", "thousand acre-ft", "thousand acre-feet", "kacft"), "US customary"),
    Unit("mcft", VOLUME, 1e6 * _FT3, ("mcft", "million cubic feet", "mcf"), "US customary"),
    Unit("TMC", VOLUME, 1e9 * _FT3, ("tmc", "tmcft", "thousand million cubic feet"), "US customary"),
    Unit("m³/s", FLOW, 1.0, ("m³/s", "m3/s", "m3s", "cumecs", "cms", "m3 s", "m³ s"), "metric"),
    Unit("m³/day", FLOW, 1 / _DAY, ("m³/day", "m3/day", "m3/d", "m3d", "m³/d", "m3 d", "m3 day"), "metric"),
    Unit("ML/day", FLOW, 1e3 / _DAY, ("ml/day", "ml/d", "mld", "megalitres per day"), "metric"),
    Unit("l/s", FLOW, 1e-3, ("l/s", "ls", "litres per second", "liters per second"), "metric"),
    Unit("cfs", FLOW, _FT3, ("cfs", "ft³/s", "ft3/s", "cusecs", "cusec", "cubic feet per second"), "US customary"),
    Unit("kcfs", FLOW, 1e3 * _FT3, ("kcfs",), "US customary"),
    Unit("acre-ft/day", FLOW, _ACRE_FT / _DAY, ("acre-ft/day", "af/d", "afd", "af/day", "acft/day"), "US customary"),
    # Daily volumes that department bulletins give as a day's inflow or release ("Inflows in TMC" on a daily table).
    Unit("mcft/day", FLOW, 1e6 * _FT3 / _DAY, ("mcft/day", "mcft/d", "mcftd"), "US customary"),
    Unit("TMC/day", FLOW, 1e9 * _FT3 / _DAY, ("tmc/day", "tmc/d", "tmcd"), "US customary"),
    Unit("mm", DEPTH, 1.0, ("mm", "millimeter", "millimeters", "millimetre", "millimetres"), "metric"),
    Unit("in", DEPTH, 25.4, ("in", "inch", "inches", '"'), "US customary"),
)

_BY_ALIAS = {alias: unit for unit in UNITS for alias in (unit.symbol.lower(), *unit.aliases)}


def _key(text: str) -> str:
    """Unit text as looked up: lower case, single spaces, '^3'/'**3' written as '3'."""
    text = re.sub(r"\s+", " ", str(text).strip().lower())
    return text.replace("^3", "3").replace("**3", "3").replace("per day", "/day").replace(" / ", "/")


# A multiplier written before a unit, as agencies and water boards head their columns: 'Storage (1000 m3)',
# '[x1000 m³]', '(10^6 m3)', '(thousand acre-ft)', "('000 ML)". Read it, never drop it: dropping it stores
# values 1,000 times too small in the unit shown.
_NUMBER = (
    r"(?:(?P<digits>1(?:[ ,.]?000)+)|10\s*\^?\s*(?P<power>\d{1,2})|10(?P<sup>[³⁶⁹])|1e\+?(?P<exp>\d{1,2})"
    r"|(?P<word>thousands?|millions?|billions?|'000|mio\.?|mill\.?|mrd\.?|th\.?|tsd\.?|k(?=\s|$)))"
)
_MULTIPLIER = re.compile(rf"^(?:x|×|\*)?\s*{_NUMBER}\s*(?:of\s+)?(?P<rest>\S.*)$")
_ALONE = re.compile(rf"^(?:x|×|\*)?\s*{_NUMBER}$")  # header words before a unit: 'x1000', '10^6', 'thousand'
_AFTER = re.compile(rf"^(?P<rest>.+?)\s*(?:x|×|\*)\s*{_NUMBER}$")  # 'ML x 1000': the multiplier after the unit
_WORDS = {"thousand": 1e3, "thousands": 1e3, "million": 1e6, "millions": 1e6, "billion": 1e9, "billions": 1e9,
          "'000": 1e3, "mio": 1e6, "mill": 1e6, "mrd": 1e9, "th": 1e3, "tsd": 1e3, "k": 1e3}  # fmt: skip
_SUPERSCRIPT = {"³": 3, "⁶": 6, "⁹": 9}


def _multiplier(match: re.Match[str]) -> float:
    """The number a _MULTIPLIER match writes (1000, 10^6, 10⁶, 1e6, thousand, '000)."""
    if match["digits"]:
        return float(re.sub(r"[ ,.]", "", match["digits"]))
    if match["power"] or match["exp"]:
        return 10.0 ** int(match["power"] or match["exp"])
    if match["sup"]:
        return 10.0 ** _SUPERSCRIPT[match["sup"]]
    return _WORDS[match["word"].rstrip(".")]


def scaled_unit(multiplier: float, base: Unit) -> Unit:
    """`multiplier` x `base` as a unit: the first known one it equals (1000 acre-ft = kaf, 10^6 m³ = hm³, 1000 m³ =
    ML), else a unit written '1000 acre-ft/day' with its factor, so conversions and checks still hold."""
    factor_ = multiplier * base.factor
    for unit in UNITS:
        if unit.quantity == base.quantity and np.isclose(unit.factor, factor_, rtol=1e-9, atol=0.0):
            return unit
    written = {1e3: "1000", 1e6: "10⁶", 1e9: "10⁹"}.get(multiplier, f"{multiplier:g}")
    return Unit(f"{written} {base.symbol}", base.quantity, factor_, (), base.system)


def find_unit(text: str | None) -> Unit | None:
    """The known unit a text names ('feet' -> ft, 'acft' -> acre-ft, '1000 m3' -> ML, '1000 acre-ft/day' -> a unit
    of 1000 acre-ft/day), or None when it names none."""
    if text is None or not str(text).strip():
        return None
    key = _key(text)
    found = _BY_ALIAS.get(key)
    if found is not None:
        return found
    for pattern in (_MULTIPLIER, _AFTER):
        match = pattern.match(key)
        base = _BY_ALIAS.get(match["rest"].strip()) if match else None
        if match and base is not None:
            return scaled_unit(_multiplier(match), base)
    return None


def normalize_unit(text: str | None) -> str | None:
    """A declared unit as the app writes it ('feet' -> 'ft'); unknown units are kept as typed, blank -> None."""
    if text is None or not str(text).strip():
        return None
    unit = find_unit(text)
    return unit.symbol if unit else str(text).strip()


_PER_DAY = {"ML": "ML/day", "m³": "m³/day", "acre-ft": "acre-ft/day", "mcft": "mcft/day", "TMC": "TMC/day"}


def per_day(unit: Unit) -> Unit | None:
    """The flow unit 'this volume per day' (TMC -> TMC/day), for a day's inflow a daily table gives as a volume."""
    return find_unit(_PER_DAY.get(unit.symbol))


_HEADER_SKIP = frozenset({"in"})  # 'Level in Feet': 'in' introduces the unit; as a unit (inches) only at the end


def unit_in_header(words: list[str]) -> Unit | None:
    """The unit a header's words name ('Level in Feet' -> ft, 'Q_out_m3d' -> m³/day, 'Drawl in MLD' -> ML/day,
    'Storage 1000 m3' -> ML), or None: read after an 'in', else the last word(s) that name a unit, with a
    multiplier written just before it; the first word is the variable's."""
    phrases: list[tuple[int, str]] = []
    if "in" in words[1:-1]:
        start = words.index("in", 1) + 1
        phrases += [(start, " ".join(words[start : start + n])) for n in (3, 2, 1)]
    for i in range(len(words) - 1, 0, -1):
        phrases += [(i, " ".join(words[i : i + 2]))] if i + 1 < len(words) else []
        phrases.append((i, words[i]))
    for start, phrase in phrases:
        if phrase in _HEADER_SKIP and phrase != words[-1]:
            continue
        unit = find_unit(phrase)
        if unit is not None:
            return _with_multiplier(words[1:start], unit)
    return None


def _with_multiplier(before: list[str], unit: Unit) -> Unit:
    """The unit scaled by a multiplier the header writes just before it ('1000', 'x1000', '10 6' from '10^6',
    '1 000' from '1,000', 'thousand'), else the unit as found."""
    for n in (2, 1):
        if len(before) >= n:
            text = " ".join(before[-n:])
            text = re.sub(r"^10 (\d{1,2})$", r"10^\1", re.sub(r"^1 (000(?: 000)*)$", r"1\1", text))
            if match := _ALONE.match(text):
                return scaled_unit(_multiplier(match), unit)
    return unit


_IN_METRES = {LENGTH: 1.0, DEPTH: 1e-3}  # a depth (mm, in) is a length too: a gauge board's level in mm


def measures(unit: Unit, quantity: str) -> bool:
    """Whether `unit` can measure `quantity` (a depth unit measures a length and the other way round)."""
    return unit.quantity == quantity or {unit.quantity, quantity} <= set(_IN_METRES)


def quantity_of(variable: str) -> str | None:
    """What a variable kind is measured in (level -> length), None for a variable the app does not know."""
    return KIND_QUANTITY.get(variable)


def check_unit(variable: str, unit: str | None, where: str) -> str | None:
    """Why `unit` cannot be the unit of `variable` (a flow unit on a level), or None when it can (or is unknown)."""
    found = find_unit(unit)
    quantity = quantity_of(variable)
    if found is None or quantity is None or measures(found, quantity):
        return None
    examples = ", ".join(u.symbol for u in UNITS if u.quantity == quantity)
    return (
        f"{where}: '{unit}' is a unit of {found.quantity}, but {variable} is a {quantity}. "
        f"Declare a {quantity} unit ({examples}) or another variable."
    )


def factor(from_unit: str | None, to_unit: str | None) -> float:
    """The number to multiply values in `from_unit` by to get `to_unit` (1 when both are the same text)."""
    if normalize_unit(from_unit) == normalize_unit(to_unit):
        return 1.0
    a, b = find_unit(from_unit), find_unit(to_unit)
    if a is None or b is None:
        unknown = from_unit if a is None else to_unit
        raise UnitError(f"The app does not know the unit '{unknown}', so it cannot convert {from_unit} to {to_unit}.")
    if not measures(a, b.quantity):
        raise UnitError(f"{a.symbol} ({a.quantity}) cannot be converted to {b.symbol} ({b.quantity}).")
    if a.quantity != b.quantity:  # a length and a depth: through metres
        return a.factor * _IN_METRES[a.quantity] / (b.factor * _IN_METRES[b.quantity])
    return a.factor / b.factor


def convert(values: np.ndarray | float, from_unit: str | None, to_unit: str | None) -> np.ndarray | float:
    """Values in `from_unit` expressed in `to_unit` (UnitError when the two do not measure the same thing)."""
    return values * factor(from_unit, to_unit)


def conversion_text(from_unit: str | None, to_unit: str | None) -> str:
    """'1 ft = 0.3048 m': the conversion the app applies between two units, for messages and captions."""
    return f"1 {normalize_unit(from_unit)} = {_number(factor(from_unit, to_unit))} {normalize_unit(to_unit)}"


def unit_rows() -> list[dict[str, str]]:
    """Every known unit with what it measures and its conversion, for the Data page's unit table."""
    return [
        {
            "unit": u.symbol,
            "measures": u.quantity,
            "system": u.system,
            "also written": ", ".join(a for a in u.aliases if a != u.symbol.lower()),
            "conversion": u.conversion() or f"base unit of {u.quantity}",
        }
        for u in UNITS
    ]


def _number(value: float) -> str:
    """A conversion factor with 6 significant digits and thousands separators, never in e-notation below 1e9."""
    if value >= 1e9 or value < 1e-4:
        return f"{value:.6g}"
    digits = max(0, 5 - int(np.floor(np.log10(abs(value)))))
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".")
