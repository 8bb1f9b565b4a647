"""Agency files read as they are published: USGS NWIS RDB (tab-separated, `#` comments, a type line), CDEC's CSV
export (long format: one row per station, sensor and time) and Excel workbooks (.xlsx).

Each reader turns its file into one or more blocks of text cells (a date column and value columns, with the file
line or sheet row of every row), which core.data.ingest then reads like any CSV: the same dates, numbers, daily
combination and checks. What a reader knows about a column (the variable and unit a parameter code or sensor type
means, a station) travels as a SourceColumn; what it found (provisional or estimated values, equipment codes, a
column it does not map) as issues. Codes it does not know are listed, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.data.reading import CellFrame
from core.data.report import Issue

NOT_MAPPED = "(not mapped)"  # SourceColumn.variable of a column the format cannot map (an unknown parameter code)


@dataclass(frozen=True)
class SourceColumn:
    """What the file's format says a value column holds: its station, variable and unit, and in words."""

    column: str  # the column's name in the read frame (its header, or 'SHA STORAGE' for a long-format series)
    station: str | None
    variable: str  # NOT_MAPPED when the format does not map it: left out unless declared
    unit: str | None
    note: str  # e.g. 'USGS parameter 00054 reservoir storage, acre-ft (daily mean)'
    question: str = ""  # a mapping the operator must confirm (00060 discharge: inflow or release?)

    @property
    def mapped(self) -> bool:
        """True when the format maps the column to a variable."""
        return self.variable != NOT_MAPPED


@dataclass(frozen=True, eq=False)
class Block:
    """One table of readings (one station or series): text cells with a date column, and the file line per row."""

    cells: CellFrame
    date_column: str | None  # None: found as in any CSV (core.data.dates)
    station: str | None = None


@dataclass(frozen=True, eq=False)
class SourceFile:
    """A file read by its format: the blocks to read, what each column is, and what the format found."""

    format: str  # 'USGS RDB', 'CDEC CSV', 'Excel workbook'
    blocks: tuple[Block, ...]
    columns: tuple[SourceColumn, ...] = ()
    described: tuple[str, ...] = ()  # how the file was read, for the report's "read as" line
    issues: tuple[Issue, ...] = ()
    stations: dict[str, str] = field(default_factory=dict)  # station id -> its name in the file ('' when none)
    sheets: tuple[str, ...] = ()  # a workbook's sheets, in order
    explained: dict[str, frozenset[int]] = field(default_factory=dict)  # column -> lines an agency code explains

    def column(self, name: str) -> SourceColumn | None:
        """The format's word on one column, or None (a plain header the app guesses from)."""
        return next((c for c in self.columns if c.column == name), None)

    @property
    def multi_station(self) -> bool:
        """True when the file holds several stations: each becomes a reservoir."""
        return len({c.station for c in self.columns if c.station and c.mapped}) > 1

    def without_blocks(self) -> SourceFile:
        """The description alone, to keep with the parsed file once its cells are read."""
        return SourceFile(
            self.format, (), self.columns, self.described, self.issues, self.stations, self.sheets, self.explained
        )
