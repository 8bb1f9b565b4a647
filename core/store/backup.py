"""One-file backups of a workspace and their restore: ``python -m core backup --out FILE`` / ``restore FILE``.

A backup is a .tar.gz holding ``manifest.json``, ``sentinel.db`` (a consistent copy made with SQLite's online
backup API, so the app may keep running) and every registered version folder under ``models/``; the manifest
lists each version folder with the sha256 of each of its files. The archive is written to a temp file beside
the target and renamed, so a half-written backup never carries the final name.

Restore extracts into a staging folder inside the target workspace only the files the manifest lists (anything
else in the archive is left out and reported), verifies every checksum and the database's integrity, and only
then moves the files into place (core.store.swap: a journalled swap that the next open finishes if a kill stops
it). A target that already holds a workspace is refused unless ``force``, which first moves its database and
models aside (``*.replaced-<time>``); nothing is deleted. Restore holds the workspace exclusively
(core.store.inuse) and every reservoir's training lock: while a training, the cycle, an import, a job or the
dashboard uses the target, it is refused with who holds it.

Leftovers of a killed backup (its staging folder and temp archive) or restore (its staging folder) carry the
process id in their names and are removed at the next start of the same command once that process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.digest import sha256_file
from core.jsonio import dumps, loads
from core.registry import stamp, version_folders
from core.registry.layout import SHARED_DIR
from core.store import inuse, swap
from core.store.common import DB_NAME, MODELS_DIR, now_utc, size_now
from core.store.errors import StoreError
from core.store.health import failure_kind
from core.store.leftovers import sweep, tagged
from core.store.locks import LOCK_NAME, read_holder, refusal

MANIFEST = "manifest.json"
FORMAT = "reservoir-sentinel-backup"
FORMAT_VERSION = 1
BACKUP_STAGING = ".sentinel-backup-"  # + <pid>-<random>: the database copy and manifest while a backup is written
ARCHIVE_TMP = ".tmp-"  # .<archive name>.tmp-<pid>-<random>: the archive being written
RESTORE_STAGING = ".restore-"  # + <pid>-<random>: a restore's extracted, verified files before they move in
_VERSION_PATH = re.compile(rf"^{MODELS_DIR}/(r\d+|{SHARED_DIR})/v\d+$")


@dataclass(frozen=True)
class BackupResult:
    """A written backup: where, how big, which versions it holds and which registered ones had no files."""

    path: str
    bytes: int
    reservoirs: int
    versions: int
    missing: tuple[str, ...]  # registered version folders absent at backup time (their rows are kept)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's --json output."""
        return {**self.__dict__, "missing": list(self.missing)}


@dataclass(frozen=True)
class RestoreResult:
    """A restored workspace: where, what it holds, what was moved aside to make room."""

    workspace: str
    versions: int
    created: str  # when the backup was made
    moved_aside: tuple[str, ...]
    left_out: tuple[str, ...] = ()  # archive members the manifest does not list: not restored

    def to_dict(self) -> dict[str, Any]:
        """The CLI's --json output."""
        return {**self.__dict__, "moved_aside": list(self.moved_aside), "left_out": list(self.left_out)}


def _snapshot(db_path: Path, dest: Path) -> None:
    """Copy the live database with SQLite's online backup API (consistent even while others write)."""
    src = sqlite3.connect(db_path, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _version_entries(db: Path, root: Path) -> tuple[list[dict[str, Any]], list[str], int]:
    """Manifest entries for every version in the snapshot (its folder's files + sha256, the reservoirs it serves),
    the missing ones, the number of reservoirs."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT v.path, r.id, r.name, l.number, l.active FROM model_versions v "
            "JOIN version_links l ON l.version_id = v.id JOIN reservoirs r ON r.id = l.reservoir_id "
            "ORDER BY v.id, r.id"
        ).fetchall()
        n_res = int(conn.execute("SELECT COUNT(*) FROM reservoirs").fetchone()[0])
    finally:
        conn.close()
    serving: dict[str, list[dict[str, Any]]] = {}
    for rel, rid, name, number, active in rows:
        serving.setdefault(rel, []).append(
            {"reservoir": name, "reservoir_id": rid, "version": number, "active": bool(active)}
        )
    entries, missing = [], []
    for rel, links in serving.items():
        folder = (root / rel).resolve()
        if not folder.is_dir() or not folder.is_relative_to((root / MODELS_DIR).resolve()):
            missing.append(rel)
            continue
        files = {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}
        entries.append({**links[0], "path": rel, "serves": links, "files": files})
    return entries, missing, n_res


def _target(out: Path) -> Path:
    """The archive's path: out itself, or a dated name inside out when it is a folder."""
    out = Path(out).expanduser().resolve()
    if out.is_dir():
        return out / f"sentinel-backup-{stamp()}.tar.gz"
    return out


def _backup_failed(exc: BaseException, target: Path) -> StoreError:
    """The words for a backup that could not be written: a full disk named as such, anything else with its cause."""
    if failure_kind(exc) == "full":
        return StoreError(
            f"The disk holding {target.parent} is full: the backup {target.name} was not written and the workspace "
            "is untouched. Free some space there, or choose another --out folder, and run the backup again."
        )
    detail = getattr(exc, "strerror", None) or str(exc)
    return StoreError(f"Could not write the backup {target} ({detail}); nothing was replaced.")


def backup(root: Path, db_path: Path, out: Path) -> BackupResult:
    """Write one .tar.gz of the database and every registered version folder, atomically; returns what it holds."""
    root, target = Path(root), _target(out)
    if not target.parent.is_dir():
        raise StoreError(f"The folder {target.parent} for the backup does not exist; create it or choose another.")
    sweep(target.parent, (BACKUP_STAGING, ARCHIVE_TMP))  # what killed backups left there
    tmp_archive = target.parent / tagged(f".{target.name}{ARCHIVE_TMP}")
    try:
        with (
            _holding(root, "backup"),
            tempfile.TemporaryDirectory(dir=target.parent, prefix=tagged(BACKUP_STAGING)) as staging,
        ):
            db_copy = Path(staging) / DB_NAME
            _snapshot(db_path, db_copy)
            entries, missing, n_res = _version_entries(db_copy, root)
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created": now_utc(),
                "workspace": str(root),
                "database": {"file": DB_NAME, "sha256": sha256_file(db_copy)},
                "versions": entries,
                "missing": missing,
            }
            (Path(staging) / MANIFEST).write_text(dumps(manifest), encoding="utf-8")
            with tarfile.open(tmp_archive, "w:gz") as tar:
                tar.add(Path(staging) / MANIFEST, arcname=MANIFEST)
                tar.add(db_copy, arcname=DB_NAME)
                for entry in entries:
                    tar.add(root / entry["path"], arcname=entry["path"])
        with open(tmp_archive, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_archive, target)
    except (OSError, sqlite3.Error) as exc:
        raise _backup_failed(exc, target) from exc
    finally:
        tmp_archive.unlink(missing_ok=True)
    return BackupResult(str(target), target.stat().st_size, n_res, len(entries), tuple(missing))


def _read_manifest(tar: tarfile.TarFile, file: Path) -> dict[str, Any]:
    """The archive's manifest, or a StoreError saying the file is not one of our backups."""
    try:
        member = tar.extractfile(MANIFEST)
        manifest = loads(member.read().decode("utf-8"), {}) if member else {}
    except (KeyError, UnicodeDecodeError) as exc:
        raise StoreError(f"{file} is not a Reservoir Sentinel backup (no {MANIFEST}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StoreError(f"{file} is not a Reservoir Sentinel backup (its {MANIFEST} is not ours).")
    if int(manifest.get("format_version") or 0) > FORMAT_VERSION:
        raise StoreError(f"{file} was written by a newer Reservoir Sentinel; update the app to restore it.")
    return manifest


def _verify(staging: Path, manifest: dict[str, Any], file: Path) -> int:
    """Check every checksum and the database's integrity in the staging folder; the number of versions."""
    bad: list[str] = []
    db = staging / DB_NAME
    if not db.is_file() or sha256_file(db) != manifest.get("database", {}).get("sha256"):
        bad.append(DB_NAME)
    versions = manifest.get("versions") or []
    for entry in versions:
        for name, digest in (entry.get("files") or {}).items():
            path = staging / entry["path"] / name
            if not path.is_file() or sha256_file(path) != digest:
                bad.append(f"{entry['path']}/{name}")
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise StoreError(f"The backup {file} is damaged: checksums do not match for {shown}; nothing was restored.")
    conn = sqlite3.connect(db)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        check = str(exc)
    finally:
        conn.close()
    if check != "ok":
        raise StoreError(f"The database inside {file} fails its integrity check ({check}); nothing was restored.")
    return len(versions)


def _occupied(root: Path) -> bool:
    """True when the folder already holds a workspace (a non-empty database or saved versions)."""
    db = root / DB_NAME
    return size_now(db) > 0 or bool(version_folders(root / MODELS_DIR))


def _listed(manifest: dict[str, Any], file: Path) -> set[str]:
    """The archive paths the manifest lists (the database and each version folder's files), each checked for shape."""
    names = {DB_NAME}
    for entry in manifest.get("versions") or []:
        folder = str(entry.get("path") or "") if isinstance(entry, dict) else ""
        files = entry.get("files") if isinstance(entry, dict) else None
        if not _VERSION_PATH.match(folder) or not isinstance(files, dict):
            raise StoreError(f"The manifest of {file} lists a version folder '{folder}' that is not ours; refused.")
        for name in files:
            if not name or name.startswith("/") or ".." in Path(name).parts:
                raise StoreError(f"The manifest of {file} lists a file '{folder}/{name}' that is not ours; refused.")
            names.add(f"{folder}/{name}")
    return names


def _extract(file: Path, staging: Path) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Unpack only the manifest's files (plain files, the safe 'data' filter); the manifest and what was left out."""
    try:
        with tarfile.open(file, "r:*") as tar:
            manifest = _read_manifest(tar, file)
            listed = _listed(manifest, file)
            members = [m for m in tar.getmembers() if m.name in listed and m.isfile()]
            extra = [m.name for m in tar.getmembers() if m.isfile() and m.name not in listed | {MANIFEST}]
            tar.extractall(staging, members=members, filter="data")
    except (tarfile.TarError, EOFError) as exc:
        raise StoreError(f"{file} is not a readable backup archive ({exc}); nothing was restored.") from exc
    return manifest, tuple(sorted(extra))


@contextlib.contextmanager
def _holding(root: Path, what: str, alone: bool = False) -> Iterator[None]:
    """Use the workspace as a long writer (backup), or alone (restore: refused naming whoever uses it)."""
    try:
        with inuse.exclusive(root, what) if alone else inuse.shared(root, what):
            yield
    except inuse.InUse as exc:
        raise StoreError(str(exc)) from exc


@contextlib.contextmanager
def _training_locks(root: Path) -> Iterator[None]:
    """Every reservoir's training lock, taken without waiting (a training holding one refuses the restore)."""
    names = {f"r{f.reservoir_id}": f.reservoir for f in version_folders(root / MODELS_DIR) if f.reservoir}
    with contextlib.ExitStack() as stack:
        for path in sorted((root / MODELS_DIR).glob(f"r*/{LOCK_NAME}")):
            fh = stack.enter_context(open(path, "a+", encoding="utf-8"))  # noqa: SIM115 - closed by the stack
            if not inuse.try_flock(fh):
                raise refusal(names.get(path.parent.name, path.parent.name), read_holder(path))
            stack.callback(inuse.unflock, fh)
        yield


def restore(file: Path, root: Path, force: bool = False) -> RestoreResult:
    """Restore a backup into the workspace folder root after verifying it; see the module docstring."""
    file, root = Path(file).expanduser().resolve(), Path(root).expanduser().resolve()
    if not file.is_file():
        raise StoreError(f"No backup file {file}; give the path of a file written by `python -m core backup`.")
    root.mkdir(parents=True, exist_ok=True)
    with _holding(root, "restore", alone=True), _training_locks(root):
        swap.finish_interrupted(root, DB_NAME, MODELS_DIR)  # an earlier restore killed mid-swap first
        sweep(root, (RESTORE_STAGING,))  # then what killed restores left before their swap
        if _occupied(root) and not force:
            raise StoreError(
                f"{root} already holds a workspace; restore into an empty folder (--workspace DIR), or add --force "
                "to move its database and models aside (kept as *.replaced-<time>) first."
            )
        staging = root / tagged(RESTORE_STAGING)
        try:
            staging.mkdir()
            manifest, left_out = _extract(file, staging)
            count = _verify(staging, manifest, file)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        try:
            moved = swap.swap_in(root, staging, stamp(), DB_NAME, MODELS_DIR)
        except OSError as exc:
            raise StoreError(
                f"Could not finish the restore into {root} ({exc.strerror or exc}); nothing was deleted, and the next "
                "command that opens the workspace finishes it."
            ) from exc
    return RestoreResult(str(root), count, str(manifest.get("created") or ""), moved, left_out)
