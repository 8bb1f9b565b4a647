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
from core.data.columns import guess_columns, proposed_mapping
from core.data.formats import NOT_MAPPED, SourceFile
from core.data.ingest import ReadOptions
from core.data.report import Issue, ValidationReport
from core.data.units import check_unit
from core.data.variables import KINDS, canonical_name
from core.store.workspace import StoreError, Workspace

RESERVOIR_LAYOUT = "reservoir"  # one reservoir per file, columns are variables
WIDE_LAYOUT = "wide"  # columns are reservoirs, all holding one variable
STATIONS_LAYOUT = "stations"  # an agency file with several stations: one reservoir per station
LAYOUT_LABELS = {
    RESERVOIR_LAYOUT: "One reservoir per file (columns are variables)",
    WIDE_LAYOUT: "Wide file (columns are reservoirs, one variable)",
    STATIONS_LAYOUT: "Several stations (one reservoir per station)",
}
MAPPING_COLUMNS = ("column", "variable", "unit")  # the mapping table's columns, named once
IMPORT_COLUMN = "import"  # the mapping table's tick: a column left unticked is not imported


def guess_layout(columns: Sequence[str], source: SourceFile | None = None) -> str:
    """Several stations for an agency file holding several; wide when several value columns and none names a known
    variable (e.g. one column per reservoir); else one reservoir."""
    if source is not None:
        return STATIONS_LAYOUT if source.multi_station else RESERVOIR_LAYOUT
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


GUESS_COLUMN = "how it was read"  # the mapping table's read-only note: declared, guessed, weak guess


SET_BY_YOU = "set by you"  # the note of a row whose variable or unit the operator changed in the table


def guess_table(
    columns: Sequence[str],
    units: dict[str, str | None],
    source: SourceFile | None = None,
    skipped: Sequence[str] = (),
    edits: Mapping[int, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """The table the operator edits: whether each column is imported, its variable and unit, and a note saying
    what is read from the file, what is a guess and which guesses are weak (`skipped`: unticked at first); a row
    whose variable or unit the operator changed (`edits`: row -> edited cells, as Streamlit's data editor keeps
    them) says so instead of the guess's words, which no longer describe it."""
    guesses = guess_columns(list(columns), source=source)
    proposed: dict[str, str] = {}
    for station in dict.fromkeys(_station(g.column, source) for g in guesses):  # per station: two may share one
        mapped = [g for g in guesses if g.variable != NOT_MAPPED and _station(g.column, source) == station]
        proposed.update(proposed_mapping(mapped))
    changed = {int(row) for row, cells in (edits or {}).items() if {"variable", "unit"} & set(cells)}
    rows = []
    for i, g in enumerate(guesses):
        unit = g.unit if g.unit_source in ("format", "header", "declared") else units.get(g.column) or g.unit
        variable = "" if g.variable == NOT_MAPPED else proposed.get(g.column, g.variable)
        rows.append([g.column not in skipped, g.column, variable, unit or "", SET_BY_YOU if i in changed else g.note])
    return pd.DataFrame(rows, columns=[IMPORT_COLUMN, *MAPPING_COLUMNS, GUESS_COLUMN])


def unconfirmed_guesses(table: pd.DataFrame, source: SourceFile | None = None) -> list[str]:
    """Imported columns left on a weak guess (variable and unit as proposed): the operator must confirm or change
    them."""
    columns = [str(c) for c in table["column"]]
    proposed = guess_table(columns, {}, source).set_index("column")
    weak = {g.column for g in guess_columns(columns, source=source) if g.weak}
    out = []
    for row in table.to_dict("records"):
        column = str(row["column"])
        if not _ticked(row):
            continue
        same_variable = _text(row.get("variable")) in ("", proposed.at[column, "variable"])
        same_unit = _text(row.get("unit")) in ("", proposed.at[column, "unit"])
        if column in weak and same_variable and same_unit:
            out.append(column)
    return out


def skipped_columns(table: pd.DataFrame) -> tuple[str, ...]:
    """The columns the operator left unticked: not imported (their bad cells are only a warning)."""
    return tuple(str(row["column"]) for row in table.to_dict("records") if not _ticked(row))


def _ticked(row: dict[str, Any]) -> bool:
    """A mapping row's import tick (a table without the column imports every row)."""
    value = row.get(IMPORT_COLUMN, True)
    return True if value is None or (isinstance(value, float) and pd.isna(value)) else bool(value)


def stations_table(source: SourceFile, existing: Sequence[str]) -> pd.DataFrame:
    """Station id -> the reservoir its readings go to (the id at first, renameable), and its name in the file."""
    known = {n.lower() for n in existing}
    rows = [
        [station, station, name, "adds to existing" if station.lower() in known else "new"]
        for station, name in source.stations.items()
    ]
    return pd.DataFrame(rows, columns=["station", "reservoir", "name in the file", ""])


def read_stations(table: pd.DataFrame) -> tuple[dict[str, str], list[str]]:
    """The edited stations table as import_csv's `stations`, plus problems (a blank or repeated name)."""
    names = {str(r["station"]): _text(r.get("reservoir")) or str(r["station"]) for r in table.to_dict("records")}
    seen: dict[str, str] = {}
    problems = []
    for station, name in names.items():
        if name.lower() in seen:
            problems.append(f"Stations {seen[name.lower()]} and {station} both go to reservoir '{name}'; name each.")
        seen.setdefault(name.lower(), station)
    return names, problems


def unit_problems(mapping: dict[str, str], units: dict[str, str | None]) -> list[str]:
    """A unit that cannot be the variable's (a flow unit on a level), per mapped column."""
    problems = []
    for column, variable in mapping.items():
        problem = check_unit(variable, units.get(variable), f"Column '{column}'")
        if problem:
            problems.append(problem)
    return problems


def read_mapping(
    table: pd.DataFrame, source: SourceFile | None = None
) -> tuple[dict[str, str], dict[str, str | None], list[str]]:
    """The edited table as import_csv's mapping and units, plus problems that must block the import (two columns
    of one reservoir, or one station of an agency file, on one variable)."""
    mapping: dict[str, str] = {}
    units: dict[str, str | None] = {}
    problems: list[str] = []
    auto = variable_mapping([str(c) for c in table["column"]])
    for row in table.to_dict("records"):
        column = str(row["column"])
        if not _ticked(row):
            continue
        variable = _text(row.get("variable")) or auto[column]
        mapping[column] = variable
        units[variable] = _text(row.get("unit")) or None
    seen: dict[tuple[str, str], str] = {}
    for column, variable in mapping.items():
        key = (_station(column, source), variable.lower())
        if key in seen:
            problems.append(
                f"Columns '{seen[key]}' and '{column}' are both mapped to variable '{variable}'; "
                "give each column its own variable name."
            )
        seen.setdefault(key, column)
    return mapping, units, problems


def _station(column: str, source: SourceFile | None) -> str:
    """The station a column belongs to ('' for a plain file)."""
    found = source.column(column) if source is not None else None
    return (found.station or "") if found is not None else ""


def _text(value: Any) -> str:
    """A table cell as stripped text ('' for empty or missing cells)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def report_summary(report: ValidationReport) -> str:
    """One line on how the file was read: size, dates, encoding, separator, date column and order (an agency
    format's own description is shown apart, core.data.report.ValidationReport.described)."""
    if report.start and report.end:
        size = f"{report.n_rows:,} days, {report.start} to {report.end}"
    else:
        size = f"{report.n_rows:,} data rows"
    return " · ".join([size, *report.read_as()[len(report.described) :]])


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

    layout: str  # RESERVOIR_LAYOUT, WIDE_LAYOUT or STATIONS_LAYOUT
    reservoir: str | None = None  # RESERVOIR_LAYOUT: the reservoir the columns belong to
    variable: str | None = None  # WIDE_LAYOUT: the variable every column holds
    unit: str | None = None  # WIDE_LAYOUT: its unit
    mapping: dict[str, str] = field(default_factory=dict)  # RESERVOIR_LAYOUT: column -> variable
    units: dict[str, str | None] = field(default_factory=dict)  # RESERVOIR_LAYOUT: variable -> unit
    options: ReadOptions = ReadOptions()
    stations: dict[str, str] = field(default_factory=dict)  # STATIONS_LAYOUT: station id -> reservoir name
    decisions: dict[str, str] = field(default_factory=dict)  # variable -> mask/keep/relative, stored with the import

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
            ws,
            data,
            variable=variable,
            filename=filename,
            options=plan.options,
            units={variable: plan.unit or None},
            decisions=dict(plan.decisions),
        )
    return import_csv(
        ws,
        data,
        reservoir=None if plan.layout == STATIONS_LAYOUT else (plan.reservoir or "").strip(),
        filename=filename,
        options=plan.options,
        mapping=dict(plan.mapping),
        units=dict(plan.units),
        stations=dict(plan.stations),
        decisions=dict(plan.decisions),
    )


def retrain_candidates(ws: Workspace, outcome: ImportOutcome) -> list[str]:
    """Reservoirs that got new days and have an active model: worth offering a retrain with the same settings."""
    out = []
    for result in outcome.results:
        if result.added > 0 and ws.active_version(result.reservoir) is not None:
            out.append(result.reservoir)
    return out
