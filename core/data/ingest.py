"""Read a reservoir CSV into a validated daily frame plus a report the user can act on; store nothing.

Content problems never raise: they become `Issue`s in the `ValidationReport` (errors block the
import, warnings travel with the data). Only misuse (a path that does not exist) raises.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data import qc
from core.data.variables import canonical_name, daily_aggregate, guess_unit

MIN_TRAIN_DAYS = 60  # fewer days than this: importable, but too short to train a forecast
MAX_ROWS_LISTED = 20  # file line numbers kept per issue
MAX_EXAMPLES = 5  # raw values quoted per issue
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "--", "---", "#n/a", "nil", "missing"})
DATE_NAME_WORDS = frozenset(
    {"date", "datetime", "time", "timestamp", "day", "fecha", "datum", "data", "dia", "jour", "dt", "tarih"}
)
TIME_NAME_WORDS = frozenset({"time", "hour", "hora", "zeit", "heure", "ora"})
SEPARATORS = ("\t", ";", ",", "|")  # tie-break order: a comma may be a decimal mark, the others not
_SEP_NAMES = {"\t": "tab", ";": "semicolon", ",": "comma", "|": "pipe"}

ERROR = "error"
WARNING = "warning"


class IngestError(ValueError):
    """Raised only for misuse, e.g. a path that does not exist; bad content goes in the report."""


@dataclass(frozen=True)
class ReadOptions:
    """Choices the user can force when automatic detection cannot (or should not) decide."""

    date_column: str | None = None  # None: detect the date column automatically
    dayfirst: bool | None = None  # None: decide from unambiguous rows; ambiguous file -> error


@dataclass(frozen=True)
class Issue:
    """One problem found in the file, phrased so the user knows where it is and what to do."""

    severity: str  # "error" (blocks import) | "warning" (listed and kept with the data)
    code: str
    message: str
    column: str | None = None
    rows: tuple[int, ...] = ()  # file line numbers (header = line 1), at most 20
    count: int = 0
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the UI, the CLI's --json output and stored import records."""
        data = asdict(self)
        data["rows"] = list(self.rows)
        data["examples"] = list(self.examples)
        return data


@dataclass(frozen=True)
class ValidationReport:
    """Everything learned about a file while reading it: how it was read and what is wrong."""

    filename: str
    encoding: str | None
    separator: str | None
    decimal: str | None
    date_column: str | None
    dayfirst: bool | None  # None when no date needed the order (ISO, named months) or none was found
    n_rows: int  # days in the frame; data rows read when the file was not imported
    start: str | None
    end: str | None
    columns: tuple[str, ...]
    issues: tuple[Issue, ...]

    @property
    def ok(self) -> bool:
        """True when nothing blocks the import (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> tuple[Issue, ...]:
        """Issues that must be fixed before the data can be used."""
        return tuple(i for i in self.issues if i.severity == ERROR)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """Issues that are listed and kept with the imported data."""
        return tuple(i for i in self.issues if i.severity == WARNING)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict, including the derived 'ok' flag."""
        data = asdict(self)
        data["columns"] = list(self.columns)
        data["issues"] = [i.to_dict() for i in self.issues]
        data["ok"] = self.ok
        data["n_errors"] = len(self.errors)
        data["n_warnings"] = len(self.warnings)
        return data

    def read_as(self) -> list[str]:
        """How the file was read (encoding, separator, decimal mark, date column and order), for every report view."""
        how = [f"encoding {self.encoding}"] if self.encoding else []
        if self.separator:
            how.append(f"{_SEP_NAMES.get(self.separator, repr(self.separator))}-separated")
        if self.decimal:
            how.append(f"decimal '{self.decimal}'")
        if self.date_column:
            order = {True: "day-first", False: "month-first", None: "unambiguous"}[self.dayfirst]
            how.append(f"dates from '{self.date_column}' ({order})")
        return how

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the CLI: what was read, each issue, and the verdict."""
        lines = []
        if self.start and self.end:
            lines.append(f"{self.filename}: {_plural(self.n_rows, 'day')}, {self.start} to {self.end}")
        else:
            lines.append(f"{self.filename}: {_plural(self.n_rows, 'data row')}")
        if self.columns:
            lines.append("  columns: " + ", ".join(self.columns))
        how = self.read_as()
        if how:
            lines.append("  read as: " + ", ".join(how))
        for issue in self.issues:
            label = "ERROR  " if issue.severity == ERROR else "warning"
            lines.append(f"  {label} [{issue.code}] {issue.message}")
        if self.ok:
            extra = f" ({_plural(len(self.warnings), 'warning')})" if self.warnings else ""
            lines.append(f"  OK: ready to import{extra}.")
        else:
            errors = "error" if len(self.errors) == 1 else f"{len(self.errors)} errors"
            lines.append(f"  NOT IMPORTED: fix the {errors} above and upload the file again.")
        return lines


@dataclass(frozen=True, eq=False)
class ParsedCSV:
    """The outcome of reading one file: the report, and the frame when the report has no errors."""

    report: ValidationReport
    frame: pd.DataFrame | None
    units: dict[str, str | None]
    sha256: str


# --------------------------------------------------------------------------- small helpers


def _lines_text(rows: list[int] | tuple[int, ...] | np.ndarray, count: int | None = None) -> str:
    """'line 5' / 'lines 5, 9, 12 (and 40 more)' for messages."""
    rows = [int(r) for r in rows]
    total = len(rows) if count is None else count
    shown = rows[:8]
    if not shown:
        return ""
    word = "line" if total == 1 else "lines"
    text = f"{word} {', '.join(str(r) for r in shown)}"
    if total > len(shown):
        text += f" (and {total - len(shown)} more)"
    return text


def _plural(n: int, word: str, plural: str | None = None) -> str:
    """'1 row' / '3 rows' for messages."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _verb(n: int, singular: str, plural: str) -> str:
    """Agree a verb phrase with a count."""
    return singular if n == 1 else plural


def _examples(values: Any) -> tuple[str, ...]:
    """First few distinct offending raw values, as short text."""
    seen: list[str] = []
    for value in values:
        text = str(value)
        text = text if len(text) <= 40 else text[:37] + "..."
        if text not in seen:
            seen.append(text)
        if len(seen) >= MAX_EXAMPLES:
            break
    return tuple(seen)


def _quoted(examples: tuple[str, ...], limit: int = 3) -> str:
    """Quote the first few examples for a message: 'a', 'b'."""
    return ", ".join(f"'{e}'" for e in examples[:limit])


def _issue(
    severity: str,
    code: str,
    message: str,
    *,
    column: str | None = None,
    rows: Any = (),
    count: int | None = None,
    examples: tuple[str, ...] = (),
) -> Issue:
    """Build an Issue with rows capped at MAX_ROWS_LISTED and count defaulting to len(rows)."""
    rows_list = [int(r) for r in rows]
    return Issue(
        severity=severity,
        code=code,
        message=message,
        column=column,
        rows=tuple(rows_list[:MAX_ROWS_LISTED]),
        count=len(rows_list) if count is None else int(count),
        examples=examples,
    )


# --------------------------------------------------------------------------- bytes -> table


def _decode(data: bytes) -> tuple[str | None, str | None, str | None]:
    """Return (text, encoding, problem); problem says why the bytes are not a text CSV."""
    if not data.strip():
        return None, None, "The file is empty. Upload a CSV with a header line and one row per date."
    if data.startswith(b"PK\x03\x04"):
        return (
            None,
            None,
            (
                "This looks like an Excel workbook (.xlsx), not a CSV. "
                "Save the sheet as CSV (comma, semicolon or tab separated) and upload that."
            ),
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", None
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:4096]:
        return (
            None,
            None,
            (
                "The file contains binary data, not text. "
                "Export the data as a CSV text file (comma, semicolon or tab separated)."
            ),
        )
    text, encoding = None, None
    if data.startswith(b"\xef\xbb\xbf"):
        with contextlib.suppress(UnicodeDecodeError):
            text, encoding = data.decode("utf-8-sig"), "utf-8-sig"
    if text is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            latin = data.decode("latin-1")
            try:
                cp = data.decode("cp1252")
                text, encoding = cp, ("cp1252" if cp != latin else "latin-1")
            except UnicodeDecodeError:
                text, encoding = latin, "latin-1"
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n" or 0x7F <= ord(ch) < 0xA0)
    if controls > max(3, len(sample) // 100):
        return (
            None,
            None,
            (
                "The file does not look like text (it is full of control characters). "
                "Export the data as a CSV text file and upload that."
            ),
        )
    if re.match(r"\s*<(!doctype|html|\?xml)", sample, re.IGNORECASE):
        return (
            None,
            None,
            (
                "This is a web page or XML document, not a CSV. "
                "Download the raw CSV file (e.g. the 'Raw' button on GitHub) and upload that."
            ),
        )
    return text, encoding, None


def _field_counts(lines: list[str], sep: str) -> list[int]:
    """Number of fields on each sample line when split on `sep` (quotes respected)."""
    return [len(row) for row in csv.reader(lines, delimiter=sep)]


def _sniff_separator(lines: list[str]) -> str | None:
    """Pick the separator that gives the header >= 2 fields and the same count on most data lines."""
    best: tuple[float, int, int] | None = None
    choice = None
    for rank, sep in enumerate(SEPARATORS):
        counts = _field_counts(lines, sep)
        header_n = counts[0]
        if header_n < 2:
            continue
        data = counts[1:] or [header_n]
        consistent = sum(1 for c in data if c == header_n) / len(data)
        if consistent < 0.8:
            continue
        score = (consistent, header_n, -rank)
        if best is None or score > best:
            best, choice = score, sep
    return choice


@dataclass
class _Table:
    """The raw cells of a file with the file line number of each data row."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    separator: str | None
    issues: list[Issue] = field(default_factory=list)


def _split_table(text: str) -> _Table | str:
    """Split text into header and rows, or return why it cannot be read."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    all_lines = text.split("\n")
    skip = 0
    forced_sep = None
    while skip < len(all_lines) and (not all_lines[skip].strip() or all_lines[skip].lstrip().startswith("#")):
        skip += 1
    if skip < len(all_lines):
        match = re.fullmatch(r'\s*"?sep=(.)"?\s*', all_lines[skip])
        if match:  # Excel's "sep=;" hint line
            forced_sep = match.group(1)
            skip += 1
    body = all_lines[skip:]
    sample = [ln for ln in body[:200] if ln.strip()][:60]
    if not sample:
        return "The file has no header line or data. Upload a CSV with a header line and one row per date."
    sep = forced_sep or _sniff_separator(sample)
    reader = csv.reader(io.StringIO("\n".join(body)), delimiter=sep or ",")
    header: list[str] | None = None
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    previous_end = 0
    for record in reader:
        start = previous_end + 1 + skip
        previous_end = reader.line_num
        cells = [c.strip() for c in record]
        if not any(cells):
            continue
        if header is None:
            header = cells
            continue
        rows.append(cells)
        line_numbers.append(start)
    if header is None:
        return "The file has no header line or data. Upload a CSV with a header line and one row per date."
    return _Table(header, rows, line_numbers, sep)


def _shape_table(table: _Table) -> tuple[list[str], list[list[str]]]:
    """Give every row the header's width: pad short rows, report rows with extra filled cells."""
    width = len(table.header)
    widths = [len(r) for r in table.rows]
    max_width = max(widths + [width])
    header = table.header + [""] * (max_width - width)
    overflow = [
        line for line, row in zip(table.lines, table.rows, strict=True) if len(row) > width and any(row[width:])
    ]
    if overflow:
        sep = _SEP_NAMES.get(table.separator or ",", "comma")
        hint = (
            " A decimal comma in a comma-separated file does this: quote such numbers or use ';' as separator."
            if table.separator == ","
            else ""
        )
        table.issues.append(
            _issue(
                ERROR,
                "ragged_rows",
                f"{_lines_text(overflow)} {_verb(len(overflow), 'has', 'have')} more cells than the header "
                f"({width} {sep}-separated columns). "
                f"Remove the extra cells or quote cells that contain the separator.{hint}",
                rows=overflow,
            )
        )
    rows = [r + [""] * (max_width - len(r)) if len(r) < max_width else r for r in table.rows]
    return header, rows


def _name_columns(header: list[str]) -> tuple[list[str], list[Issue]]:
    """Fill empty header names and make duplicates unique, so every column can be addressed."""
    names: list[str] = []
    issues: list[Issue] = []
    for i, name in enumerate(header):
        name = name.strip() or f"column_{i + 1}"
        if name in names:
            new = f"{name}_{i + 1}"
            issues.append(
                _issue(
                    WARNING,
                    "duplicate_column",
                    f"Two columns are named '{name}'; the second (column {i + 1}) is called '{new}'.",
                    column=new,
                )
            )
            name = new
        names.append(name)
    return names, issues


# --------------------------------------------------------------------------- dates

_ISO_RE = r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:(?:T|\s+)(?P<t>.+))?$"
_DMY_RE = r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4}|\d{2})(?:(?:T|[\s,]+)(?P<t>.+))?$"
_COMPACT_RE = r"^(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})$"
_TIME_RE = (
    r"^(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?\s*(?P<p>[AaPp]\.?[Mm]\.?)?"
    r"\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})?$"
)
_NAMED_FORMATS = (
    "%d-%b-%Y",
    "%d %b %Y",
    "%d-%b-%y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%Y-%b-%d",
    "%d.%b.%Y",
    "%d/%b/%Y",
    "%d-%B-%Y",
)
_MONTH_WORD = re.compile(r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.IGNORECASE)


@dataclass
class _Dates:
    """Parsed date column: timestamps per row (NaT where invalid) and what decided the order."""

    stamps: pd.Series
    dayfirst: bool | None
    issues: list[Issue]
    has_time: bool


_ISO_C = re.compile(_ISO_RE)
_DMY_C = re.compile(_DMY_RE)
_COMPACT_C = re.compile(_COMPACT_RE)
_TIME_C = re.compile(_TIME_RE)


def _time_seconds(text: str | None) -> float | None:
    """Seconds after midnight for 'HH:MM[:SS] [AM/PM]', 0 when absent, None when unreadable."""
    if not text:
        return 0.0
    match = _TIME_C.match(text.strip())
    if not match:
        return None
    hours, minutes = int(match["H"]), int(match["M"])
    seconds = int(match["S"] or 0)
    if match["p"]:
        hours = hours % 12 + (12 if match["p"].lower().startswith("p") else 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return hours * 3600.0 + minutes * 60.0 + seconds


def _classify_dates(cells: pd.Series, allow_compact: bool) -> pd.DataFrame:
    """Split date text into year / a / b components, seconds of day and a kind per row.

    kind: 'iso' (a = month, b = day), 'dmy' (a, b in the order written), 'empty' or 'bad'.
    Plain-Python loop on purpose: it is several times faster than pandas string methods here.
    """
    texts = ["" if v is None or v is pd.NA else str(v).strip() for v in cells.tolist()]
    n = len(texts)
    kind = ["bad"] * n
    y = np.full(n, np.nan)
    a = np.full(n, np.nan)
    b = np.full(n, np.nan)
    secs = np.zeros(n)
    named: list[int] = []
    for i, text in enumerate(texts):
        if not text:
            kind[i] = "empty"
            continue
        match = _ISO_C.match(text)
        if match:
            kind[i], y[i], a[i], b[i] = "iso", int(match["y"]), int(match["m"]), int(match["d"])
        else:
            match = _DMY_C.match(text)
            if match:
                year = int(match["y"])
                if len(match["y"]) == 2:
                    year += 2000 if year <= 68 else 1900
                kind[i], y[i], a[i], b[i] = "dmy", year, int(match["a"]), int(match["b"])
            elif allow_compact and (match := _COMPACT_C.match(text)):
                kind[i], y[i], a[i], b[i] = "iso", int(match["y"]), int(match["m"]), int(match["d"])
                continue
            else:
                if _MONTH_WORD.search(text):
                    named.append(i)
                continue
        seconds = _time_seconds(match["t"])
        if seconds is None:
            kind[i], y[i] = "bad", np.nan
        else:
            secs[i] = seconds
    if named:
        subset = pd.Series([texts[i] for i in named], dtype=object)
        stamps = pd.Series(pd.NaT, index=subset.index, dtype="datetime64[ns]")
        for fmt in _NAMED_FORMATS:
            todo = stamps.isna()
            if not todo.any():
                break
            stamps[todo] = pd.to_datetime(subset[todo], format=fmt, errors="coerce")
        for j, stamp in stamps.dropna().items():
            i = named[int(j)]
            kind[i], y[i], a[i], b[i] = "iso", stamp.year, stamp.month, stamp.day
    return pd.DataFrame({"kind": kind, "y": y, "a": a, "b": b, "secs": secs}, index=cells.index)


def _date_share(cells: pd.Series, allow_compact: bool) -> float:
    """Share of non-empty cells that look like dates, to find the date column."""
    kinds = _classify_dates(cells, allow_compact)["kind"]
    filled = kinds != "empty"
    if not filled.any():
        return 0.0
    return float((kinds[filled] != "bad").mean())


def _is_date_name(name: str) -> bool:
    """True for headers such as 'Date', 'DateTime', 'fecha', 'Datum (UTC)'."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", name.strip())
    tokens = set(re.split(r"[^0-9a-zA-Z\u00c0-\u024f]+", text.lower()))
    return bool(tokens & DATE_NAME_WORDS)


def _parse_dates(cells: pd.Series, lines: pd.Series, column: str, dayfirst: bool | None, allow_compact: bool) -> _Dates:
    """Turn the date column into timestamps, deciding day/month order only from unambiguous rows."""
    info = _classify_dates(cells, allow_compact)
    issues: list[Issue] = []
    raw = cells.astype("string").str.strip()
    dmy = info["kind"] == "dmy"
    a, b = info["a"], info["b"]
    only_dayfirst = dmy & (a > 12) & (b <= 12)
    only_monthfirst = dmy & (b > 12) & (a <= 12)
    ambiguous = dmy & (a <= 12) & (b <= 12)
    order = dayfirst
    if dmy.any() and order is None:
        n_day, n_month = int(only_dayfirst.sum()), int(only_monthfirst.sum())
        if n_day and n_month:
            minority = only_monthfirst if n_month <= n_day else only_dayfirst
            majority = only_dayfirst if n_month <= n_day else only_monthfirst
            maj_word = "day-first" if majority is only_dayfirst else "month-first"
            min_word = "month-first" if maj_word == "day-first" else "day-first"
            mino_lines = lines[minority].tolist()
            issues.append(
                _issue(
                    ERROR,
                    "inconsistent_dates",
                    f"Column '{column}' mixes date orders: {int(majority.sum())} rows only make sense {maj_word} "
                    f"(e.g. {_quoted(_examples(raw[majority]), 1)}) but {_lines_text(mino_lines)} only make sense "
                    f"{min_word} (e.g. {_quoted(_examples(raw[minority]), 2)}). Write all dates in one order.",
                    column=column,
                    rows=mino_lines,
                    examples=_examples(raw[minority]),
                )
            )
            return _Dates(pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]"), None, issues, False)
        if n_day:
            order = True
        elif n_month:
            order = False
        elif ambiguous.any():
            issues.append(
                _issue(
                    ERROR,
                    "ambiguous_dates",
                    f"Column '{column}': no date has a day above 12 (e.g. {_quoted(_examples(raw[ambiguous]), 2)}), "
                    "so day/month order cannot be told. Choose the order: pass --dayfirst or --monthfirst (CLI), "
                    "or pick it in the upload form.",
                    column=column,
                    count=int(ambiguous.sum()),
                    examples=_examples(raw[ambiguous]),
                )
            )
            return _Dates(pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]"), None, issues, False)
    months = info["a"].copy()
    days = info["b"].copy()
    if order is True:  # dd/mm/yyyy
        months[dmy], days[dmy] = b[dmy], a[dmy]
    stamps = pd.to_datetime(pd.DataFrame({"year": info["y"], "month": months, "day": days}), errors="coerce")
    stamps = stamps + pd.to_timedelta(info["secs"], unit="s")
    has_time = bool((info["secs"] != 0).any())
    bad = stamps.isna()
    if bad.any():
        bad_lines = lines[bad].tolist()
        how = ""
        if dayfirst is not None and dmy[bad].any():
            how = f" when read {'day-first' if dayfirst else 'month-first'} (as chosen)"
        empty = int((info["kind"][bad] == "empty").sum())
        empty_note = f" ({empty} of them empty)" if empty else ""
        n_bad = int(bad.sum())
        issues.append(
            _issue(
                ERROR,
                "bad_dates",
                f"Column '{column}': {_plural(n_bad, 'cell')} "
                f"{_verb(n_bad, 'is not a valid date', 'are not valid dates')}{how}{empty_note}: "
                f"{_lines_text(bad_lines)}, e.g. {_quoted(_examples(raw[bad].fillna('')))}. "
                "Fix or remove these rows.",
                column=column,
                rows=bad_lines,
                examples=_examples(raw[bad].fillna("")),
            )
        )
    return _Dates(stamps, order if dmy.any() else None, issues, has_time)


def _find_date_column(frame: pd.DataFrame, options: ReadOptions, filename: str) -> tuple[str | None, Issue | None]:
    """Name of the date column (named by the user, by header, or by content) or a no_date_column error."""
    names = list(frame.columns)
    listing = ", ".join(f"'{n}'" for n in names)
    if options.date_column is not None:
        wanted = options.date_column.strip()
        for name in names:
            if name == wanted:
                return name, None
        for name in names:
            if name.lower() == wanted.lower():
                return name, None
        return None, _issue(
            ERROR,
            "no_date_column",
            f"There is no column '{wanted}' in {filename}. Columns are: {listing}.",
            column=wanted,
        )
    sample = frame.head(500)
    by_name = [(n, _date_share(sample[n], True)) for n in names if _is_date_name(n)]
    by_name = [(n, s) for n, s in by_name if s > 0]
    if by_name:
        best = max(by_name, key=lambda item: item[1])
        if best[1] >= 0.5:
            return best[0], None
    for name in names:
        if _date_share(sample[name], False) >= 0.8:
            return name, None
    if by_name:
        return by_name[0][0], None
    return None, _issue(
        ERROR,
        "no_date_column",
        f"No column of dates found in {filename} (columns: {listing}). It looks like a table without dates "
        "(e.g. a station list). A reservoir CSV needs one date column and one column per variable, "
        "e.g. 'date,level,inflow'.",
    )


def _find_time_column(frame: pd.DataFrame, date_column: str) -> str | None:
    """A separate time-of-day column ('Date;Time;Level' loggers) to merge into the timestamps."""
    for name in frame.columns:
        if name == date_column:
            continue
        filled = [c for c in frame[name].head(500).tolist() if c]
        if not filled or ":" not in filled[0]:
            continue
        share = sum(1 for c in filled if _TIME_C.match(c)) / len(filled)
        words = set(re.split(r"[^a-z]+", name.lower()))
        if share >= 0.8 and (words & TIME_NAME_WORDS or share == 1.0):
            return name
    return None


# --------------------------------------------------------------------------- numbers


_COMMA_DEC = re.compile(r"[+-]?\d*,\d+|[+-]?\d{1,3}(?:[.\s'\u00a0\u202f]\d{3})+,\d+")
_DOT_DEC = re.compile(r"[+-]?\d*\.\d+|[+-]?\d{1,3}(?:[,\s'\u00a0\u202f]\d{3})+\.\d+")
_COMMA_OR_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")  # '1,234': 1.234 or 1234?
_DOT_OR_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}\.\d{3}")


def _detect_decimal(frame: pd.DataFrame, separator: str | None) -> str:
    """'.' or ',' from cells that can only be read one way; a ',' separator implies '.'."""
    if separator == ",":
        return "."
    comma = dot = comma_either = 0
    for name in frame.columns:
        for text in frame[name].head(2000).tolist():
            if _COMMA_OR_THOUSANDS.fullmatch(text):
                comma_either += 1
            elif _COMMA_DEC.fullmatch(text):
                comma += 1
            elif _DOT_DEC.fullmatch(text) and not _DOT_OR_THOUSANDS.fullmatch(text):
                dot += 1
    if comma > dot or (comma == dot == 0 and comma_either):
        return ","
    return "."


_GROUPED_DOT = re.compile(r"[+-]?\d{1,3}(?:[,\s'\u00a0\u202f]\d{3})+(?:\.\d*)?")
_GROUPED_COMMA = re.compile(r"[+-]?\d{1,3}(?:[.\s'\u00a0\u202f]\d{3})+(?:,\d*)?")


def _number_text(text: str, decimal: str) -> str:
    """Rewrite one cell in Python's number syntax: drop thousands marks, use '.' as decimal."""
    text = text.replace("\u2212", "-")  # typographic minus from word processors
    if decimal == ",":
        if _GROUPED_COMMA.fullmatch(text):
            text = re.sub(r"[.\s'\u00a0\u202f]", "", text)
        return text.replace(",", ".")
    if _GROUPED_DOT.fullmatch(text):
        return re.sub(r"[,\s'\u00a0\u202f]", "", text)
    return text


def _to_numbers(cells: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(float values, missing-marker mask, not-a-number mask) for one column of text cells."""
    texts = cells.tolist()
    missing = pd.Series([t.lower() in MISSING_MARKERS for t in texts], index=cells.index, dtype=bool)
    if decimal == ",":
        texts = [_number_text(t, decimal) for t in texts]
    numbers = pd.to_numeric(pd.Series(texts, index=cells.index, dtype=object), errors="coerce").astype(float)
    retry = numbers.isna() & ~missing
    if decimal == "." and retry.any():  # fast path missed: thousands separators, odd spaces
        fixed = [_number_text(texts[i], decimal) for i in np.flatnonzero(retry.to_numpy())]
        numbers[retry] = pd.to_numeric(
            pd.Series(fixed, index=numbers.index[retry], dtype=object), errors="coerce"
        ).astype(float)
    finite = np.isfinite(numbers)
    bad = ~missing & ~finite
    return numbers.where(finite), missing, bad


# --------------------------------------------------------------------------- frame checks


def _gap_issue(index: pd.DatetimeIndex) -> Issue | None:
    """missing_days warning: how many days are absent, in how many gaps, and the longest one."""
    if len(index) < 2:
        return None
    steps = np.diff(index.values).astype("timedelta64[D]").astype(int)
    gaps = steps[steps > 1] - 1
    if not len(gaps):
        return None
    longest = int(np.argmax(steps))
    first = (index[longest] + pd.Timedelta(days=1)).date().isoformat()
    last = (index[longest + 1] - pd.Timedelta(days=1)).date().isoformat()
    total = int(gaps.sum())
    return _issue(
        WARNING,
        "missing_days",
        f"{total} days are missing from the calendar in {len(gaps)} gap(s); the longest is {int(gaps.max())} days "
        f"({first} to {last}). Short gaps are interpolated when cleaning; long gaps are left out of training.",
        count=total,
    )


def _qc_issues(frame: pd.DataFrame, first_line: pd.Series) -> list[Issue]:
    """negative / spike / flatline warnings per column, with file lines and dates."""
    issues: list[Issue] = []
    for name in frame.columns:
        values = frame[name]
        variable = canonical_name(name)
        negative = qc.find_impossible(values, name)
        if negative.any():
            where = first_line[negative].tolist()
            issues.append(
                _issue(
                    WARNING,
                    "negative",
                    f"Column '{name}': {_plural(int(negative.sum()), 'negative value')} ({_lines_text(where)}, "
                    f"e.g. {_quoted(_examples(values[negative]))}) although {variable} cannot be below zero; "
                    "cleaning masks them.",
                    column=name,
                    rows=where,
                    examples=_examples(values[negative]),
                )
            )
        spikes = qc.find_spikes(values, variable=name)
        if spikes.any():
            where = first_line[spikes].tolist()
            dates = ", ".join(d.date().isoformat() for d in values.index[spikes][:5])
            n_spikes = int(spikes.sum())
            issues.append(
                _issue(
                    WARNING,
                    "spike",
                    f"Column '{name}': {_plural(n_spikes, 'value')} {_verb(n_spikes, 'jumps', 'jump')} away and "
                    f"straight back ({_lines_text(where)}; {dates}), which looks like a data error; cleaning masks and "
                    "interpolates them.",
                    column=name,
                    rows=where,
                    examples=_examples(values[spikes]),
                )
            )
        flat = qc.find_flatlines(values)
        if flat.any():
            where = first_line[flat].tolist()
            position = np.flatnonzero(flat.to_numpy())
            level = values.to_numpy()[position]
            run_id = np.cumsum(np.r_[True, (np.diff(position) > 1) | (level[1:] != level[:-1])])
            longest = np.flatnonzero(run_id == np.bincount(run_id).argmax())
            start, end = values.index[position[longest[0]]], values.index[position[longest[-1]]]
            span = f"{start.date().isoformat()} to {end.date().isoformat()}"
            n_runs = int(run_id.max())
            if n_runs == 1:
                what = f"{len(longest)} readings in a row hold the same value ({span})"
            else:
                what = (
                    f"{n_runs} stretches of 14 or more readings hold one unchanging value ({int(flat.sum())} "
                    f"readings; the longest is {len(longest)}, {span})"
                )
            issues.append(
                _issue(
                    WARNING,
                    "flatline",
                    f"Column '{name}': {what}. A frozen sensor does this; check them. They are kept.",
                    column=name,
                    rows=where,
                    examples=_examples(values[flat]),
                )
            )
    return issues


# --------------------------------------------------------------------------- main entry


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
    draft = _Draft()
    frame: pd.DataFrame | None = None
    try:
        frame = _read(data, name, options, draft)
    except _Stop:
        frame = None
    report = draft.report(name)
    units = {c: guess_unit(c) for c in draft.columns}
    return ParsedCSV(
        report=report, frame=frame if report.ok else None, units=units, sha256=hashlib.sha256(data).hexdigest()
    )


def _read(data: bytes, name: str, options: ReadOptions, draft: _Draft) -> pd.DataFrame | None:
    """All reading steps in order; fills `draft` and raises _Stop when a step cannot go on."""
    text, draft.encoding, problem = _decode(data)
    if text is None:
        raise draft.stop(_issue(ERROR, "unreadable", f"{name}: {problem}"))
    table = _split_table(text)
    if isinstance(table, str):
        raise draft.stop(_issue(ERROR, "unreadable", f"{name}: {table}"))
    draft.separator = table.separator
    cells, lines = _cells_frame(table, draft)
    draft.n_rows = len(cells)
    if cells.empty:
        raise draft.stop(
            _issue(ERROR, "unreadable", f"{name} has a header line but no data rows. Add one row per date.")
        )
    date_column, problem_issue = _find_date_column(cells, options, name)
    if date_column is None:
        raise draft.stop(problem_issue)
    if _date_share(pd.Series([date_column]), True) == 1.0:
        raise draft.stop(
            _issue(
                ERROR,
                "no_header",
                f"The first line of {name} looks like data ('{date_column}'), not column names. "
                "Add a header line such as 'date,level' at the top.",
            )
        )
    draft.date_column = date_column
    time_column = _find_time_column(cells, date_column)
    date_cells = cells[date_column]
    if time_column is not None:
        date_cells = (date_cells + " " + cells[time_column]).str.strip()
    dates = _parse_dates(date_cells, lines, date_column, options.dayfirst, _is_date_name(date_column))
    draft.issues += dates.issues
    draft.dayfirst = dates.dayfirst

    value_cells = cells.drop(columns=[c for c in (date_column, time_column) if c])
    draft.decimal = _detect_decimal(value_cells, table.separator)
    values = _read_values(value_cells, lines, draft.decimal, draft)
    draft.columns = tuple(values.columns)
    if values.columns.empty:
        raise draft.stop(
            _issue(
                ERROR,
                "no_numeric_columns",
                f"{name} has dates in '{date_column}' but no column of numbers. Add one numeric column per variable "
                "(e.g. level, inflow).",
            )
        )

    valid = dates.stamps.notna()
    if not valid.any():
        raise _Stop("no valid dates")
    table_values = values[valid].assign(_stamp=dates.stamps[valid], _line=lines[valid])
    daily, first_line, more = _to_daily(table_values, list(values.columns), dates.has_time)
    draft.issues += more
    draft.n_rows = len(daily)
    draft.start = daily.index[0].date().isoformat()
    draft.end = daily.index[-1].date().isoformat()
    if draft.has_errors():
        return None
    gap = _gap_issue(daily.index)
    if gap:
        draft.issues.append(gap)
    draft.issues += _qc_issues(daily, first_line)
    if len(daily) < MIN_TRAIN_DAYS:
        draft.issues.append(
            _issue(
                WARNING,
                "few_rows",
                f"Only {len(daily)} days of data: it can be imported, but at least {MIN_TRAIN_DAYS} days "
                "are needed to train a forecast.",
                count=len(daily),
            )
        )
    return daily


def _cells_frame(table: _Table, draft: _Draft) -> tuple[pd.DataFrame, pd.Series]:
    """All cells as text in named columns, plus the file line of each row."""
    header, rows = _shape_table(table)
    names, name_issues = _name_columns(header)
    draft.issues += table.issues + name_issues
    cells = pd.DataFrame(rows, columns=names, dtype=object) if rows else pd.DataFrame(columns=names, dtype=object)
    unnamed_empty = [n for n, h in zip(names, header, strict=True) if not h and not any(cells[n].tolist())]
    cells = cells.drop(columns=unnamed_empty)
    return cells, pd.Series(table.lines, index=cells.index, dtype="int64")


def _read_values(cells: pd.DataFrame, lines: pd.Series, decimal: str, draft: _Draft) -> pd.DataFrame:
    """Numeric columns as floats (sentinels -> NaN); text columns dropped; bad cells reported."""
    values: dict[str, pd.Series] = {}
    for column in cells.columns:
        raw = cells[column]
        numbers, missing, bad = _to_numbers(raw, decimal)
        filled = int((~missing).sum())
        n_bad = int(bad.sum())
        if filled == 0:
            draft.issues.append(
                _issue(WARNING, "ignored_column", f"Column '{column}' is empty; it was ignored.", column=column)
            )
            continue
        if n_bad / filled > 0.5:
            n_num = filled - n_bad
            note = f" ({_plural(n_num, 'cell')} {_verb(n_num, 'holds a number', 'hold numbers')})" if n_num else ""
            draft.issues.append(
                _issue(
                    WARNING,
                    "ignored_column",
                    f"Column '{column}' holds text, not numbers (e.g. {_quoted(_examples(raw[bad]))}){note}; "
                    "it was ignored.",
                    column=column,
                    count=filled,
                    examples=_examples(raw[bad]),
                )
            )
            continue
        if n_bad:
            where = lines[bad].tolist()
            draft.issues.append(
                _issue(
                    ERROR,
                    "non_numeric",
                    f"Column '{column}': {_plural(n_bad, 'cell')} {_verb(n_bad, 'is not a number', 'are not numbers')} "
                    f"({_lines_text(where)}, "
                    f"e.g. {_quoted(_examples(raw[bad]))}). Fix or blank these cells; blank cells are read as missing.",
                    column=column,
                    rows=where,
                    examples=_examples(raw[bad]),
                )
            )
        if missing.any():
            where = lines[missing].tolist()
            draft.issues.append(
                _issue(
                    WARNING,
                    "missing_values",
                    f"Column '{column}': {_plural(len(where), 'empty cell')} ({_lines_text(where)}); "
                    "they are read as missing.",
                    column=column,
                    rows=where,
                )
            )
        sentinel = qc.find_sentinels(numbers)
        if sentinel.any():
            where = lines[sentinel].tolist()
            codes = sorted({f"{v:g}" for v in numbers[sentinel]})
            draft.issues.append(
                _issue(
                    WARNING,
                    "sentinel",
                    f"Column '{column}': {_plural(len(where), 'cell')} {_verb(len(where), 'holds', 'hold')} "
                    f"the no-data code {', '.join(codes)} "
                    f"({_lines_text(where)}); they are read as missing.",
                    column=column,
                    rows=where,
                    examples=tuple(codes),
                )
            )
            numbers = numbers.mask(sentinel)
        values[column] = numbers
    return pd.DataFrame(values, index=cells.index, dtype="float64")


def _to_daily(table: pd.DataFrame, columns: list[str], has_time: bool) -> tuple[pd.DataFrame, pd.Series, list[Issue]]:
    """Drop identical repeats, refuse conflicting ones, sort, and combine sub-daily readings per day."""
    issues: list[Issue] = []
    stamps = table["_stamp"]
    if not stamps.is_monotonic_increasing:
        back = stamps.lt(stamps.cummax().shift(fill_value=stamps.iloc[0]))
        first_back = int(table["_line"][back].iloc[0]) if back.any() else None
        where = f" (line {first_back} goes back in time)" if first_back else ""
        issues.append(
            _issue(
                WARNING,
                "unsorted",
                f"Rows are not in date order{where}; they were sorted.",
                rows=table["_line"][back].tolist(),
            )
        )
        table = table.sort_values("_stamp", kind="stable")
        stamps = table["_stamp"]
    repeated = stamps.duplicated(keep=False)
    if repeated.any():
        group = table[repeated]
        distinct = group.groupby("_stamp")[columns].nunique(dropna=False).max(axis=1) > 1
        conflict_stamps = distinct[distinct].index
        conflicting = group[group["_stamp"].isin(conflict_stamps)]
        if len(conflicting):
            where = sorted(conflicting["_line"].tolist())
            fmt = "%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d"
            shown = _examples(t.strftime(fmt) for t in conflict_stamps)
            issues.append(
                _issue(
                    ERROR,
                    "conflicting_duplicates",
                    f"{_plural(len(conflict_stamps), 'date')} {_verb(len(conflict_stamps), 'appears', 'appear')} "
                    "more than once with different values "
                    f"({_lines_text(where)}; e.g. {_quoted(shown)}). Keep one row per date and upload again.",
                    rows=where,
                    examples=shown,
                )
            )
        dropped = table[stamps.duplicated(keep="first") & ~stamps.isin(conflict_stamps)]
        if len(dropped):
            where = dropped["_line"].tolist()
            issues.append(
                _issue(
                    WARNING,
                    "duplicate_dates",
                    f"{_plural(len(dropped), 'row')} {_verb(len(dropped), 'repeats', 'repeat')} an earlier date with "
                    f"identical values ({_lines_text(where)}); "
                    "the repeats were dropped.",
                    rows=where,
                )
            )
        table = table[~stamps.duplicated(keep="first")]
    days = table["_stamp"].dt.normalize()
    first_line = table.groupby(days)["_line"].min()
    first_line.index.name = "date"
    per_day = days.value_counts()
    if (per_day > 1).any():
        how = {c: ("sum" if daily_aggregate(canonical_name(c)) == "sum" else "mean") for c in columns}
        summed = [c for c, h in how.items() if h == "sum"]
        grouped = table.groupby(days)
        frame = grouped[columns].mean()
        for column in summed:
            frame[column] = grouped[column].sum(min_count=1)
        note = f"; summed for {', '.join(summed)}" if summed else ""
        issues.append(
            _issue(
                WARNING,
                "sub_daily",
                f"Found several readings per day (up to {int(per_day.max())}): {len(table)} readings were combined "
                f"into {len(frame)} daily values (daily mean{note}).",
                count=len(table),
            )
        )
    else:
        frame = table.set_index(days)[columns]
    frame = frame.astype("float64")
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    frame.columns.name = None
    return frame, first_line, issues
