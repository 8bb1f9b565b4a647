"""The workspace: one SQLite file (readings, uploads, audit, levels, models, jobs) shared by the app, CLI and trainer.

`Workspace` is a thin facade over one mixin per concern, so callers keep writing ``ws.merge(...)``,
``ws.readings(...)``, ``ws.levels(...)``, ``ws.version(...)``, ``ws.job(...)``:

* core.store.connection: errors, the folder rule, connections, transactions, schema and migrations;
* core.store.readings: reservoirs, variables, merge (its rules are in that module's docstring), readings,
  uploads, audit;
* core.store.revisions: operator revisions over the raw readings (who, when, why, undo); ``readings()``
  returns the revised series unless ``raw=True``;
* core.store.meta: per-reservoir metadata and operating levels;
* core.store.versions: model versions, rows and files (save, load with checks, activate, delete);
* core.store.locks: the per-reservoir training lock; core.store.backup / repair: backup, restore, rebuild;
* core.store.jobs: background job rows, epochs, progress, stop requests, crash detection;
* core.store.users: the role of each signed-in subject and the activity log (who did what);
* core.store.cycles: the daily cycle's runs and each reservoir's latest result (the fleet view reads them).
* core.store.notices: notification channels, alert states per side, change events, deliveries, acks.

Callers import the workspace's names from here; the modules above are its internal organisation.
"""

from __future__ import annotations

from core.store.connection import (
    BUSY_TIMEOUT_S,
    DB_NAME,
    ENV_WORKSPACE,
    MODELS_DIR,
    SCHEMA_VERSION,
    StorageFailure,
    StoreError,
    UnknownReservoir,
    WorkspaceDamaged,
    WorkspaceInUse,
    pid_alive,
    resolve_workspace,
)
from core.store.cycles import CycleReservoir, CycleRun, CycleStore
from core.store.jobs import (
    ACTIVE_JOB_STATUSES,
    FINISHED_JOB_STATUSES,
    JOB_STATUSES,
    PIDLESS_GRACE_S,
    Epoch,
    Job,
    JobProgress,
    JobStore,
)
from core.store.meta import MetaStore
from core.store.notices import NoticeStore
from core.store.readings import MergeResult, ReservoirInfo, UploadInfo, VariableInfo
from core.store.revisions import Revision, RevisionStore
from core.store.users import Activity, UserRecord, UserStore
from core.store.versions import LoadedModel, ModelVersion, VersionError, VersionStore, beats_active

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


class Workspace(RevisionStore, MetaStore, VersionStore, JobStore, CycleStore, NoticeStore, UserStore):
    """A workspace folder: ``sentinel.db`` plus ``models/``; safe to use from several processes at once."""
