"""``python -m core repair``: rebuild a damaged workspace's reservoirs and model versions from the model folders.

Each saved version folder (models/r<id>/v<N>/, or models/shared/v<id>/ for a version serving several
reservoirs) holds its meta.json: the reservoir's name (or the reservoirs it serves, with their ids and numbers),
the settings, scores and the model file's name. Repair builds a fresh database in a staging folder from those
files (each reservoir keeps its id, so the folder paths stay right; each version's checksums are recomputed; per
reservoir the version with the best validation MAE becomes active, as the activation rule would have it), then
moves the damaged database aside as ``sentinel.db.damaged-<time>`` (with its -wal/-shm, core.store.swap) and puts
the new one in place. A folder that cannot be rebuilt (its meta.json unreadable or not JSON, its model file
missing) is moved to ``quarantine/`` beside it and reported with the file and the reason; every other version is
rebuilt. Repair
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
from core.registry import META_FILE, VersionFolder, checksums, quarantine, stamp, version_folders
from core.registry.records import SERVED_KEY
from core.store import inuse, swap
from core.store.common import DB_NAME, MODELS_DIR, now_utc
from core.store.errors import StoreError
from core.store.leftovers import sweep, tagged
from core.store.sqlite.database import SqliteDatabase

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
            conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if check == "ok" else f"integrity check failed: {check}"


def _read_meta(folder: VersionFolder) -> tuple[dict[str, Any] | None, str]:
    """A version folder's meta.json as a dict, or None and why it cannot be used (in words, naming the file)."""
    where = folder.path.relative_to(folder.path.parents[2]).as_posix()
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


Link = tuple[int, str, int]  # (reservoir id, reservoir name, number)


def _links(folder: VersionFolder, meta: dict[str, Any]) -> list[Link]:
    """The reservoirs a folder's version serves, with its number for each (one-reservoir folders: from the path)."""
    if folder.reservoir_id is not None:
        return [(folder.reservoir_id, str(meta.get("reservoir") or ""), folder.version)]
    out = []
    for link in meta.get("serves") or []:
        rid, number = number_of(link, "reservoir_id"), number_of(link, "version")
        if rid is not None and number is not None:
            out.append((rid, str(link.get("reservoir") or ""), number))
    return out


def number_of(link: Any, key: str) -> int | None:
    """A whole number from a meta.json 'serves' entry, or None."""
    value = number(link.get(key)) if isinstance(link, dict) else None
    return None if value is None else int(value)


def _fill(staging_db: SqliteDatabase, folders: list[VersionFolder]) -> tuple[list[RebuiltReservoir], list[str]]:
    """Insert reservoirs (by their folder ids), versions and their links from the folders' meta.json."""
    found: list[tuple[VersionFolder, dict[str, Any], list[Link]]] = []
    skipped: list[str] = []
    for folder in folders:
        meta, why = _read_meta(folder)
        links = _links(folder, meta) if meta is not None else []
        if meta is None or not links:
            why = why or f"{folder.path.name}/{META_FILE} does not say which reservoirs it serves"
            moved = quarantine(folder.path, why)
            skipped.append(f"{why}; moved to {moved.relative_to(folder.path.parents[2]).as_posix()}")
            continue
        found.append((folder, meta, links))
    with staging_db.tx(write=True) as conn:
        names = _insert_reservoirs(conn, found)
        scores: dict[int, list[tuple[int, float | None]]] = {}
        for folder, meta, links in found:
            version_id = _insert_version(conn, folder, meta)
            for rid, _name, n in links:
                mae = number(_served(meta, names[rid]).get("val_mae"))
                conn.execute(
                    "INSERT INTO version_links(reservoir_id, number, version_id, active, val_mae) "
                    "VALUES (?, ?, ?, 0, ?)",
                    (rid, n, version_id, mae),
                )
                scores.setdefault(rid, []).append((n, mae))
        rebuilt = []
        for rid, rows in sorted(scores.items()):
            active = _pick_active(rows)
            conn.execute("UPDATE version_links SET active = (number = ?) WHERE reservoir_id = ?", (active, rid))
            rebuilt.append(RebuiltReservoir(names[rid], tuple(sorted(n for n, _ in rows)), active))
    return rebuilt, skipped


def _served(meta: dict[str, Any], name: str) -> dict[str, Any]:
    """A version's meta as one reservoir it serves reads it."""
    own = (meta.get(SERVED_KEY) or {}).get(name) if isinstance(meta.get(SERVED_KEY), dict) else None
    return {**meta, **own} if isinstance(own, dict) else meta


def _insert_reservoirs(
    conn: sqlite3.Connection, found: list[tuple[VersionFolder, dict[str, Any], list[Link]]]
) -> dict[int, str]:
    """One row per reservoir id; its name from the newest meta.json that has one; returns id -> name."""
    named: dict[int, list[str]] = {}
    created: dict[int, list[str]] = {}
    top: dict[int, int] = {}
    for _, meta, links in found:
        for rid, name, n in links:
            named.setdefault(rid, []).append(name)
            created.setdefault(rid, []).append(str(meta.get("created") or now_utc()))
            top[rid] = max(top.get(rid, 0), n)
    names: dict[int, str] = {}
    for rid in sorted(named):
        name = next((n for n in reversed(named[rid]) if n), "") or f"Reservoir r{rid}"
        if conn.execute("SELECT 1 FROM reservoirs WHERE name = ?", (name,)).fetchone():
            name = f"{name} (r{rid})"
        conn.execute(
            "INSERT INTO reservoirs(id, name, created, meta, last_model_version) VALUES (?, ?, ?, '{}', ?)",
            (rid, name, min(created[rid]), top[rid]),
        )
        names[rid] = name
    return names


def _insert_version(conn: sqlite3.Connection, folder: VersionFolder, meta: dict[str, Any]) -> int:
    """One model_versions row (its id as meta.json recorded it when free) with freshly computed checksums."""
    files = checksums(folder.path)
    model_file = str(meta.get("model_file") or DEFAULT_MODEL_FILE)
    wanted = number(meta.get("version_id"))
    taken = wanted is None or conn.execute("SELECT 1 FROM model_versions WHERE id = ?", (int(wanted),)).fetchone()
    cur = conn.execute(
        "INSERT INTO model_versions(id, kind, parent_id, created, path, sha256, files, meta) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            None if taken else int(wanted),
            str(meta.get("kind") or "single"),
            number(meta.get("parent_id")),
            str(meta.get("created") or now_utc()),
            folder.path.relative_to(folder.path.parents[2]).as_posix(),
            files.get(model_file, ""),
            dumps(files, indent=None),
            dumps(meta, indent=None),
        ),
    )
    return int(cur.lastrowid)


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
        rebuilt, skipped = _fill(SqliteDatabase(staging), version_folders(root / MODELS_DIR))
        moved = tuple(swap.set_aside_database(root, DB_NAME, f"damaged-{stamp()}"))
        os.replace(staging / DB_NAME, db_path)
    except OSError as exc:
        why = exc.strerror or exc
        raise StoreError(f"Could not repair {root} ({why}); the damaged database is untouched.") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rebuilt, moved, skipped
