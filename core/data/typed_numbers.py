"""Numbers an operator types into an editor or a flag: read exactly as written, or refused with what to type.

A CSV column is read leniently (core.data.numbers weighs a whole column to find its decimal mark), but a single
typed value has no column to weigh: '398.000,5' or '1,2e5x' could mean several things, and guessing would put a
wrong flood line or a wrong correction into the record. So one value is one plain number, or it is refused.
"""

from __future__ import annotations

import math
import re
from numbers import Real

_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
# '1,234': 1234 or 1.234? Ambiguous alone; a CSV column (core.data.numbers) settles it from its other cells.
COMMA_OR_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")
_MINUSES = str.maketrans({"\u2212": "-", "\u2013": "-"})  # typographic minus and en dash from word processors


class NumberEntryError(ValueError):
    """A typed value that is not one plain number; the message quotes it and says how to type it."""


def parse_number_strict(value: object) -> float:
    """One typed number as a finite float: '313.5', '-2', '1e5' and '313,5' (a lone decimal comma) are read;
    anything else ('1,2e5x', '398.000,5', '1,234', 'inf', '') is refused with a NumberEntryError naming it."""
    if isinstance(value, bool):
        raise NumberEntryError(f"'{value}' is not a number; type digits, e.g. 313.5.")
    if isinstance(value, Real):
        return _finite(float(value), str(value))
    text = str(value if value is not None else "").strip().translate(_MINUSES)
    if not text:
        raise NumberEntryError("The value is empty; type a number, e.g. 313.5.")
    if _PLAIN.fullmatch(text):
        return _finite(float(text), text)
    if COMMA_OR_THOUSANDS.fullmatch(text):
        whole = text.replace(",", "")
        raise NumberEntryError(
            f"'{text}' could be {whole} (with a thousands mark) or {text.replace(',', '.')} (with a decimal "
            f"comma); type it without thousands marks, with a decimal point: {whole} or {text.replace(',', '.')}."
        )
    if _DECIMAL_COMMA.fullmatch(text):
        return _finite(float(text.replace(",", ".")), text)
    if "," in text and "." in text:
        raise NumberEntryError(
            f"'{text}' mixes '.' and ',' so it could be read several ways; type it with one decimal point and no "
            "thousands marks, e.g. 398000.5."
        )
    raise NumberEntryError(f"'{text}' is not a number; type digits with at most one decimal point, e.g. 313.5.")


def _finite(number: float, text: str) -> float:
    """The number when it is finite; NaN, infinity and overflow ('1e400') are refused."""
    if not math.isfinite(number):
        raise NumberEntryError(f"'{text}' is not a finite number; type an ordinary value, e.g. 313.5.")
    return number


def format_number(value: float) -> str:
    """A stored number as an editor shows it: the shortest text that reads back to the same float."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
