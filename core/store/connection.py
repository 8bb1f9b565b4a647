"""Where a workspace lives and how it is opened: errors, the folder rule, connections, transactions, schema.

Several processes use the same workspace at once, so every operation opens its own short-lived connection
(WAL mode, 30 s busy timeout) and every write runs in one short ``BEGIN IMMEDIATE`` transaction.

Every transaction holds the workspace's shared lock for its moment (core.store.inuse), so a restore or repair
never swaps the files under it; a restore a kill interrupted is finished (or rolled back) before anything else
opens the workspace (core.store.swap). A damaged workspace is never started afresh: a missing or 0-byte database
beside saved version folders is refused (WorkspaceDamaged, naming what is there and how to recover), and database
or disk failures (full, file-size limit, read-only, stale -shm, malformed, not a database, I/O) become specific
StoreErrors worded in core.store.health; nothing is deleted or overwritten on the way.
"""

from __future__ import annotations

import copy
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from core.auth.roles import LOCAL_ACTOR, Actor
from core.jsonio import JSONError, clean, dumps
from core.store import inuse, swap
from core.store.health import (
    damaged_text,
    disk_cause,
    failure_kind,
    failure_text,
    folder_problem,
    version_folders,
)
from core.store.inuse import pid_alive  # noqa: F401 - re-exported (workspace, jobs, cycles)

DB_NAME = "sentinel.db"
MODELS_DIR = "models"
ENV_WORKSPACE = "SENTINEL_WORKSPACE"
SCHEMA_VERSION = 4
BUSY_TIMEOUT_S = 30.0
log = logging.getLogger(__name__)


class StoreError(ValueError):
    """A workspace request that cannot be done as asked; the message says what to do instead."""


class UnknownReservoir(StoreError):
    """The named reservoir is not in the workspace; the message lists the ones that are."""


class WorkspaceDamaged(StoreError):
    """The database is missing, empty, unreadable or malformed; the message says what is left and how to recover."""


class StorageFailure(StoreError):
    """The disk or file system refused a read or write (full, read-only, stale -shm, I/O error); nothing was lost."""


class WorkspaceInUse(StoreError):
    """A restore or repair holds the workspace (a writer waits or is refused), or a writer holds it (a restore is
    refused); the message names who."""


def resolve_workspace(path: str | Path | None) -> Path:
    """One rule for app, CLI and trainer: explicit path, else $SENTINEL_WORKSPACE, else ./workspace."""
    if path is not None and str(path).strip():
        chosen = Path(path)
    elif os.environ.get(ENV_WORKSPACE, "").strip():
        chosen = Path(os.environ[ENV_WORKSPACE].strip())
    else:
        chosen = Path("workspace")
    return chosen.expanduser().resolve()


def now_utc() -> str:
    """Current time as ISO 8601 UTC, the one time format in the workspace."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(obj: Any, where: str) -> Any:
    """obj as plain JSON data (see core.jsonio.clean); a value JSON cannot hold is a StoreError naming `where`."""
    try:
        return clean(obj, where)
    except JSONError as exc:
        raise StoreError(str(exc)) from exc


def to_json(obj: Any, where: str) -> str:
    """Strict JSON text for a TEXT column; a value JSON cannot hold is a StoreError naming `where`."""
    try:
        return dumps(obj, indent=None, where=where)
    except JSONError as exc:
        raise StoreError(str(exc)) from exc


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
    stop_requested INTEGER NOT NULL DEFAULT 0,
    progress TEXT
);
CREATE INDEX IF NOT EXISTS jobs_res ON jobs(reservoir_id, status);
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY,
    reservoir_id INTEGER NOT NULL REFERENCES reservoirs(id),
    variable TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    value REAL,
    reason TEXT NOT NULL,
    user TEXT NOT NULL,
    time TEXT NOT NULL,
    undone TEXT,
    undone_by TEXT
);
CREATE INDEX IF NOT EXISTS revisions_res ON revisions(reservoir_id, variable);
-- the daily cycle: runs and per-reservoir results (core.store.cycles), new tables need no version bump
CREATE TABLE IF NOT EXISTS cycles (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    engine TEXT NOT NULL,
    retrain TEXT NOT NULL,
    status TEXT NOT NULL,
    seconds REAL,
    pid INTEGER,
    inbox TEXT NOT NULL DEFAULT '{}',
    notifications TEXT NOT NULL DEFAULT '[]',
    message TEXT
);
CREATE TABLE IF NOT EXISTS cycle_results (
    cycle_id INTEGER NOT NULL REFERENCES cycles(id),
    reservoir_id INTEGER NOT NULL REFERENCES reservoirs(id),
    result TEXT NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (cycle_id, reservoir_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cycle_results_res ON cycle_results(reservoir_id, cycle_id);
-- sign-in: the role of each OIDC subject, and who did what (core.store.users)
CREATE TABLE IF NOT EXISTS users (
    subject TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    added TEXT NOT NULL,
    added_by TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS activity (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    subject TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    reservoir TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS activity_time ON activity(time);
CREATE TABLE IF NOT EXISTS epochs (
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    epoch INTEGER NOT NULL,
    logs TEXT NOT NULL,
    seconds REAL NOT NULL,
    total_epochs INTEGER NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (job_id, epoch)
) WITHOUT ROWID;
-- notifications (core.store.notices): channels, settings, alert state per side, change events, deliveries,
-- attempts, acknowledgements (new tables need no version bump)
CREATE TABLE IF NOT EXISTS notify_channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: a delivery's channel_id can only mean its own channel
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notify_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_states (
    reservoir_id INTEGER NOT NULL REFERENCES reservoirs(id),
    side TEXT NOT NULL,
    state TEXT NOT NULL,
    judged TEXT NOT NULL,
    alert TEXT NOT NULL,
    issued TEXT,
    time TEXT NOT NULL,
    event_id INTEGER,
    PRIMARY KEY (reservoir_id, side)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_events (
    id INTEGER PRIMARY KEY,
    reservoir_id INTEGER REFERENCES reservoirs(id),
    side TEXT NOT NULL,
    change TEXT NOT NULL,
    state TEXT NOT NULL,
    previous TEXT NOT NULL,
    alert TEXT NOT NULL,
    message TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    sent INTEGER NOT NULL,
    issued TEXT,
    time TEXT NOT NULL,
    chart BLOB
);
CREATE INDEX IF NOT EXISTS alert_events_res ON alert_events(reservoir_id, id);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES alert_events(id),
    channel_id INTEGER,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries(status);
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries(event_id);
CREATE TABLE IF NOT EXISTS delivery_attempts (
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
    attempt INTEGER NOT NULL,
    time TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_acks (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES alert_events(id),
    user TEXT NOT NULL,
    time TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alert_acks_event ON alert_acks(event_id);
"""


def _add_job_progress(conn: sqlite3.Connection) -> None:
    """Version 1 -> 2: a JSON progress column on jobs (a comparison's 'model i of n'); old rows read as none."""
    conn.execute("ALTER TABLE jobs ADD COLUMN progress TEXT")


def _add_revisions(conn: sqlite3.Connection) -> None:
    """Version 2 -> 3: the revisions table (operator edits over the raw readings); created by _SCHEMA above,
    which runs first, so an upgraded database has it already and nothing else changes."""
    conn.execute("SELECT COUNT(*) FROM revisions").fetchone()


def _channel_ids_never_reused(conn: sqlite3.Connection) -> None:
    """Version 3 -> 4: notify_channels gets AUTOINCREMENT, its counter past every id a delivery ever named, so a
    removed channel's id never comes back (a stuck delivery of a removed channel went to the channel that reused
    it); each id keeps its channel."""
    conn.execute("ALTER TABLE notify_channels RENAME TO notify_channels_v3")
    create = next(s for s in _SCHEMA.split(";") if "CREATE TABLE IF NOT EXISTS notify_channels " in s)
    conn.execute(create)
    conn.execute("INSERT INTO notify_channels SELECT * FROM notify_channels_v3")
    conn.execute("DROP TABLE notify_channels_v3")
    top = conn.execute(
        "SELECT MAX(COALESCE((SELECT MAX(id) FROM notify_channels), 0), "
        "COALESCE((SELECT MAX(channel_id) FROM deliveries), 0))"
    ).fetchone()[0]
    conn.execute("DELETE FROM sqlite_sequence WHERE name = 'notify_channels'")
    conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES ('notify_channels', ?)", (int(top),))


# version N -> function upgrading a version-N database to N+1 (run inside the schema transaction).
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _add_job_progress,
    2: _add_revisions,
    3: _channel_ids_never_reused,
}


class StoreBase:
    """The part every concern of the workspace shares: the folder, connections, transactions, reservoir lookup."""

    def __init__(self, root: str | Path) -> None:
        self.root: Path = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"Workspace path {self.root} is a file; choose a folder (it is created if missing).")
        self.db_path: Path = self.root / DB_NAME
        self.models_dir: Path = self.root / MODELS_DIR
        self._finish_restore()
        self._prepare_folder()
        self._refuse_damaged()
        self._init_schema()

    def _finish_restore(self) -> None:
        """A restore killed half-way is finished (or rolled back) here, before anything could start afresh."""
        if not (self.root / swap.JOURNAL).exists():
            return
        try:
            with inuse.exclusive(self.root, "finishing an interrupted restore", tries_s=BUSY_TIMEOUT_S):
                done = swap.finish_interrupted(self.root, DB_NAME, MODELS_DIR)
        except inuse.InUse as exc:
            raise WorkspaceInUse(str(exc)) from exc
        except OSError as exc:
            raise StorageFailure(f"A restore into {self.root} was interrupted and cannot be finished ({exc}).") from exc
        if done:
            log.warning("Workspace %s: %s.", self.root, done)

    def _prepare_folder(self) -> None:
        """Create the workspace and models/ folders, or say why they cannot be (read-only, no space)."""
        try:
            self.models_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            kind = failure_kind(exc)
            detail = exc.strerror or str(exc)
            if kind == "full":
                raise StorageFailure(failure_text(kind, self.db_path, detail, BUSY_TIMEOUT_S, [])) from exc
            raise StorageFailure(
                f"Cannot create the workspace folder {self.models_dir} ({detail}); choose a folder this user can "
                "write to."
            ) from exc
        problem = folder_problem(self.root, self.db_path)
        if problem:
            raise StorageFailure(problem)

    def _refuse_damaged(self) -> None:
        """Never start afresh over saved versions: a missing or zero-byte database beside them is refused."""
        try:
            size = self.db_path.stat().st_size
        except FileNotFoundError:
            size = None
        if size:
            return
        folders = version_folders(self.models_dir)
        if folders:
            state = "is missing" if size is None else "is empty (0 bytes)"
            raise WorkspaceDamaged(damaged_text(self.db_path, state, folders))

    def _failure(self, exc: BaseException) -> StoreError | None:
        """The specific StoreError for a database or disk failure (None: not one we know, let it rise)."""
        kind = failure_kind(exc)
        if kind is None:
            return None
        kind = disk_cause(kind, self.db_path)
        folders = version_folders(self.models_dir) if kind in ("corrupt", "notadb") else []
        detail = str(exc) if isinstance(exc, sqlite3.Error) else (getattr(exc, "strerror", None) or str(exc))
        text = failure_text(kind, self.db_path, detail, BUSY_TIMEOUT_S, folders)
        cls = WorkspaceDamaged if kind in ("corrupt", "notadb") else StorageFailure
        return cls(text)

    def _on_open(self, conn: sqlite3.Connection) -> None:
        """Hook run inside the opening write transaction (after the schema); mixins extend it (cooperative super)."""

    actor: Actor = LOCAL_ACTOR  # whom calls are made for; the dashboard sets the signed-in user (acting_as)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    def acting_as(self, actor: Actor) -> Self:
        """The same workspace with every call made for `actor` (cheap: no schema work, shares nothing mutable)."""
        other = copy.copy(self)
        other.actor = actor
        return other

    def _guard(
        self, conn: sqlite3.Connection | None, action: str, reservoir: str | None = None, detail: str = ""
    ) -> None:
        """The role check every public write makes first; with `conn` (its write transaction) it also logs who did
        what, so the row and the change commit together.

        The rule: every public method of the workspace that changes the database or its files calls this before the
        change. Changes someone made (imports, versions, jobs' status, cycle results, deliveries...) pass `conn` and
        log one activity row; progress of something already logged (a job's epochs and messages, claiming a
        delivery, holding the training lock, a temp folder for a save) passes None: checked, not logged again.
        tests/test_write_guard.py runs every public method as a viewer and fails on a writer that skips it.
        """
        self.actor.require(action)
        if conn is not None:
            conn.execute(
                "INSERT INTO activity(time, subject, name, role, action, reservoir, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now_utc(), self.actor.subject, self.actor.name, self.actor.role.name, action, reservoir, detail),
            )

    def _unusable(self, exc: Exception) -> StoreError:
        """The error for a file that is not a SQLite database of ours (or the specific disk failure)."""
        return self._failure(exc) or WorkspaceDamaged(
            f"{self.db_path} is not a usable Reservoir Sentinel database ({exc}); choose another workspace folder."
        )

    def _connect(self) -> sqlite3.Connection:
        """A fresh connection in autocommit mode; transactions are opened explicitly."""
        try:
            conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from exc
        conn.row_factory = sqlite3.Row
        return conn

    @contextmanager
    def in_use(self, what: str) -> Iterator[None]:
        """Hold the workspace for a writer's whole run (training, cycle, import, job): a restore is refused naming
        `what` meanwhile, and while a restore holds it this is refused (core.store.inuse)."""
        try:
            with inuse.shared(self.root, what):
                yield
        except inuse.InUse as exc:
            raise WorkspaceInUse(str(exc)) from exc

    @contextmanager
    def _shared(self) -> Iterator[None]:
        """The workspace's shared lock for one transaction (waits while a restore holds it, up to the busy time)."""
        try:
            with inuse.shared(self.root, None, wait_s=BUSY_TIMEOUT_S):
                yield
        except inuse.InUse as exc:
            raise WorkspaceInUse(str(exc)) from exc

    @contextmanager
    def _tx(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One short transaction: IMMEDIATE for writes (no lock upgrade deadlocks), deferred snapshot for reads."""
        with self._shared():
            yield from self._tx_body(write)

    def _tx_body(self, write: bool) -> Iterator[sqlite3.Connection]:
        """The transaction itself (see _tx)."""
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
        except (sqlite3.DatabaseError, OSError) as exc:  # busy, full, malformed, read-only...: say which
            mapped = self._failure(exc)
            if mapped is not None:
                raise mapped from exc
            raise
        finally:
            conn.close()

    def _init_schema(self) -> None:
        """Create or upgrade the schema in one transaction; refuse a database written by a newer app version."""
        with self._shared():
            self._init_schema_body()

    def _init_schema_body(self) -> None:
        """The schema transaction itself (see _init_schema)."""
        conn = self._connect()
        try:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._apply_schema(conn)
                    self._on_open(conn)
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise self._unusable(exc) from exc
        finally:
            conn.close()

    def _apply_schema(self, conn: sqlite3.Connection) -> None:
        """Create missing tables, then run the migrations from the stored version up to this app's."""
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

    def schema_version(self) -> int:
        """Schema version of the database, for diagnostics."""
        with self._tx(write=False) as conn:
            return int(conn.execute("SELECT version FROM schema_version").fetchone()[0])

    @staticmethod
    def _known_names(conn: sqlite3.Connection) -> list[str]:
        """Reservoir names in display order, for 'known reservoirs: ...' messages."""
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
