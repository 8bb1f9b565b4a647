"""The SQLite backend of the workspace: one file (``sentinel.db``, WAL) per workspace folder.

`repositories(db, actor)` hands out one implementation of each contract of core.store (readings, versions, jobs,
notices, cycles, users), all sharing the database and made for one actor. A second backend (PostgreSQL for a
multi-host deployment) is a sibling package with the same function; tests/test_store_contract.py runs the same
suite over every backend.
"""

from __future__ import annotations

from core.auth.roles import Actor
from core.store.repositories import Repositories
from core.store.sqlite.cycles import SqliteCycles
from core.store.sqlite.database import SqliteDatabase
from core.store.sqlite.jobs import SqliteJobs
from core.store.sqlite.meta import ReservoirSettings
from core.store.sqlite.notices import SqliteNotices
from core.store.sqlite.revisions import RevisedReadings
from core.store.sqlite.users import SqliteUsers
from core.store.sqlite.versions import SqliteVersions


class SqliteReadings(ReservoirSettings, RevisedReadings):
    """Reservoirs, readings (revised or raw), uploads, audit, revisions, metadata and levels in SQLite."""


def repositories(db: SqliteDatabase, actor: Actor) -> Repositories:
    """Every repository of one SQLite workspace, made for `actor`."""
    return Repositories(
        readings=SqliteReadings(db, actor),
        versions=SqliteVersions(db, actor),
        jobs=SqliteJobs(db, actor),
        notices=SqliteNotices(db, actor),
        cycles=SqliteCycles(db, actor),
        users=SqliteUsers(db, actor),
    )


__all__ = ["SqliteDatabase", "SqliteReadings", "repositories"]
