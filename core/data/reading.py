"""Bytes to a table of text cells: encodings (BOM, UTF-16, cp1252), separator sniffing, header and row shapes.

Nothing here interprets a cell; dates and numbers are read later from the text cells this module returns.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data import arrowtext
from core.data.notreadings import without_non_readings
from core.data.report import ERROR, SEPARATOR_NAMES, WARNING, Issue, lines_text, make_issue, plural, verb

MAX_COLUMNS = 500  # value columns read at once (a 500-reservoir regional file); wider: refused before reading
SEPARATORS = ("\t", ";", ",", "|")  # tie-break order: a comma may be a decimal mark, the others not
NO_TABLE = "The file has no header line or data. Upload a CSV with a header line and one row per date."

_NOT_TEXT = {
    "empty": "The file is empty. Upload a CSV with a header line and one row per date.",
    "zip": (
        "This is a ZIP archive, not a CSV or an Excel workbook. Unzip it and upload the CSV (or .xlsx) file inside."
    ),
    "gzip": (
        "This is a gzip-compressed file (what a '.csv.gz' download holds), not a plain CSV. Decompress it first "
        "(e.g. gunzip, 7-Zip or the archive tool of your system) and upload the CSV inside."
    ),
    "pdf": (
        "This is a PDF document, not a table of readings. Ask the agency for the CSV or spreadsheet the report was "
        "made from, or copy the table into a spreadsheet and save it as CSV or .xlsx."
    ),
    "xls": (
        "This is an Excel 97-2003 workbook (.xls) or a password-protected workbook, which the app cannot read. Open "
        "it in Excel or LibreOffice and save it as .xlsx (without a password) or as CSV."
    ),
    "compressed": (
        "This is a compressed archive ({kind}), not a CSV. Extract it and upload the CSV (or .xlsx) file inside."
    ),
    "binary": (
        "The file contains binary data, not text. "
        "Export the data as a CSV text file (comma, semicolon or tab separated)."
    ),
    "controls": (
        "The file does not look like text (it is full of control characters). "
        "Export the data as a CSV text file and upload that."
    ),
    "html": (
        "This is a web page or XML document, not a CSV. "
        "Download the raw CSV file (e.g. the 'Raw' button on GitHub) and upload that."
    ),
}


@dataclass(frozen=True)
class Decoded:
    """The file as text and the encoding that read it, or why it is not a text CSV."""

    text: str | None
    encoding: str | None
    problem: str | None = None


@dataclass(frozen=True)
class Table:
    """The raw cells of a file with the file line number of each data row."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    separator: str | None


@dataclass(frozen=True, eq=False)
class CellFrame:
    """All cells as text in named columns, the file line of each row, and what shaping the table found."""

    cells: pd.DataFrame
    lines: pd.Series
    issues: tuple[Issue, ...]
    separator: str | None = None


# --------------------------------------------------------------------------- bytes -> text


# Leading bytes ("magic numbers") of files people upload by mistake, and what each is.
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"%PDF-", "pdf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),  # OLE2: .xls, .doc, encrypted .xlsx
    (b"PK\x03\x04", "zip"),  # a workbook (.xlsx) is a zip too: core.data.formats reads those before this
    (b"PK\x05\x06", "zip"),  # an empty zip
    (b"BZh", "bzip2"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"Rar!\x1a\x07", "RAR"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


def wrong_kind(data: bytes) -> str | None:
    """What the bytes are when they are a known non-text file (gzip, PDF, .xls, zip, ...), in words; else None."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return _NOT_TEXT.get(kind) or _NOT_TEXT["compressed"].format(kind=kind)
    return None


def decode(data: bytes) -> Decoded:
    """Text and its encoding; a problem instead when the bytes are empty, an archive, a PDF, binary or a web page."""
    if not data.strip():
        return Decoded(None, None, _NOT_TEXT["empty"])
    if (kind := wrong_kind(data)) is not None:
        return Decoded(None, None, kind)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        with contextlib.suppress(UnicodeDecodeError):
            return Decoded(data.decode("utf-16"), "utf-16")
    if b"\x00" in data:
        return _with_nul(data)
    text, encoding = _decode_8bit(data)
    sample = text[:20000]
    if _control_count(sample) > max(3, len(sample) // 100):
        return Decoded(None, None, _NOT_TEXT["controls"])
    if re.match(r"\s*<(!doctype|html|\?xml)", sample, re.IGNORECASE):
        return Decoded(None, None, _NOT_TEXT["html"])
    return Decoded(text, encoding)


def _utf16_order(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the bytes look like UTF-16 text written without a BOM (every other byte 0)."""
    sample = data[:4096]
    even, odd = sample[0::2], sample[1::2]
    if not odd:
        return None
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _with_nul(data: bytes) -> Decoded:
    """Bytes holding NUL (0) bytes: UTF-16 without a BOM, a text file with a few stray NULs, or binary data."""
    order = _utf16_order(data)
    if order is not None:
        with contextlib.suppress(UnicodeDecodeError):
            return Decoded(data.decode(order), order)
    nuls = data.count(b"\x00")
    if nuls > max(16, len(data) // 100):
        return Decoded(None, None, _NOT_TEXT["binary"] + f" (It holds {nuls:,} NUL bytes, byte value 0.)")
    first = data.index(b"\x00")
    line = data.count(b"\n", 0, first) + 1
    return Decoded(
        None,
        None,
        f"Line {line} contains a NUL byte (byte value 0, at byte {first:,}; {plural(nuls, 'NUL byte')} in the file). "
        "A text CSV never holds one: it is usually left by a logger or an interrupted copy. Delete it (a text editor "
        "shows it as a blank or '^@') and upload the file again.",
    )


def _decode_8bit(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else cp1252, else latin-1: the encodings spreadsheets actually write."""
    if data.startswith(b"\xef\xbb\xbf"):
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode("utf-8-sig"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        latin = data.decode("latin-1")
    try:
        cp = data.decode("cp1252")
    except UnicodeDecodeError:
        return latin, "latin-1"
    return cp, ("cp1252" if cp != latin else "latin-1")


def _control_count(sample: str) -> int:
    """Control characters other than tab and newlines: many of them mean the bytes are not text."""
    return sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n" or 0x7F <= ord(ch) < 0xA0)


# --------------------------------------------------------------------------- text -> table


def _field_counts(lines: list[str], sep: str) -> list[int]:
    """Number of fields on each sample line when split on `sep` (quotes respected while the CSV reader can)."""
    try:
        return [len(row) for row in csv.reader(lines, delimiter=sep)]
    except csv.Error:  # e.g. an over-long cell; split_table names the line
        return [line.count(sep) + 1 for line in lines]


def sniff_separator(lines: list[str]) -> str | None:
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


def _only_comments(comments: list[str]) -> str | None:
    """What a file of comment lines only says, e.g. an NWIS answer with no data ('# //Response-Message: No sites
    found matching all criteria'): the agency's own words beat 'no header line'."""
    said = [m.group(1).strip() for ln in comments if (m := re.match(r"#\s*//\s*Response-Message:\s*(.+)", ln))]
    if not said:
        return None
    return (
        f"The file holds no readings, only the agency's answer: '{said[0]}'. Check the site number, parameter "
        "and dates of the request and download the data again."
    )


def _body_start(all_lines: list[str]) -> tuple[int, str | None]:
    """Lines to skip (blank, '#' comments, Excel's 'sep=;' hint) and the separator that hint forces."""
    skip = 0
    while skip < len(all_lines) and (not all_lines[skip].strip() or all_lines[skip].lstrip().startswith("#")):
        skip += 1
    if skip < len(all_lines):
        match = re.fullmatch(r'\s*"?sep=(.)"?\s*', all_lines[skip])
        if match:  # Excel's "sep=;" hint line
            return skip + 1, match.group(1)
    return skip, None


def too_wide(columns: int) -> str:
    """Why a file with this many columns is not read: checks cost time per column, so a wider file would take
    minutes; refused at once, before its cells are read."""
    return (
        f"The file has {columns:,} columns; the app reads at most {MAX_COLUMNS:,} value columns (plus the date) at "
        f"once. Split it into files of up to {MAX_COLUMNS:,} columns (e.g. by region) and import each."
    )


def _width(line: str, sep: str | None) -> int:
    """Fields on a header line (quotes respected)."""
    return _field_counts([line], sep or ",")[0]


def split_table(text: str) -> Table | str:
    """Split text into header and rows, or return why it cannot be read."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    all_lines = text.split("\n")
    skip, forced_sep = _body_start(all_lines)
    body = all_lines[skip:]
    sample = [ln for ln in body[:200] if ln.strip()][:60]
    if not sample:
        return _only_comments(all_lines[:skip]) or NO_TABLE
    sep = forced_sep or sniff_separator(sample)
    if (width := _width(sample[0], sep)) > MAX_COLUMNS + 1:
        return too_wide(width)
    reader = csv.reader(io.StringIO("\n".join(body)), delimiter=sep or ",")
    header: list[str] | None = None
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    previous_end = 0
    try:
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
    except csv.Error as exc:
        return _csv_error(exc, previous_end + 1 + skip)
    if header is None:
        return NO_TABLE
    return Table(header, rows, line_numbers, sep)


def _csv_error(exc: csv.Error, line: int) -> str:
    """Why the CSV reader stopped at `line`, in words: an over-long cell is nearly always an unclosed quote."""
    if "field larger than field limit" in str(exc):
        return (
            f"Line {line} starts a cell longer than {csv.field_size_limit():,} characters, the most a CSV cell may "
            'hold. Nearly always a quote (") opened there is never closed, so the rest of the file reads as one '
            "cell: close or remove that quote and upload the file again."
        )
    return f"Line {line} cannot be read as CSV ({exc}). Fix that line and upload the file again."


def _ragged_issue(table: Table, overflow: list[int]) -> Issue:
    """ragged_rows error: which lines have more filled cells than the header, and the usual cause."""
    width = len(table.header)
    sep = SEPARATOR_NAMES.get(table.separator or ",", "comma")
    hint = (
        " A decimal comma in a comma-separated file does this: quote such numbers or use ';' as separator."
        if table.separator == ","
        else ""
    )
    return make_issue(
        ERROR,
        "ragged_rows",
        f"{lines_text(overflow)} {verb(len(overflow), 'has', 'have')} more cells than the header "
        f"({width} {sep}-separated columns). "
        f"Remove the extra cells or quote cells that contain the separator.{hint}",
        rows=overflow,
    )


def shape_table(table: Table) -> tuple[list[str], list[list[str]], list[Issue]]:
    """Give every row the header's width: pad short rows, report rows with extra filled cells."""
    width = len(table.header)
    max_width = max([len(r) for r in table.rows] + [width])
    header = table.header + [""] * (max_width - width)
    overflow = [
        line for line, row in zip(table.lines, table.rows, strict=True) if len(row) > width and any(row[width:])
    ]
    issues = [_ragged_issue(table, overflow)] if overflow else []
    rows = [r + [""] * (max_width - len(r)) if len(r) < max_width else r for r in table.rows]
    return header, rows, issues


def name_columns(header: list[str]) -> tuple[list[str], list[Issue]]:
    """Fill empty header names and make duplicates unique, so every column can be addressed."""
    names: list[str] = []
    seen: dict[str, int] = {}  # name ignoring case -> position of the first column so named
    issues: list[Issue] = []
    for i, written in enumerate(header):
        name = written.strip() or f"column_{i + 1}"
        key = name.casefold()
        if key in seen:
            first = seen[key]
            new = f"{name}_{i + 1}"
            issues.append(
                make_issue(
                    WARNING,
                    "duplicate_column",
                    f"Columns {first + 1} ('{header[first].strip()}') and {i + 1} ('{written.strip()}') have the same "
                    f"name; column {i + 1} is read as '{new}'. Rename one of them in the file if they hold different "
                    "variables.",
                    column=new,
                    examples=(header[first].strip(), written.strip()),
                )
            )
            name = new
        seen.setdefault(name.casefold(), i)
        names.append(name)
    return names, issues


FAST_CHARS = 1_000_000  # from about 1 MB of text on, a plain table (no quotes, blank lines or ragged rows) is read
# by pandas' C parser into Arrow-backed text columns: no Python list per row, a fraction of the memory


def read_cells(text: str) -> CellFrame | str:
    """The file's text as named columns of text cells with their file lines, or why it cannot be read.

    The same cells, names and messages as split_table + cell_frame; a large plain file takes the fast path.
    """
    fast = _fast_cells(text) if len(text) >= FAST_CHARS else None
    if fast is not None:
        return _readings_only(fast)
    table = split_table(text)
    if isinstance(table, str):
        return table
    parsed = cell_frame(table)
    return _readings_only(CellFrame(parsed.cells, parsed.lines, parsed.issues, table.separator))


def _readings_only(parsed: CellFrame) -> CellFrame:
    """The cells without the rows that are not readings (core.data.notreadings), their warnings added."""
    cells, lines, issues = without_non_readings(parsed.cells, parsed.lines)
    if not issues:
        return parsed
    return CellFrame(cells, lines, (*parsed.issues, *issues), parsed.separator)


def _head_lines(text: str, wanted: int = 300) -> list[str]:
    """The first lines of a text without splitting all of it."""
    end = 0
    for _ in range(wanted):
        found = text.find("\n", end)
        if found < 0:
            return text.split("\n")
        end = found + 1
    return text[:end].split("\n")


def _fast_cells(text: str) -> CellFrame | None:
    """A plain table read by pandas' C parser; None whenever the careful reader must judge the file (quotes,
    comment or blank lines inside, rows wider or narrower than the header, a sniffing doubt)."""
    if '"' in text or "\r" in text:
        return None
    start = 1 if text.startswith("\ufeff") else 0
    head = _head_lines(text[start : start + 200_000])
    skip, forced_sep = _body_start(head)
    if skip >= len(head) - 1:
        return None
    sample = [ln for ln in head[skip:] if ln.strip()][:60]
    sep = forced_sep or sniff_separator(sample)
    if sep is None or _width(sample[0], sep) > MAX_COLUMNS + 1:
        return None  # the careful reader refuses a file that is too wide, with its message
    offset = start + sum(len(line) + 1 for line in head[:skip])
    end = len(text)
    while end > offset and text[end - 1] == "\n":
        end -= 1
    if text.find("\n\n", offset, end) >= 0 or text.find("\n#", offset, end) >= 0:
        return None  # blank or comment lines inside: their file lines need the careful reader
    data = text.encode("utf-8")  # the one copy the C++ reader needs; the body is a view into it
    lead = len(text[:offset].encode("utf-8"))
    body = memoryview(data)[lead : len(data) - (len(text) - end)]
    columns = arrowtext.read_plain_csv(body, sep, head[skip].count(sep) + 1)
    del body, data
    if columns is None or len(columns[0]) < 2:
        return None  # ragged rows and the like: the careful reader names the lines
    header = [str(col.iloc[0]) for col in columns]
    cells = pd.DataFrame({i: col.iloc[1:].reset_index(drop=True) for i, col in enumerate(columns)})
    if bool((cells == "").all(axis=1).any()):
        return None  # a row of empty cells: the careful reader skips it and keeps the file lines right
    names, name_issues = name_columns(header)
    cells.columns = names
    unnamed_empty = [n for n, h in zip(names, header, strict=True) if not h and not (cells[n] != "").any()]
    cells = cells.drop(columns=unnamed_empty)
    lines = pd.Series(np.arange(len(cells), dtype="int64") + skip + 2, index=cells.index)
    return CellFrame(cells, lines, tuple(name_issues), sep)


def cell_frame(table: Table) -> CellFrame:
    """All cells as text in named columns (unnamed empty columns dropped), plus the file line of each row."""
    header, rows, shape_issues = shape_table(table)
    names, name_issues = name_columns(header)
    cells = pd.DataFrame(rows, columns=names, dtype=object) if rows else pd.DataFrame(columns=names, dtype=object)
    unnamed_empty = [n for n, h in zip(names, header, strict=True) if not h and not any(cells[n].tolist())]
    cells = cells.drop(columns=unnamed_empty)
    lines = pd.Series(table.lines, index=cells.index, dtype="int64")
    return CellFrame(cells, lines, tuple(shape_issues + name_issues))
