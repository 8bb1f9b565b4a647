"""Reservoirs, their variables and readings: merging an upload, reading values back, the upload log and audit.

Merge rules (``Readings.merge``), which a caller relies on:

* one call is one upload and one transaction: if anything fails (unit conflict, bad value), nothing is written;
* a new (reservoir, variable, date) counts as *added*; a value equal to the stored one within
  ``1e-9 * max(1, |old|, |new|)`` counts as *unchanged* (the stored value is kept); any other value is
  *changed*: it replaces the stored one and leaves an audit row (old, new, upload id, time);
* NaN in an upload means "no reading in this file": it never deletes or changes a stored value and is counted
  nowhere (not added, changed or unchanged);
* a file whose sha256 was already imported into the same reservoirs and that would change nothing is not logged
  again and writes nothing (``already_imported=True``, ``upload_id`` = the earlier upload).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from core.data.levels import OperatingLevel
from core.data.names import name_problem
from core.data.variables import canonical_name
from core.jsonio import AsDict
from core.store.errors import StoreError
from core.store.revisions import Revision


@dataclass(frozen=True)
class VariableInfo(AsDict):
    """One stored variable of a reservoir with its unit, original header and date span."""

    name: str
    unit: str | None
    source_column: str | None
    first: str | None
    last: str | None
    count: int


@dataclass(frozen=True)
class ReservoirInfo:
    """A reservoir and what is stored for it, in the order its variables were first uploaded."""

    id: int
    name: str
    created: str
    variables: tuple[VariableInfo, ...]
    first: str | None
    last: str | None

    @property
    def variable_names(self) -> tuple[str, ...]:
        """Stored variable names in stored order."""
        return tuple(v.name for v in self.variables)

    def variable(self, name_or_alias: str) -> VariableInfo:
        """Resolve what a user typed (name, any case, original header such as 'Storage_m3') to a stored variable."""
        wanted = str(name_or_alias).strip()
        for match in (
            lambda v: v.name == wanted,
            lambda v: v.name.lower() == wanted.lower(),
            lambda v: v.source_column is not None and v.source_column.strip().lower() == wanted.lower(),
            lambda v: v.name == canonical_name(wanted) if wanted else False,
        ):
            found = [v for v in self.variables if match(v)]
            if len(found) == 1:
                return found[0]
        known = ", ".join(self.variable_names) or "none yet - upload data first"
        raise StoreError(f"Reservoir '{self.name}' has no variable '{name_or_alias}'. Known variables: {known}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI and pages (keys in the order `reservoirs --json` has always printed)."""
        plain = {k: getattr(self, k) for k in ("id", "name", "created", "first", "last")}
        return {**plain, "variables": [v.to_dict() for v in self.variables]}


@dataclass(frozen=True)
class MergeResult(AsDict):
    """What one upload did to one reservoir, so the page can say 'added 120, changed 3'."""

    reservoir: str
    added: int
    changed: int
    unchanged: int
    upload_id: int | None
    already_imported: bool


@dataclass(frozen=True)
class UploadInfo:
    """Where merged data came from, logged with the upload so every value can be traced to a file."""

    filename: str
    sha256: str
    warnings: tuple[dict, ...] = ()
    note: str = ""


@dataclass
class Incoming:
    """One reservoir's part of an upload after checking, ready for the temp table."""

    name: str
    frame: pd.DataFrame
    units: dict[str, str | None] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def _clean_index(name: str, frame: pd.DataFrame) -> pd.DatetimeIndex:
    """The frame's dates as tz-naive days; refused when not dates, repeated or missing."""
    if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
        raise StoreError(f"Reservoir '{name}': data must be a DataFrame indexed by date.")
    index = frame.index
    if index.tz is not None:
        index = index.tz_localize(None)
    index = index.normalize()
    if index.has_duplicates:
        dup = index[index.duplicated()][0].strftime("%Y-%m-%d")
        raise StoreError(f"Reservoir '{name}': date {dup} appears more than once; aggregate to one row per day first.")
    if index.hasnans:
        raise StoreError(f"Reservoir '{name}': some rows have no date; drop them before merging.")
    return pd.DatetimeIndex(index, name="date")


def _clean_values(name: str, frame: pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    """The frame as unique, non-empty float columns; an infinite value is refused with its cell named."""
    columns = [str(c).strip() for c in frame.columns]
    lowered = [c.lower() for c in columns]
    if len(set(lowered)) != len(lowered) or "" in lowered:
        raise StoreError(f"Reservoir '{name}': variable names must be unique and non-empty, got {columns}.")
    try:
        values = frame.apply(pd.to_numeric).to_numpy(dtype="float64")
    except (ValueError, TypeError) as exc:
        raise StoreError(f"Reservoir '{name}': values must be numbers ({exc}).") from exc
    bad = np.isinf(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise StoreError(
            f"Reservoir '{name}', variable '{columns[col]}', date "
            f"{index[row].strftime('%Y-%m-%d')}: value is infinite; fix or blank it and upload again."
        )
    return pd.DataFrame(values, index=index, columns=columns)


def _per_reservoir(table: dict[str, dict[str, Any]] | None, name: str, clean_name: str) -> dict[str, Any]:
    """One reservoir's entry of a units/source-columns table (keyed as given or as tidied), keys stripped."""
    table = table or {}
    return {str(k).strip(): v for k, v in (table.get(name) or table.get(clean_name) or {}).items()}


def check_upload(
    data: dict[str, pd.DataFrame],
    units: dict[str, dict[str, str | None]],
    source_columns: dict[str, dict[str, str]] | None,
) -> list[Incoming]:
    """Check frames follow the convention before any write; errors name reservoir/column/date."""
    if not data:
        raise StoreError("The upload holds no reservoir data; check that the file has a date column and values.")
    seen: dict[str, str] = {}
    out = []
    for name, frame in data.items():
        if not str(name).strip():
            raise StoreError("A reservoir in the upload has an empty name; give every reservoir a name.")
        if problem := name_problem(str(name), "Reservoir name"):  # names are text, never control sequences
            raise StoreError(problem)
        clean_name = str(name).strip()
        if clean_name.lower() in seen:
            raise StoreError(
                f"The upload names reservoir '{seen[clean_name.lower()]}' twice ('{name}'); merge those columns first."
            )
        seen[clean_name.lower()] = clean_name
        index = _clean_index(clean_name, frame)
        values = _clean_values(clean_name, frame, index)
        res_units = _per_reservoir(units, name, clean_name)
        for variable in frame.columns:
            unit = res_units.get(str(variable).strip())
            for text, what in ((str(variable), f"Variable name of {clean_name}"), (unit, f"Unit of {variable}")):
                if text is not None and str(text).strip() and (problem := name_problem(str(text), what)):
                    raise StoreError(problem)
        out.append(Incoming(clean_name, values, res_units, _per_reservoir(source_columns, name, clean_name)))
    return out


def day_bound(value: str | None, what: str) -> str | None:
    """Normalise a user-given date bound to 'YYYY-MM-DD'."""
    if value is None or str(value).strip() == "":
        return None
    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    except (ValueError, TypeError) as exc:
        raise StoreError(f"{what} date '{value}' is not a date; use YYYY-MM-DD.") from exc


@runtime_checkable
class Readings(Protocol):
    """A workspace's reservoirs and what is known about them: readings, uploads, audit, revisions, settings, levels."""

    def reservoirs(self) -> list[ReservoirInfo]:
        """All reservoirs, sorted by name (case-insensitive)."""
        ...

    def latest_days(self) -> dict[str, dict[str, str | None]]:
        """Every reservoir's variables (in stored order) with their last reading day (cheap for a fleet)."""
        ...

    def reservoir(self, name: str) -> ReservoirInfo:
        """One reservoir by case-insensitive name; UnknownReservoir lists the known names."""
        ...

    def reservoir_name(self, reservoir: str) -> str:
        """The stored spelling of a reservoir's name (lookups ignore case)."""
        ...

    def merge(self, data: dict[str, pd.DataFrame], units: dict[str, dict[str, str | None]], upload: UploadInfo,
              source_columns: dict[str, dict[str, str]] | None = None) -> list[MergeResult]:
        """Merge one uploaded file (all its reservoirs) in one transaction; the rules are in this module's docstring."""
        ...

    def readings(self, reservoir: str, variables: Sequence[str] | None = None, start: str | None = None,
                 end: str | None = None, *, raw: bool = False) -> pd.DataFrame:
        """Stored readings with the active revisions applied (raw=True: as imported), dates with a reading only."""
        ...

    def uploads(self, reservoir: str | None = None) -> list[dict]:
        """Upload log, newest first, optionally only uploads that touched one reservoir."""
        ...

    def audit(self, reservoir: str) -> list[dict]:
        """Every replaced value of a reservoir (newest first) with the upload that replaced it."""
        ...

    def revise(self, reservoir: str, variable: str, start: str, end: str | None, *, value: float | None, reason: str,
               user: str) -> Revision:
        """Store one revision (value None = mark missing); the raw readings stay as imported."""
        ...

    def undo_revision(self, reservoir: str, revision_id: int, user: str) -> Revision:
        """Take a revision back (the row stays, marked undone); an unknown or already undone one is refused."""
        ...

    def revisions(self, reservoir: str, variable: str | None = None) -> list[Revision]:
        """Every revision of a reservoir (optionally one variable), oldest first, undone ones included."""
        ...

    def revision_stamp(self, reservoir: str) -> str:
        """Changes whenever a revision is made or undone, to key cached reads of the revised readings."""
        ...

    def set_meta(self, reservoir: str, key: str, value: Any) -> None:
        """Store one small JSON value per reservoir (e.g. capacity); None removes the key."""
        ...

    def get_meta(self, reservoir: str, key: str, default: Any = None) -> Any:
        """Read one metadata value, or default when it was never set."""
        ...

    def levels(self, reservoir: str) -> list[OperatingLevel]:
        """The reservoir's operating levels in the order they were set."""
        ...

    def set_levels(self, reservoir: str, levels: Sequence[OperatingLevel], relative: Collection[str] = ()) -> None:
        """Replace the whole set; each level is checked (LevelError) and names must be unique (StoreError)."""
        ...
