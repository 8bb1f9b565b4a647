"""The workspace: one folder (``sentinel.db`` plus ``models/``) shared by the app, the CLI, jobs and the cycle.

`Workspace` is a thin composition: it opens the folder's backend (SQLite, core.store.sqlite) and hands out one
repository per concern, made for the actor calls are made for (the dashboard's signed-in user, a job's or the
cycle's system actor, the CLI's local operator):

* ``ws.repos.readings`` (core.store.readings.Readings): reservoirs, merge, readings, uploads, audit, revisions,
  metadata and operating levels;
* ``ws.repos.versions`` (core.store.versions.Versions): model version rows and links, the training lock; their
  files through core.registry;
* ``ws.repos.jobs``, ``ws.repos.notices``, ``ws.repos.cycles``, ``ws.repos.users``: background jobs, notifications,
  the daily cycle's record, users and the activity log.

Every repository method is also reachable as ``ws.<method>`` (``ws.merge``, ``ws.versions(...)``): the
repositories' contracts route each name to the one repository that owns it (core.store.repositories.ROUTES), so
callers keep one handle. Opening a workspace to read writes nothing (core.store.sqlite.database); every write is
checked by the one role guard (core.store.guard). Callers import the workspace's names from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.auth.roles import LOCAL_ACTOR, Actor
from core.registry import LoadedModel, ModelVersion, VersionError, beats_active
from core.store.common import BUSY_TIMEOUT_S, DB_NAME, ENV_WORKSPACE, MODELS_DIR, resolve_workspace
from core.store.cycles import CycleReservoir, CycleRun
from core.store.errors import StorageFailure, StoreError, UnknownReservoir, WorkspaceDamaged, WorkspaceInUse
from core.store.inuse import pid_alive
from core.store.jobs import (
    ACTIVE_JOB_STATUSES,
    FINISHED_JOB_STATUSES,
    JOB_STATUSES,
    PIDLESS_GRACE_S,
    Epoch,
    Job,
    JobProgress,
)
from core.store.readings import MergeResult, ReservoirInfo, UploadInfo, VariableInfo
from core.store.repositories import ROUTES, Repositories
from core.store.revisions import Revision
from core.store.sqlite import SqliteDatabase, repositories
from core.store.sqlite.schema import SCHEMA_VERSION
from core.store.users import Activity, UserRecord

__all__ = [
    "ACTIVE_JOB_STATUSES",
    "Activity",
    "BUSY_TIMEOUT_S",
    "CycleReservoir",
    "CycleRun",
    "DB_NAME",
    "ENV_WORKSPACE",
    "FINISHED_JOB_STATUSES",
    "JOB_STATUSES",
    "MODELS_DIR",
    "PIDLESS_GRACE_S",
    "SCHEMA_VERSION",
    "Epoch",
    "Job",
    "JobProgress",
    "LoadedModel",
    "MergeResult",
    "ModelVersion",
    "ReservoirInfo",
    "Revision",
    "StorageFailure",
    "StoreError",
    "UnknownReservoir",
    "UploadInfo",
    "UserRecord",
    "VariableInfo",
    "VersionError",
    "Workspace",
    "WorkspaceDamaged",
    "WorkspaceInUse",
    "beats_active",
    "pid_alive",
    "resolve_workspace",
]


class Workspace:
    """A workspace folder; safe to use from several processes at once. Reads never write; writes are guarded."""

    def __init__(self, root: str | Path, actor: Actor = LOCAL_ACTOR, *, db: SqliteDatabase | None = None) -> None:
        self.db = db if db is not None else SqliteDatabase(root)
        self.actor = actor
        self.repos: Repositories = repositories(self.db, actor)
        self.root: Path = self.db.root  # the workspace folder
        self.db_path: Path = self.db.db_path  # the database file
        self.models_dir: Path = self.db.models_dir  # every model version's files (core.registry's layout)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    def __getattr__(self, name: str) -> Any:
        """``ws.<method>``: the method of the repository that owns the name (core.store.repositories.ROUTES)."""
        concern = ROUTES.get(name) if not name.startswith("_") else None
        if concern is None:
            raise AttributeError(f"'Workspace' object has no attribute '{name}'")
        return getattr(getattr(self.repos, concern), name)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *ROUTES})

    @property
    def read_only(self) -> bool:
        """True when the workspace lies on storage this process cannot write: reads work, writes are refused."""
        return self.db.read_only

    def acting_as(self, actor: Actor) -> Workspace:
        """The same workspace with every call made for `actor` (cheap: no opening, shares the database)."""
        return Workspace(self.root, actor, db=self.db)

    @contextmanager
    def in_use(self, what: str) -> Iterator[None]:
        """Hold the workspace for a writer's whole run (training, cycle, import, job): a restore is refused naming
        `what` meanwhile, and while a restore holds it this is refused (core.store.inuse)."""
        with self.db.in_use(what):
            yield
