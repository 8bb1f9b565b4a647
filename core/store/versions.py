"""Model versions in one place: the rows (which versions exist, which is active) and the files on disk.

A version is written to a temp folder (models/r<id>/.tmp-<uuid>), then ONE ``BEGIN IMMEDIATE`` transaction
allocates its number, rewrites meta.json's version, renames the folder to v<N> and inserts the row with the
sha256 of its model file (``adopt_folder``): two overlapping saves can never take the same number, and a v<N>
folder the database does not know is moved to models/r<id>/quarantine/, never deleted. Leftovers of killed
saves are cleaned when a workspace opens (``clean_leftovers``, with a log line each). A version is loaded only
if its file is still under the workspace's models/ folder and unchanged, and Keras loads it with safe_mode on
(inside the zoo). Versions cross to pages and the CLI as ModelVersion, read
tolerantly: a row written by an earlier app version, with keys missing from its meta, still loads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.jsonio import dumps, loads, number, write_atomic
from core.model import zoo
from core.model.config import TrainConfig
from core.model.preprocess import Scaling
from core.model.uncertainty import Calibration
from core.model.zoo import KERAS_FILE
from core.store.connection import StoreBase, StoreError, now_utc, to_json
from core.store.locks import LockHolder, is_locked, training_lock

if TYPE_CHECKING:
    from core.model.train import TrainResult

META_FILE = "meta.json"
TMP_PREFIX = ".tmp-"  # a version folder being written; never registered
QUARANTINE_DIR = "quarantine"  # version folders found on disk that the database did not know
LEFTOVER_AGE_S = 15 * 60  # a .tmp- folder older than this belongs to a save that was killed
_VERSION_DIR = re.compile(r"^v(\d+)$")
log = logging.getLogger(__name__)


class VersionError(StoreError):
    """A model version is missing, tampered with or not ours; never loaded."""


def _mapping(value: Any) -> dict[str, Any]:
    """A stored JSON object, or {} when the key is missing or holds something else."""
    return value if isinstance(value, dict) else {}


def _whole(value: Any) -> int | None:
    """A stored count, or None when it is missing or not a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    count = number(value)
    return None if count is None else int(count)


def _span(value: Any) -> tuple[str, str] | None:
    """A stored [first, last] date pair, or None."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return str(value[0]), str(value[1])
    return None


@dataclass(frozen=True)
class ModelVersion:
    """One saved version as pages and the CLI use it: which model, on what data, how good, where its files are."""

    reservoir: str
    version: int
    active: bool
    created: str
    path: str  # folder relative to the workspace root
    sha256: str  # of the model file, checked before every load
    val_mae: float | None
    model: str  # zoo member name ("" when the saved settings do not say)
    target: str
    features: tuple[str, ...]  # the covariates (the target is not repeated here)
    data_range: tuple[str, str] | None
    splits: dict[str, tuple[str, str]]  # "train"/"val"/"test" -> first and last day
    metrics: dict[str, Any]
    config: dict[str, Any]  # TrainConfig.to_dict() as saved
    epochs_run: int | None
    best_epoch: int | None
    train_seconds: float | None
    meta: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # all of meta.json

    @property
    def test_period(self) -> tuple[str, str] | None:
        """The days its test scores come from (a retrain may name its own period in the metrics)."""
        return _span(self.metrics.get("test_period")) or self.splits.get("test")

    @property
    def model_file(self) -> str:
        """The model file's name inside the version folder."""
        return str(self.meta.get("model_file") or KERAS_FILE)

    def to_dict(self) -> dict[str, Any]:
        """The stored record: row columns plus the saved meta (the shape from_dict reads)."""
        return {
            "version": self.version,
            "created": self.created,
            "path": self.path,
            "sha256": self.sha256,
            "val_mae": self.val_mae,
            "active": self.active,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any], reservoir: str | None = None) -> ModelVersion:
        """Read a stored record; missing or odd values become empty rather than errors."""
        meta = _mapping(record.get("meta"))
        config = _mapping(meta.get("config"))
        data = _mapping(meta.get("data"))
        splits = {k: span for k, v in _mapping(data.get("splits")).items() if (span := _span(v)) is not None}
        return cls(
            reservoir=str(reservoir if reservoir is not None else meta.get("reservoir") or ""),
            version=int(record.get("version") or meta.get("version") or 0),
            active=bool(record.get("active")),
            created=str(record.get("created") or meta.get("created") or ""),
            path=str(record.get("path") or ""),
            sha256=str(record.get("sha256") or ""),
            val_mae=number(record.get("val_mae")),
            model=str(_mapping(config.get("model")).get("name") or ""),
            target=str(config.get("target") or _mapping(meta.get("scaling")).get("target") or ""),
            features=tuple(str(f) for f in config.get("features") or ()),
            data_range=_span(data.get("range")),
            splits=splits,
            metrics=_mapping(meta.get("metrics")),
            config=config,
            epochs_run=_whole(meta.get("epochs_run")),
            best_epoch=_whole(meta.get("best_epoch")),
            train_seconds=number(meta.get("train_seconds")),
            meta=meta,
        )


@dataclass(frozen=True)
class LoadedModel:
    """A registered version in memory: the zoo member plus how to feed it."""

    record: ModelVersion
    model: zoo.Forecaster
    scaling: Scaling
    config: TrainConfig

    @property
    def reservoir(self) -> str:
        """The reservoir it forecasts."""
        return self.record.reservoir

    @property
    def version(self) -> int:
        """Its version number."""
        return self.record.version

    @property
    def sha256(self) -> str:
        """Checksum of the model file it was loaded from (a cache key for the dashboard)."""
        return self.record.sha256

    @property
    def meta(self) -> dict[str, Any]:
        """Everything saved beside the weights."""
        return self.record.meta

    @cached_property
    def calibration(self) -> Calibration | None:
        """The interval calibration saved with this version (None for versions saved without one)."""
        data = self.meta.get("calibration")
        return Calibration.from_dict(data) if data else None


def read_model(record: ModelVersion, path: Path, name: str) -> zoo.Forecaster:
    """The version's model from its (checksum-checked) file; a damaged file is a VersionError naming the version."""
    try:
        return zoo.load(path.parent, path.name, name)
    except zoo.ModelFileDamaged as exc:
        raise VersionError(
            f"Version {record.version} of '{record.reservoir}' cannot be used: {exc}. Activate another version "
            "(or retrain), and restore the folder from a backup if you need this one."
        ) from exc


def beats_active(active: ModelVersion | None, val_mae: float) -> bool:
    """The activation rule: the first version, or one with a better validation MAE than the active one, wins."""
    if active is None:
        return True
    return active.val_mae is not None and val_mae < active.val_mae


def build_meta(
    result: TrainResult, reservoir: str, version: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything saved beside the weights: config, scaling, data, metrics, timings."""
    return {
        "reservoir": reservoir,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": result.config.to_dict(),
        "scaling": result.scaling.to_dict(),
        "features": [result.config.target, *result.config.features],
        "data": {
            "fingerprint": result.fingerprint,
            "range": list(result.data_range),
            "splits": result.bounds.to_dict(),
            "n_windows": result.n_windows,
        },
        "metrics": result.metrics,
        "calibration": result.calibration.to_dict() if result.calibration else None,
        "val_mae": result.val_mae,
        "history": result.history,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "train_seconds": result.train_seconds,
        "stopped_by_user": result.stopped_by_user,
        **(extra or {}),
    }


def _sha256(path: Path) -> str:
    """File digest recorded at save time and checked before every load."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _age(path: Path) -> float:
    """Seconds since a folder last changed (a save writing into it keeps it young)."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _fsync_tree(folder: Path) -> None:
    """Flush every file of a finished version folder to disk before its row is committed."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def _stamp() -> str:
    """A file-name-safe UTC time for quarantine and damaged-file names."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def quarantine(folder: Path, why: str) -> Path:
    """Move a version folder to <reservoir>/quarantine/<name>-<time> (never delete it); logs where it went."""
    target_dir = folder.parent / QUARANTINE_DIR
    target_dir.mkdir(exist_ok=True)
    target = target_dir / f"{folder.name}-{_stamp()}"
    if target.exists():
        target = target_dir / f"{folder.name}-{_stamp()}-{uuid.uuid4().hex[:8]}"
    folder.rename(target)
    log.warning("Moved model folder %s to %s: %s. Nothing was deleted.", folder, target, why)
    return target


@dataclass(frozen=True)
class Leftovers:
    """What clean_leftovers found: removed temp folders of killed saves, quarantined unregistered versions."""

    removed: tuple[str, ...] = ()
    quarantined: tuple[str, ...] = ()


class VersionStore(StoreBase):
    """Model versions of a workspace, rows and files (mixed into Workspace): list, get, save, load, activate, delete."""

    # ----------------------------------------------------------------- rows

    def next_version(self, reservoir: str) -> int:
        """The number the next save would get now: a read-only hint (adopt_folder allocates it for real)."""
        with self._tx(write=False) as conn:
            return self._allocate(conn, self._reservoir_row(conn, reservoir))

    def _allocate(self, conn: sqlite3.Connection, row: sqlite3.Row) -> int:
        """The next number inside the registering transaction: never reused, even after a delete."""
        top = conn.execute("SELECT MAX(version) FROM models WHERE reservoir_id = ?", (row["id"],)).fetchone()[0]
        return 1 + max(int(row["last_model_version"]), int(top or 0))

    def _relative(self, path: str | Path) -> str:
        """Model path relative to the workspace root, so a moved workspace still finds its files."""
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.resolve().relative_to(self.root)
            except ValueError as exc:
                raise StoreError(
                    f"Model file {path} is outside the workspace {self.root}; save it under models/."
                ) from exc
        return p.as_posix()

    def register_version(
        self,
        reservoir: str,
        version: int,
        path: str,
        sha256: str,
        meta: dict,
        val_mae: float | None,
        active: bool,
    ) -> None:
        """Record a saved version's row; if active (or the reservoir has no active version yet) forecasts use it."""
        rel = self._relative(path)
        meta_json = to_json(meta, "model meta")
        mae = number(val_mae)
        with self._tx(write=True) as conn:
            row = self._reservoir_row(conn, reservoir)
            self._guard(conn, "train", row["name"], f"version {version} registered ({rel})")
            rid = row["id"]
            exists = conn.execute(
                "SELECT 1 FROM models WHERE reservoir_id = ? AND version = ?", (rid, int(version))
            ).fetchone()
            if exists or int(version) <= int(row["last_model_version"]):
                raise StoreError(
                    f"Reservoir '{row['name']}' already used model version {version}; ask next_version() for a new one."
                )
            self._insert_version(conn, rid, int(version), rel, sha256, meta_json, mae, bool(active))

    @staticmethod
    def _insert_version(
        conn: sqlite3.Connection,
        rid: int,
        version: int,
        rel: str,
        sha256: str,
        meta_json: str,
        mae: float | None,
        active: bool,
    ) -> None:
        """Insert one version row (active if asked or if the reservoir has none) and move last_model_version."""
        has_active = conn.execute("SELECT 1 FROM models WHERE reservoir_id = ? AND active = 1", (rid,)).fetchone()
        make_active = bool(active) or has_active is None
        if make_active:
            conn.execute("UPDATE models SET active = 0 WHERE reservoir_id = ?", (rid,))
        conn.execute(
            "INSERT INTO models(reservoir_id, version, created, path, sha256, meta, val_mae, active) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rid, version, now_utc(), rel, sha256, meta_json, mae, int(make_active)),
        )
        conn.execute(
            "UPDATE reservoirs SET last_model_version = MAX(last_model_version, ?) WHERE id = ?", (version, rid)
        )

    @staticmethod
    def _record(r: sqlite3.Row, reservoir: str) -> ModelVersion:
        """A models row as a ModelVersion."""
        return ModelVersion.from_dict(
            {
                "version": int(r["version"]),
                "created": r["created"],
                "path": r["path"],
                "sha256": r["sha256"],
                "val_mae": r["val_mae"],
                "active": bool(r["active"]),
                "meta": loads(r["meta"], {}),
            },
            reservoir,
        )

    def versions(self, reservoir: str) -> list[ModelVersion]:
        """All recorded versions of a reservoir, oldest first."""
        with self._tx(write=False) as conn:
            res = self._reservoir_row(conn, reservoir)
            rows = conn.execute("SELECT * FROM models WHERE reservoir_id = ? ORDER BY version", (res["id"],)).fetchall()
        return [self._record(r, res["name"]) for r in rows]

    def _version_row(self, conn: sqlite3.Connection, res: sqlite3.Row, version: int | None) -> sqlite3.Row:
        """The row of one version (None = the active one); the error lists the known versions."""
        if version is None:
            row = conn.execute("SELECT * FROM models WHERE reservoir_id = ? AND active = 1", (res["id"],)).fetchone()
            if row is None:
                raise StoreError(f"Reservoir '{res['name']}' has no active model; train a model first.")
            return row
        row = conn.execute(
            "SELECT * FROM models WHERE reservoir_id = ? AND version = ?", (res["id"], int(version))
        ).fetchone()
        if row is not None:
            return row
        known = [
            str(r[0])
            for r in conn.execute("SELECT version FROM models WHERE reservoir_id = ? ORDER BY version", (res["id"],))
        ]
        if not known:
            raise StoreError(f"Reservoir '{res['name']}' has no models; train a model first.")
        raise StoreError(
            f"Reservoir '{res['name']}' has no model version {version}; known versions: {', '.join(known)}."
        )

    def version(self, reservoir: str, version: int | None = None) -> ModelVersion:
        """One version; None means the active one (a StoreError when there is none)."""
        with self._tx(write=False) as conn:
            res = self._reservoir_row(conn, reservoir)
            return self._record(self._version_row(conn, res, version), res["name"])

    def active_version(self, reservoir: str) -> ModelVersion | None:
        """The version forecasts use, or None when the reservoir has no model yet."""
        return next((v for v in self.versions(reservoir) if v.active), None)

    def active_versions(self) -> dict[str, ModelVersion]:
        """Every reservoir's active version by name in one query (the fleet view reads 100+ at once)."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT m.*, r.name AS reservoir FROM models m JOIN reservoirs r ON r.id = m.reservoir_id "
                "WHERE m.active = 1"
            ).fetchall()
        return {r["reservoir"]: self._record(r, r["reservoir"]) for r in rows}

    def activate(self, reservoir: str, version: int) -> None:
        """Make one version the model used for forecasts (the others become inactive)."""
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, reservoir)
            row = self._version_row(conn, res, version)
            self._guard(conn, "activate", res["name"], f"version {row['version']} made active")
            conn.execute(
                "UPDATE models SET active = (version = ?) WHERE reservoir_id = ?", (row["version"], row["reservoir_id"])
            )

    def _unregister(self, reservoir: str, version: int) -> ModelVersion:
        """Forget an inactive version's row (the active one is refused); returns what it was."""
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, reservoir)
            row = self._version_row(conn, res, version)
            self._guard(conn, "delete_version", res["name"], f"version {row['version']} deleted")
            if row["active"]:
                raise StoreError(
                    f"Model version {version} is the active model; make another version active before deleting it."
                )
            conn.execute(
                "DELETE FROM models WHERE reservoir_id = ? AND version = ?", (row["reservoir_id"], row["version"])
            )
            return self._record(row, res["name"])

    def delete_version(self, reservoir: str, version: int) -> None:
        """Unregister an inactive version, then remove its folder (only ever one under models/)."""
        record = self._unregister(reservoir, version)
        folder = (self.root / record.path).resolve()
        if folder != self.models_dir.resolve() and folder.is_relative_to(self.models_dir.resolve()):
            shutil.rmtree(folder, ignore_errors=True)

    # ----------------------------------------------------------------- files

    def _reservoir_dir(self, reservoir: str) -> Path:
        """Folder of one reservoir's versions, named by its id (never by user text)."""
        with self._tx(write=False) as conn:
            return self.models_dir / f"r{self._reservoir_row(conn, reservoir)['id']}"

    @contextmanager
    def training_lock(self, reservoir: str) -> Iterator[None]:
        """Hold the reservoir's training lock for the block, or refuse at once (the rule: core.store.locks); the
        workspace is held in use meanwhile, so a restore is refused rather than swapped in under the training."""
        self._guard(None, "train")
        with (  # the workspace first (during a restore: refused at once), then the reservoir's lock
            self.in_use(f"training of '{str(reservoir).strip()}'"),
            training_lock(self._reservoir_dir(reservoir), self.reservoir_name(reservoir)),
        ):
            yield

    def training_holder(self, reservoir: str) -> LockHolder | None:
        """Who trains this reservoir right now (pid and start), or None: lets a page refuse before launching."""
        return is_locked(self._reservoir_dir(reservoir))

    def reservoir_name(self, reservoir: str) -> str:
        """The stored spelling of a reservoir's name (lookups ignore case)."""
        with self._tx(write=False) as conn:
            return str(self._reservoir_row(conn, reservoir)["name"])

    def new_tmp_folder(self, reservoir: str) -> Path:
        """An empty models/r<id>/.tmp-<uuid> folder to write a version into before adopt_folder registers it."""
        self._guard(None, "train")
        tmp = self._reservoir_dir(reservoir) / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            tmp.mkdir(parents=True)
        except OSError as exc:
            self._raise_disk(exc)
        return tmp

    def _raise_disk(self, exc: OSError) -> None:
        """Re-raise a file-system error as its specific StoreError (disk full) when it is one, else as is."""
        mapped = self._failure(exc)
        if mapped is None:
            raise exc
        raise mapped from exc

    def adopt_folder(
        self, reservoir: str, tmp: Path, meta: dict[str, Any], val_mae: float | None, activate: bool | None
    ) -> ModelVersion:
        """Register a fully written temp folder as the next version, number and row in ONE write transaction.

        tmp lies under models/ and holds meta["model_file"] and meta.json. Inside ``BEGIN IMMEDIATE`` the number
        is allocated, meta.json's version rewritten, tmp renamed to v<N> (a v<N> the database does not know is
        quarantined first, never deleted) and the row inserted. activate=None applies beats_active. On failure
        tmp is left where it was, unregistered, for the caller to remove.
        """
        tmp = Path(tmp).resolve()
        if not (tmp.is_dir() and tmp.is_relative_to(self.models_dir.resolve())):
            raise StoreError(f"{tmp} is not a folder under {self.models_dir}; write the version there first.")
        model_file = str(meta.get("model_file") or "")
        if not model_file or not (tmp / model_file).is_file():
            raise StoreError(f"{tmp} holds no model file {model_file!r} (meta['model_file']); nothing registered.")
        sha, mae = _sha256(tmp / model_file), number(val_mae)
        _fsync_tree(tmp)
        moved: Path | None = None
        try:
            with self._tx(write=True) as conn:
                res = self._reservoir_row(conn, reservoir)
                self._guard(conn, "train", res["name"], "model version saved")
                version, final = self._free_slot(conn, res)
                full = {**meta, "reservoir": res["name"], "version": version}
                write_atomic(tmp / META_FILE, dumps(full))
                tmp.rename(final)
                moved = final
                make_active = self._wins(conn, res, mae) if activate is None else bool(activate)
                meta_json = to_json(full, "model meta")
                self._insert_version(conn, res["id"], version, self._relative(final), sha, meta_json, mae, make_active)
        except BaseException:
            if moved is not None and moved.exists() and not tmp.exists():
                moved.rename(tmp)  # not registered: hand it back to the caller
            raise
        return self.version(reservoir, version)

    def _free_slot(self, conn: sqlite3.Connection, res: sqlite3.Row) -> tuple[int, Path]:
        """The next number and its folder; a folder there no row knows is quarantined, one a row uses is skipped."""
        version = self._allocate(conn, res)
        folder = self.models_dir / f"r{res['id']}"
        used = {r[0] for r in conn.execute("SELECT path FROM models WHERE reservoir_id = ?", (res["id"],))}
        while (folder / f"v{version}").exists():
            final = folder / f"v{version}"
            if self._relative(final) in used:
                version += 1
                continue
            quarantine(final, f"version {version} of '{res['name']}' was on disk but not in the database")
        return version, folder / f"v{version}"

    def _wins(self, conn: sqlite3.Connection, res: sqlite3.Row, mae: float | None) -> bool:
        """beats_active against the active row as of this transaction (no race with a concurrent activation)."""
        row = conn.execute("SELECT * FROM models WHERE reservoir_id = ? AND active = 1", (res["id"],)).fetchone()
        if row is None:
            return True
        return mae is not None and beats_active(self._record(row, res["name"]), mae)

    def save_version(
        self,
        reservoir: str,
        result: TrainResult,
        activate: bool | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Write the model + meta.json to a temp folder, then adopt_folder registers it; returns the stored version.

        activate=None applies the rule (beats_active): the first version, or one with a better validation MAE
        than the active one, becomes active. True/False forces it. A failed save leaves no folder and no row.
        """
        tmp = self.new_tmp_folder(reservoir)
        try:
            try:
                model_file = result.model.save(tmp)
                name = self.reservoir_name(reservoir)
                meta = build_meta(result, name, 0, {"model_file": model_file, **(extra or {})})
                write_atomic(tmp / META_FILE, dumps(meta))
            except OSError as exc:
                self._raise_disk(exc)
            return self.adopt_folder(reservoir, tmp, meta, result.val_mae, activate)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def clean_leftovers(self, older_than_s: float = LEFTOVER_AGE_S) -> Leftovers:
        """Remove temp folders of killed saves and quarantine version folders no row knows (one log line each)."""
        with self._tx(write=True) as conn:
            self._guard(conn, "train", None, "leftovers of interrupted saves cleaned")
            return self._clean_leftovers(conn, older_than_s)

    def _on_open(self, conn: sqlite3.Connection) -> None:
        """At every open, inside the schema transaction: clean what killed saves left (cheap: a folder listing)."""
        super()._on_open(conn)
        self._clean_leftovers(conn, LEFTOVER_AGE_S)

    def _clean_leftovers(self, conn: sqlite3.Connection, older_than_s: float) -> Leftovers:
        """The cleaning, under the write lock so no save is between its rename and its row."""
        used = {str(r[0]) for r in conn.execute("SELECT path FROM models")}
        removed: list[str] = []
        held: list[str] = []
        try:
            folders = [p for p in self.models_dir.iterdir() if p.is_dir() and re.match(r"^r\d+$", p.name)]
        except OSError:
            return Leftovers()
        for folder in folders:
            busy = is_locked(folder) is not None  # a training is at work there: its temp folder is not a leftover
            for entry in folder.iterdir():
                if not entry.is_dir():
                    continue
                if entry.name.startswith(TMP_PREFIX) and not busy and _age(entry) > older_than_s:
                    shutil.rmtree(entry, ignore_errors=True)
                    log.warning("Removed %s, left by a save that was interrupted (never registered).", entry)
                    removed.append(self._relative(entry))
                elif _VERSION_DIR.match(entry.name) and self._relative(entry) not in used:
                    held.append(self._relative(quarantine(entry, "no model version row points to it")))
        return Leftovers(tuple(removed), tuple(held))

    def load_version(self, reservoir: str, version: int | None = None) -> LoadedModel:
        """Load a registered version (None = active) after checking path and checksum; safe_mode stays on."""
        record = self.version(reservoir, version)
        path = (self.root / record.path / record.model_file).resolve()
        if not path.is_relative_to(self.models_dir.resolve()):
            raise VersionError(f"Version {record.version} points outside the workspace; refusing to load it.")
        if not path.exists():
            raise VersionError(
                f"The files of version {record.version} of '{reservoir}' are missing; "
                "retrain or activate another version."
            )
        if _sha256(path) != record.sha256:
            raise VersionError(
                f"Version {record.version} of '{reservoir}' was changed on disk after it was saved; "
                "refusing to load it."
            )
        config = TrainConfig.from_dict(record.config)
        return LoadedModel(
            record=record,
            model=read_model(record, path, config.model.name),
            scaling=Scaling.from_dict(record.meta["scaling"]),
            config=config,
        )
