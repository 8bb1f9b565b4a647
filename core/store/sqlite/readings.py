"""Reservoirs, variables and readings in SQLite: merging an upload in one transaction, reading values back, the
upload log and audit (the rules: core.store.readings)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.data.units import UnitError, conversion_text, normalize_unit
from core.jsonio import loads
from core.store.common import now_utc, to_json
from core.store.errors import StoreError
from core.store.readings import (
    Incoming,
    MergeResult,
    ReservoirInfo,
    UploadInfo,
    VariableInfo,
    check_upload,
    day_bound,
)
from core.store.sqlite.base import SqliteRepository

# SQL test for "old and new differ by more than the merge tolerance" (o = stored, n = incoming).
_DIFFERS = "abs({n} - {o}) > 1e-9 * max(1.0, abs({o}), abs({n}))"
_COUNT_KEYS = ("added", "changed", "unchanged")


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


class RawReadings(SqliteRepository):
    """Reservoirs, variables, readings as imported, uploads and audit in SQLite."""

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

    def reservoir_name(self, reservoir: str) -> str:
        """The stored spelling of a reservoir's name (lookups ignore case)."""
        return self.db.reservoir_name(reservoir)

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
    def _ensure_variables(conn: sqlite3.Connection, rid: int, reservoir: str, inc: Incoming) -> list[str]:
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

    def _stage(self, conn: sqlite3.Connection, incoming: list[Incoming]) -> list[tuple[int, str]]:
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
        lo, hi = day_bound(start, "Start"), day_bound(end, "End")
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
