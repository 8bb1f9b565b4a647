"""Storage-elevation curves: read an elevation-storage (or elevation-area-capacity) table, check it, convert both ways.

Operators set flood lines as elevations while records and models often carry storage; a curve turns one into the
other. Tables are read as agencies publish them (a Texas Water Development Board table has one row per 0.1 ft, up
to 11,500 rows, an area column, and the site number in its headers): elevation must rise on every row and the
capacity must never fall, but it may stay flat. Flat runs are kept for elevation -> storage (the published value)
and collapsed to one point for storage -> elevation, which needs a rising capacity:

* the run of zero (lowest) capacity below the dead pool collapses to its *highest* elevation: storage 0 maps to
  the dead-pool level, the top of the water that is not counted;
* an interior flat step (a capacity rounded in the table) collapses to its *middle*: the true capacity passes
  through the published value somewhere within the step;
* a flat run at the top collapses to its *lowest* elevation: the capacity is reached there.

A capacity that decreases is refused with its line. Values outside the table are never extrapolated (NaN).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core.data import numbers, reading
from core.data.formats import excel
from core.data.units import UnitError, check_unit, conversion_text, convert, normalize_unit
from core.data.variables import canonical_name, guess_unit, header_words
from core.display import plain

ELEVATION, STORAGE = "level", "storage"  # the variables a curve links
MAX_LISTED = 5  # offending rows named in one message


class CurveError(ValueError):
    """A curve table cannot be used; the message names the row or column and what to change."""


@dataclass(frozen=True)
class Curve:
    """A reservoir's elevation-storage table, sorted by elevation, both columns strictly increasing."""

    elevation: tuple[float, ...]
    storage: tuple[float, ...]
    elevation_unit: str | None
    storage_unit: str | None
    source: str = ""
    columns: tuple[str, str] = ("", "")  # the headers the two columns were read from
    notes: tuple[str, ...] = ()  # how it was read (columns detected, units converted)

    def unit_of(self, variable: str) -> str | None:
        """The unit of one side of the curve."""
        return self.elevation_unit if variable == ELEVATION else self.storage_unit

    def other(self, variable: str) -> str | None:
        """The variable the curve turns `variable` into (level <-> storage), None when it is neither."""
        key = canonical_name(variable)
        return {ELEVATION: STORAGE, STORAGE: ELEVATION}.get(key)

    def span(self, variable: str) -> tuple[float, float]:
        """Lowest and highest value the curve covers for one variable."""
        values = self.elevation if variable == ELEVATION else self.storage
        return values[0], values[-1]

    def convert(self, values: Any, variable: str) -> np.ndarray:
        """Values of `variable` (level or storage) in the other variable; NaN outside the table."""
        arr = np.asarray(values, dtype=float)
        if canonical_name(variable) == ELEVATION:
            return np.interp(arr, self.elevation, self.storage, left=np.nan, right=np.nan)
        storage, elevation = inverse(np.asarray(self.elevation), np.asarray(self.storage))
        return np.interp(arr, storage, elevation, left=np.nan, right=np.nan)

    def frame(self) -> pd.DataFrame:
        """The table for the Data page, unit in each header."""
        return pd.DataFrame(
            {
                _header(ELEVATION, self.elevation_unit): list(self.elevation),
                _header(STORAGE, self.storage_unit): list(self.storage),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stored in the reservoir's metadata."""
        return {
            "elevation": list(self.elevation),
            "storage": list(self.storage),
            "elevation_unit": self.elevation_unit,
            "storage_unit": self.storage_unit,
            "source": self.source,
            "columns": list(self.columns),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Curve:
        """Rebuild a stored curve (checked again, so a hand-edited workspace cannot slip a bad one in)."""
        curve = cls(
            elevation=tuple(float(v) for v in data["elevation"]),
            storage=tuple(float(v) for v in data["storage"]),
            elevation_unit=data.get("elevation_unit"),
            storage_unit=data.get("storage_unit"),
            source=str(data.get("source") or ""),
            columns=tuple(data.get("columns") or ("", "")),  # type: ignore[arg-type]
            notes=tuple(data.get("notes") or ()),
        )
        check_rising(np.array(curve.elevation), np.array(curve.storage), list(range(len(curve.elevation))))
        return curve


def _header(variable: str, unit: str | None) -> str:
    """'level (ft)': a column header with its unit."""
    return f"{variable} ({unit})" if unit else variable


@dataclass(frozen=True)
class CurveOptions:
    """What the operator can force when detection is wrong: which columns, in which units."""

    elevation_column: str | None = None
    storage_column: str | None = None
    elevation_unit: str | None = None
    storage_unit: str | None = None


def read_curve(data: bytes, filename: str, options: CurveOptions = CurveOptions()) -> Curve:
    """Parse and check a curve file (CurveError says which row or column is wrong and what to do)."""
    cells, lines = _cells(data, filename)
    decimal = numbers.detect_decimal(cells, None)
    numeric = {c: numbers.to_numbers(cells[c], decimal) for c in cells.columns}
    usable = [c for c, (vals, missing, bad) in numeric.items() if vals.notna().sum() > len(vals) / 2]
    elev_col, stor_col, note = _pick_columns(usable, options, filename)
    elev = _column_values(elev_col, numeric[elev_col], cells[elev_col], lines)
    stor = _column_values(stor_col, numeric[stor_col], cells[stor_col], lines)
    line_list = lines.tolist()
    if len(elev) >= 2 and elev[0] > elev[-1]:  # a table written from the top of the dam down: read it upwards
        elev, stor, line_list = elev[::-1], stor[::-1], line_list[::-1]
    check_rising(elev, stor, line_list, (elev_col, stor_col))
    units = (
        normalize_unit(options.elevation_unit or guess_unit(elev_col)),
        normalize_unit(options.storage_unit or guess_unit(stor_col)),
    )
    for variable, unit, column in ((ELEVATION, units[0], elev_col), (STORAGE, units[1], stor_col)):
        problem = check_unit(variable, unit, f"{filename}, column '{column}'")
        if problem:
            raise CurveError(problem)
    flats = flat_notes(elev, stor, units)
    return Curve(
        tuple(elev.tolist()),
        tuple(stor.tolist()),
        units[0],
        units[1],
        source=filename,
        columns=(elev_col, stor_col),
        notes=(note, *flats),
    )


def _runs(stor: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) row of every run of two or more rows with the same capacity."""
    same = np.r_[0, (stor[1:] == stor[:-1]).astype(int), 0]  # same[k + 1]: rows k and k + 1 are equal
    edges = np.flatnonzero(np.diff(same))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def inverse(elev: np.ndarray, stor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(storage, elevation) with capacity strictly rising, for storage -> elevation: each flat run collapsed to
    its top (the zero run below the dead pool), its middle (an interior step) or its bottom (a run at the top)."""
    runs = _runs(stor)
    if not runs:
        return stor, elev
    keep = np.ones(len(stor), dtype=bool)
    points = elev.astype(float).copy()
    for first, last in runs:
        keep[first + 1 : last + 1] = False
        if first == 0:
            points[first] = elev[last]
        elif last == len(stor) - 1:
            points[first] = elev[first]
        else:
            points[first] = (elev[first] + elev[last]) / 2
    return stor[keep], points[keep]


def flat_notes(elev: np.ndarray, stor: np.ndarray, units: tuple[str | None, str | None]) -> list[str]:
    """What was collapsed for storage -> elevation, in words: the dead pool, the rounded steps, a flat top."""
    runs = _runs(stor)
    e_unit, s_unit = (f" {u}" if u else "" for u in units)
    notes = []
    interior = [(a, b) for a, b in runs if a > 0 and b < len(stor) - 1]
    for first, last in runs:
        if first == 0:
            notes.append(
                f"{last - first + 1} rows of capacity {plain(stor[0])}{s_unit} below the dead pool "
                f"({plain(elev[0])} to {plain(elev[last])}{e_unit}): storage {plain(stor[0])} maps to the dead-pool "
                f"elevation {plain(elev[last])}{e_unit}, the highest one that still holds no counted storage"
            )
        elif last == len(stor) - 1:
            notes.append(
                f"the capacity stays at {plain(stor[first])}{s_unit} from {plain(elev[first])} to "
                f"{plain(elev[last])}{e_unit} at the top: that storage maps to {plain(elev[first])}{e_unit}, where it "
                "is first reached"
            )
    if interior:
        first, last = interior[0]
        rows = sum(b - a + 1 for a, b in interior)
        notes.append(
            f"{len(interior)} flat steps of rounded capacity ({rows} rows; e.g. {plain(stor[first])}{s_unit} from "
            f"{plain(elev[first])} to {plain(elev[last])}{e_unit}): for storage -> elevation each maps to the middle "
            "of its step, since the published capacity is rounded and the true one passes through it within the step"
        )
    return notes


def _cells(data: bytes, filename: str) -> tuple[pd.DataFrame, pd.Series]:
    """The file's cells as text with their file lines (a workbook's first sheet too); CurveError when it is not a
    readable table."""
    if excel.is_workbook(data):
        book = excel.read(data, filename)
        if isinstance(book, str):
            raise CurveError(book)
        cells, lines = book.blocks[0].cells.cells, book.blocks[0].cells.lines
    else:
        decoded = reading.decode(data)
        if decoded.text is None:
            raise CurveError(f"{filename}: {decoded.problem}")
        table = reading.split_table(decoded.text)
        if isinstance(table, str):
            raise CurveError(f"{filename}: {table}")
        parsed = reading.cell_frame(table)
        cells, lines = parsed.cells, parsed.lines
    if cells.empty:
        raise CurveError(f"{filename} has a header line but no rows. Add one row per elevation.")
    return cells, lines


AREA_WORDS = frozenset({"area", "acres", "acre", "ha", "hectares", "km2", "km²", "sqkm", "surface"})


def is_area(column: str) -> bool:
    """A surface-area column of an elevation-area-capacity table ('Area (acres)', 'Surface area km2'): not storage."""
    words = set(header_words(column))
    return bool(words & AREA_WORDS) and canonical_name(column) != STORAGE


def _pick_columns(usable: list[str], options: CurveOptions, filename: str) -> tuple[str, str, str]:
    """Elevation and storage columns: as forced, else by header name, else by position (elevation first, storage
    last); area columns of an elevation-area-capacity table are never taken for storage."""
    candidates = [c for c in usable if not is_area(c)]
    if len(candidates) < 2 and options.storage_column is None:
        areas = [c for c in usable if is_area(c)]
        held = f" ({', '.join(areas)} {'is' if len(areas) == 1 else 'are'} surface area)" if areas else ""
        raise CurveError(
            f"{filename} needs two numeric columns, elevation and storage (capacity); it has "
            f"{len(usable)}: {', '.join(usable) or 'none'}{held}. An elevation-area table alone cannot convert "
            "storage: add the capacity column."
        )
    named = {canonical_name(c): c for c in reversed(candidates)}
    picked = []
    for forced, variable, flag in (
        (options.elevation_column, ELEVATION, "--elevation-column"),
        (options.storage_column, STORAGE, "--storage-column"),
    ):
        if forced is not None:
            match = next((c for c in usable if c.lower() == forced.strip().lower()), None)
            if match is None:
                raise CurveError(
                    f"{flag} {forced}: {filename} has no numeric column of that name; its numeric columns are "
                    f"{', '.join(usable)}."
                )
            picked.append((match, "as given"))
        elif variable in named:
            picked.append((named[variable], "detected by name"))
        else:
            picked.append((candidates[0] if variable == ELEVATION else candidates[-1], "by position"))
    (elev, how_e), (stor, how_s) = picked
    if elev == stor:
        raise CurveError(f"{filename}: elevation and storage cannot both be read from column '{elev}'.")
    areas = [c for c in usable if is_area(c)]
    note = f"elevation from '{elev}' ({how_e}), storage from '{stor}' ({how_s})"
    if areas:
        note += f"; {', '.join(repr(a) for a in areas)} (surface area) not used"
    return elev, stor, note


def _column_values(
    column: str, parsed: tuple[pd.Series, pd.Series, pd.Series], cells: pd.Series, lines: pd.Series
) -> np.ndarray:
    """A curve column as floats; every row must hold a finite number (the file line is named when not)."""
    values, _, _ = parsed
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        where = ", ".join(f"line {lines.iloc[i]} ('{cells.iloc[i]}')" for i in np.flatnonzero(bad)[:MAX_LISTED])
        raise CurveError(
            f"Column '{column}' must hold a number on every row; not on {where}. Fix or remove those rows."
        )
    return values.to_numpy(dtype=float)


def check_rising(
    elev: np.ndarray, stor: np.ndarray, lines: list[int], columns: tuple[str, str] = ("elevation", "storage")
) -> None:
    """Elevation must rise row after row and the capacity never fall (flat runs are read, see the module); the
    first offending rows are named with their file lines."""
    if len(elev) < 2:
        raise CurveError("A curve needs at least two rows (two elevations with their storage).")
    if len(np.unique(stor)) < 2:
        raise CurveError(f"The curve's {columns[1]} is {plain(stor[0])} on every row; a curve needs it to rise.")
    bad_elev = np.flatnonzero(np.diff(elev) <= 0) + 1
    bad_stor = np.flatnonzero(np.diff(stor) < 0) + 1
    problems = []
    for i in sorted({*bad_elev.tolist(), *bad_stor.tolist()})[: MAX_LISTED + 1]:
        if elev[i] <= elev[i - 1]:
            problems.append(
                f"line {lines[i]}: {columns[0]} {plain(elev[i])} is not above {plain(elev[i - 1])} "
                f"on line {lines[i - 1]}"
            )
        else:
            problems.append(
                f"line {lines[i]}: {columns[1]} {plain(stor[i])} (at {columns[0]} {plain(elev[i])}) is below "
                f"{plain(stor[i - 1])} on line {lines[i - 1]}"
            )
    total = len(set(bad_elev.tolist()) | set(bad_stor.tolist()))
    if problems:
        more = f" (and {total - MAX_LISTED} more)" if total > MAX_LISTED else ""
        raise CurveError(
            "The curve is not monotonic: "
            + "; ".join(problems[:MAX_LISTED])
            + more
            + ". Elevation must rise on every row and the storage must never fall as it does; fix or remove those "
            "rows."
        )


def in_units(curve: Curve, units: Mapping[str, str | None]) -> Curve:
    """The curve in the units the reservoir stores its level and storage in (a unit not stored is kept)."""
    elev, stor = np.array(curve.elevation), np.array(curve.storage)
    notes = list(curve.notes)
    new_units = {ELEVATION: curve.elevation_unit, STORAGE: curve.storage_unit}
    arrays = {ELEVATION: elev, STORAGE: stor}
    for variable in (ELEVATION, STORAGE):
        have, want = new_units[variable], units.get(variable)
        if want is None or have is None or normalize_unit(have) == normalize_unit(want):
            new_units[variable] = want or have  # the same unit: written as the records write it
            continue
        try:
            arrays[variable] = np.asarray(convert(arrays[variable], have, want), dtype=float)
        except UnitError as exc:
            raise CurveError(f"The curve's {variable} is in {have} but the records are in {want}: {exc}") from None
        notes.append(f"{variable} converted from {have} to {want} ({conversion_text(have, want)})")
        new_units[variable] = want
    return replace(
        curve,
        elevation=tuple(float(v) for v in arrays[ELEVATION]),
        storage=tuple(float(v) for v in arrays[STORAGE]),
        elevation_unit=new_units[ELEVATION],
        storage_unit=new_units[STORAGE],
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class Recorded:
    """The span of one stored variable the curve has to cover: lowest and highest reading, and their days."""

    variable: str
    low: float
    high: float
    low_date: str
    high_date: str
    unit: str | None


def coverage_problems(curve: Curve, recorded: list[Recorded]) -> list[str]:
    """Why the curve does not cover the recorded range, per variable (empty when it does)."""
    problems = []
    for r in recorded:
        lo, hi = curve.span(r.variable)
        unit = f" {r.unit}" if r.unit else ""
        if r.low < lo or r.high > hi:
            gaps = []
            if r.low < lo:
                gaps.append(f"down to {plain(r.low)}{unit} (on {r.low_date})")
            if r.high > hi:
                gaps.append(f"up to {plain(r.high)}{unit} (on {r.high_date})")
            problems.append(
                f"The curve covers {r.variable} {plain(lo)} to {plain(hi)}{unit}, but the recorded {r.variable} "
                "(cleaned: logger codes and impossible values masked) runs "
                f"{' and '.join(gaps)}. Extend the table to cover them, or store it anyway: readings outside "
                "the curve are not converted."
            )
    return problems
