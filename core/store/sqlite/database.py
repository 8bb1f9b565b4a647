"""One workspace's SQLite file: how it is opened for reading and for writing, transactions, failures in words.

Several processes use the same workspace at once, so every operation opens its own short-lived connection and
every write runs in one short ``BEGIN IMMEDIATE`` transaction (WAL mode, 30 s busy timeout).

**Reads never write.** Opening a workspace reads its schema version and nothing else: no write lock, no file
changed. Read transactions use read-only connections (``mode=ro``; on storage that cannot be written at all,
``immutable=1`` when no write-ahead log is pending), so a viewer's page load never waits behind the cycle's writes,
and a workspace on a read-only disk or snapshot serves reads. Only these happen at opening, because nothing can be
read without them: a restore a kill interrupted is finished (or rolled back) first (core.store.swap); a missing
database is created (a new workspace; a missing or empty one beside saved versions is refused as damaged); a
database of an older schema is migrated once (on read-only storage it is refused, naming what to do). Everything
else a writer needs - the folder checked writable, leftovers of killed saves swept - runs when the first write
transaction of this object starts (``on_first_write`` hooks), i.e. when a CLI write command, a job or the cycle
starts writing.

Every transaction holds the workspace's shared lock for its moment (core.store.inuse), so a restore or repair
never swaps the files under it. Database or disk failures (full, file-size limit, read-only, stale -shm,
malformed, not a database, I/O) become specific StoreErrors worded in core.store.health.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core.registry.layout import version_folders
from core.store import inuse, swap
from core.store.common import BUSY_TIMEOUT_S, DB_NAME, MODELS_DIR, now_utc, size_now
from core.store.errors import StorageFailure, StoreError, UnknownReservoir, WorkspaceDamaged, WorkspaceInUse
from core.store.health import damaged_text, disk_cause, failure_kind, failure_text, folder_problem
from core.store.sqlite.schema import SCHEMA_VERSION, NewerSchema, apply_schema, stored_version

log = logging.getLogger(__name__)
WriteHook = Callable[[sqlite3.Connection], None]


def storage_writable(root: Path) -> bool:
    """False when the workspace folder lies on storage this process cannot write (a read-only mount or folder)."""
    try:
        if os.statvfs(root).f_flag & os.ST_RDONLY:
            return False
    except (OSError, AttributeError):
        pass
    return os.access(root, os.W_OK | os.X_OK)


class SqliteDatabase:
    """The SQLite file of one workspace folder (``sentinel.db`` beside ``models/``), shared by its repositories."""

    def __init__(self, root: str | Path) -> None:
        self.root: Path = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"Workspace path {self.root} is a file; choose a folder (it is created if missing).")
        self.db_path: Path = self.root / DB_NAME
        self.models_dir: Path = self.root / MODELS_DIR
        self._write_hooks: dict[str, WriteHook] = {}
        self._writer_ready = False
        self._finish_restore()
        self._open()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    # ----------------------------------------------------------------- opening

    @property
    def read_only(self) -> bool:
        """True when the workspace's storage cannot be written (reads work; every write is refused in words)."""
        return self.root.is_dir() and not storage_writable(self.root)

    def _finish_restore(self) -> None:
        """A restore killed half-way is finished (or rolled back) here, before anything could read a half-swap."""
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

    def _open(self) -> None:
        """Read the schema version; create a new workspace, or migrate an older one, only when it must be."""
        try:
            size = self.db_path.stat().st_size
        except FileNotFoundError:
            size = None
        if not size:
            folders = version_folders(self.models_dir)
            if folders:  # never start afresh over saved versions
                state = "is missing" if size is None else "is empty (0 bytes)"
                raise WorkspaceDamaged(damaged_text(self.db_path, state, folders))
            self._prepare_folder()
            self._upgrade()
            return
        with self.tx(write=False) as conn:
            try:
                version = stored_version(conn)
            except sqlite3.DatabaseError as exc:
                raise self._unusable(exc) from exc
        if version != SCHEMA_VERSION:
            self._upgrade(version)

    def _upgrade(self, version: int | None = None) -> None:
        """Create or migrate the schema in one write transaction (refused on read-only storage, named)."""
        if version is not None and version > SCHEMA_VERSION:
            raise self._newer(version)
        if version is not None and self.read_only:
            raise StorageFailure(
                f"The workspace {self.root} was written by an older Reservoir Sentinel (schema {version}) and lies "
                "on read-only storage, so it cannot be upgraded here. Open it once where it can be written (the "
                "upgrade keeps every reading and version), then read it from anywhere."
            )
        with self._shared():
            conn = self._connect(write=True)
            try:
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        apply_schema(conn)
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                except NewerSchema as exc:
                    raise self._newer(int(str(exc))) from exc
                except sqlite3.DatabaseError as exc:
                    raise self._unusable(exc) from exc
            finally:
                conn.close()

    def _newer(self, version: int) -> StoreError:
        """The refusal of a database written by a newer app."""
        return StoreError(
            f"Workspace {self.root} uses schema version {version}, newer than this app "
            f"(version {SCHEMA_VERSION}); update Reservoir Sentinel or choose another workspace."
        )

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

    def on_first_write(self, name: str, hook: WriteHook) -> None:
        """Run `hook` inside the first write transaction of this object (a writer starting: leftover sweeps)."""
        self._write_hooks.setdefault(name, hook)

    def schema_version(self) -> int:
        """The schema version of the database (diagnostics and tests)."""
        with self.tx(write=False) as conn:
            return int(stored_version(conn) or 0)

    # ----------------------------------------------------------------- failures

    def failure(self, exc: BaseException) -> StoreError | None:
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

    def raise_disk(self, exc: OSError) -> None:
        """Re-raise a file-system error as its specific StoreError (disk full) when it is one, else as is."""
        mapped = self.failure(exc)
        if mapped is None:
            raise exc
        raise mapped from exc

    def _unusable(self, exc: Exception) -> StoreError:
        """The error for a file that is not a SQLite database of ours (or the specific disk failure)."""
        return self.failure(exc) or WorkspaceDamaged(
            f"{self.db_path} is not a usable Reservoir Sentinel database ({exc}); choose another workspace folder."
        )

    # ----------------------------------------------------------------- connections and transactions

    def _uri(self, write: bool) -> str:
        """The database's URI: read-write, read-only, or immutable on read-only storage with no pending log."""
        if write:
            return f"file:{self.db_path}?mode=rwc"
        if self.read_only and not self._log_pending():
            return f"file:{self.db_path}?mode=ro&immutable=1"
        return f"file:{self.db_path}?mode=ro"

    def _log_pending(self) -> bool:
        """Whether the write-ahead log holds pages (a missing log holds none)."""
        return size_now(Path(f"{self.db_path}-wal")) > 0

    def _connect(self, write: bool) -> sqlite3.Connection:
        """A fresh connection in autocommit mode (read-only for reads); transactions are opened explicitly."""
        try:
            conn = sqlite3.connect(
                self._uri(write), uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
            )
            conn.execute("PRAGMA foreign_keys = ON")
            if write:
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
    def tx(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One short transaction: IMMEDIATE for writes (no lock upgrade deadlocks), a read-only snapshot for reads."""
        if write and not self._writer_ready:
            self._prepare_folder()  # a writer starting: say now when the folder cannot be written
        with self._shared():
            yield from self._tx_body(write)

    def _tx_body(self, write: bool) -> Iterator[sqlite3.Connection]:
        """The transaction itself (see tx); the first write runs the on_first_write hooks first."""
        conn = self._connect(write)
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                if write and not self._writer_ready:
                    for hook in self._write_hooks.values():
                        hook(conn)
                    self._writer_ready = True
                yield conn
            except BaseException:
                if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except (sqlite3.DatabaseError, OSError) as exc:  # busy, full, malformed, read-only...: say which
            mapped = self.failure(exc)
            if mapped is not None:
                raise mapped from exc
            raise
        finally:
            conn.close()

    # ----------------------------------------------------------------- shared lookups

    @staticmethod
    def known_names(conn: sqlite3.Connection) -> list[str]:
        """Reservoir names in display order, for 'known reservoirs: ...' messages."""
        return [r[0] for r in conn.execute("SELECT name FROM reservoirs ORDER BY name COLLATE NOCASE")]

    def reservoir_row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row:
        """Find a reservoir by name, ignoring case and surrounding spaces."""
        row = conn.execute("SELECT * FROM reservoirs WHERE name = ?", (str(name).strip(),)).fetchone()
        if row is None:
            known = self.known_names(conn)
            if known:
                raise UnknownReservoir(
                    f"No reservoir named '{name}' in this workspace. Known reservoirs: {', '.join(known)}."
                )
            raise UnknownReservoir(
                f"No reservoir named '{name}': this workspace has no reservoirs yet. Upload a data file first."
            )
        return row

    def reservoir_name(self, reservoir: str) -> str:
        """The stored spelling of a reservoir's name (lookups ignore case)."""
        with self.tx(write=False) as conn:
            return str(self.reservoir_row(conn, reservoir)["name"])

    @staticmethod
    def log_activity(
        conn: sqlite3.Connection, subject: str, name: str, role: str, action: str, reservoir: str | None, detail: str
    ) -> None:
        """One activity row, in the caller's write transaction (so the change and its log commit together)."""
        conn.execute(
            "INSERT INTO activity(time, subject, name, role, action, reservoir, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (now_utc(), subject, name, role, action, reservoir, detail),
        )
