"""What the Data page proposes for a read file (layout, column mapping) and how it words a report or an import.

Pure functions over core.data.ingest / core.app.pipeline results, so the page stays thin and tests can call them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.app.pipeline import ImportOutcome, import_csv, variable_mapping
from core.data.columns import guess_columns
from core.data.ingest import ReadOptions
from core.data.report import Issue, ValidationReport
from core.data.units import check_unit
from core.data.variables import KINDS, canonical_name
from core.store.workspace import StoreError, Workspace

RESERVOIR_LAYOUT = "reservoir"  # one reservoir per file, columns are variables
WIDE_LAYOUT = "wide"  # columns are reservoirs, all holding one variable
LAYOUT_LABELS = {
    RESERVOIR_LAYOUT: "One reservoir per file (columns are variables)",
    WIDE_LAYOUT: "Wide file (columns are reservoirs, one variable)",
}
MAPPING_COLUMNS = ("column", "variable", "unit")  # the mapping table's columns, named once


def guess_layout(columns: Sequence[str]) -> str:
    """Wide when several value columns and none names a known variable (e.g. one column per reservoir)."""
    names = [canonical_name(c) for c in columns]
    if len(names) >= 2 and not any(n in KINDS for n in names):
        return WIDE_LAYOUT
    return RESERVOIR_LAYOUT


def guess_wide_variable(filename: str) -> str:
    """The variable a wide file's name suggests ('..._rainfall.csv' -> rainfall); storage when it says nothing."""
    stem = Path(filename).stem
    guess = canonical_name(stem)
    if guess in KINDS:
        return guess
    return next((name for name in KINDS if name in stem.lower()), "storage")


def default_reservoir(filename: str, existing: Sequence[str]) -> str:
    """The file stem, spelled like an existing reservoir when it names one (so re-uploads add to it)."""
    stem = Path(filename).stem.strip() or "New reservoir"
    return next((name for name in existing if name.lower() == stem.lower()), stem)


def mapping_table(columns: Sequence[str], units: dict[str, str | None]) -> pd.DataFrame:
    """Column -> proposed variable and unit, the table the user edits before importing."""
    proposed = variable_mapping(list(columns))
    rows = []
    for column in columns:
        variable = proposed[column]
        kind = KINDS.get(variable)
        unit = units.get(column) or (kind.default_unit if kind else None)
        rows.append({"column": column, "variable": variable, "unit": unit or ""})
    return pd.DataFrame(rows, columns=list(MAPPING_COLUMNS))


GUESS_COLUMN = "how it was read"  # the mapping table's read-only note: declared, guessed, weak guess


SET_BY_YOU = "set by you"  # the note of a row whose variable or unit the operator changed in the table


def guess_table(
    columns: Sequence[str], units: dict[str, str | None], edits: Mapping[int, Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """mapping_table plus a note per column saying what is a guess, and which guesses are weak; a row whose
    variable or unit the operator changed (`edits`: row -> edited cells, as Streamlit's data editor keeps them)
    says so instead of the guess's words, which no longer describe it."""
    table = mapping_table(columns, units)
    notes = [g.note for g in guess_columns(list(columns))]
    for row, cells in (edits or {}).items():
        if 0 <= int(row) < len(notes) and {"variable", "unit"} & set(cells):
            notes[int(row)] = SET_BY_YOU
    table[GUESS_COLUMN] = notes
    return table


def unconfirmed_guesses(table: pd.DataFrame) -> list[str]:
    """Columns left on a weak guess (variable and unit as proposed): the operator must confirm or change them."""
    proposed = mapping_table([str(c) for c in table["column"]], {}).set_index("column")
    weak = {g.column for g in guess_columns([str(c) for c in table["column"]]) if g.weak}
    out = []
    for row in table.to_dict("records"):
        column = str(row["column"])
        same_variable = _text(row.get("variable")) in ("", proposed.at[column, "variable"])
        same_unit = _text(row.get("unit")) in ("", proposed.at[column, "unit"])
        if column in weak and same_variable and same_unit:
            out.append(column)
    return out


def unit_problems(mapping: dict[str, str], units: dict[str, str | None]) -> list[str]:
    """A unit that cannot be the variable's (a flow unit on a level), per mapped column."""
    problems = []
    for column, variable in mapping.items():
        problem = check_unit(variable, units.get(variable), f"Column '{column}'")
        if problem:
            problems.append(problem)
    return problems


def read_mapping(table: pd.DataFrame) -> tuple[dict[str, str], dict[str, str | None], list[str]]:
    """The edited table as import_csv's mapping and units, plus problems that must block the import."""
    mapping: dict[str, str] = {}
    units: dict[str, str | None] = {}
    problems: list[str] = []
    auto = variable_mapping([str(c) for c in table["column"]])
    for row in table.to_dict("records"):
        column = str(row["column"])
        variable = _text(row.get("variable")) or auto[column]
        mapping[column] = variable
        units[variable] = _text(row.get("unit")) or None
    seen: dict[str, str] = {}
    for column, variable in mapping.items():
        key = variable.lower()
        if key in seen:
            problems.append(
                f"Columns '{seen[key]}' and '{column}' are both mapped to variable '{variable}'; "
                "give each column its own variable name."
            )
        seen.setdefault(key, column)
    return mapping, units, problems


def _text(value: Any) -> str:
    """A table cell as stripped text ('' for empty or missing cells)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def report_summary(report: ValidationReport) -> str:
    """One line on how the file was read: size, dates, encoding, separator, date column and order."""
    if report.start and report.end:
        size = f"{report.n_rows:,} days, {report.start} to {report.end}"
    else:
        size = f"{report.n_rows:,} data rows"
    return " · ".join([size, *report.read_as()])


def line_ranges(lines: Sequence[int]) -> str:
    """File lines with runs compressed ("1627–1667 (41 lines), 1702"), so a long run never hides the examples."""
    numbers = sorted({int(n) for n in lines})
    parts: list[str] = []
    start = 0
    for i in range(1, len(numbers) + 1):
        if i < len(numbers) and numbers[i] == numbers[i - 1] + 1:
            continue
        first, last = numbers[start], numbers[i - 1]
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first}, {last}")
        else:
            parts.append(f"{first}\u2013{last} ({last - first + 1} lines)")
        start = i
    return ", ".join(parts)


def issue_table(issues: Sequence[Issue]) -> pd.DataFrame:
    """Issues that point at cells, as rows of a small table: where (column, file lines) and what (examples)."""
    rows = []
    for issue in issues:
        if not issue.rows and not issue.examples:
            continue
        lines = line_ranges(issue.rows)
        if issue.count > len(issue.rows) and issue.rows:
            lines += f", +{issue.count - len(issue.rows)} more"
        rows.append(
            {
                "severity": issue.severity,
                "problem": issue.code.replace("_", " "),
                "column": issue.column or "",
                "file lines": lines,
                "examples": ", ".join(issue.examples),
            }
        )
    return pd.DataFrame(rows, columns=["severity", "problem", "column", "file lines", "examples"])


def outcome_lines(results: Sequence[dict[str, Any]]) -> list[str]:
    """Per reservoir, what an import did: readings added / changed / unchanged, or that it was already imported."""
    lines = []
    for r in results:
        name = r["reservoir"]
        if r.get("already_imported"):
            lines.append(f"{name}: already imported, nothing changed ({r['unchanged']:,} readings already stored).")
            continue
        lines.append(f"{name}: {r['added']:,} readings added, {r['changed']:,} changed, {r['unchanged']:,} unchanged.")
    return lines


@dataclass(frozen=True)
class ImportPlan:
    """The user's choices for one file, as the Data page collected them; `apply` hands them to import_csv."""

    layout: str  # RESERVOIR_LAYOUT or WIDE_LAYOUT
    reservoir: str | None = None  # RESERVOIR_LAYOUT: the reservoir the columns belong to
    variable: str | None = None  # WIDE_LAYOUT: the variable every column holds
    unit: str | None = None  # WIDE_LAYOUT: its unit
    mapping: dict[str, str] = field(default_factory=dict)  # RESERVOIR_LAYOUT: column -> variable
    units: dict[str, str | None] = field(default_factory=dict)  # RESERVOIR_LAYOUT: variable -> unit
    options: ReadOptions = ReadOptions()

    def problems(self) -> list[str]:
        """Why the plan cannot be imported yet (empty when it can)."""
        if self.layout == RESERVOIR_LAYOUT and not (self.reservoir or "").strip():
            return ["Give the reservoir a name."]
        if self.layout == WIDE_LAYOUT and not (self.variable or "").strip():
            return ["Say which variable the columns hold (e.g. storage)."]
        if self.layout not in LAYOUT_LABELS:
            return [f"Unknown layout '{self.layout}'."]
        return []


def apply(ws: Workspace, data: bytes, filename: str, plan: ImportPlan) -> ImportOutcome:
    """Import one uploaded file as planned (ImportRefused / StoreError when it cannot be stored)."""
    problems = plan.problems()
    if problems:
        raise StoreError(problems[0])
    if plan.layout == WIDE_LAYOUT:
        variable = canonical_name(plan.variable or "")
        return import_csv(
            ws, data, variable=variable, filename=filename, options=plan.options, units={variable: plan.unit or None}
        )
    return import_csv(
        ws,
        data,
        reservoir=(plan.reservoir or "").strip(),
        filename=filename,
        options=plan.options,
        mapping=dict(plan.mapping),
        units=dict(plan.units),
    )


def retrain_candidates(ws: Workspace, outcome: ImportOutcome) -> list[str]:
    """Reservoirs that got new days and have an active model: worth offering a retrain with the same settings."""
    out = []
    for result in outcome.results:
        if result.added > 0 and ws.active_version(result.reservoir) is not None:
            out.append(result.reservoir)
    return out
