"""Import warnings for what screening found (core.data.screen): logger codes, absurd magnitudes, out-of-range runs
and companion values, each with the first and last day of every run, the file lines and what cleaning will do.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from core.data.report import WARNING, Cells, Issue, make_issue, plural, runs_text, verb
from core.data.screen import Screen, date_runs, long_runs
from core.data.variables import canonical_name, physical_range
from core.display import plain

DECIDE_HINT = (
    "Decide per variable before the import (the Data page's choice under the file, or `python -m core import ... "
    "--out-of-range VARIABLE=mask|keep|relative`) or afterwards (Stored data, or `python -m core qc --reservoir NAME "
    "--variable VAR --out-of-range ...`)"
)


def _range_text(values: pd.Series, screen: Screen) -> str:
    """'180.2 to 214.9': the span of the readings that passed screening, so a code's distance from them is plain."""
    column = values.name
    rest = values[~(screen.codes[column] | screen.absurd[column])].dropna()
    return f"{plain(rest.min())} to {plain(rest.max())}" if len(rest) else "none"


def _picked(values: pd.Series, first_line: pd.Series, hit: pd.Series) -> tuple[Cells, tuple] | None:
    """The flagged cells and their date runs, or None when nothing is flagged."""
    if not hit.any():
        return None
    return Cells.pick(values, first_line, hit), date_runs(hit, values)


def _issue(code: str, column: str, cells: Cells, runs: tuple, message: str) -> Issue:
    """A finding with its lines, raw values and date runs."""
    return make_issue(WARNING, code, message, column=column, rows=cells.rows, examples=cells.examples, runs=runs)


def code_issue(column: str, values: pd.Series, first_line: pd.Series, screen: Screen) -> Issue | None:
    """coded_run warning: one value repeated far outside the readings' range, i.e. a logger code."""
    hit = screen.codes[column]
    if (picked := _picked(values, first_line, hit)) is None:
        return None
    cells, runs = picked[0], date_runs(hit, values)
    codes = ", ".join(sorted({f"{plain(v)}" for v in values[hit]}))
    text = (
        f"Column '{column}': {plural(cells.count, 'day')} {verb(cells.count, 'holds', 'hold')} the logger code "
        f"{codes} in {plural(len(runs), 'run')}: {runs_text(runs)} ({cells.where()}), far outside the other "
        f"readings ({_range_text(values, screen)}); they are no-data codes, not readings. Cleaning masks them."
    )
    return _issue("coded_run", column, cells, runs, text)


def absurd_issue(column: str, values: pd.Series, first_line: pd.Series, screen: Screen) -> Issue | None:
    """absurd_value warning: magnitudes no reading can have, wherever they are (the last reading too)."""
    hit = screen.absurd[column]
    if (picked := _picked(values, first_line, hit)) is None:
        return None
    cells, runs = picked
    last = " It is the last reading, the one a forecast starts from." if bool(hit.iloc[-1]) else ""
    text = (
        f"Column '{column}': {plural(cells.count, 'value')} of absurd magnitude ({cells.quoted()} on "
        f"{runs_text(runs)}; {cells.where()}), far outside the other readings ({_range_text(values, screen)}). "
        f"Cleaning masks {'it' if cells.count == 1 else 'them'}.{last}"
    )
    return _issue("absurd_value", column, cells, runs, text)


def range_issue(column: str, variable: str, values: pd.Series, first_line: pd.Series, hit: pd.Series) -> Issue | None:
    """negative / out_of_range warning: outside the kind's physical range, with runs and the operator's choice."""
    if (picked := _picked(values, first_line, hit)) is None:
        return None
    cells, runs = picked
    kind = canonical_name(variable)
    low, high = physical_range(kind)
    below = bool((values[hit] < low).all())
    if below and low == 0:
        code, what = "negative", f"{plural(cells.count, 'negative value')} although {kind} cannot be below zero"
    else:
        code, what = (
            "out_of_range",
            f"{plural(cells.count, 'value')} outside what a {kind} can be ({plain(low)} to {plain(high)})",
        )
    long = long_runs(runs)
    convention = (
        f" A run of {long[0].days} days is often a convention, not an error (e.g. storage counted from a pool "
        "bottom goes negative)."
        if long
        else ""
    )
    text = (
        f"Column '{column}': {what} ({runs_text(runs)}; {cells.where()}, e.g. {cells.quoted()}).{convention} "
        f"{DECIDE_HINT}; until you do, cleaning masks them."
    )
    return _issue(code, column, cells, runs, text)


def companion_issue(column: str, values: pd.Series, first_line: pd.Series, screen: Screen) -> Issue | None:
    """companion warning: values written on days another column holds a code; loggers write those together."""
    hit = screen.companions[column]
    if (picked := _picked(values, first_line, hit)) is None:
        return None
    cells, runs = picked
    coded = screen.coded_days.drop(columns=[column])
    beside = [str(c) for c in coded.columns if (coded[c] & hit).any()]
    names = ", ".join(f"'{c}'" for c in beside) or "another column"
    text = (
        f"Column '{column}': {plural(cells.count, 'value')} on days where {names} holds a logger code "
        f"({runs_text(runs)}; {cells.where()}, e.g. {cells.quoted()}). A logger writes a companion value beside a "
        "code, so these are suspect too and are treated as missing (masked)."
    )
    return _issue("companion", column, cells, runs, text)


def screen_issues(
    frame: pd.DataFrame, first_line: pd.Series, screen: Screen, variables: Mapping[str, str] | None = None
) -> list[Issue]:
    """Every screening finding of a daily frame, column by column, in the order a reader should act on them."""
    issues: list[Issue | None] = []
    for column in frame.columns:
        values = frame[column]
        kind = (variables or {}).get(column) or str(column)
        issues += [
            code_issue(column, values, first_line, screen),
            absurd_issue(column, values, first_line, screen),
            companion_issue(column, values, first_line, screen),
            range_issue(column, kind, values, first_line, screen.out_of_range[column]),
        ]
    return [issue for issue in issues if issue is not None]
