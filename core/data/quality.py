"""An agency's quality column beside its values (the Environment Agency's `quality`: Good / Estimated / Suspect /
Unchecked / Missing; a BoM `Quality Code`): never imported as a reading series of its own, and its words applied.

A value marked Suspect, Rejected or Missing is read as missing (with a warning naming its days); Estimated,
Unchecked and Provisional values are kept and reported. Codes the app has no list for (numbers) are not applied,
and the warning says so, so nothing is dropped or trusted on a guess.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.report import WARNING, Issue, lines_text, make_issue, plural, verb
from core.data.variables import header_words

QUALITY_WORDS = frozenset({"quality", "qcode", "qualifier", "qualifiers", "flag", "flags", "grade"})
MASKED = frozenset({"suspect", "rejected", "missing", "unreliable", "poor", "bad"})
KEPT = frozenset({"estimated", "unchecked", "provisional", "incomplete"})
GOOD = frozenset({"good", "ok", "verified", "approved", "complete"})


def is_quality_column(column: str) -> bool:
    """A header that names quality codes ('quality', 'Quality Code', 'qcode', 'flag'), not a reading."""
    return bool(QUALITY_WORDS & set(header_words(column)))


def apply_quality(
    values: pd.DataFrame, cells: pd.DataFrame, lines: pd.Series, stamps: pd.Series
) -> tuple[pd.DataFrame, list[Issue]]:
    """`values` with the readings its quality column marks as bad read as missing, and what was done, in words."""
    columns = [c for c in cells.columns if is_quality_column(c)]
    if not columns:
        return values, []
    days = stamps.dt.normalize()
    column = columns[0]
    if len(values.columns) != 1:
        return values, [_unapplied(column, f"the file has {len(values.columns)} value columns and one quality column")]
    words = cells[column].astype(str).str.strip().str.lower()
    said = words[words != ""]
    if said.empty:
        return values, []
    if not said.isin(MASKED | KEPT | GOOD).all():
        examples = ", ".join(f"'{w}'" for w in sorted(set(said[~said.isin(MASKED | KEPT | GOOD)]))[:4])
        return values, [_unapplied(column, f"it holds codes the app has no list for ({examples})")]
    target = values.columns[0]
    issues = []
    bad = words.isin(MASKED).to_numpy()
    if bad.any():
        values = values.copy()
        values.loc[bad, target] = float("nan")
        issues.append(_marked(column, target, words, lines, days, bad, "read as missing"))
    kept = words.isin(KEPT).to_numpy()
    if kept.any():
        issues.append(_marked(column, target, words, lines, days, kept, "kept"))
    return values, issues


def _marked(
    column: str, target: str, words: pd.Series, lines: pd.Series, days: pd.Series, mask: np.ndarray, done: str
) -> Issue:
    """A warning for the readings one kind of quality word marks, with their lines and first days."""
    rows = [int(n) for n in lines[mask].tolist()]
    n = len(rows)
    kinds = ", ".join(sorted(set(words[mask])))
    shown = ", ".join(sorted({f"{d:%Y-%m-%d}" for d in days[mask].dropna()})[:5])
    return make_issue(
        WARNING,
        "quality_marked",
        f"{plural(n, 'reading')} of '{target}' {verb(n, 'is', 'are')} marked {kinds} in '{column}' "
        f"({lines_text(rows)}; {shown}): {done}.",
        column=target,
        rows=rows,
        count=n,
    )


def _unapplied(column: str, why: str) -> Issue:
    """The warning for a quality column whose codes were not applied, and why."""
    return make_issue(
        WARNING,
        "quality_not_applied",
        f"Column '{column}' holds quality codes, which were not applied: {why}. Every reading is imported as "
        "given; check the ones the agency marks as doubtful.",
        column=column,
    )
