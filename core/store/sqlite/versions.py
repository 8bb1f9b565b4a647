"""Model versions in SQLite: `model_versions` (each version once) and `version_links` (which reservoirs it serves,
each with its own number and active flag), over the files core.registry writes (the contract: core.store.versions).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import registry
from core.jsonio import dumps, loads, number, write_atomic
from core.registry import SINGLE, Leftovers, LoadedModel, ModelVersion, beats_active
from core.registry.layout import SHARED_DIR
from core.registry.records import SERVED_KEY
from core.store.common import now_utc, to_json
from core.store.errors import StoreError
from core.store.locks import LockHolder, is_locked, training_lock
from core.store.sqlite.base import SqliteRepository
from core.store.versions import Reservoirs, Scores, as_names

if TYPE_CHECKING:
    from core.model.train import TrainResult

_SELECT = (
    "SELECT v.id, v.kind, v.parent_id, v.created, v.path, v.sha256, v.files, v.meta, l.number, l.active, l.val_mae, "
    "l.meta AS link_meta, l.reservoir_id, r.name AS reservoir FROM version_links l "
    "JOIN model_versions v ON v.id = l.version_id JOIN reservoirs r ON r.id = l.reservoir_id"
)


def _record(r: sqlite3.Row) -> ModelVersion:
    """A link row joined with its version as the ModelVersion its reservoir sees (its own part over the shared)."""
    meta = loads(r["meta"], {})
    own = loads(r["link_meta"], {})
    if own:
        meta = {**meta, SERVED_KEY: {**meta.get(SERVED_KEY, {}), r["reservoir"]: own}}
    return ModelVersion.from_dict(
        {
            "id": int(r["id"]),
            "kind": r["kind"],
            "parent_id": r["parent_id"],
            "version": int(r["number"]),
            "created": r["created"],
            "path": r["path"],
            "sha256": r["sha256"],
            "files": loads(r["files"], {}),
            "val_mae": r["val_mae"],
            "active": bool(r["active"]),
            "meta": meta,
        },
        r["reservoir"],
    )


def _score(val_mae: Scores, reservoir: str) -> float | None:
    """One reservoir's validation MAE out of one score or a score per reservoir."""
    if isinstance(val_mae, Mapping):
        return number(val_mae.get(reservoir))
    return number(val_mae)


class SqliteVersions(SqliteRepository):
    """Model version rows and links in SQLite; files through core.registry."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.db.on_first_write("sweep leftovers of killed saves", self._sweep)  # when a writer starts

    # ----------------------------------------------------------------- reading rows

    def versions(self, reservoir: str) -> list[ModelVersion]:
        """All versions serving a reservoir, by its number, oldest first."""
        with self._tx(write=False) as conn:
            res = self._reservoir_row(conn, reservoir)
            rows = conn.execute(f"{_SELECT} WHERE l.reservoir_id = ? ORDER BY l.number", (res["id"],)).fetchall()
        return [_record(r) for r in rows]

    def _link_row(self, conn: sqlite3.Connection, res: sqlite3.Row, version: int | None) -> sqlite3.Row:
        """The row of one version by number (None = the active one); the error lists the known numbers."""
        if version is None:
            row = conn.execute(f"{_SELECT} WHERE l.reservoir_id = ? AND l.active = 1", (res["id"],)).fetchone()
            if row is None:
                raise StoreError(f"Reservoir '{res['name']}' has no active model; train a model first.")
            return row
        row = conn.execute(
            f"{_SELECT} WHERE l.reservoir_id = ? AND l.number = ?", (res["id"], int(version))
        ).fetchone()
        if row is not None:
            return row
        known = [
            str(r[0])
            for r in conn.execute(
                "SELECT number FROM version_links WHERE reservoir_id = ? ORDER BY number", (res["id"],)
            )
        ]
        if not known:
            raise StoreError(f"Reservoir '{res['name']}' has no models; train a model first.")
        raise StoreError(
            f"Reservoir '{res['name']}' has no model version {version}; known versions: {', '.join(known)}."
        )

    def version(self, reservoir: str, version: int | None = None) -> ModelVersion:
        """One version; None means the active one (a StoreError when there is none)."""
        with self._tx(write=False) as conn:
            return _record(self._link_row(conn, self._reservoir_row(conn, reservoir), version))

    def active_version(self, reservoir: str) -> ModelVersion | None:
        """The version forecasts use, or None when the reservoir has no model yet."""
        with self._tx(write=False) as conn:
            res = self._reservoir_row(conn, reservoir)
            row = conn.execute(f"{_SELECT} WHERE l.reservoir_id = ? AND l.active = 1", (res["id"],)).fetchone()
        return None if row is None else _record(row)

    def active_versions(self) -> dict[str, ModelVersion]:
        """Every reservoir's active version by name in one query (the fleet view reads 100+ at once)."""
        with self._tx(write=False) as conn:
            rows = conn.execute(f"{_SELECT} WHERE l.active = 1").fetchall()
        return {r["reservoir"]: _record(r) for r in rows}

    def served_by(self, version_id: int) -> list[ModelVersion]:
        """The version as each reservoir it serves sees it, by reservoir name."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                f"{_SELECT} WHERE l.version_id = ? ORDER BY r.name COLLATE NOCASE", (int(version_id),)
            ).fetchall()
        return [_record(r) for r in rows]

    # ----------------------------------------------------------------- changing rows

    def activate(self, reservoir: str, version: int) -> None:
        """Make one version the model used for forecasts (the reservoir's others become inactive)."""
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, reservoir)
            row = self._link_row(conn, res, version)
            self._guard(conn, "activate", res["name"], f"version {row['number']} made active")
            conn.execute(
                "UPDATE version_links SET active = (number = ?) WHERE reservoir_id = ?", (row["number"], res["id"])
            )

    def delete_version(self, reservoir: str, version: int) -> None:
        """Unlink an inactive version from the reservoir; with its last link its row and folder go (under models/)."""
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, reservoir)
            row = self._link_row(conn, res, version)
            self._guard(conn, "delete_version", res["name"], f"version {row['number']} deleted")
            if row["active"]:
                raise StoreError(
                    f"Model version {version} is the active model; make another version active before deleting it."
                )
            conn.execute("DELETE FROM version_links WHERE reservoir_id = ? AND number = ?", (res["id"], row["number"]))
            if conn.execute("SELECT 1 FROM version_links WHERE version_id = ?", (row["id"],)).fetchone():
                return  # it still serves other reservoirs
            conn.execute("DELETE FROM model_versions WHERE id = ?", (row["id"],))
            path = row["path"]
        folder = (self.root / path).resolve()
        models = self.models_dir.resolve()
        if folder != models and folder.is_relative_to(models):
            shutil.rmtree(folder, ignore_errors=True)

    def _next_number(self, conn: sqlite3.Connection, res: sqlite3.Row) -> int:
        """The reservoir's next version number inside the registering transaction: never reused, even after a delete."""
        top = conn.execute("SELECT MAX(number) FROM version_links WHERE reservoir_id = ?", (res["id"],)).fetchone()[0]
        last = conn.execute("SELECT last_model_version FROM reservoirs WHERE id = ?", (res["id"],)).fetchone()[0]
        return 1 + max(int(last), int(top or 0))

    def _wins(self, conn: sqlite3.Connection, res: sqlite3.Row, mae: float | None) -> bool:
        """beats_active against the reservoir's active version as of this transaction (no race with an activation)."""
        row = conn.execute(f"{_SELECT} WHERE l.reservoir_id = ? AND l.active = 1", (res["id"],)).fetchone()
        if row is None:
            return True
        return mae is not None and beats_active(_record(row), mae)

    def _insert_link(
        self,
        conn: sqlite3.Connection,
        res: sqlite3.Row,
        version_id: int,
        number: int,
        mae: float | None,
        activate: bool | None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """One link (active if asked, by the rule when None, or when the reservoir has none); the number's high mark."""
        chosen = self._wins(conn, res, mae) if activate is None else bool(activate)
        make_active = chosen or self._no_active(conn, res)
        if make_active:
            conn.execute("UPDATE version_links SET active = 0 WHERE reservoir_id = ?", (res["id"],))
        conn.execute(
            "INSERT INTO version_links(reservoir_id, number, version_id, active, val_mae, meta) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (res["id"], number, version_id, int(make_active), mae, to_json(dict(meta or {}), "link meta")),
        )
        conn.execute(
            "UPDATE reservoirs SET last_model_version = MAX(last_model_version, ?) WHERE id = ?", (number, res["id"])
        )

    @staticmethod
    def _no_active(conn: sqlite3.Connection, res: sqlite3.Row) -> bool:
        """True while the reservoir has no active version (its first one becomes active whatever was asked)."""
        return conn.execute(
            "SELECT 1 FROM version_links WHERE reservoir_id = ? AND active = 1", (res["id"],)
        ).fetchone() is None

    # ----------------------------------------------------------------- files in, rows in

    def _homes(self, reservoirs: Reservoirs) -> tuple[list[sqlite3.Row], Path]:
        """The reservoirs' rows (in the order named) and the folder their version goes into."""
        with self._tx(write=False) as conn:
            rows = [self._reservoir_row(conn, name) for name in as_names(reservoirs)]
        return rows, registry.home(self.models_dir, [r["id"] for r in rows])

    def new_tmp_folder(self, reservoirs: Reservoirs) -> Path:
        """An empty hidden folder beside the version's final place to write it into before adopt_folder."""
        self._guard(None, "train")
        _, parent = self._homes(reservoirs)
        try:
            return registry.new_tmp_folder(parent)
        except OSError as exc:
            self.db.raise_disk(exc)
            raise

    def adopt_folder(
        self,
        reservoirs: Reservoirs,
        tmp: Path,
        meta: dict[str, Any],
        val_mae: Scores,
        activate: bool | None,
        *,
        kind: str = SINGLE,
        parent_id: int | None = None,
    ) -> ModelVersion:
        """Register a fully written temp folder as the next version, numbers and rows in ONE write transaction.

        tmp lies under models/ and holds meta["model_file"] and meta.json. Inside ``BEGIN IMMEDIATE`` each reservoir's
        number is allocated, meta.json rewritten with them, tmp renamed to its final folder (one there that no row
        knows is quarantined first, never deleted) and the rows inserted. activate=None applies beats_active per
        reservoir. On failure tmp is left where it was, unregistered, for the caller to remove.
        """
        names = as_names(reservoirs)
        tmp = Path(tmp).resolve()
        if not (tmp.is_dir() and tmp.is_relative_to(self.models_dir.resolve())):
            raise StoreError(f"{tmp} is not a folder under {self.models_dir}; write the version there first.")
        model_file = str(meta.get("model_file") or "")
        if not model_file or not (tmp / model_file).is_file():
            raise StoreError(f"{tmp} holds no model file {model_file!r} (meta['model_file']); nothing registered.")
        files = registry.checksums(tmp)
        registry.fsync_tree(tmp)
        moved: Path | None = None
        try:
            with self._tx(write=True) as conn:
                rows = [self._reservoir_row(conn, name) for name in names]
                self._guard(conn, "train", ", ".join(r["name"] for r in rows), "model version saved")
                numbers = [self._next_number(conn, r) for r in rows]
                cur = conn.execute(
                    "INSERT INTO model_versions(kind, parent_id, created, path, sha256, files, meta) "
                    "VALUES (?, ?, ?, '', ?, ?, '{}')",
                    (kind, parent_id, now_utc(), files[model_file], to_json(files, "checksums")),
                )
                version_id = int(cur.lastrowid)
                final = self._free_slot(conn, rows, numbers, version_id)
                full = self._numbered(meta, rows, numbers, version_id, kind, parent_id)
                write_atomic(tmp / registry.META_FILE, dumps(full))
                tmp.rename(final)
                moved = final
                conn.execute(
                    "UPDATE model_versions SET path = ?, meta = ? WHERE id = ?",
                    (registry.relative(self.root, final), to_json(full, "model meta"), version_id),
                )
                for res, number in zip(rows, numbers, strict=True):
                    self._insert_link(conn, res, version_id, number, _score(val_mae, res["name"]), activate)
        except BaseException:
            if moved is not None and moved.exists() and not tmp.exists():
                moved.rename(tmp)  # not registered: hand it back to the caller
            raise
        return self.version(names[0], numbers[0])

    @staticmethod
    def _numbered(
        meta: dict[str, Any],
        rows: list[sqlite3.Row],
        numbers: list[int],
        version_id: int,
        kind: str,
        parent_id: int | None,
    ) -> dict[str, Any]:
        """meta.json as registered: the version's id and kind, and which reservoirs it serves under which numbers
        (repair rebuilds the rows from this); a one-reservoir version keeps its reservoir's name and number."""
        pairs = zip(rows, numbers, strict=True)
        serves = [{"reservoir": r["name"], "reservoir_id": r["id"], "version": n} for r, n in pairs]
        full = {**meta, "version_id": version_id, "kind": kind, "parent_id": parent_id, "serves": serves}
        if len(rows) == 1:
            full.update(reservoir=rows[0]["name"], version=numbers[0])
        return full

    def _free_slot(
        self, conn: sqlite3.Connection, rows: list[sqlite3.Row], numbers: list[int], version_id: int
    ) -> Path:
        """The final folder; one there that no row knows is quarantined, one a row uses moves the number on."""
        ids = [r["id"] for r in rows]
        used = {r[0] for r in conn.execute("SELECT path FROM model_versions")}
        while True:
            final = registry.version_dir(self.models_dir, ids, numbers[0], version_id)
            if not final.exists():
                return final
            if registry.relative(self.root, final) in used:
                numbers[0] += 1  # a one-reservoir folder whose number a deleted row once had
                continue
            registry.quarantine(final, f"a model folder {final.name} was on disk but not in the database")

    def link(
        self, version_id: int, reservoir: str, val_mae: float | None = None, meta: Mapping[str, Any] | None = None,
        activate: bool | None = None,
    ) -> ModelVersion:
        """Let an existing version also serve `reservoir` with the next number there (a cold start)."""
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, reservoir)
            if conn.execute("SELECT 1 FROM model_versions WHERE id = ?", (int(version_id),)).fetchone() is None:
                raise StoreError(f"There is no model version with id {version_id} in this workspace.")
            if conn.execute(
                "SELECT 1 FROM version_links WHERE version_id = ? AND reservoir_id = ?", (int(version_id), res["id"])
            ).fetchone():
                raise StoreError(f"Version id {version_id} already serves '{res['name']}'.")
            n = self._next_number(conn, res)
            self._guard(conn, "train", res["name"], f"version {n} linked (version id {version_id})")
            self._insert_link(conn, res, int(version_id), n, number(val_mae), activate, meta)
        return self.version(reservoir, n)

    def save_version(
        self,
        reservoir: str,
        result: TrainResult,
        activate: bool | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Write the model + meta.json to a temp folder (core.registry), then adopt_folder registers it.

        activate=None applies the rule (beats_active): the first version, or one with a better validation MAE
        than the active one, becomes active. True/False forces it. A failed save leaves no folder and no row.
        """
        tmp = self.new_tmp_folder(reservoir)
        try:
            try:
                meta = registry.write_single(tmp, result, self.db.reservoir_name(reservoir), extra)
            except OSError as exc:
                self.db.raise_disk(exc)
                raise
            return self.adopt_folder(reservoir, tmp, meta, result.val_mae, activate)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def load_version(self, reservoir: str, version: int | None = None) -> LoadedModel:
        """Load a registered version (None = active) after checking path and checksums; safe_mode stays on."""
        return registry.load(self.version(reservoir, version), self.root, self.models_dir)

    # ----------------------------------------------------------------- locks and leftovers

    def _reservoir_dir(self, reservoir: str) -> Path:
        """Folder of one reservoir's versions, named by its id (never by user text)."""
        with self._tx(write=False) as conn:
            return registry.home(self.models_dir, [self._reservoir_row(conn, reservoir)["id"]])

    @contextmanager
    def training_lock(self, *reservoirs: str) -> Iterator[None]:
        """Hold each named reservoir's training lock for the block, or refuse at once (the rule: core.store.locks);
        the workspace is held in use meanwhile, so a restore is refused rather than swapped in under the training."""
        self._guard(None, "train")
        names = as_names(list(reservoirs))
        with ExitStack() as stack:  # the workspace first (during a restore: refused at once), then each reservoir
            stack.enter_context(self.db.in_use(f"training of {', '.join(repr(str(n).strip()) for n in names)}"))
            for name in sorted({self.db.reservoir_name(n) for n in names}, key=str.lower):
                stack.enter_context(training_lock(self._reservoir_dir(name), name))
            yield

    def training_holder(self, reservoir: str) -> LockHolder | None:
        """Who trains this reservoir right now (pid and start), or None: lets a page refuse before launching."""
        return is_locked(self._reservoir_dir(reservoir))

    def clean_leftovers(self, older_than_s: float = registry.LEFTOVER_AGE_S) -> Leftovers:
        """Remove temp folders of killed saves and quarantine version folders no row knows (one log line each)."""
        with self._tx(write=True) as conn:
            self._guard(conn, "train", None, "leftovers of interrupted saves cleaned")
            return self._sweep(conn, older_than_s)

    def _sweep(self, conn: sqlite3.Connection, older_than_s: float = registry.LEFTOVER_AGE_S) -> Leftovers:
        """The sweep, under the write lock so no save is between its rename and its row."""
        used = [str(r[0]) for r in conn.execute("SELECT path FROM model_versions")]
        return registry.sweep_leftovers(self.root, self.models_dir, used, self._busy, older_than_s)

    def _busy(self, folder: Path) -> bool:
        """A training is at work in this reservoir's folder (shared/: in any reservoir's), so its temp folders stay."""
        if folder.name != SHARED_DIR:
            return is_locked(folder) is not None
        return any(is_locked(p) is not None for p in self.models_dir.glob("r*") if p.is_dir())
