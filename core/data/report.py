"""What reading a CSV found, in words the user can act on: issues, the validation report and the message wording.

Every reading step (decoding, dates, numbers, checks) phrases its findings through these helpers, so messages cite
file lines and raw values the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from core.display import plain

ERROR = "error"
WARNING = "warning"
MAX_ROWS_LISTED = 20  # file line numbers kept per issue
MAX_EXAMPLES = 5  # raw values quoted per issue
MAX_LINES_SHOWN = 8  # file line numbers written into a message
SEPARATOR_NAMES = {"\t": "tab", ";": "semicolon", ",": "comma", "|": "pipe"}


@dataclass(frozen=True)
class DateRun:
    """Consecutive days a finding covers: its first and last day, so an operator can find it in the record."""

    first: str  # ISO date
    last: str
    days: int
    value: float | None = None  # the one value the run holds (a logger code), when it holds one
    values: str = ""  # the values a run of differing readings holds ('12, 9.5, 7' or '3.1 to 4.2'), for tables

    def shown(self) -> str:
        """The run's value(s) for a table cell: the one value, the few values, or their span."""
        return f"{plain(self.value)}" if self.value is not None else self.values

    def text(self) -> str:
        """'2021-03-02 to 2021-03-07 (6 days)' or '2021-06-30' for a single day."""
        if self.first == self.last:
            return self.first
        return f"{self.first} to {self.last} ({self.days} days)"


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
    runs: tuple[DateRun, ...] = ()  # first and last day of each stretch the finding covers (QC findings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the UI, the CLI's --json output and stored import records."""
        data = asdict(self)
        data["rows"] = list(self.rows)
        data["examples"] = list(self.examples)
        data["runs"] = [asdict(run) for run in self.runs]
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
    described: tuple[str, ...] = ()  # how an agency format was read ('USGS RDB', 'parameter 00054 storage acre-ft')
    skipped: tuple[str, ...] = ()  # value columns left out of the import (lagged copies, unmapped codes, chosen)

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
        data["described"] = list(self.described)
        data["skipped"] = list(self.skipped)
        data["issues"] = [i.to_dict() for i in self.issues]
        data["ok"] = self.ok
        data["n_errors"] = len(self.errors)
        data["n_warnings"] = len(self.warnings)
        return data

    def read_as(self) -> list[str]:
        """How the file was read (encoding, separator, decimal mark, date column and order), for every report view."""
        how = list(self.described)
        how += [f"encoding {self.encoding}"] if self.encoding else []
        if self.separator:
            how.append(f"{SEPARATOR_NAMES.get(self.separator, repr(self.separator))}-separated")
        if self.decimal:
            how.append(f"decimal '{self.decimal}'")
        if self.date_column:
            undecided = any(i.code in ("ambiguous_dates", "inconsistent_dates") for i in self.issues)
            unknown = "order not decided" if undecided else "unambiguous"
            order = {True: "day-first", False: "month-first", None: unknown}[self.dayfirst]
            how.append(f"dates from '{self.date_column}' ({order})")
        return how

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the CLI: what was read, each issue, and the verdict."""
        lines = [self._headline()]
        if self.columns:
            lines.append("  columns: " + ", ".join(self.columns))
        if self.skipped:
            lines.append("  left out of the import: " + ", ".join(self.skipped))
        how = self.read_as()
        if how:
            lines.append("  read as: " + ", ".join(how))
        for issue in self.issues:
            label = "ERROR  " if issue.severity == ERROR else "warning"
            lines.append(f"  {label} [{issue.code}] {issue.message}")
        lines.append(self._verdict())
        return lines

    def _headline(self) -> str:
        """'file.csv: 365 days, 2020-01-01 to 2020-12-30', or the data rows read when no dates came out."""
        if self.start and self.end:
            return f"{self.filename}: {plural(self.n_rows, 'day')}, {self.start} to {self.end}"
        return f"{self.filename}: {plural(self.n_rows, 'data row')}"

    def _verdict(self) -> str:
        """The last summary line: ready to import, or what blocks it."""
        if self.ok:
            extra = f" ({plural(len(self.warnings), 'warning')})" if self.warnings else ""
            return f"  OK: ready to import{extra}."
        errors = "error" if len(self.errors) == 1 else f"{len(self.errors)} errors"
        return f"  NOT IMPORTED: fix the {errors} above and upload the file again."


# --------------------------------------------------------------------------- message wording


def runs_text(runs: Iterable[DateRun], limit: int = 3) -> str:
    """'2021-03-02 to 2021-03-07 (6 days), 2021-06-30 (and 2 more runs)': where a finding is, by date."""
    runs = list(runs)
    text = ", ".join(run.text() for run in runs[:limit])
    if len(runs) > limit:
        text += f" (and {plural(len(runs) - limit, 'more run')})"
    return text


def lines_text(rows: Iterable[int], count: int | None = None) -> str:
    """'line 5' / 'lines 5, 9, 12 (and 40 more)', so a message says where to look without listing thousands."""
    rows = [int(r) for r in rows]
    total = len(rows) if count is None else count
    shown = rows[:MAX_LINES_SHOWN]
    if not shown:
        return ""
    word = "line" if total == 1 else "lines"
    text = f"{word} {', '.join(str(r) for r in shown)}"
    if total > len(shown):
        text += f" (and {total - len(shown)} more)"
    return text


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    """'1 row' / '3 rows', so counts read naturally in messages."""
    return f"{n} {word if n == 1 else (plural_word or word + 's')}"


def verb(n: int, singular: str, plural_form: str) -> str:
    """Agree a verb phrase with a count ('is' / 'are')."""
    return singular if n == 1 else plural_form


def example_values(values: Iterable[Any]) -> tuple[str, ...]:
    """First few distinct offending raw values, as short text the user can search the file for."""
    seen: list[str] = []
    for value in values:
        text = str(value)
        text = text if len(text) <= 40 else text[:37] + "..."
        if text not in seen:
            seen.append(text)
        if len(seen) >= MAX_EXAMPLES:
            break
    return tuple(seen)


def quoted(examples: tuple[str, ...], limit: int = 3) -> str:
    """Quote the first few examples for a message: 'a', 'b'."""
    return ", ".join(f"'{e}'" for e in examples[:limit])


def make_issue(
    severity: str,
    code: str,
    message: str,
    *,
    column: str | None = None,
    rows: Iterable[int] = (),
    count: int | None = None,
    examples: tuple[str, ...] = (),
    runs: Iterable[DateRun] = (),
) -> Issue:
    """An Issue with rows capped at MAX_ROWS_LISTED and count defaulting to all rows, so reports stay small."""
    rows_list = [int(r) for r in rows]
    return Issue(
        severity=severity,
        code=code,
        message=message,
        column=column,
        rows=tuple(rows_list[:MAX_ROWS_LISTED]),
        count=len(rows_list) if count is None else int(count),
        examples=examples,
        runs=tuple(runs),
    )


@dataclass(frozen=True)
class Cells:
    """Some cells of one column as a message cites them: their file lines and a few of their raw values."""

    rows: tuple[int, ...]
    examples: tuple[str, ...]

    @classmethod
    def pick(cls, values: pd.Series, lines: pd.Series, mask: pd.Series) -> Cells:
        """The cells where `mask` holds, with file lines from `lines` (both aligned with `values`)."""
        return cls(tuple(int(r) for r in lines[mask].tolist()), example_values(values[mask]))

    @property
    def count(self) -> int:
        """How many cells were picked."""
        return len(self.rows)

    def where(self) -> str:
        """'lines 5, 9 (and 3 more)' for the message."""
        return lines_text(self.rows)

    def quoted(self, limit: int = 3) -> str:
        """The first few raw values, quoted, for the message."""
        return quoted(self.examples, limit)

    def issue(self, severity: str, code: str, message: str, *, column: str | None = None) -> Issue:
        """An issue that lists these cells' lines and raw values."""
        return make_issue(severity, code, message, column=column, rows=self.rows, examples=self.examples)
