"""Read a reservoir CSV into a validated daily frame plus a report the user can act on; store nothing.

Content problems never raise: they become `Issue`s in the `ValidationReport` (errors block the
import, warnings travel with the data). Only misuse (a path that does not exist) raises.
The steps live in their own modules: reading (bytes to text cells), dates, numbers, daily (one row
per day) and checks (warnings about the frame); this module runs them in order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from core.data import checks, dates, numbers, reading
from core.data.daily import LINE, STAMP, to_daily
from core.data.report import ERROR, Issue, ValidationReport, make_issue, runs_text
from core.data.screen import date_runs, find_companions
from core.data.variables import guess_unit


class IngestError(ValueError):
    """Raised only for misuse, e.g. a path that does not exist; bad content goes in the report."""


@dataclass(frozen=True)
class ReadOptions:
    """Choices the user can force when automatic detection cannot (or should not) decide."""

    date_column: str | None = None  # None: detect the date column automatically
    dayfirst: bool | None = None  # None: decide from unambiguous rows; ambiguous file -> error
    variables: tuple[tuple[str, str], ...] = ()  # (column, variable) the operator declared: checks judge by these
    units: tuple[tuple[str, str], ...] = ()  # (column, unit) the operator declared: ranges are judged in these


@dataclass(frozen=True, eq=False)
class ParsedCSV:
    """The outcome of reading one file: the report, and the frame when the report has no errors."""

    report: ValidationReport
    frame: pd.DataFrame | None
    units: dict[str, str | None]
    sha256: str


def _read_bytes(source: str | Path | bytes, filename: str | None) -> tuple[bytes, str]:
    """Raw bytes and a display name; only a missing or unreadable path raises."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), filename or "upload.csv"
    path = Path(source)
    if not path.is_file():
        raise IngestError(f"CSV file not found: {path}")
    try:
        return path.read_bytes(), filename or path.name
    except OSError as exc:
        raise IngestError(f"Cannot open {path}: {exc}") from exc


class _Stop(Exception):
    """Internal: reading cannot go on; the report built so far says why."""


@dataclass
class _Draft:
    """The report while it is being filled in, step by step."""

    encoding: str | None = None
    separator: str | None = None
    decimal: str | None = None
    date_column: str | None = None
    dayfirst: bool | None = None
    n_rows: int = 0
    start: str | None = None
    end: str | None = None
    columns: tuple[str, ...] = ()
    issues: list[Issue] = field(default_factory=list)

    def stop(self, issue: Issue) -> _Stop:
        """Record a blocking error and return the exception that ends reading."""
        self.issues.append(issue)
        return _Stop(issue.code)

    def unreadable(self, message: str) -> _Stop:
        """Stop with an 'unreadable' error: the file cannot be read as a table of readings at all."""
        return self.stop(make_issue(ERROR, "unreadable", message))

    def has_errors(self) -> bool:
        """True once any blocking error has been recorded."""
        return any(i.severity == ERROR for i in self.issues)

    def report(self, filename: str) -> ValidationReport:
        """Freeze the draft."""
        fields = {k: v for k, v in self.__dict__.items() if k != "issues"}
        return ValidationReport(filename=filename, issues=tuple(self.issues), **fields)


def read_csv(
    source: str | Path | bytes, *, filename: str | None = None, options: ReadOptions = ReadOptions()
) -> ParsedCSV:
    """Read a CSV (path or bytes) into a validated daily frame and a report; never writes anything."""
    data, name = _read_bytes(source, filename)
    sha256 = hashlib.sha256(data).hexdigest()
    held = [data]  # handed over: the bytes are dropped once decoded, so a large file is not held twice
    del data
    draft = _Draft()
    frame: pd.DataFrame | None = None
    try:
        frame = _read(held, name, options, draft)
    except _Stop:
        frame = None
    report = draft.report(name)
    units = {c: guess_unit(c) for c in draft.columns}
    return ParsedCSV(report=report, frame=frame if report.ok else None, units=units, sha256=sha256)


def _read(held: list[bytes], name: str, options: ReadOptions, draft: _Draft) -> pd.DataFrame | None:
    """All reading steps in order (`held`: the file's bytes, taken out to be decoded); fills `draft` and raises
    _Stop when a step cannot go on."""
    parsed = _table(held.pop(), name, draft)
    draft.issues += parsed.issues
    cells, lines = parsed.cells, parsed.lines
    draft.n_rows = len(cells)
    if cells.empty:
        raise draft.unreadable(f"{name} has a header line but no data rows. Add one row per date.")
    date_column = _date_column(cells, options, name, draft)
    time_column = dates.find_time_column(cells, date_column)
    date_cells = cells[date_column]
    if time_column is not None:
        date_cells = (date_cells + " " + cells[time_column]).str.strip()
    stamps = dates.parse_dates(date_cells, lines, date_column, options.dayfirst, dates.is_date_name(date_column))
    draft.issues += stamps.issues
    draft.dayfirst = stamps.dayfirst

    value_cells = cells.drop(columns=[c for c in (date_column, time_column) if c])
    values, codes = _values(value_cells, lines, parsed.separator, name, date_column, draft)
    valid = stamps.stamps.notna()
    if not valid.any():
        raise _Stop("no valid dates")
    readings = values[valid].assign(**{STAMP: stamps.stamps[valid], LINE: lines[valid]})
    daily = to_daily(readings, list(values.columns), stamps.has_time)
    draft.issues += daily.issues
    draft.n_rows = len(daily.frame)
    draft.start = daily.frame.index[0].date().isoformat()
    draft.end = daily.frame.index[-1].date().isoformat()
    if draft.has_errors():
        return None
    declared = {c: v for c, v in options.variables if c in daily.frame.columns}
    known_codes = codes[valid].groupby(stamps.stamps[valid].dt.normalize().to_numpy()).any()
    known_codes.index = daily.frame.index
    draft.issues = [_dated(issue, known_codes) if issue.code == "sentinel" else issue for issue in draft.issues]
    units = {c: dict(options.units).get(c) or guess_unit(c) for c in daily.frame.columns}
    draft.issues += checks.frame_warnings(daily.frame, daily.first_line, declared, known_codes, units)
    # A fixed no-data code was read as missing, so its companions are too: cleaning could no longer see the code.
    return daily.frame.mask(find_companions(known_codes, daily.frame, declared))


def _dated(issue: Issue, known_codes: pd.DataFrame) -> Issue:
    """A no-data-code warning (found before dates were read) with the days its codes are on."""
    if issue.column not in known_codes.columns:
        return issue
    runs = date_runs(known_codes[issue.column])
    return replace(issue, runs=runs, message=f"{issue.message} Days: {runs_text(runs)}.")


def _table(data: bytes, name: str, draft: _Draft) -> reading.CellFrame:
    """The file's text cells in named columns with their file lines; stops when the bytes are not a table."""
    decoded = reading.decode(data)
    del data  # the text replaces the bytes
    draft.encoding = decoded.encoding
    if decoded.text is None:
        raise draft.unreadable(f"{name}: {decoded.problem}")
    parsed = reading.read_cells(decoded.text)
    del decoded  # the cells hold what is needed; the text itself can go
    if isinstance(parsed, str):
        raise draft.unreadable(f"{name}: {parsed}")
    draft.separator = parsed.separator
    return parsed


def _date_column(cells: pd.DataFrame, options: ReadOptions, name: str, draft: _Draft) -> str:
    """The column the dates are read from; stops when there is none or the header line is missing."""
    found = dates.find_date_column(cells, options.date_column, name)
    if isinstance(found, Issue):
        raise draft.stop(found)
    if dates.looks_like_date(found):
        raise draft.stop(
            make_issue(
                ERROR,
                "no_header",
                f"The first line of {name} looks like data ('{found}'), not column names. "
                "Add a header line such as 'date,level' at the top.",
            )
        )
    draft.date_column = found
    return found


def _values(
    cells: pd.DataFrame, lines: pd.Series, separator: str | None, name: str, date_column: str, draft: _Draft
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The numeric columns as floats and where they held no-data codes; stops when no column holds numbers."""
    draft.decimal = numbers.detect_decimal(cells, separator)
    values, issues, codes = numbers.read_values(cells, lines, draft.decimal)
    draft.issues += issues
    draft.columns = tuple(values.columns)
    if values.columns.empty:
        raise draft.stop(
            make_issue(
                ERROR,
                "no_numeric_columns",
                f"{name} has dates in '{date_column}' but no column of numbers. Add one numeric column per variable "
                "(e.g. level, inflow).",
            )
        )
    return values, codes
