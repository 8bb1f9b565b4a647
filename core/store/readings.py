"""Reservoirs, their variables and readings: merging an upload, reading values back, the upload log and audit.

Merge rules (``ReadingsStore.merge``), which a caller relies on:

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

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.data.names import name_problem
from core.data.units import UnitError, conversion_text, normalize_unit
from core.data.variables import canonical_name
from core.jsonio import AsDict, loads
from core.store.connection import StoreBase, StoreError, now_utc, to_json

# SQL test for "old and new differ by more than the merge tolerance" (o = stored, n = incoming).
_DIFFERS = "abs({n} - {o}) > 1e-9 * max(1.0, abs({o}), abs({n}))"
_COUNT_KEYS = ("added", "changed", "unchanged")


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
class _Incoming:
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
) -> list[_Incoming]:
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
        out.append(_Incoming(clean_name, values, res_units, _per_reservoir(source_columns, name, clean_name)))
    return out


def _day(value: str | None, what: str) -> str | None:
    """Normalise a user-given date bound to 'YYYY-MM-DD'."""
    if value is None or str(value).strip() == "":
        return None
    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    except (ValueError, TypeError) as exc:
        raise StoreError(f"{what} date '{value}' is not a date; use YYYY-MM-DD.") from exc


def _upload_dict(r: sqlite3.Row) -> dict[str, Any]:
    """One upload log row with its per-reservoir counts and their totals."""
    counts = loads(r["counts"], {})
    return {
        "id": int(r["id"]),
        "filename": r["filename"],
        "sha256": r["sha256"],
        "time": r["time"],
        "reservoirs": loads(r["reservoirs"], []),
        "counts": counts,
        **{key: sum(c[key] for c in counts.values()) for key in _COUNT_KEYS},
        "warnings": loads(r["warnings"], []),
        "note": r["note"],
    }


def _audit_dict(r: sqlite3.Row) -> dict[str, Any]:
    """One replaced value with the file that replaced it."""
    keys = ("variable", "date", "old", "new", "upload_id", "filename", "time")
    return {k: r[k] for k in keys}


class ReadingsStore(StoreBase):
    """Reservoirs, variables, readings, uploads and audit of a workspace (mixed into Workspace)."""

    # ----------------------------------------------------------------- reservoirs

    def _infos(self, conn: sqlite3.Connection, rows: list[sqlite3.Row], stats: bool = True) -> list[ReservoirInfo]:
        """Build ReservoirInfo objects; date spans/counts (one pass over the readings index) only when asked."""
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        spans = self._spans(conn, ids) if stats else {}
        marks = ",".join("?" * len(ids))
        variables: dict[int, list[VariableInfo]] = {i: [] for i in ids}
        for v in conn.execute(
            f"SELECT * FROM variables WHERE reservoir_id IN ({marks}) ORDER BY reservoir_id, position", ids
        ):
            first, last, count = spans.get((v["reservoir_id"], v["name"]), (None, None, 0))
            variables[v["reservoir_id"]].append(
                VariableInfo(v["name"], v["unit"], v["source_column"], first, last, int(count))
            )
        return [self._info(r, tuple(variables[r["id"]])) for r in rows]

    @staticmethod
    def _spans(conn: sqlite3.Connection, ids: list[int]) -> dict[tuple[int, str], tuple[str, str, int]]:
        """(reservoir id, variable) -> first date, last date, count of its readings."""
        marks = ",".join("?" * len(ids))
        return {
            (s[0], s[1]): (s[2], s[3], s[4])
            for s in conn.execute(
                f"SELECT reservoir_id, variable, MIN(date), MAX(date), COUNT(*) FROM readings "
                f"WHERE reservoir_id IN ({marks}) GROUP BY reservoir_id, variable",
                ids,
            )
        }

    @staticmethod
    def _info(row: sqlite3.Row, variables: tuple[VariableInfo, ...]) -> ReservoirInfo:
        """A reservoir row with its variables; its span is the union of theirs."""
        firsts = [v.first for v in variables if v.first]
        lasts = [v.last for v in variables if v.last]
        return ReservoirInfo(
            id=int(row["id"]),
            name=row["name"],
            created=row["created"],
            variables=variables,
            first=min(firsts) if firsts else None,
            last=max(lasts) if lasts else None,
        )

    def reservoirs(self) -> list[ReservoirInfo]:
        """All reservoirs, sorted by name (case-insensitive)."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT * FROM reservoirs ORDER BY name COLLATE NOCASE").fetchall()
            return self._infos(conn, rows)

    def latest_days(self) -> dict[str, dict[str, str | None]]:
        """Every reservoir's variables (in stored order) with their last reading day, in one query.

        Cheaper than ``reservoirs()`` for a fleet: one index lookup per variable instead of counting every reading.
        """
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT r.name, v.name, (SELECT MAX(x.date) FROM readings x "
                "WHERE x.reservoir_id = v.reservoir_id AND x.variable = v.name) "
                "FROM reservoirs r LEFT JOIN variables v ON v.reservoir_id = r.id "
                "ORDER BY r.name COLLATE NOCASE, v.position"
            ).fetchall()
        out: dict[str, dict[str, str | None]] = {}
        for name, variable, last in rows:
            days = out.setdefault(name, {})
            if variable is not None:
                days[variable] = last
        return out

    def reservoir(self, name: str) -> ReservoirInfo:
        """One reservoir by case-insensitive name; UnknownReservoir lists the known names."""
        with self._tx(write=False) as conn:
            return self._infos(conn, [self._reservoir_row(conn, name)])[0]

    # ----------------------------------------------------------------- merge

    @staticmethod
    def _ensure_reservoir(conn: sqlite3.Connection, name: str) -> tuple[int, str]:
        """Find (any case) or create a reservoir inside the merge transaction; returns (id, stored name)."""
        row = conn.execute("SELECT id, name FROM reservoirs WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return int(row["id"]), row["name"]
        cur = conn.execute("INSERT INTO reservoirs(name, created) VALUES (?, ?)", (name, now_utc()))
        return int(cur.lastrowid), name

    @staticmethod
    def _ensure_variables(conn: sqlite3.Connection, rid: int, reservoir: str, inc: _Incoming) -> list[str]:
        """Create missing variables, fill blank units/headers, refuse a unit that contradicts the stored one."""
        stored = {r["name"].lower(): r for r in conn.execute("SELECT * FROM variables WHERE reservoir_id = ?", (rid,))}
        position = conn.execute(
            "SELECT COALESCE(MAX(position), -1) FROM variables WHERE reservoir_id = ?", (rid,)
        ).fetchone()[0]
        names = []
        for column in inc.frame.columns:
            unit = inc.units.get(column)
            unit = (str(unit).strip() or None) if unit is not None else None
            source = inc.sources.get(column)
            row = stored.get(column.lower())
            if row is None:
                position += 1
                conn.execute(
                    "INSERT INTO variables(reservoir_id, name, position, unit, source_column) VALUES (?, ?, ?, ?, ?)",
                    (rid, column, position, unit, source),
                )
                names.append(column)
                continue
            names.append(row["name"])
            if unit is not None and row["unit"] is not None and normalize_unit(unit) != normalize_unit(row["unit"]):
                hint = _conversion_hint(unit, row["unit"])
                raise StoreError(
                    f"Reservoir '{reservoir}', variable '{row['name']}': this file gives unit '{unit}' but the "
                    f"workspace stores '{row['unit']}'. Convert the column to {row['unit']}{hint} "
                    "(or map it to another variable) and upload again; nothing was imported."
                )
            if (unit is not None and row["unit"] is None) or (source is not None and row["source_column"] is None):
                conn.execute(
                    "UPDATE variables SET unit = COALESCE(unit, ?), source_column = COALESCE(source_column, ?) "
                    "WHERE reservoir_id = ? AND name = ?",
                    (unit, source, rid, row["name"]),
                )
        return names

    def _stage(self, conn: sqlite3.Connection, incoming: list[_Incoming]) -> list[tuple[int, str]]:
        """Create reservoirs/variables and put every non-NaN incoming value in temp.incoming; returns targets."""
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS incoming (reservoir_id INTEGER, variable TEXT, date TEXT, value REAL, "
            "PRIMARY KEY (reservoir_id, variable, date)) WITHOUT ROWID"
        )
        conn.execute("DELETE FROM temp.incoming")
        targets: list[tuple[int, str]] = []
        for inc in incoming:
            rid, stored_name = self._ensure_reservoir(conn, inc.name)
            names = self._ensure_variables(conn, rid, stored_name, inc)
            targets.append((rid, stored_name))
            dates = inc.frame.index.strftime("%Y-%m-%d").to_numpy(dtype=object)
            for j, variable in enumerate(names):
                column = inc.frame.iloc[:, j].to_numpy()
                keep = ~np.isnan(column)
                n = int(keep.sum())
                conn.executemany(
                    "INSERT INTO temp.incoming VALUES (?, ?, ?, ?)",
                    zip([rid] * n, [variable] * n, dates[keep], column[keep].tolist(), strict=True),
                )
        return targets

    @staticmethod
    def _counts(conn: sqlite3.Connection, targets: list[tuple[int, str]]) -> dict[int, tuple[int, int, int]]:
        """Reservoir id -> (added, changed, unchanged) of the staged values against the stored ones."""
        differs = _DIFFERS.format(n="i.value", o="r.value")
        counts = {
            row[0]: (int(row[1]), int(row[2]), int(row[3]))
            for row in conn.execute(
                f"SELECT i.reservoir_id, "
                f"SUM(r.date IS NULL), "
                f"SUM(r.date IS NOT NULL AND {differs}), "
                f"SUM(r.date IS NOT NULL AND NOT ({differs})) "
                f"FROM temp.incoming i LEFT JOIN readings r "
                f"ON r.reservoir_id = i.reservoir_id AND r.variable = i.variable AND r.date = i.date "
                f"GROUP BY i.reservoir_id"
            )
        }
        return {rid: counts.get(rid, (0, 0, 0)) for rid, _ in targets}

    @staticmethod
    def _log_upload(
        conn: sqlite3.Connection,
        upload: UploadInfo,
        targets: list[tuple[int, str]],
        per_res: dict[int, tuple[int, int, int]],
        warnings_json: str,
        now: str,
    ) -> int:
        """Write the upload log row and its per-reservoir counts; returns the new upload id."""
        counts_json = {name: dict(zip(_COUNT_KEYS, per_res[rid], strict=True)) for rid, name in targets}
        cur = conn.execute(
            "INSERT INTO uploads(filename, sha256, time, reservoirs, counts, warnings, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                upload.filename,
                upload.sha256,
                now,
                to_json([name for _, name in targets], "reservoirs"),
                to_json(counts_json, "counts"),
                warnings_json,
                upload.note,
            ),
        )
        upload_id = int(cur.lastrowid)
        conn.executemany(
            "INSERT INTO upload_reservoirs(upload_id, reservoir_id, added, changed, unchanged) VALUES (?, ?, ?, ?, ?)",
            [(upload_id, rid, *per_res[rid]) for rid, _ in targets],
        )
        return upload_id

    @staticmethod
    def _apply(conn: sqlite3.Connection, upload_id: int, now: str) -> None:
        """Audit every changed value, then write new and changed values (unchanged ones keep the stored value)."""
        differs = _DIFFERS.format(n="i.value", o="r.value")
        conn.execute(
            f"INSERT INTO audit(reservoir_id, variable, date, old, new, upload_id, time) "
            f"SELECT i.reservoir_id, i.variable, i.date, r.value, i.value, ?, ? "
            f"FROM temp.incoming i JOIN readings r "
            f"ON r.reservoir_id = i.reservoir_id AND r.variable = i.variable AND r.date = i.date "
            f"WHERE {differs} ORDER BY i.reservoir_id, i.variable, i.date",
            (upload_id, now),
        )
        conn.execute(
            "INSERT INTO readings(reservoir_id, variable, date, value, upload_id) "
            "SELECT reservoir_id, variable, date, value, ? FROM temp.incoming WHERE true "
            "ON CONFLICT(reservoir_id, variable, date) DO UPDATE SET value = excluded.value, "
            f"upload_id = excluded.upload_id WHERE {_DIFFERS.format(n='excluded.value', o='readings.value')}",
            (upload_id,),
        )
        conn.execute("DELETE FROM temp.incoming")

    def merge(
        self,
        data: dict[str, pd.DataFrame],
        units: dict[str, dict[str, str | None]],
        upload: UploadInfo,
        source_columns: dict[str, dict[str, str]] | None = None,
    ) -> list[MergeResult]:
        """Merge one uploaded file (all its reservoirs) in one transaction; see the module docstring for the rules."""
        incoming = check_upload(data, units, source_columns)
        warnings_json = to_json(list(upload.warnings), "upload warnings")  # refused before anything is written
        with self._tx(write=True) as conn:
            self._guard(conn, "import", ", ".join(i.name for i in incoming), upload.filename)
            targets = self._stage(conn, incoming)
            per_res = self._counts(conn, targets)
            nothing_changes = all(a == 0 and c == 0 for a, c, _ in per_res.values())
            earlier = self._earlier_upload(conn, upload.sha256, [rid for rid, _ in targets])
            if nothing_changes and earlier is not None:
                # A repeated file writes nothing (not even blank-unit fills): undo, leave _tx an empty one to commit.
                conn.execute("ROLLBACK")
                conn.execute("BEGIN")
                return [MergeResult(name, 0, 0, per_res[rid][2], earlier, True) for rid, name in targets]
            now = now_utc()
            upload_id = self._log_upload(conn, upload, targets, per_res, warnings_json, now)
            self._apply(conn, upload_id, now)
            return [MergeResult(name, *per_res[rid], upload_id, False) for rid, name in targets]

    @staticmethod
    def _earlier_upload(conn: sqlite3.Connection, sha256: str, reservoir_ids: list[int]) -> int | None:
        """Latest upload id with this sha256 if that file already went into every one of these reservoirs."""
        latest = None
        for rid in reservoir_ids:
            row = conn.execute(
                "SELECT MAX(u.id) FROM uploads u JOIN upload_reservoirs ur ON ur.upload_id = u.id "
                "WHERE u.sha256 = ? AND ur.reservoir_id = ?",
                (sha256, rid),
            ).fetchone()
            if row[0] is None:
                return None
            latest = max(latest or 0, int(row[0]))
        return latest

    # ----------------------------------------------------------------- reading back

    def readings(
        self,
        reservoir: str,
        variables: Sequence[str] | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> pd.DataFrame:
        """Stored readings as a frame (dates with at least one reading, inclusive start/end, stored column order)."""
        lo, hi = _day(start, "Start"), _day(end, "End")
        with self._tx(write=False) as conn:
            info = self._infos(conn, [self._reservoir_row(conn, reservoir)], stats=False)[0]
            wanted = self._wanted(info, variables)
            sql = "SELECT date, value FROM readings WHERE reservoir_id = ? AND variable = ?"
            bounds: list[str] = []
            if lo:
                sql += " AND date >= ?"
                bounds.append(lo)
            if hi:
                sql += " AND date <= ?"
                bounds.append(hi)
            cur = conn.cursor()
            cur.row_factory = None  # plain tuples: Row objects cost more than the query itself
            columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for name in wanted:
                rows = cur.execute(sql + " ORDER BY date", [info.id, name, *bounds]).fetchall()
                dates = np.array([r[0] for r in rows], dtype="datetime64[D]")
                columns[name] = (dates, np.array([r[1] for r in rows], dtype="float64"))
        return self._frame(wanted, columns)

    @staticmethod
    def _wanted(info: ReservoirInfo, variables: Sequence[str] | str | None) -> list[str]:
        """The requested variables (names or aliases) as stored names in stored order; None = all."""
        if variables is None:
            return list(info.variable_names)
        if isinstance(variables, str):
            variables = [variables]
        chosen = {info.variable(v).name for v in variables}
        return [n for n in info.variable_names if n in chosen]

    @staticmethod
    def _frame(wanted: list[str], columns: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
        """One frame on the union of the columns' dates (NaN where a variable has no reading that day)."""
        all_dates = np.unique(np.concatenate([d for d, _ in columns.values()])) if columns else np.array([], "M8[D]")
        values = np.full((len(all_dates), len(wanted)), np.nan)
        for j, name in enumerate(wanted):
            dates, vals = columns[name]
            values[np.searchsorted(all_dates, dates), j] = vals
        index = pd.DatetimeIndex(all_dates.astype("datetime64[us]"), name="date")
        return pd.DataFrame(values, index=index, columns=list(wanted))

    def uploads(self, reservoir: str | None = None) -> list[dict]:
        """Upload log, newest first, optionally only uploads that touched one reservoir."""
        with self._tx(write=False) as conn:
            if reservoir is None:
                rows = conn.execute("SELECT * FROM uploads ORDER BY id DESC").fetchall()
            else:
                rid = self._reservoir_row(conn, reservoir)["id"]
                rows = conn.execute(
                    "SELECT u.* FROM uploads u JOIN upload_reservoirs ur ON ur.upload_id = u.id "
                    "WHERE ur.reservoir_id = ? ORDER BY u.id DESC",
                    (rid,),
                ).fetchall()
        return [_upload_dict(r) for r in rows]

    def audit(self, reservoir: str) -> list[dict]:
        """Every replaced value of a reservoir (newest first) with the upload that replaced it."""
        with self._tx(write=False) as conn:
            rid = self._reservoir_row(conn, reservoir)["id"]
            rows = conn.execute(
                "SELECT a.*, u.filename FROM audit a LEFT JOIN uploads u ON u.id = a.upload_id "
                "WHERE a.reservoir_id = ? ORDER BY a.id DESC",
                (rid,),
            ).fetchall()
        return [_audit_dict(r) for r in rows]


def _conversion_hint(given: str, stored: str) -> str:
    """' (1 ft = 0.3048 m)' when the app knows both units, so the operator sees the factor to apply."""
    try:
        return f" ({conversion_text(given, stored)})"
    except UnitError:
        return ""
