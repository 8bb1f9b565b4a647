"""Writing a version's files and loading them back, the same way wherever it happens (the dashboard's jobs, the
CLI, a cycle task on another machine).

`write_single` saves a trained one-reservoir model and its meta.json into an (empty, temp) folder. `load` checks
first: the folder must lie under the workspace's models/ (or be the task's own unpacked copy), every recorded file
must exist with its recorded sha256; only then does the kind's reader open it, and Keras always loads with
safe_mode=True (inside the zoo). `load_archived` does the same for a version a cycle task received as archive
bytes (core.registry.archive).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.digest import sha256_file
from core.jsonio import dumps, write_atomic
from core.registry.archive import pack_folder, unpack_into
from core.registry.kinds import reader
from core.registry.layout import META_FILE, checksums
from core.registry.records import LoadedModel, ModelVersion, VersionError, build_meta

if TYPE_CHECKING:
    from core.model.train import TrainResult


@dataclass(frozen=True)
class ArchivedVersion:
    """A stored version handed to a task: its record (ModelVersion.to_dict()) and its folder as archive bytes."""

    record: dict[str, Any]
    archive: bytes


def write_single(folder: Path, result: TrainResult, reservoir: str, extra: dict[str, Any] | None = None) -> dict:
    """Save a one-reservoir training's model file and meta.json into `folder`; the meta written (version unset)."""
    model_file = result.model.save(folder)
    meta = build_meta(result, reservoir, 0, {"model_file": model_file, **(extra or {})})
    write_atomic(folder / META_FILE, dumps(meta))
    return meta


def written_record(folder: Path, meta: dict[str, Any], reservoir: str) -> ModelVersion:
    """The record of a folder just written (not registered yet: version 0), with its files' checksums."""
    files = checksums(folder)
    model_file = str(meta.get("model_file") or "")
    return ModelVersion.from_dict(
        {"version": 0, "meta": meta, "sha256": files.get(model_file, ""), "files": files}, reservoir
    )


def check_files(record: ModelVersion, folder: Path) -> None:
    """Refuse a version whose files are missing or changed since they were saved (checked before any reader runs)."""
    for name, digest in record.checked_files.items():
        path = folder / name
        if not path.is_file():
            raise VersionError(
                f"The files of version {record.version} of '{record.reservoir}' are missing ({name}); "
                "retrain or activate another version."
            )
        if sha256_file(path) != digest:
            raise VersionError(
                f"Version {record.version} of '{record.reservoir}' was changed on disk after it was saved ({name}); "
                "refusing to load it."
            )


def load(record: ModelVersion, root: Path, models_dir: Path) -> LoadedModel:
    """A registered version serving `record.reservoir`, loaded only from under models/ and only when it matches."""
    folder = (Path(root) / record.path).resolve()
    if not folder.is_relative_to(Path(models_dir).resolve()) or folder == Path(models_dir).resolve():
        raise VersionError(f"Version {record.version} points outside the workspace; refusing to load it.")
    return load_folder(record, folder)


def load_folder(record: ModelVersion, folder: Path) -> LoadedModel:
    """Check the folder's files against the record, then let the version's kind read it for the reservoir."""
    check_files(record, folder)
    served = reader(record.kind)(folder, record, record.reservoir)
    return LoadedModel(record=record, model=served.model, scaling=served.scaling, config=served.config)


def load_archived(archived: ArchivedVersion, folder: Path) -> LoadedModel:
    """A stored version from its archive bytes (a cycle task), unpacked into an empty folder and checked alike."""
    record = ModelVersion.from_dict(archived.record)
    folder.mkdir(parents=True)
    unpack_into(archived.archive, folder)
    return load_folder(record, folder)


def archived(record: ModelVersion, root: Path) -> ArchivedVersion:
    """A registered version's folder as archive bytes with its record, for a task that never opens the workspace."""
    return ArchivedVersion(record={**record.to_dict(), "meta": {**record.meta, "reservoir": record.reservoir}},
                           archive=pack_folder(Path(root) / record.path))
