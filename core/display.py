"""How numbers read everywhere they are shown: pages, charts, the CLI, the bulletin and alert messages.

One rule of decimals by magnitude (`decimals`): a storage of 435,314,322 m³ shows no decimals, a level of 306.99 m
shows centimetres, a rate of 0.012 shows three decimals, and nothing a gauge can read is ever written in
e-notation (`plain` writes a corrupt 1e300 short). `number` is the full value with thousands separators;
`compact` is the same value short enough for a card or a metric (435.3 M m³), the full one going in its help
text; `printf_format` and `d3_format` hand the same rule to Streamlit tables and plotly charts; `spread_decimals`
is the bulletin's finer rule for tables of bands. A leaf: it imports nothing from the project, so every layer may
use it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

MISSING = "-"  # what a missing number reads as, in tables, the CLI and messages alike
COMPACT_FROM = 1e6  # from a million up, `compact` writes "435.3 M" instead of "435,314,322"
SCALES = ((1e9, "bn"), (1e6, "M"))  # the compact suffixes, largest first
ABSURD = 1e15  # no reading of any gauge comes near this: `plain` writes such a (corrupt) value short, '1e+300'
TINY = 1e-3  # below this (and not zero) a value keeps two significant digits instead of reading 0.000


def value_of(value: Any) -> float | None:
    """A finite float, or None for None, NaN, infinities and anything that is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number_ = float(value)
    except (TypeError, ValueError):
        return None
    return number_ if math.isfinite(number_) else None


def decimals(size: float) -> int:
    """Decimals that suit a magnitude: none from 10,000 up, 1 in the thousands, 2 in the hundreds, else 3."""
    size = abs(size)
    if size >= 1e4:
        return 0
    if size >= 1e3:
        return 1
    if size >= 100:
        return 2
    return 3


def _with_unit(text: str, unit: str | None) -> str:
    """'12.5 m', or the bare number when the unit is unknown."""
    return f"{text} {unit}" if unit else text


def number(value: Any, unit: str | None = None, digits: int | None = None, *, signed: bool = False) -> str:
    """The full value for people: thousands separators, decimals by magnitude (or `digits`; none for an int),
    optional sign and unit.

    1234.5 -> '1,234.5'; 435314322 -> '435,314,322'; 0.0123 -> '0.012'; 0.00004 -> '0.00004' (never '4e-05');
    missing -> '-'.
    """
    v = value_of(value)
    if v is None:
        return MISSING
    sign = "+" if signed else ""
    if digits is None and isinstance(value, numbers.Integral):
        digits = 0  # a count (days, readings, a version) never grows decimals
    if digits is not None:
        text = f"{v:{sign},.{digits}f}"
    elif v != 0 and abs(v) < TINY:
        places = 1 - math.floor(math.log10(abs(v)))  # two significant digits, written out
        text = f"{v:{sign}.{places}f}".rstrip("0")
    else:
        places = decimals(v)
        text = f"{v:{sign},.{places}f}"
        if places == 3 and "." in text:
            text = text.rstrip("0").rstrip(".")  # 0.010 -> 0.01, 12.500 -> 12.5: three decimals at most
    return _with_unit(text, unit)


def entered(value: Any, unit: str | None = None) -> str:
    """A value an operator typed (an operating level, a release), as typed: '312', '313.5', '444,400,000 m³';
    up to six decimals, trailing zeros dropped, never e-notation."""
    v = value_of(value)
    if v is None:
        return MISSING
    text = f"{v:,.6f}".rstrip("0").rstrip(".")
    return _with_unit("0" if text in ("-0", "") else text, unit)


def plain(value: Any, unit: str | None = None) -> str:
    """A value quoted back as a file holds it (a logger code, a curve row, a reading in a message): no thousands
    separators, up to six decimals, no e-notation for anything a gauge can read: -9999999 -> '-9999999' (Python's
    :g wrote '-1e+07'). An absurd magnitude (ABSURD and up, a corrupt cell) keeps the short form: '1e+300', not
    301 digits."""
    v = value_of(value)
    if v is None:
        return MISSING
    if abs(v) >= ABSURD:
        return _with_unit(f"{v:g}", unit)
    text = f"{v:.6f}".rstrip("0").rstrip(".")
    return _with_unit("0" if text in ("-0", "") else text, unit)


def significant(value: Any, unit: str | None = None, digits: int = 3) -> str:
    """A fitted or rounded amount to `digits` significant figures, written out: 86400.4 -> '86,400', 0.0123 ->
    '0.0123', 0.98 -> '0.98' (Python's :.3g wrote '8.64e+04')."""
    v = value_of(value)
    if v is None:
        return MISSING
    if v == 0:
        return _with_unit("0", unit)
    rounded = float(f"{v:.{digits}g}")
    places = max(digits - 1 - math.floor(math.log10(abs(rounded))), 0)
    text = f"{rounded:,.{places}f}"
    return _with_unit(text.rstrip("0").rstrip(".") if "." in text else text, unit)


def compact(value: Any, unit: str | None = None, *, signed: bool = False) -> str:
    """The value short enough for a card or metric: '435.3 M m³', '4.18 M acre-ft', '1.23 bn m³'; below a
    million exactly as `number` writes it ('5,504.2 ft')."""
    v = value_of(value)
    if v is None:
        return MISSING
    for scale, suffix in SCALES:
        if abs(v) >= scale:
            short = v / scale
            places = 1 if abs(short) >= 10 else 2
            return _with_unit(f"{short:{'+' if signed else ''},.{places}f} {suffix}", unit)
    return number(v, unit, signed=signed)


def signed_change(value: Any, unit: str | None = None, *, short: bool = False) -> str:
    """A change with its sign ('+0.42 m', '-1.2 M m³'), 'no change' for exactly zero."""
    v = value_of(value)
    if v is None:
        return MISSING
    if v == 0:
        return "no change"
    return compact(v, unit, signed=True) if short else number(v, unit, signed=True)


def largest(values: Iterable[Any]) -> float | None:
    """The largest magnitude among the numbers in `values` (None when there is none)."""
    sizes = [abs(v) for v in (value_of(x) for x in values) if v is not None]
    return max(sizes) if sizes else None


def printf_format(values: Iterable[Any], unit: str | None = None) -> str:
    """A printf format for a Streamlit NumberColumn, picked from the column's largest magnitude ('%,.0f'), with the
    unit on every value when given ('%,.0f m³'), so the header can stay short.

    Streamlit's sprintf supports ',' for thousands separators: "%,.0f" renders 436672580.944 as "436,672,581".
    """
    size = largest(values)
    suffix = f" {unit.replace('%', '%%')}" if unit else ""
    return f"%,.{decimals(size) if size is not None else 3}f{suffix}"


def d3_format(values: Iterable[Any]) -> str:
    """The d3 (plotly) format of a chart's values by the same rule: ',.0f' for volumes, ',.2f' for levels."""
    size = largest(values)
    return f",.{decimals(size if size is not None else 1.0)}f"


def tick_format(d3: str) -> str | None:
    """Full numbers on big-volume axes (plotly would write '2.3G'); plotly's own ticks elsewhere."""
    return ",.0f" if d3 == ",.0f" else None


def spread_decimals(spread: float) -> int:
    """Decimals that resolve a spread (a typical band width) to two significant digits: 0.12 m -> 2, 40 -> 0."""
    s = value_of(spread)
    if s is None or s <= 0:
        return 2
    return int(min(max(1 - math.floor(math.log10(s)), 0), 4))


def percent(fraction: Any, *, signed: bool = False) -> str:
    """A fraction as a whole percent, as tables write it (SKILL_FORMAT '%+.0f%%'): 0.57 -> '57%', signed '+26%'."""
    v = value_of(fraction)
    if v is None:
        return MISSING
    return f"{100 * v:{'+' if signed else ''}.0f}%"


def chance(percent_value: Any) -> str:
    """An exceedance probability given in percent (0..100): '0%', '<1%' for tiny non-zero ones, '57%'."""
    v = value_of(percent_value)
    if v is None:
        return MISSING
    if v == 0:
        return "0%"
    if v < 1:
        return "<1%"
    return f"{v:.0f}%"
