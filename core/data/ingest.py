"""Read a reservoir file (CSV, USGS RDB, CDEC CSV, Excel workbook) into a validated daily frame plus a report the
user can act on; store nothing.

Content problems never raise: they become `Issue`s in the `ValidationReport` (errors block the
import, warnings travel with the data). Only misuse (a path that does not exist) raises.
The steps live in their own modules: formats (agency files into blocks of text cells), reading (bytes to text
cells), dates, plausible (mis-dated readings held out), numbers, daily (one row per day) and checks (warnings about
the frame); this module runs them in order, block by block (a station or series of an agency file), and joins them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from core.data import checks, dates, numbers, reading
from core.data.daily import LINE, STAMP, to_daily
from core.data.formats import Block, SourceFile
from core.data.formats.detect import read_source
from core.data.names import name_problem, shown
from core.data.plausible import held_out, held_text
from core.data.quality import apply_quality, is_quality_column
from core.data.report import (
    ERROR,
    WARNING,
    Cells,
    Issue,
    ValidationReport,
    lines_text,
    make_issue,
    plural,
    runs_text,
    verb,
)
from core.data.screen import date_runs, find_companions
from core.data.variables import bracket_unit, guess_unit, lag_of


class IngestError(ValueError):
    """Raised only for misuse, e.g. a path that does not exist; bad content goes in the report."""


@dataclass(frozen=True)
class ReadOptions:
    """Choices the user can force when automatic detection cannot (or should not) decide."""

    date_column: str | None = None  # None: detect the date column automatically
    dayfirst: bool | None = None  # None: decide from unambiguous rows; ambiguous file -> error
    variables: tuple[tuple[str, str], ...] = ()  # (column, variable) the operator declared: checks judge by these
    units: tuple[tuple[str, str], ...] = ()  # (column, unit) the operator declared: ranges are judged in these
    skip: tuple[str, ...] | None = None  # columns not imported; None: lagged copies and what a format leaves out
    sheet: str | None = None  # a workbook's sheet (None: the first)
    today: str | None = None  # the import day (ISO); readings after it are held out (None: today, UTC)


@dataclass(frozen=True, eq=False)
class ParsedCSV:
    """The outcome of reading one file: the report, and the frame when the report has no errors."""

    report: ValidationReport
    frame: pd.DataFrame | None
    units: dict[str, str | None]
    sha256: str
    source: SourceFile | None = None  # what an agency format said about the file (None: a plain CSV)


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
    described: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

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


@dataclass
class _Reading:
    """What the blocks of one file share while they are read: options, the source, what is declared and skipped."""

    name: str
    options: ReadOptions
    source: SourceFile | None
    multi: bool
    today: pd.Timestamp | None

    @property
    def declared(self) -> dict[str, str]:
        """Column -> variable: the operator's declarations over the format's mappings."""
        mapped = {c.column: c.variable for c in self.source.columns if c.mapped} if self.source else {}
        return {**mapped, **dict(self.options.variables)}

    def unit(self, column: str) -> str | None:
        """The column's unit: declared, else the format's, else read from its header."""
        found = self.source.column(column) if self.source else None
        return dict(self.options.units).get(column) or (found.unit if found else None) or guess_unit(column)

    def skipped(self, column: str) -> bool:
        """True for a column left out of the import: as the options say, else a lagged copy or a column the
        format does not map; a declared column is never left out."""
        if column in dict(self.options.variables):
            return False
        if self.options.skip is not None:
            return column in self.options.skip
        found = self.source.column(column) if self.source else None
        if found is not None:
            return not found.mapped
        return lag_of(column) is not None or is_quality_column(column)


def read_csv(
    source: str | Path | bytes, *, filename: str | None = None, options: ReadOptions = ReadOptions()
) -> ParsedCSV:
    """Read a file (path or bytes) into a validated daily frame and a report; never writes anything."""
    data, name = _read_bytes(source, filename)
    sha256 = hashlib.sha256(data).hexdigest()
    held = [data]  # handed over: the bytes are dropped once decoded, so a large file is not held twice
    del data
    draft = _Draft()
    frame: pd.DataFrame | None = None
    reading_state: list[_Reading] = []
    try:
        frame = _read(held, name, options, draft, reading_state)
    except _Stop:
        frame = None
    report = draft.report(name)
    state = reading_state[0] if reading_state else None
    units = {c: state.unit(c) if state else guess_unit(c) for c in draft.columns}
    src = state.source.without_blocks() if state and state.source else None
    return ParsedCSV(report=report, frame=frame if report.ok else None, units=units, sha256=sha256, source=src)


def _read(
    held: list[bytes], name: str, options: ReadOptions, draft: _Draft, state: list[_Reading]
) -> pd.DataFrame | None:
    """All reading steps in order (`held`: the file's bytes, taken out to be decoded); fills `draft` and raises
    _Stop when a step cannot go on."""
    source, blocks = _blocks(held.pop(), name, options, draft)
    today = pd.Timestamp(options.today) if options.today else None
    reading = _Reading(name, options, source, len(blocks) > 1, today)
    state.append(reading)
    results = []
    for block in blocks:
        result = _read_block(block, reading, draft)
        if result is not None:
            results.append(result)
    if not results:
        raise draft.stop(make_issue(ERROR, "no_numeric_columns", f"{name} holds no readings the app can import."))
    frame = pd.concat(results, axis=1).sort_index() if len(results) > 1 else results[0]
    if reading.multi:
        draft.issues += _station_warnings(frame, reading.source)
    draft.n_rows = len(frame)
    draft.start = frame.index[0].date().isoformat()
    draft.end = frame.index[-1].date().isoformat()
    draft.skipped = tuple(c for c in draft.columns if reading.skipped(c))
    return None if draft.has_errors() else frame


def _blocks(data: bytes, name: str, options: ReadOptions, draft: _Draft) -> tuple[SourceFile | None, list[Block]]:
    """The file's blocks of text cells: read by its format (RDB, CDEC, workbook), else as one plain table."""
    binary = data.startswith(b"PK\x03\x04")  # a workbook (or another zip): never decoded as text
    decoded = None if binary else reading.decode(data)
    source = read_source(data, name, decoded.text if decoded is not None else None, options.sheet)
    if source is None and decoded is None:
        source = f"{name}: {reading.wrong_kind(data)}"  # a zip that is not a workbook
    del data  # the text (or the source's cells) replace the bytes
    if isinstance(source, str):
        raise draft.unreadable(source)
    if source is None:
        assert decoded is not None
        return None, [Block(_table(decoded, name, draft), None)]
    draft.encoding = decoded.encoding if decoded is not None else None
    draft.described = source.described
    draft.issues += source.issues
    if not source.blocks:
        raise draft.unreadable(f"{name} is a {source.format} file without any rows of readings.")
    return source, list(source.blocks)


def _table(decoded: reading.Decoded, name: str, draft: _Draft) -> reading.CellFrame:
    """The file's text cells in named columns with their file lines; stops when the text is not a table."""
    draft.encoding = decoded.encoding
    if decoded.text is None:
        raise draft.unreadable(f"{name}: {decoded.problem}")
    parsed = reading.read_cells(decoded.text)
    del decoded  # the cells hold what is needed; the text itself can go
    if isinstance(parsed, str):
        raise draft.unreadable(f"{name}: {parsed}")
    draft.separator = parsed.separator
    return parsed


def _label(block: Block, columns: list[str]) -> str:
    """How a block is named in its messages: its station, or its one series."""
    return columns[0] if len(columns) == 1 else (block.station or "")


def _read_block(block: Block, reading_state: _Reading, draft: _Draft) -> pd.DataFrame | None:
    """One block's dates, values, daily frame and warnings (its issues go to the draft); None when it holds none."""
    name, options = reading_state.name, reading_state.options
    parsed = block.cells
    draft.issues += parsed.issues
    cells, lines = parsed.cells, parsed.lines
    if cells.empty:
        if reading_state.multi:
            return None
        draft.n_rows = 0
        raise draft.unreadable(f"{name} has a header line but no data rows. Add one row per date.")
    draft.n_rows += len(cells)
    date_column = block.date_column or _date_column(cells, options, name, draft, _other_sheets(reading_state))
    draft.date_column = draft.date_column or date_column
    time_column = dates.find_time_column(cells, date_column)
    date_cells = cells[date_column]
    if time_column is not None:
        date_cells = (date_cells + " " + cells[time_column]).str.strip()
    stamps = dates.parse_dates(date_cells, lines, date_column, options.dayfirst, dates.is_date_name(date_column))
    draft.issues += stamps.issues
    draft.dayfirst = stamps.dayfirst if draft.dayfirst is None else draft.dayfirst
    valid = stamps.stamps.notna() & ~_held(stamps.stamps, lines, reading_state, draft)
    value_cells = cells.drop(columns=[c for c in (date_column, time_column) if c])
    values, codes = _values(value_cells, lines, draft.separator, name, date_column, reading_state, draft)
    if values is not None and reading_state.source is None:  # an agency format applies its own codes
        values, marked = apply_quality(values, value_cells, lines, stamps.stamps)
        draft.issues += marked
    if values is None or not valid.any():
        if reading_state.multi:
            return None
        if values is not None and stamps.stamps.notna().any():  # every dated row is held out
            raise draft.stop(
                make_issue(
                    ERROR,
                    "no_plausible_dates",
                    f"Every row of {name} is dated where no reading can be (see the held-out rows above); nothing "
                    "can be imported. Correct the dates in the file and import it again.",
                )
            )
        raise _Stop("no valid dates" if values is not None else "no values")
    readings = values[valid].assign(**{STAMP: stamps.stamps[valid], LINE: lines[valid]})
    daily = to_daily(readings, list(values.columns), stamps.has_time, reading_state.declared)
    label = _label(block, list(values.columns)) if reading_state.multi else ""
    issues = list(daily.issues)
    if any(i.code == "conflicting_duplicates" for i in issues):  # several series one below the other?
        series = _series_column(cells.drop(columns=list(values.columns) + [date_column]), stamps.stamps, valid)
        issues = [_long_form(i, series) for i in issues]
    draft.issues += _labelled(issues, label)
    if any(i.severity == ERROR for i in daily.issues):
        return daily.frame
    declared = {c: v for c, v in reading_state.declared.items() if c in daily.frame.columns}
    known_codes = codes[valid].groupby(stamps.stamps[valid].dt.normalize().to_numpy()).any()
    known_codes.index = daily.frame.index
    draft.issues = [
        _dated(issue, known_codes) if issue.code == "sentinel" and issue.column in values.columns else issue
        for issue in draft.issues
    ]
    units = {c: reading_state.unit(c) for c in daily.frame.columns}
    if reading_state.multi:  # the calendar is judged per station, once its blocks are joined (_station_warnings)
        warnings = checks.qc_issues(daily.frame, daily.first_line, declared, known_codes, units)
    else:
        warnings = checks.frame_warnings(daily.frame, daily.first_line, declared, known_codes, units)
    draft.issues += _labelled(warnings, label)
    # A fixed no-data code was read as missing, so its companions are too: cleaning could no longer see the code.
    return daily.frame.mask(find_companions(known_codes, daily.frame, declared))


def _series_column(text: pd.DataFrame, stamps: pd.Series, valid: pd.Series) -> tuple[str, list[str]] | None:
    """A text column that splits the rows into series, each with one row per timestamp (a long-form file: 'measure',
    'parameter', 'station'), and its values; None when there is none."""
    for column in text.columns:
        labels = text[column].astype(str).str.strip()[valid]
        kinds = labels.unique()
        if 2 <= len(kinds) <= 50 and not pd.DataFrame({"s": stamps[valid], "l": labels}).duplicated().any():
            return str(column), [str(k) for k in kinds]
    return None


def _long_form(issue: Issue, series: tuple[str, list[str]] | None) -> Issue:
    """A conflicting-duplicates error that says why when the file lists several series one below the other."""
    if series is None or issue.code != "conflicting_duplicates":
        return issue
    column, kinds = series
    shown = ", ".join(f"'{k.rstrip('/').rsplit('/', 1)[-1][:60]}'" for k in kinds[:3])  # a URL's last part
    return replace(
        issue,
        message=f"{issue.message} The file lists {len(kinds)} series one below the other, told apart by column "
        f"'{column}' ({shown}): split it into one file per '{column}' and import each (as its own reservoir or "
        "declared variable).",
    )


def _station_warnings(frame: pd.DataFrame, source: SourceFile | None) -> list[Issue]:
    """Gaps and short records per station of a file holding several (or per block when they name none)."""
    by_station: dict[str, list[str]] = {}
    for column in frame.columns:
        found = source.column(column) if source else None
        by_station.setdefault((found.station if found else None) or str(column), []).append(column)
    out: list[Issue] = []
    for station, columns in by_station.items():
        days = frame.index[frame[columns].notna().any(axis=1).to_numpy()]
        out += _labelled(checks.record_warnings(days), f"Station {station}")
    return out


def _explained(issues: list[Issue], source: SourceFile | None) -> list[Issue]:
    """The 'empty cells' warnings without the cells an agency code already explained (each is said once)."""
    if source is None:
        return issues
    out = []
    for issue in issues:
        known = source.explained.get(str(issue.column)) if issue.code == "missing_values" else None
        if not known:
            out.append(issue)
            continue
        rest = [r for r in issue.rows if r not in known]
        if rest:
            out.append(
                make_issue(
                    WARNING,
                    "missing_values",
                    f"Column '{issue.column}': {plural(len(rest), 'empty cell')} ({lines_text(rest)}) besides the "
                    f"agency codes named above; {verb(len(rest), 'it is', 'they are')} read as missing.",
                    column=issue.column,
                    rows=rest,
                )
            )
    return out


def _labelled(issues: list[Issue] | tuple[Issue, ...], label: str) -> list[Issue]:
    """Issues about a whole block (gaps, few days) prefixed with the block's name when the file has several."""
    if not label:
        return list(issues)
    return [i if i.column else replace(i, message=f"{label}: {i.message}", column=label) for i in issues]


def _held(stamps: pd.Series, lines: pd.Series, reading_state: _Reading, draft: _Draft) -> pd.Series:
    """Rows dated after the import day, before any daily record, or stranded far from the rest: held out of the
    record, with a warning naming their lines and dates."""
    valid = stamps.notna()
    found = held_out(stamps[valid], reading_state.today)
    mask = pd.Series(False, index=stamps.index)
    if not found.any:
        return mask
    mask[valid] = found.mask
    cells = Cells.pick(stamps.dt.strftime("%Y-%m-%d"), lines, mask)
    n = cells.count
    draft.issues.append(
        cells.issue(
            WARNING,
            "held_out_dates",
            f"{plural(n, 'row')} {verb(n, 'is', 'are')} dated where no reading can be and {verb(n, 'is', 'are')} "
            f"held out of the record, not imported ({cells.where()}): {held_text(found.reasons)}. A date like this "
            "is nearly always a typing or export error (a two-digit year, a spreadsheet's zero date). Correct the "
            "date in the file and import it again; the other rows are imported as they are.",
        )
    )
    return mask


def _dated(issue: Issue, known_codes: pd.DataFrame) -> Issue:
    """A no-data-code warning (found before dates were read) with the days its codes are on."""
    if issue.column not in known_codes.columns:
        return issue
    runs = date_runs(known_codes[issue.column])
    return replace(issue, runs=runs, message=f"{issue.message} Days: {runs_text(runs)}.")


def _other_sheets(reading_state: _Reading) -> tuple[str, ...]:
    """A workbook's other sheets when the first was read without being chosen (empty otherwise)."""
    source = reading_state.source
    if source is None or reading_state.options.sheet or len(source.sheets) < 2:
        return ()
    return source.sheets[1:]


def _date_column(
    cells: pd.DataFrame, options: ReadOptions, name: str, draft: _Draft, other_sheets: tuple[str, ...] = ()
) -> str:
    """The column the dates are read from; stops when there is none (naming a workbook's other sheets, where the
    readings may be) or the header line is missing."""
    found = dates.find_date_column(cells, options.date_column, name)
    if isinstance(found, Issue):
        if other_sheets and found.code == "no_date_column":
            sheets = ", ".join(f"'{s}'" for s in other_sheets)
            found = replace(
                found,
                message=f"{found.message} This is the workbook's first sheet; its other sheets are {sheets}: choose "
                "the one with the readings (--sheet NAME, or the sheet picker on the Data page).",
            )
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
    return found


def _values(
    cells: pd.DataFrame,
    lines: pd.Series,
    separator: str | None,
    name: str,
    date_column: str,
    reading_state: _Reading,
    draft: _Draft,
) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """The imported numeric columns as floats and where they held no-data codes (None when the block has none).

    A column left out of the import is read too (so it can be offered), but its bad cells are only a warning.
    """
    draft.decimal = draft.decimal or numbers.detect_decimal(cells, separator)
    values, issues, codes = numbers.read_values(cells, lines, draft.decimal)
    skipped = [c for c in values.columns if reading_state.skipped(c)]
    kept_issues = [_not_imported(i) if i.column in skipped else i for i in issues]
    draft.issues += _explained([i for i in kept_issues if i is not None], reading_state.source)
    draft.issues += _bad_units([c for c in values.columns if c not in skipped])
    draft.columns = (*draft.columns, *values.columns, *_bad_columns(issues, values.columns, skipped))
    values, codes = values.drop(columns=skipped), codes.drop(columns=skipped)
    if values.columns.empty:
        if reading_state.multi or skipped:
            return None, codes
        raise draft.stop(
            make_issue(
                ERROR,
                "no_numeric_columns",
                f"{name} has dates in '{date_column}' but no column of numbers. Add one numeric column per variable "
                "(e.g. level, inflow).",
            )
        )
    return values, codes


def _bad_columns(issues: list[Issue], read: pd.Index, skipped: list[str]) -> list[str]:
    """Columns dropped as text that are left out anyway: still listed, so they can be chosen."""
    return [i.column for i in issues if i.code == "ignored_column" and i.column in skipped and i.column not in read]


def _not_imported(issue: Issue) -> Issue | None:
    """A finding in a column that is not imported: bad cells become a warning, everything else goes."""
    if issue.code != "non_numeric":
        return None
    return replace(
        issue,
        severity=WARNING,
        code="not_imported_bad_cells",
        message=f"{issue.message.split(' Fix or blank')[0].rstrip('.')}. The column is not imported, so this does "
        "not stop the import; fix the cells if you want to import it.",
    )


def _bad_units(columns: list[str]) -> list[Issue]:
    """bad_unit errors: a unit in a header's brackets that holds control characters or is absurdly long."""
    out = []
    for column in columns:
        inside = bracket_unit(column)
        if inside is not None and (problem := name_problem(inside, f"The unit of column {shown(column)}")):
            out.append(make_issue(ERROR, "bad_unit", f"{problem} Rename the column in the file.", column=column))
    return out
