"""Rows of a table that are not readings, as spreadsheets and appended downloads leave them: a units row under the
header, the header repeated (two files appended), and summary or note rows ('Total', 'Mean', 'Source: ...').

Each is taken out of the cells with a warning naming its line; a units row gives its units to the columns
(`Level` over `m a.s.l.` reads as `Level [m a.s.l.]`), so nothing it says is lost and no reading is made up.
"""

from __future__ import annotations

import re

import pandas as pd

from core.data.report import WARNING, Issue, lines_text, make_issue, plural, verb
from core.data.units import find_unit

SUMMARY_WORDS = frozenset(
    {"total", "totals", "sum", "mean", "average", "avg", "maximum", "max", "minimum", "min", "median", "count"}
)
NOTE_PREFIX = re.compile(r"^(source|sources|note|notes|remark|remarks|comment|comments|data source)\s*[:\-]", re.I)
_NUMBER = re.compile(r"^[-+]?[\d.,\s']+$")


def without_non_readings(cells: pd.DataFrame, lines: pd.Series) -> tuple[pd.DataFrame, pd.Series, list[Issue]]:
    """The cells without a units row, repeated headers and summary/note rows; the header carries the units read."""
    issues: list[Issue] = []
    cells, lines, issue = _units_row(cells, lines)
    issues += [issue] if issue else []
    if cells.empty:
        return cells, lines, issues
    lead = cells.iloc[:, 0].str.lstrip().str.slice(0, 1)  # slice and isin stay in Arrow; a regex would not
    worded = (~lead.isin([*"0123456789+-.", ""])).to_numpy()  # a first cell that is neither a date nor a number
    if not worded.any():  # the usual file: one pass over the first column and done (1M rows: ~0.1 s)
        return cells, lines, issues
    some = cells[worded]
    gone = pd.Series(False, index=cells.index)
    for kind, mask in (("repeated_header", _repeated_header(some)), ("summary_row", _summary_rows(some))):
        if mask.any():
            issues.append(_dropped_issue(kind, lines[mask.index[mask]].tolist(), some[mask].iloc[:, 0].tolist()))
            gone[mask.index[mask]] = True
    if not gone.any():  # a first column of words (station names) with nothing to skip: no copy
        return cells, lines, issues
    return cells[~gone], lines[~gone], issues


def _units_row(cells: pd.DataFrame, lines: pd.Series) -> tuple[pd.DataFrame, pd.Series, Issue | None]:
    """The first row when it holds units (no number in it, most of its cells a known unit), folded into the
    column names as brackets."""
    if len(cells) < 2 or cells.shape[1] < 2:
        return cells, lines, None
    first = [str(v).strip() for v in cells.iloc[0].tolist()]
    filled = [v for v in first if v]
    known = [v for v in filled if find_unit(v) is not None or find_unit(v.replace(".", "")) is not None]
    if not filled or any(_NUMBER.match(v) for v in filled) or len(known) * 2 < len(filled):
        return cells, lines, None
    renamed = {c: f"{c} [{u}]" for c, u in zip(cells.columns, first, strict=True) if u and "[" not in str(c)}
    shown = ", ".join(f"{c}: {u}" for c, u in zip(cells.columns, first, strict=True) if u)
    issue = make_issue(
        WARNING,
        "units_row",
        f"Line {int(lines.iloc[0])} holds the columns' units ({shown}); they were read as units, not as readings.",
        rows=[int(lines.iloc[0])],
    )
    return cells.iloc[1:].rename(columns=renamed), lines.iloc[1:], issue


def _repeated_header(cells: pd.DataFrame) -> pd.Series:
    """Rows that repeat the header's names (a second download appended below the first)."""
    names = [str(c).strip().lower() for c in cells.columns]
    found = pd.Series(False, index=cells.index)
    if len(names) < 2 or not names[0]:
        return found
    candidates = (cells.iloc[:, 0].astype(str).str.strip().str.lower() == names[0]).to_numpy()  # few, if any
    if not candidates.any():
        return found
    rows = cells[candidates]
    same = [rows.iloc[:, i].astype(str).str.strip().str.lower() == n for i, n in enumerate(names) if n]
    found[candidates] = pd.concat(same, axis=1).all(axis=1).to_numpy()
    return found


def _summary_rows(cells: pd.DataFrame) -> pd.Series:
    """Rows whose first cell is a summary word ('Total', 'Mean:') or a note ('Source: ...'), never a date."""
    first = cells.iloc[:, 0].astype(str).str.strip()
    word = first.str.lower().str.rstrip(":").str.strip()
    return word.isin(SUMMARY_WORDS) | first.str.match(NOTE_PREFIX)


def _dropped_issue(kind: str, rows: list[int], firsts: list[str]) -> Issue:
    """The warning for rows taken out as not being readings."""
    n = len(rows)
    what = {
        "repeated_header": f"{verb(n, 'repeats', 'repeat')} the header line (files appended one below the other?)",
        "summary_row": f"{verb(n, 'is a summary or a note', 'are summaries or notes')} "
        f"(e.g. '{firsts[0][:40]}'), not readings",
    }[kind]
    return make_issue(
        WARNING, kind, f"{plural(n, 'row')} ({lines_text(rows)}) {what}; skipped.", rows=rows, count=n
    )
