"""Numbers in reservoir CSVs: the decimal mark, thousands marks, missing markers, no-data codes, text cells.

Columns that are mostly text are dropped with a warning; a numeric column with a few text cells is an error that
lists those cells, because guessing what 'approx 12' meant would put made-up readings into a forecast.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core.data import arrowtext, qc
from core.data.report import ERROR, WARNING, Cells, Issue, make_issue, plural, verb
from core.data.typed_numbers import COMMA_OR_THOUSANDS
from core.display import plain

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "--", "---", "#n/a", "nil", "missing"})
DECIMAL_SAMPLE = 2000  # cells per column looked at when deciding the decimal mark
VECTOR_ROWS = 20_000  # from this many cells on, a column is parsed vectorised (below, cell by cell is faster)

_COMMA_DEC = re.compile(r"[+-]?\d*,\d+|[+-]?\d{1,3}(?:[.\s'\u00a0\u202f]\d{3})+,\d+")
_DOT_DEC = re.compile(r"[+-]?\d*\.\d+|[+-]?\d{1,3}(?:[,\s'\u00a0\u202f]\d{3})+\.\d+")
_DOT_OR_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}\.\d{3}")
_GROUPED_DOT = re.compile(r"[+-]?\d{1,3}(?:[,\s'\u00a0\u202f]\d{3})+(?:\.\d*)?")
_GROUPED_COMMA = re.compile(r"[+-]?\d{1,3}(?:[.\s'\u00a0\u202f]\d{3})+(?:,\d*)?")


def detect_decimal(frame: pd.DataFrame, separator: str | None) -> str:
    """'.' or ',' from cells that can only be read one way; a ',' separator implies '.'."""
    if separator == ",":
        return "."
    comma = dot = comma_either = 0
    for name in frame.columns:
        for text in frame[name].head(DECIMAL_SAMPLE).tolist():
            if COMMA_OR_THOUSANDS.fullmatch(text):
                comma_either += 1
            elif _COMMA_DEC.fullmatch(text):
                comma += 1
            elif _DOT_DEC.fullmatch(text) and not _DOT_OR_THOUSANDS.fullmatch(text):
                dot += 1
    if comma > dot or (comma == dot == 0 and comma_either):
        return ","
    return "."


def number_text(text: str, decimal: str) -> str:
    """Rewrite one cell in Python's number syntax: drop thousands marks, use '.' as decimal."""
    text = text.replace("\u2212", "-")  # typographic minus from word processors
    if decimal == ",":
        if _GROUPED_COMMA.fullmatch(text):
            text = re.sub(r"[.\s'\u00a0\u202f]", "", text)
        return text.replace(",", ".")
    if _GROUPED_DOT.fullmatch(text):
        return re.sub(r"[,\s'\u00a0\u202f]", "", text)
    return text


def to_numbers(cells: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(float values, missing-marker mask, not-a-number mask) for one column of text cells.

    A long column is parsed vectorised (Arrow-backed strings: no Python object per cell), a short one cell by
    cell (faster below VECTOR_ROWS); either way only the cells the plain parse misses (thousands marks, odd
    spaces, a typographic minus) go through number_text one by one.
    """
    if len(cells) >= VECTOR_ROWS:
        text = cells.astype("str")
        missing = pd.Series(arrowtext.is_in_lower(text, MISSING_MARKERS), index=cells.index)
    else:
        text = pd.Series(cells.tolist(), index=cells.index, dtype=object)
        missing = pd.Series([t.lower() in MISSING_MARKERS for t in text.tolist()], index=cells.index, dtype=bool)
    if decimal == ",":
        text = pd.Series([number_text(t, decimal) for t in text.tolist()], index=cells.index, dtype=object)
    numbers = _parse_floats(text, missing)
    retry = numbers.isna() & ~missing
    if decimal == "." and retry.any():  # fast path missed: thousands separators, odd spaces
        texts = text[retry].tolist()
        fixed = [number_text(t, decimal) for t in texts]
        numbers[retry] = pd.to_numeric(
            pd.Series(fixed, index=numbers.index[retry], dtype=object), errors="coerce"
        ).astype(float)
    finite = np.isfinite(numbers)
    bad = ~missing & ~finite
    return numbers.where(finite), missing, bad


def _parse_floats(text: pd.Series, missing: pd.Series) -> pd.Series:
    """Text to floats, NaN where a cell is not a plain number: Arrow's cast of a long column when every cell
    reads (fast), else pandas' forgiving parse."""
    if text.dtype != object:
        floats = arrowtext.to_floats(text, missing.to_numpy())
        if floats is not None:
            return pd.Series(floats, index=text.index)
    return pd.to_numeric(text, errors="coerce").astype(float)


def _text_column_issue(column: str, raw: pd.Series, lines: pd.Series, bad: pd.Series, filled: int) -> Issue:
    """ignored_column warning for a column that holds text, not numbers."""
    text = Cells.pick(raw, lines, bad)
    n_num = filled - text.count
    note = f" ({plural(n_num, 'cell')} {verb(n_num, 'holds a number', 'hold numbers')})" if n_num else ""
    return make_issue(
        WARNING,
        "ignored_column",
        f"Column '{column}' holds text, not numbers (e.g. {text.quoted()}){note}; it was ignored.",
        column=column,
        count=filled,
        examples=text.examples,
    )


def _non_numeric_issue(column: str, raw: pd.Series, lines: pd.Series, bad: pd.Series) -> Issue:
    """non_numeric error: the text cells in a column of numbers, by file line."""
    text = Cells.pick(raw, lines, bad)
    return text.issue(
        ERROR,
        "non_numeric",
        f"Column '{column}': {plural(text.count, 'cell')} {verb(text.count, 'is not a number', 'are not numbers')} "
        f"({text.where()}, "
        f"e.g. {text.quoted()}). Fix or blank these cells; blank cells are read as missing.",
        column=column,
    )


def _missing_issue(column: str, lines: pd.Series, missing: pd.Series) -> Issue:
    """missing_values warning: the empty cells, read as missing."""
    where = Cells.pick(lines, lines, missing)
    return make_issue(
        WARNING,
        "missing_values",
        f"Column '{column}': {plural(where.count, 'empty cell')} ({where.where()}); they are read as missing.",
        column=column,
        rows=where.rows,
    )


def _sentinel_issue(column: str, numbers: pd.Series, lines: pd.Series, sentinel: pd.Series) -> Issue:
    """sentinel warning: cells holding a logger no-data code such as -9999."""
    where = Cells.pick(lines, lines, sentinel)
    codes = tuple(sorted({f"{plain(v)}" for v in numbers[sentinel]}))
    return make_issue(
        WARNING,
        "sentinel",
        f"Column '{column}': {plural(where.count, 'cell')} {verb(where.count, 'holds', 'hold')} "
        f"the no-data code {', '.join(codes)} "
        f"({where.where()}); they are read as missing.",
        column=column,
        rows=where.rows,
        examples=codes,
    )


def _read_column(
    column: str, raw: pd.Series, lines: pd.Series, decimal: str
) -> tuple[pd.Series | None, list[Issue], pd.Series]:
    """One column as floats (None when it is empty or text), what was wrong with its cells, and its no-data codes."""
    numbers, missing, bad = to_numbers(raw, decimal)
    filled = int((~missing).sum())
    if filled == 0:
        return (
            None,
            [make_issue(WARNING, "ignored_column", f"Column '{column}' is empty; it was ignored.", column=column)],
            missing & False,
        )
    if int(bad.sum()) / filled > 0.5:
        return None, [_text_column_issue(column, raw, lines, bad, filled)], missing & False
    issues = []
    if bad.any():
        issues.append(_non_numeric_issue(column, raw, lines, bad))
    if missing.any():
        issues.append(_missing_issue(column, lines, missing))
    sentinel = qc.find_sentinels(numbers)
    if sentinel.any():
        issues.append(_sentinel_issue(column, numbers, lines, sentinel))
        numbers = numbers.mask(sentinel)
    return numbers, issues, sentinel


def read_values(cells: pd.DataFrame, lines: pd.Series, decimal: str) -> tuple[pd.DataFrame, list[Issue], pd.DataFrame]:
    """Numeric columns as floats (no-data codes -> NaN), text columns dropped, the bad cells reported, and which
    cells held a no-data code (their companions in other columns are suspect)."""
    values: dict[str, pd.Series] = {}
    codes: dict[str, pd.Series] = {}
    issues: list[Issue] = []
    for column in cells.columns:
        numbers, found, sentinel = _read_column(column, cells[column], lines, decimal)
        issues += found
        if numbers is not None:
            codes[column] = sentinel
            values[column] = numbers
    frame = pd.DataFrame(values, index=cells.index, dtype="float64")
    return frame, issues, pd.DataFrame(codes, index=cells.index, columns=frame.columns, dtype=bool)
