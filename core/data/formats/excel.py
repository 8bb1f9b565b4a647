"""Excel workbooks (.xlsx, via openpyxl): the first sheet or a chosen one, read into text cells like a CSV.

Operators keep records in spreadsheets. A cell Excel formats as a date arrives as a date; a date column left as
numbers holds Excel serials (days since 1899-12-30, or 1904-01-01 in a workbook using the 1904 system), converted
when the column is named like a date and every filled cell is a serial in a plausible range. Title rows above the
header (one filled cell) are skipped; formula cells give their last computed value. Line numbers in the report
are the sheet's row numbers.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import pandas as pd

from core.data.dates import is_date_name
from core.data.formats import Block, SourceFile
from core.data.reading import MAX_COLUMNS, CellFrame, Table, cell_frame, too_wide

FORMAT = "Excel workbook"
SERIAL_RANGE = (3_000, 110_000)  # Excel serials of 1908 to 2201: a date column of numbers in this range is serials


def is_workbook(data: bytes) -> bool:
    """True for an Office Open XML workbook (a zip holding xl/workbook.xml)."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _text(value: Any) -> str:
    """A cell as the text a CSV would hold: dates in ISO form, numbers without float noise."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.15g}"
    return str(value).strip()


def read(data: bytes, name: str, sheet: str | None = None) -> SourceFile | str:
    """The chosen (or first) sheet as one block of text cells; a message when the workbook cannot be read."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file; say it in words
        return (
            f"{name} is a workbook the app cannot open ({type(exc).__name__}); it may be damaged or cut short. Open "
            "it in Excel or LibreOffice, save it again as .xlsx (or CSV) and upload that."
        )
    try:
        names = list(book.sheetnames)
        if sheet is not None and sheet not in names:
            return f"{name} has no sheet '{sheet}'. Its sheets are: {', '.join(names)}."
        chosen = sheet or names[0]
        rows = _rows(book[chosen])
        epoch = pd.Timestamp(book.epoch)
    finally:
        book.close()
    if isinstance(rows, str):
        return f"{name}, sheet '{chosen}': {rows}"
    table, skipped = rows
    parsed = cell_frame(table)
    cells, note = _serial_dates(parsed.cells, epoch)
    position = f" ({names.index(chosen) + 1} of {len(names)}: {', '.join(names)})" if len(names) > 1 else ""
    where = f"sheet '{chosen}'{position}"
    described = [FORMAT, where, "line numbers are the sheet's row numbers"]
    if skipped:
        described.append(f"rows 1 to {skipped} above the header skipped")
    if note:
        described.append(note)
    block = Block(CellFrame(cells, parsed.lines, parsed.issues), None)
    return SourceFile(FORMAT, (block,), described=tuple(described), sheets=tuple(names))


def _rows(sheet: Any) -> tuple[Table, int] | str:
    """The sheet's header (the first row with two or more filled cells) and the rows below it, with row numbers."""
    header: list[str] | None = None
    skipped = 0
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [_text(v) for v in values]
        while cells and not cells[-1]:
            cells.pop()
        if header is None:
            if sum(1 for c in cells if c) >= 2:
                header = cells
                if len(header) > MAX_COLUMNS + 1:
                    return too_wide(len(header))
            else:
                skipped = number
            continue
        if any(cells):
            rows.append(cells)
            numbers.append(number)
    if header is None:
        return "the sheet has no header row (a row with at least two filled cells). Choose another sheet."
    return Table(header, rows, numbers, None), skipped


def _serial_dates(cells: pd.DataFrame, epoch: pd.Timestamp) -> tuple[pd.DataFrame, str]:
    """A date-named column of Excel serial numbers rewritten as ISO dates, and a note saying so."""
    for column in cells.columns:
        if not is_date_name(str(column)):
            continue
        filled = cells[column][cells[column] != ""]
        numbers = pd.to_numeric(filled, errors="coerce")
        if len(filled) and numbers.notna().all() and numbers.between(*SERIAL_RANGE).all():
            stamps = epoch + pd.to_timedelta(numbers, unit="D")
            text = stamps.dt.strftime("%Y-%m-%d %H:%M").str.removesuffix(" 00:00")
            cells = cells.copy()
            cells.loc[filled.index, column] = text
            return cells, f"dates in '{column}' are Excel serial numbers (days since {epoch.date()})"
    return cells, ""
