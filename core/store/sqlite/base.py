"""What every SQLite repository shares: the database, the actor its calls are made for, and the guard."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path

from core.auth.roles import Actor
from core.store.guard import guard
from core.store.sqlite.database import SqliteDatabase


class SqliteRepository:
    """One concern's tables of a workspace, used for one actor (``Workspace.acting_as`` makes another)."""

    def __init__(self, db: SqliteDatabase, actor: Actor) -> None:
        self.db = db
        self.actor = actor
        self.root: Path = db.root  # the workspace folder
        self.models_dir: Path = db.models_dir  # where the version folders live (core.registry's layout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.db.root)!r}, {self.actor.name!r})"

    def _tx(self, write: bool) -> AbstractContextManager[sqlite3.Connection]:
        """One short transaction (see SqliteDatabase.tx)."""
        return self.db.tx(write)

    def _reservoir_row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row:
        """A reservoir's row by name (any case); UnknownReservoir lists the known names."""
        return self.db.reservoir_row(conn, name)

    def _guard(
        self, conn: sqlite3.Connection | None, action: str, reservoir: str | None = None, detail: str = ""
    ) -> None:
        """The role check every public write makes first (core.store.guard); with `conn` (its write transaction)
        it also logs who did what in that transaction."""
        log = partial(self.db.log_activity, conn) if conn is not None else None
        guard(self.actor, action, log, reservoir, detail)


