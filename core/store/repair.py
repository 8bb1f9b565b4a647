"""``python -m core repair``: rebuild a damaged workspace's reservoirs and model versions from the model folders.

Each saved version folder (models/r<id>/v<N>/) holds its meta.json: the reservoir's name, the settings,
scores and the model file's name. Repair builds a fresh database in a staging folder from those files (the
reservoir keeps its id, so the folder paths stay right; each version's checksum is recomputed; per reservoir
the version with the best validation MAE becomes active, as the activation rule would have it), then moves the
damaged database aside as ``sentinel.db.damaged-<time>`` (with its -wal/-shm) and puts the new one in place.
A folder that cannot be rebuilt (its meta.json unreadable or not JSON, its model file missing) is moved to
``models/r<id>/quarantine/`` and reported with the file and the reason; every other version is rebuilt. Repair
holds the workspace alone (core.store.inuse), like restore. Nothing is deleted. Readings, uploads, levels and the
audit trail lived only in the database: repair cannot rebuild them, so the operator re-imports the CSV files (or
restores a backup instead).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.jsonio import dumps, loads, number
from core.store import inuse
from core.store.backup import sha256_file, stamp
from core.store.connection import DB_NAME, MODELS_DIR, StoreBase, StoreError, now_utc
from core.store.health import META_FILE, VersionFolder, version_folders
from core.store.leftovers import sweep, tagged
from core.store.versions import quarantine

DEFAULT_MODEL_FILE = "model.keras"
REPAIR_STAGING = ".repair-"  # + <pid>-<random>: the new database while it is built


@dataclass(frozen=True)
class RebuiltReservoir:
    """One reservoir as repair rebuilt it: its versions and the one made active."""

    name: str
    versions: tuple[int, ...]
    active: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "versions": list(self.versions), "active": self.active}


@dataclass(frozen=True)
class RepairResult:
    """What repair found and did: the database's state, where the damaged file went, what was rebuilt."""

    state: str  # "healthy" (nothing done) or what was wrong
    moved_aside: tuple[str, ...] = ()
    reservoirs: tuple[RebuiltReservoir, ...] = ()
    skipped: tuple[str, ...] = field(default=())  # "models/r1/v5/meta.json: why", each folder left out, quarantined

    def to_dict(self) -> dict[str, Any]:
        """The CLI's --json output."""
        return {
            "state": self.state,
            "moved_aside": list(self.moved_aside),
            "reservoirs": [r.to_dict() for r in self.reservoirs],
            "skipped": list(self.skipped),
        }


def diagnose(db_path: Path) -> str | None:
    """What is wrong with the database file ("missing", "empty", an SQLite message), or None when it is sound."""
    if not db_path.exists():
        return "missing"
    if db_path.stat().st_size == 0:
        return "empty (0 bytes)"
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            conn.execute("SELECT COUNT(*) FROM models").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if check == "ok" else f"integrity check failed: {check}"


def _read_meta(folder: VersionFolder) -> tuple[dict[str, Any] | None, str]:
    """A version folder's meta.json as a dict, or None and why it cannot be used (in words, naming the file)."""
    where = f"{MODELS_DIR}/r{folder.reservoir_id}/v{folder.version}"
    try:
        meta = loads((folder.path / META_FILE).read_text(encoding="utf-8"), None)
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{where}/{META_FILE} cannot be read ({getattr(exc, 'strerror', None) or exc})"
    except ValueError as exc:
        return None, f"{where}/{META_FILE} is not valid JSON ({exc})"
    if not isinstance(meta, dict):
        return None, f"{where}/{META_FILE} does not hold a version's settings (a JSON object)"
    model_file = str(meta.get("model_file") or DEFAULT_MODEL_FILE)
    if Path(model_file).name != model_file or not (folder.path / model_file).is_file():
        return None, f"{where} has no model file '{model_file}' (meta.json names it)"
    return meta, ""


def _pick_active(rows: list[tuple[int, float | None]]) -> int:
    """The version the activation rule favours: the best validation MAE (newest on ties), else the newest."""
    scored = [(mae, -v, v) for v, mae in rows if mae is not None]
    return min(scored)[2] if scored else max(v for v, _ in rows)


def _fill(staging_db: StoreBase, folders: list[VersionFolder]) -> tuple[list[RebuiltReservoir], list[str]]:
    """Insert reservoirs (by their folder id) and version rows from the folders' meta.json."""
    by_res: dict[int, list[tuple[VersionFolder, dict[str, Any]]]] = {}
    skipped: list[str] = []
    for folder in folders:
        meta, why = _read_meta(folder)
        if meta is None:
            moved = quarantine(folder.path, why)
            skipped.append(f"{why}; moved to {moved.relative_to(folder.path.parents[2]).as_posix()}")
            continue
        by_res.setdefault(folder.reservoir_id, []).append((folder, meta))
    rebuilt: list[RebuiltReservoir] = []
    with staging_db._tx(write=True) as conn:
        for rid, group in sorted(by_res.items()):
            rebuilt.append(_insert_reservoir(conn, rid, group))
    return rebuilt, skipped


def _insert_reservoir(
    conn: sqlite3.Connection, rid: int, group: list[tuple[VersionFolder, dict[str, Any]]]
) -> RebuiltReservoir:
    """One reservoir row and its version rows; the name comes from the newest meta.json that has one."""
    name = next((str(m["reservoir"]) for _, m in reversed(group) if m.get("reservoir")), "") or f"Reservoir r{rid}"
    if conn.execute("SELECT 1 FROM reservoirs WHERE name = ?", (name,)).fetchone():
        name = f"{name} (r{rid})"
    created = min((str(m.get("created") or now_utc()) for _, m in group), default=now_utc())
    top = max(f.version for f, _ in group)
    conn.execute(
        "INSERT INTO reservoirs(id, name, created, meta, last_model_version) VALUES (?, ?, ?, '{}', ?)",
        (rid, name, created, top),
    )
    scores = [(f.version, number(m.get("val_mae"))) for f, m in group]
    active = _pick_active(scores)
    for folder, meta in group:
        model_file = str(meta.get("model_file") or DEFAULT_MODEL_FILE)
        conn.execute(
            "INSERT INTO models(reservoir_id, version, created, path, sha256, meta, val_mae, active) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rid,
                folder.version,
                str(meta.get("created") or now_utc()),
                f"{MODELS_DIR}/r{rid}/v{folder.version}",
                sha256_file(folder.path / model_file),
                dumps(meta, indent=None),
                number(meta.get("val_mae")),
                int(folder.version == active),
            ),
        )
    return RebuiltReservoir(name, tuple(f.version for f, _ in group), active)


def _set_aside(root: Path) -> tuple[str, ...]:
    """Move the damaged database and its -wal/-shm to *.damaged-<time> (never deleted)."""
    when, moved = stamp(), []
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        path = root / name
        if path.exists():
            aside = root / f"{name}.damaged-{when}"
            path.rename(aside)
            moved.append(str(aside))
    return tuple(moved)


def repair(root: Path, force: bool = False) -> RepairResult:
    """Rebuild the database from the model folders when it is damaged (or when force); see the module docstring."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise StoreError(f"No workspace folder {root}; name the workspace with --workspace.")
    db_path = root / DB_NAME
    state = diagnose(db_path)
    if state is None and not force:
        return RepairResult("healthy")
    try:
        with inuse.exclusive(root, "repair"):
            sweep(root, (REPAIR_STAGING,))  # what killed repairs left
            rebuilt, moved, skipped = _rebuild(root, db_path)
    except inuse.InUse as exc:
        raise StoreError(str(exc)) from exc
    return RepairResult(state or "rebuilt on request", moved, tuple(rebuilt), tuple(skipped))


def _rebuild(root: Path, db_path: Path) -> tuple[list[RebuiltReservoir], tuple[str, ...], list[str]]:
    """Build the new database in a staging folder, set the damaged one aside, put the new one in place."""
    staging = root / tagged(REPAIR_STAGING)
    try:
        staging.mkdir()
        rebuilt, skipped = _fill(StoreBase(staging), version_folders(root / MODELS_DIR))
        moved = _set_aside(root)
        os.replace(staging / DB_NAME, db_path)
    except OSError as exc:
        why = exc.strerror or exc
        raise StoreError(f"Could not repair {root} ({why}); the damaged database is untouched.") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rebuilt, moved, skipped
