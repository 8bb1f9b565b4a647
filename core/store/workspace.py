"""The workspace: one SQLite file (readings, uploads, audit, levels, models, jobs) shared by the app, CLI and trainer.

Several processes use the same workspace at once, so every operation opens its own short-lived connection
(WAL mode, 30 s busy timeout) and every write runs in one short ``BEGIN IMMEDIATE`` transaction.

Merge rules (``Workspace.merge``), which a caller relies on:

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

import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.levels import OperatingLevel, check_level
from core.data.variables import canonical_name

DB_NAME = "sentinel.db"
MODELS_DIR = "models"
ENV_WORKSPACE = "SENTINEL_WORKSPACE"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
JOB_STATUSES = ("queued", "running", "done", "failed", "stopped", "interrupted")
ACTIVE_JOB_STATUSES = ("queued", "running")
FINISHED_JOB_STATUSES = ("done", "failed", "stopped", "interrupted")
# A job with no pid yet (the launcher has not reported it) is only presumed dead after this long.
PIDLESS_GRACE_S = 120.0
# SQL test for "old and new differ by more than the merge tolerance" (o = stored, n = incoming).
_DIFFERS = "abs({n} - {o}) > 1e-9 * max(1.0, abs({o}), abs({n}))"


class StoreError(ValueError):
    """A workspace request that cannot be done as asked; the message says what to do instead."""


class UnknownReservoir(StoreError):
    """The named reservoir is not in the workspace; the message lists the ones that are."""


def resolve_workspace(path: str | Path | None) -> Path:
    """One rule for app, CLI and trainer: explicit path, else $SENTINEL_WORKSPACE, else ./workspace."""
    if path is not None and str(path).strip():
        chosen = Path(path)
    elif os.environ.get(ENV_WORKSPACE, "").strip():
        chosen = Path(os.environ[ENV_WORKSPACE].strip())
    else:
        chosen = Path("workspace")
    return chosen.expanduser().resolve()


@dataclass(frozen=True)
class VariableInfo:
    """One stored variable of a reservoir with its unit, original header and date span."""

    name: str
    unit: str | None
    source_column: str | None
    first: str | None
    last: str | None
    count: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI and pages."""
        return asdict(self)


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
        """JSON-ready form for the CLI and pages."""
        return {
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "first": self.first,
            "last": self.last,
            "variables": [v.to_dict() for v in self.variables],
        }


@dataclass(frozen=True)
class MergeResult:
    """What one upload did to one reservoir, so the page can say 'added 120, changed 3'."""

    reservoir: str
    added: int
    changed: int
    unchanged: int
    upload_id: int | None
    already_imported: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI and pages."""
        return asdict(self)


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


def _now() -> str:
    """Current time as ISO 8601 UTC, the one time format in the workspace."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _jsonable(obj: Any, where: str) -> Any:
    """Turn numpy scalars/paths/tuples into plain JSON values and NaN/inf into None; refuse anything else."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, where) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, where) for v in obj]
    if hasattr(obj, "to_dict") and callable(obj.to_dict) and not isinstance(obj, (pd.DataFrame, pd.Series)):
        return _jsonable(obj.to_dict(), where)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    raise StoreError(f"{where}: value of type {type(obj).__name__} cannot be stored as JSON; pass plain numbers/text.")


def _dumps(obj: Any, where: str) -> str:
    """Strict JSON text for a TEXT column."""
    return json.dumps(_jsonable(obj, where), allow_nan=False, ensure_ascii=False)


def _loads(text: str | None, default: Any = None) -> Any:
    """Parse a JSON column, tolerating NULL."""
    return default if text is None else json.loads(text)


def pid_alive(pid: int | None) -> bool:
    """True while a process with this pid exists and is not a zombie (a finished child nobody reaped)."""
    if pid is None or pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, OSError):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reservoirs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    last_model_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS variables (
    reservoir_id INTEGER NOT NULL REFERENCES reservoirs(id),
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    unit TEXT,
    source_column TEXT,
    PRIMARY KEY (reservoir_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    time TEXT NOT NULL,
    reservoirs TEXT NOT NULL,
    counts TEXT NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS uploads_sha ON uploads(sha256);
CREATE TABLE IF NOT EXISTS upload_reservoirs (
    upload_id INTEGER NOT NULL REFERENCES uploads(id),
    reservoir_id INTEGER NOT NULL REFERENCES reservoirs(id),
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    PRIMARY KEY (upload_id, reservoir_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS upload_reservoirs_res ON upload_reservoirs(reservoir_id);
CREATE TABLE IF NOT EXISTS readings (
    reservoir_id INTEGER NOT NULL,
    variable TEXT NOT NULL,
    date TEXT NOT NULL,
    value REAL NOT NULL,
    upload_id INTEGER REFERENCES uploads(id),
    PRIMARY KEY (reservoir_id, variable, date),
    FOREIGN KEY (reservoir_id, variable) REFERENCES variables(reservoir_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    reservoir_id INTEGER NOT NULL REFERENCES reservoirs(id),
    variable TEXT NOT NULL,
    date TEXT NOT NULL,
    old REAL,
    new REAL,
    upload_id INTEGER REFERENCES uploads(id),
    time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_res ON audit(reservoir_id);
CREATE TABLE IF NOT EXISTS levels (
    reservoir_id INTEGER NOT NULL REFERENCES reservoirs(id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT,
    side TEXT NOT NULL,
    severity TEXT NOT NULL,
    variable TEXT NOT NULL,
    PRIMARY KEY (reservoir_id, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS models (
    reservoir_id INTEGER NOT NULL REFERENCES reservoirs(id),
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    val_mae REAL,
    active INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (reservoir_id, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    reservoir_id INTEGER NOT NULL REFERENCES reservoirs(id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    pid INTEGER,
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    message TEXT,
    result TEXT,
    stop_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_res ON jobs(reservoir_id, status);
CREATE TABLE IF NOT EXISTS epochs (
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    epoch INTEGER NOT NULL,
    logs TEXT NOT NULL,
    seconds REAL NOT NULL,
    total_epochs INTEGER NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (job_id, epoch)
) WITHOUT ROWID;
"""

# version N -> function upgrading a version-N database to N+1 (run inside the schema transaction).
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}


class Workspace:
    """A workspace folder: ``sentinel.db`` plus ``models/``; safe to use from several processes at once."""

    def __init__(self, root: str | Path) -> None:
        self.root: Path = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"Workspace path {self.root} is a file; choose a folder (it is created if missing).")
        self.db_path: Path = self.root / DB_NAME
        self.models_dir: Path = self.root / MODELS_DIR
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self._init_schema()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # ----------------------------------------------------------------- connections

    def _connect(self) -> sqlite3.Connection:
        """A fresh connection in autocommit mode; transactions are opened explicitly."""
        try:
            conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.db_path} is not a usable Reservoir Sentinel database ({exc}); choose another workspace folder."
            ) from exc
        conn.row_factory = sqlite3.Row
        return conn

    @contextmanager
    def _tx(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One short transaction: IMMEDIATE for writes (no lock upgrade deadlocks), deferred snapshot for reads."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(
                    f"The workspace database {self.db_path} stayed busy for {BUSY_TIMEOUT_S:.0f} s "
                    "(another process is writing); try again in a moment."
                ) from exc
            raise
        finally:
            conn.close()

    def _init_schema(self) -> None:
        """Create or upgrade the schema; refuse a database written by a newer app version."""
        conn = self._connect()
        try:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"{self.db_path} is not a usable Reservoir Sentinel database ({exc}); "
                    "choose another workspace folder."
                ) from exc
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                row = conn.execute("SELECT version FROM schema_version").fetchone()
                version = SCHEMA_VERSION if row is None else int(row[0])
                if row is None:
                    conn.execute("INSERT INTO schema_version(version) VALUES (?)", (SCHEMA_VERSION,))
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"Workspace {self.root} uses schema version {version}, newer than this app "
                        f"(version {SCHEMA_VERSION}); update Reservoir Sentinel or choose another workspace."
                    )
                while version < SCHEMA_VERSION:
                    _MIGRATIONS[version](conn)
                    version += 1
                    conn.execute("UPDATE schema_version SET version = ?", (version,))
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def schema_version(self) -> int:
        """Schema version of the database, for diagnostics."""
        with self._tx(write=False) as conn:
            return int(conn.execute("SELECT version FROM schema_version").fetchone()[0])

    # ----------------------------------------------------------------- reservoirs

    def _known_names(self, conn: sqlite3.Connection) -> list[str]:
        return [r[0] for r in conn.execute("SELECT name FROM reservoirs ORDER BY name COLLATE NOCASE")]

    def _reservoir_row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row:
        """Find a reservoir by name, ignoring case and surrounding spaces."""
        row = conn.execute("SELECT * FROM reservoirs WHERE name = ?", (str(name).strip(),)).fetchone()
        if row is None:
            known = self._known_names(conn)
            if known:
                raise UnknownReservoir(
                    f"No reservoir named '{name}' in this workspace. Known reservoirs: {', '.join(known)}."
                )
            raise UnknownReservoir(
                f"No reservoir named '{name}': this workspace has no reservoirs yet. Upload a data file first."
            )
        return row

    def _infos(self, conn: sqlite3.Connection, rows: list[sqlite3.Row], stats: bool = True) -> list[ReservoirInfo]:
        """Build ReservoirInfo objects; date spans/counts (one pass over the readings index) only when asked."""
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        spans = (
            {
                (s[0], s[1]): (s[2], s[3], s[4])
                for s in conn.execute(
                    f"SELECT reservoir_id, variable, MIN(date), MAX(date), COUNT(*) FROM readings "
                    f"WHERE reservoir_id IN ({marks}) GROUP BY reservoir_id, variable",
                    ids,
                )
            }
            if stats
            else {}
        )
        variables: dict[int, list[VariableInfo]] = {i: [] for i in ids}
        for v in conn.execute(
            f"SELECT * FROM variables WHERE reservoir_id IN ({marks}) ORDER BY reservoir_id, position", ids
        ):
            first, last, count = spans.get((v["reservoir_id"], v["name"]), (None, None, 0))
            variables[v["reservoir_id"]].append(
                VariableInfo(v["name"], v["unit"], v["source_column"], first, last, int(count))
            )
        infos = []
        for r in rows:
            vs = tuple(variables[r["id"]])
            firsts = [v.first for v in vs if v.first]
            lasts = [v.last for v in vs if v.last]
            infos.append(
                ReservoirInfo(
                    id=int(r["id"]),
                    name=r["name"],
                    created=r["created"],
                    variables=vs,
                    first=min(firsts) if firsts else None,
                    last=max(lasts) if lasts else None,
                )
            )
        return infos

    def reservoirs(self) -> list[ReservoirInfo]:
        """All reservoirs, sorted by name (case-insensitive)."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT * FROM reservoirs ORDER BY name COLLATE NOCASE").fetchall()
            return self._infos(conn, rows)

    def reservoir(self, name: str) -> ReservoirInfo:
        """One reservoir by case-insensitive name; UnknownReservoir lists the known names."""
        with self._tx(write=False) as conn:
            return self._infos(conn, [self._reservoir_row(conn, name)])[0]

    # ----------------------------------------------------------------- merge

    def _check_upload(
        self,
        data: dict[str, pd.DataFrame],
        units: dict[str, dict[str, str | None]],
        source_columns: dict[str, dict[str, str]] | None,
    ) -> list[_Incoming]:
        """Check frames follow the convention before any write; errors name reservoir/column/date."""
        if not data:
            raise StoreError("The upload holds no reservoir data; check that the file has a date column and values.")
        units = units or {}
        seen: dict[str, str] = {}
        out = []
        for name, frame in data.items():
            clean_name = str(name).strip()
            if not clean_name:
                raise StoreError("A reservoir in the upload has an empty name; give every reservoir a name.")
            if clean_name.lower() in seen:
                raise StoreError(
                    f"The upload names reservoir '{seen[clean_name.lower()]}' twice ('{name}'); "
                    "merge those columns first."
                )
            seen[clean_name.lower()] = clean_name
            if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
                raise StoreError(f"Reservoir '{clean_name}': data must be a DataFrame indexed by date.")
            index = frame.index
            if index.tz is not None:
                index = index.tz_localize(None)
            index = index.normalize()
            if index.has_duplicates:
                dup = index[index.duplicated()][0].strftime("%Y-%m-%d")
                raise StoreError(
                    f"Reservoir '{clean_name}': date {dup} appears more than once; aggregate to one row per day first."
                )
            if index.hasnans:
                raise StoreError(f"Reservoir '{clean_name}': some rows have no date; drop them before merging.")
            columns = [str(c).strip() for c in frame.columns]
            lowered = [c.lower() for c in columns]
            if len(set(lowered)) != len(lowered) or "" in lowered:
                raise StoreError(
                    f"Reservoir '{clean_name}': variable names must be unique and non-empty, got {columns}."
                )
            try:
                values = frame.apply(pd.to_numeric).to_numpy(dtype="float64")
            except (ValueError, TypeError) as exc:
                raise StoreError(f"Reservoir '{clean_name}': values must be numbers ({exc}).") from exc
            bad = np.isinf(values)
            if bad.any():
                row, col = np.argwhere(bad)[0]
                raise StoreError(
                    f"Reservoir '{clean_name}', variable '{columns[col]}', date "
                    f"{index[row].strftime('%Y-%m-%d')}: value is infinite; fix or blank it and upload again."
                )
            clean = pd.DataFrame(values, index=pd.DatetimeIndex(index, name="date"), columns=columns)
            res_units = {str(k).strip(): v for k, v in (units.get(name) or units.get(clean_name) or {}).items()}
            res_sources = {
                str(k).strip(): v
                for k, v in ((source_columns or {}).get(name) or (source_columns or {}).get(clean_name) or {}).items()
            }
            out.append(_Incoming(clean_name, clean, res_units, res_sources))
        return out

    @staticmethod
    def _ensure_reservoir(conn: sqlite3.Connection, name: str) -> tuple[int, str]:
        """Find (any case) or create a reservoir inside the merge transaction; returns (id, stored name)."""
        row = conn.execute("SELECT id, name FROM reservoirs WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return int(row["id"]), row["name"]
        cur = conn.execute("INSERT INTO reservoirs(name, created) VALUES (?, ?)", (name, _now()))
        return int(cur.lastrowid), name

    def _ensure_variables(self, conn: sqlite3.Connection, rid: int, reservoir: str, inc: _Incoming) -> list[str]:
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
            if unit is not None and row["unit"] is not None and unit != row["unit"]:
                raise StoreError(
                    f"Reservoir '{reservoir}', variable '{row['name']}': this file gives unit '{unit}' but the "
                    f"workspace stores '{row['unit']}'. Convert the column to {row['unit']} (or map it to another "
                    f"variable) and upload again; nothing was imported."
                )
            if (unit is not None and row["unit"] is None) or (source is not None and row["source_column"] is None):
                conn.execute(
                    "UPDATE variables SET unit = COALESCE(unit, ?), source_column = COALESCE(source_column, ?) "
                    "WHERE reservoir_id = ? AND name = ?",
                    (unit, source, rid, row["name"]),
                )
        return names

    def merge(
        self,
        data: dict[str, pd.DataFrame],
        units: dict[str, dict[str, str | None]],
        upload: UploadInfo,
        source_columns: dict[str, dict[str, str]] | None = None,
    ) -> list[MergeResult]:
        """Merge one uploaded file (all its reservoirs) in one transaction; see the module docstring for the rules."""
        incoming = self._check_upload(data, units, source_columns)
        warnings_json = _dumps(list(upload.warnings), "upload warnings")
        with self._tx(write=True) as conn:
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
            per_res = {rid: counts.get(rid, (0, 0, 0)) for rid, _ in targets}
            nothing_changes = all(a == 0 and c == 0 for a, c, _ in per_res.values())
            earlier = self._earlier_upload(conn, upload.sha256, [rid for rid, _ in targets])
            if nothing_changes and earlier is not None:
                # A repeated file writes nothing (not even blank-unit fills): undo, leave _tx an empty one to commit.
                conn.execute("ROLLBACK")
                conn.execute("BEGIN")
                return [MergeResult(name, 0, 0, per_res[rid][2], earlier, True) for rid, name in targets]
            now = _now()
            keys = ("added", "changed", "unchanged")
            counts_json = {name: dict(zip(keys, per_res[rid], strict=True)) for rid, name in targets}
            cur = conn.execute(
                "INSERT INTO uploads(filename, sha256, time, reservoirs, counts, warnings, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    upload.filename,
                    upload.sha256,
                    now,
                    _dumps([name for _, name in targets], "reservoirs"),
                    _dumps(counts_json, "counts"),
                    warnings_json,
                    upload.note,
                ),
            )
            upload_id = int(cur.lastrowid)
            conn.executemany(
                "INSERT INTO upload_reservoirs(upload_id, reservoir_id, added, changed, unchanged) "
                "VALUES (?, ?, ?, ?, ?)",
                [(upload_id, rid, *per_res[rid]) for rid, _ in targets],
            )
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

    @staticmethod
    def _day(value: str | None, what: str) -> str | None:
        """Normalise a user-given date bound to 'YYYY-MM-DD'."""
        if value is None or str(value).strip() == "":
            return None
        try:
            return pd.Timestamp(value).strftime("%Y-%m-%d")
        except (ValueError, TypeError) as exc:
            raise StoreError(f"{what} date '{value}' is not a date; use YYYY-MM-DD.") from exc

    def readings(
        self,
        reservoir: str,
        variables: Sequence[str] | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> pd.DataFrame:
        """Stored readings as a frame (dates with at least one reading, inclusive start/end, stored column order)."""
        lo, hi = self._day(start, "Start"), self._day(end, "End")
        with self._tx(write=False) as conn:
            info = self._infos(conn, [self._reservoir_row(conn, reservoir)], stats=False)[0]
            if variables is None:
                wanted = list(info.variable_names)
            else:
                if isinstance(variables, str):
                    variables = [variables]
                chosen = {info.variable(v).name for v in variables}
                wanted = [n for n in info.variable_names if n in chosen]
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
        out = []
        for r in rows:
            counts = _loads(r["counts"], {})
            out.append(
                {
                    "id": int(r["id"]),
                    "filename": r["filename"],
                    "sha256": r["sha256"],
                    "time": r["time"],
                    "reservoirs": _loads(r["reservoirs"], []),
                    "counts": counts,
                    "added": sum(c["added"] for c in counts.values()),
                    "changed": sum(c["changed"] for c in counts.values()),
                    "unchanged": sum(c["unchanged"] for c in counts.values()),
                    "warnings": _loads(r["warnings"], []),
                    "note": r["note"],
                }
            )
        return out

    def audit(self, reservoir: str) -> list[dict]:
        """Every replaced value of a reservoir (newest first) with the upload that replaced it."""
        with self._tx(write=False) as conn:
            rid = self._reservoir_row(conn, reservoir)["id"]
            rows = conn.execute(
                "SELECT a.*, u.filename FROM audit a LEFT JOIN uploads u ON u.id = a.upload_id "
                "WHERE a.reservoir_id = ? ORDER BY a.id DESC",
                (rid,),
            ).fetchall()
        return [
            {
                "variable": r["variable"],
                "date": r["date"],
                "old": r["old"],
                "new": r["new"],
                "upload_id": r["upload_id"],
                "filename": r["filename"],
                "time": r["time"],
            }
            for r in rows
        ]

    # ----------------------------------------------------------------- per-reservoir metadata

    def set_meta(self, reservoir: str, key: str, value: Any) -> None:
        """Store one small JSON value per reservoir (e.g. capacity); None removes the key."""
        key = str(key).strip()
        if not key:
            raise StoreError("A metadata key must not be empty.")
        with self._tx(write=True) as conn:
            row = self._reservoir_row(conn, reservoir)
            meta = _loads(row["meta"], {})
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = _jsonable(value, f"Reservoir '{row['name']}' metadata '{key}'")
            conn.execute("UPDATE reservoirs SET meta = ? WHERE id = ?", (_dumps(meta, "metadata"), row["id"]))

    def get_meta(self, reservoir: str, key: str, default: Any = None) -> Any:
        """Read one metadata value, or default when it was never set."""
        with self._tx(write=False) as conn:
            meta = _loads(self._reservoir_row(conn, reservoir)["meta"], {})
        return meta.get(str(key).strip(), default)

    # ----------------------------------------------------------------- operating levels

    def levels(self, reservoir: str) -> list[OperatingLevel]:
        """The reservoir's operating levels in the order they were set."""
        with self._tx(write=False) as conn:
            rid = self._reservoir_row(conn, reservoir)["id"]
            rows = conn.execute("SELECT * FROM levels WHERE reservoir_id = ? ORDER BY position", (rid,)).fetchall()
        return [
            OperatingLevel(
                name=r["name"],
                value=float(r["value"]),
                unit=r["unit"],
                side=r["side"],
                severity=r["severity"],
                variable=r["variable"],
            )
            for r in rows
        ]

    def set_levels(self, reservoir: str, levels: Sequence[OperatingLevel]) -> None:
        """Replace the whole set; each level is checked (LevelError) and names must be unique (StoreError)."""
        levels = list(levels)
        for level in levels:
            check_level(level)
        names = [lv.name.strip().lower() for lv in levels]
        dup = next((lv.name for lv, n in zip(levels, names, strict=True) if names.count(n) > 1), None)
        if dup is not None:
            raise StoreError(f"Two operating levels are named '{dup}'; give each level its own name.")
        with self._tx(write=True) as conn:
            rid = self._reservoir_row(conn, reservoir)["id"]
            conn.execute("DELETE FROM levels WHERE reservoir_id = ?", (rid,))
            conn.executemany(
                "INSERT INTO levels(reservoir_id, position, name, value, unit, side, severity, variable) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (rid, i, lv.name.strip(), float(lv.value), lv.unit, lv.side, lv.severity, lv.variable)
                    for i, lv in enumerate(levels)
                ],
            )

    # ----------------------------------------------------------------- model versions

    def next_version(self, reservoir: str) -> int:
        """Next model version number: never reuses one, even after a delete."""
        with self._tx(write=False) as conn:
            row = self._reservoir_row(conn, reservoir)
            top = conn.execute("SELECT MAX(version) FROM models WHERE reservoir_id = ?", (row["id"],)).fetchone()[0]
        return 1 + max(int(row["last_model_version"]), int(top or 0))

    def _relative(self, path: str | Path) -> str:
        """Model path relative to the workspace root, so a moved workspace still finds its files."""
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.resolve().relative_to(self.root)
            except ValueError as exc:
                raise StoreError(
                    f"Model file {path} is outside the workspace {self.root}; save it under models/."
                ) from exc
        return p.as_posix()

    def add_model(
        self,
        reservoir: str,
        version: int,
        path: str,
        sha256: str,
        meta: dict,
        val_mae: float,
        active: bool,
    ) -> None:
        """Record a saved model; if active (or the reservoir has no active model yet) it becomes the one used."""
        rel = self._relative(path)
        meta_json = _dumps(meta, "model meta")
        mae = float(val_mae) if val_mae is not None and math.isfinite(float(val_mae)) else None
        with self._tx(write=True) as conn:
            row = self._reservoir_row(conn, reservoir)
            rid = row["id"]
            exists = conn.execute(
                "SELECT 1 FROM models WHERE reservoir_id = ? AND version = ?", (rid, int(version))
            ).fetchone()
            if exists or int(version) <= int(row["last_model_version"]):
                raise StoreError(
                    f"Reservoir '{row['name']}' already used model version {version}; ask next_version() for a new one."
                )
            has_active = conn.execute("SELECT 1 FROM models WHERE reservoir_id = ? AND active = 1", (rid,)).fetchone()
            make_active = bool(active) or has_active is None
            if make_active:
                conn.execute("UPDATE models SET active = 0 WHERE reservoir_id = ?", (rid,))
            conn.execute(
                "INSERT INTO models(reservoir_id, version, created, path, sha256, meta, val_mae, active) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (rid, int(version), _now(), rel, sha256, meta_json, mae, int(make_active)),
            )
            conn.execute(
                "UPDATE reservoirs SET last_model_version = MAX(last_model_version, ?) WHERE id = ?",
                (int(version), rid),
            )

    @staticmethod
    def _model_dict(r: sqlite3.Row) -> dict:
        return {
            "version": int(r["version"]),
            "created": r["created"],
            "path": r["path"],
            "sha256": r["sha256"],
            "val_mae": r["val_mae"],
            "active": bool(r["active"]),
            "meta": _loads(r["meta"], {}),
        }

    def models(self, reservoir: str) -> list[dict]:
        """All recorded model versions of a reservoir, oldest first."""
        with self._tx(write=False) as conn:
            rid = self._reservoir_row(conn, reservoir)["id"]
            rows = conn.execute("SELECT * FROM models WHERE reservoir_id = ? ORDER BY version", (rid,)).fetchall()
        return [self._model_dict(r) for r in rows]

    def _model_row(self, conn: sqlite3.Connection, reservoir: str, version: int | None) -> sqlite3.Row:
        res = self._reservoir_row(conn, reservoir)
        if version is None:
            row = conn.execute("SELECT * FROM models WHERE reservoir_id = ? AND active = 1", (res["id"],)).fetchone()
            if row is None:
                raise StoreError(f"Reservoir '{res['name']}' has no active model; train a model first.")
            return row
        row = conn.execute(
            "SELECT * FROM models WHERE reservoir_id = ? AND version = ?", (res["id"], int(version))
        ).fetchone()
        if row is None:
            known = [
                str(r[0])
                for r in conn.execute(
                    "SELECT version FROM models WHERE reservoir_id = ? ORDER BY version", (res["id"],)
                )
            ]
            if not known:
                raise StoreError(f"Reservoir '{res['name']}' has no models; train a model first.")
            raise StoreError(
                f"Reservoir '{res['name']}' has no model version {version}; known versions: {', '.join(known)}."
            )
        return row

    def model(self, reservoir: str, version: int | None = None) -> dict:
        """One model version's metadata; None means the active one."""
        with self._tx(write=False) as conn:
            return self._model_dict(self._model_row(conn, reservoir, version))

    def set_active(self, reservoir: str, version: int) -> None:
        """Make one version the model used for forecasts (the others become inactive)."""
        with self._tx(write=True) as conn:
            row = self._model_row(conn, reservoir, version)
            conn.execute(
                "UPDATE models SET active = (version = ?) WHERE reservoir_id = ?", (row["version"], row["reservoir_id"])
            )

    def delete_model(self, reservoir: str, version: int) -> None:
        """Forget a model version's metadata (the file is core/registry.py's business); the active one is refused."""
        with self._tx(write=True) as conn:
            row = self._model_row(conn, reservoir, version)
            if row["active"]:
                raise StoreError(
                    f"Model version {version} is the active model; make another version active before deleting it."
                )
            conn.execute(
                "DELETE FROM models WHERE reservoir_id = ? AND version = ?", (row["reservoir_id"], row["version"])
            )

    # ----------------------------------------------------------------- background jobs

    def _job_dead(self, row: sqlite3.Row) -> bool:
        """A queued/running job whose process is gone (or never reported a pid within the grace period)."""
        if row["pid"] is not None:
            return not pid_alive(int(row["pid"]))
        since = row["started"] or row["created"]
        try:
            age = time.time() - datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        except (TypeError, ValueError):
            return True
        return age > PIDLESS_GRACE_S

    @staticmethod
    def _interrupt(conn: sqlite3.Connection, row: sqlite3.Row) -> int:
        pid = f" (pid {row['pid']})" if row["pid"] is not None else ""
        cur = conn.execute(
            "UPDATE jobs SET status = 'interrupted', finished = ?, message = ? "
            "WHERE id = ? AND status IN ('queued', 'running')",
            (
                _now(),
                f"The {row['kind']} process{pid} stopped without reporting (app restart or crash); start it again.",
                row["id"],
            ),
        )
        return cur.rowcount

    def create_job(self, reservoir: str, kind: str, params: dict) -> int:
        """Queue a job; refused while the reservoir has a live queued/running job (dead ones are marked interrupted)."""
        params_json = _dumps(params, "job params")
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, reservoir)
            for row in conn.execute(
                "SELECT * FROM jobs WHERE reservoir_id = ? AND status IN ('queued', 'running') ORDER BY id",
                (res["id"],),
            ).fetchall():
                if self._job_dead(row):
                    self._interrupt(conn, row)
                    continue
                raise StoreError(
                    f"Reservoir '{res['name']}' already has a {row['kind']} job #{row['id']} ({row['status']}); "
                    "wait for it to finish or stop it first."
                )
            cur = conn.execute(
                "INSERT INTO jobs(reservoir_id, kind, status, params, created) VALUES (?, ?, 'queued', ?, ?)",
                (res["id"], str(kind), params_json, _now()),
            )
            return int(cur.lastrowid)

    def update_job(
        self,
        job_id: int,
        *,
        status: str | None = None,
        pid: int | None = None,
        message: str | None = None,
        result: dict | None = None,
    ) -> None:
        """Report progress from the job's process; 'running' stamps started, a final status stamps finished."""
        if status is not None and status not in JOB_STATUSES:
            raise StoreError(f"Job status must be one of {', '.join(JOB_STATUSES)}, not '{status}'.")
        sets: list[str] = []
        args: list[Any] = []
        now = _now()
        if status is not None:
            sets.append("status = ?")
            args.append(status)
            if status == "running":
                sets.append("started = COALESCE(started, ?)")
                args.append(now)
            if status in FINISHED_JOB_STATUSES:
                sets.append("finished = ?")
                args.append(now)
        if pid is not None:
            sets.append("pid = ?")
            args.append(int(pid))
        if message is not None:
            sets.append("message = ?")
            args.append(str(message))
        if result is not None:
            sets.append("result = ?")
            args.append(_dumps(result, "job result"))
        with self._tx(write=True) as conn:
            self._job_row(conn, job_id)
            if sets:
                conn.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*args, int(job_id)))

    def add_epoch(self, job_id: int, epoch: int, logs: dict[str, float], seconds: float, total_epochs: int) -> None:
        """Record one finished epoch (re-reporting an epoch replaces it) so the page can draw live curves."""
        logs_json = _dumps({str(k): float(v) if v is not None else None for k, v in logs.items()}, "epoch logs")
        with self._tx(write=True) as conn:
            self._job_row(conn, job_id)
            conn.execute(
                "INSERT OR REPLACE INTO epochs(job_id, epoch, logs, seconds, total_epochs, time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (int(job_id), int(epoch), logs_json, float(seconds), int(total_epochs), _now()),
            )

    @staticmethod
    def _job_row(conn: sqlite3.Connection, job_id: int) -> sqlite3.Row:
        row = conn.execute(
            "SELECT j.*, r.name AS reservoir FROM jobs j JOIN reservoirs r ON r.id = j.reservoir_id WHERE j.id = ?",
            (int(job_id),),
        ).fetchone()
        if row is None:
            raise StoreError(f"There is no job #{job_id} in this workspace; list jobs to see the known ones.")
        return row

    @staticmethod
    def _job_dict(r: sqlite3.Row) -> dict:
        return {
            "id": int(r["id"]),
            "reservoir": r["reservoir"],
            "kind": r["kind"],
            "status": r["status"],
            "params": _loads(r["params"], {}),
            "pid": r["pid"],
            "created": r["created"],
            "started": r["started"],
            "finished": r["finished"],
            "message": r["message"],
            "result": _loads(r["result"]),
            "stop_requested": bool(r["stop_requested"]),
        }

    def job(self, job_id: int) -> dict:
        """One job with all its epochs in epoch order."""
        with self._tx(write=False) as conn:
            out = self._job_dict(self._job_row(conn, job_id))
            out["epochs"] = [
                {
                    "epoch": int(e["epoch"]),
                    "logs": _loads(e["logs"], {}),
                    "seconds": float(e["seconds"]),
                    "total_epochs": int(e["total_epochs"]),
                    "time": e["time"],
                }
                for e in conn.execute("SELECT * FROM epochs WHERE job_id = ? ORDER BY epoch", (int(job_id),))
            ]
        return out

    def jobs(self, reservoir: str | None = None, active_only: bool = False) -> list[dict]:
        """Jobs newest first (without epochs; use job(id) for those), optionally one reservoir / only queued+running."""
        sql = "SELECT j.*, r.name AS reservoir FROM jobs j JOIN reservoirs r ON r.id = j.reservoir_id WHERE 1"
        args: list[Any] = []
        with self._tx(write=False) as conn:
            if reservoir is not None:
                sql += " AND j.reservoir_id = ?"
                args.append(self._reservoir_row(conn, reservoir)["id"])
            if active_only:
                sql += " AND j.status IN ('queued', 'running')"
            rows = conn.execute(sql + " ORDER BY j.id DESC", args).fetchall()
        return [self._job_dict(r) for r in rows]

    def request_stop(self, job_id: int) -> None:
        """Ask the job's process to stop after the current epoch (it polls stop_requested)."""
        with self._tx(write=True) as conn:
            self._job_row(conn, job_id)
            conn.execute("UPDATE jobs SET stop_requested = 1 WHERE id = ?", (int(job_id),))

    def stop_requested(self, job_id: int) -> bool:
        """True once someone asked this job to stop."""
        with self._tx(write=False) as conn:
            return bool(self._job_row(conn, job_id)["stop_requested"])

    def mark_interrupted(self) -> int:
        """Mark queued/running jobs whose process is gone as 'interrupted' (call at app start); returns how many."""
        with self._tx(write=True) as conn:
            rows = conn.execute("SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY id").fetchall()
            return sum(self._interrupt(conn, row) for row in rows if self._job_dead(row))
