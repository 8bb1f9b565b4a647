"""The SQLite workspace's tables and the migrations that bring an older database up to this app's schema.

Version 5 gave model versions their own id: ``model_versions`` holds each version once (kind, parent, folder,
checksums, meta) and ``version_links`` says which reservoirs it serves, each with the number operators see for it,
whether it is active there and its validation MAE on that reservoir. Every database up to version 4 had one
``models`` row per (reservoir, number); the migration gives each row a version id and one link, keeping its
number, active flag, checksum and folder, so an old workspace lists, loads and forecasts as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 5

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
-- model versions (core.store.sqlite.versions, their files core.registry): each version once, with its own id
CREATE TABLE IF NOT EXISTS model_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, so a parent id always means the same version
    kind TEXT NOT NULL DEFAULT 'single',
    parent_id INTEGER, -- the version this one was fine-tuned from (kept when that one is deleted)
    created TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL, -- of the model file
    files TEXT NOT NULL DEFAULT '{}', -- every file but meta.json -> sha256 ('{}': the model file alone)
    meta TEXT NOT NULL DEFAULT '{}'
);
-- which reservoirs a version serves: the number operators see for it there, active there, its score there
CREATE TABLE IF NOT EXISTS version_links (
    reservoir_id INTEGER NOT NULL REFERENCES reservoirs(id),
    number INTEGER NOT NULL,
    version_id INTEGER NOT NULL REFERENCES model_versions(id),
    active INTEGER NOT NULL DEFAULT 0,
    val_mae REAL,
    meta TEXT NOT NULL DEFAULT '{}', -- this reservoir's own part when it was linked later (a cold start)
    PRIMARY KEY (reservoir_id, number),
    UNIQUE (version_id, reservoir_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS version_links_version ON version_links(version_id);
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


def _versions_get_ids(conn: sqlite3.Connection) -> None:
    """Version 4 -> 5: each `models` row becomes a version with its own id and one link keeping its number, active
    flag and score (in the old order, so ids follow the reservoirs' numbering); the old table goes."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'models'").fetchone() is None:
        return  # created by this schema: nothing to move
    rows = conn.execute(
        "SELECT reservoir_id, version, created, path, sha256, meta, val_mae, active FROM models "
        "ORDER BY created, reservoir_id, version"
    ).fetchall()
    for rid, number, created, path, sha, meta, mae, active in rows:
        cur = conn.execute(
            "INSERT INTO model_versions(kind, created, path, sha256, meta) VALUES ('single', ?, ?, ?, ?)",
            (created, path, sha, meta),
        )
        conn.execute(
            "INSERT INTO version_links(reservoir_id, number, version_id, active, val_mae) VALUES (?, ?, ?, ?, ?)",
            (rid, number, cur.lastrowid, active, mae),
        )
    conn.execute("DROP TABLE models")


# version N -> function upgrading a version-N database to N+1 (run inside the schema transaction).
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _add_job_progress,
    2: _add_revisions,
    3: _channel_ids_never_reused,
    4: _versions_get_ids,
}




class NewerSchema(ValueError):
    """The database was written by a newer app (a schema version this one does not know)."""


def stored_version(conn: sqlite3.Connection) -> int | None:
    """The schema version written in the database (None: an empty database, no schema yet)."""
    try:
        row = conn.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return None if row is None else int(row[0])


def apply_schema(conn: sqlite3.Connection) -> None:
    """Create missing tables, then run the migrations from the stored version up to this app's (in the caller's
    write transaction); a newer database is refused with NewerSchema."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    version = stored_version(conn)
    if version is None:
        conn.execute("INSERT INTO schema_version(version) VALUES (?)", (SCHEMA_VERSION,))
        version = SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise NewerSchema(str(version))
    while version < SCHEMA_VERSION:
        _MIGRATIONS[version](conn)
        version += 1
        conn.execute("UPDATE schema_version SET version = ?", (version,))
