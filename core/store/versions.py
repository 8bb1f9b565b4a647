"""Model versions on disk: written atomically, loaded only if the workspace wrote them (safe_mode, sha256)."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from core.jsonio import dumps, write_atomic
from core.model import zoo
from core.model.preprocess import Scaling
from core.model.train import TrainConfig, TrainResult
from core.model.uncertainty import Calibration
from core.model.zoo import KERAS_FILE
from core.store.workspace import StoreError, Workspace

META_FILE = "meta.json"


class RegistryError(StoreError):
    """A model version is missing, tampered with or not ours; never loaded."""


def _sha256(path: Path) -> str:
    """File digest recorded at save time and checked before every load."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _reservoir_dir(ws: Workspace, reservoir: str) -> Path:
    """Folder of one reservoir's versions, named by its id (never by user text)."""
    return ws.models_dir / f"r{ws.reservoir(reservoir).id}"


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


def save_version(
    ws: Workspace,
    reservoir: str,
    result: TrainResult,
    activate: bool | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a new version folder atomically, then register it; returns the stored record.

    activate=None applies the rule: the first version, or one with a better validation MAE than
    the active one, becomes active. True/False forces it.
    """
    version = ws.next_version(reservoir)
    folder = _reservoir_dir(ws, reservoir)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"v{version}"
    tmp = folder / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        model_file = result.model.save(tmp)
        meta = build_meta(result, reservoir, version, {"model_file": model_file, **(extra or {})})
        write_atomic(tmp / META_FILE, dumps(meta))
        sha = _sha256(tmp / model_file)
        if final.exists():  # left by a crash after rename but before registration: never registered, so not ours
            shutil.rmtree(final)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if activate is None:
        current = [m for m in ws.models(reservoir) if m["active"]]
        activate = not current or result.val_mae < float(current[0]["val_mae"])
    try:
        ws.add_model(reservoir, version, str(final.relative_to(ws.root)), sha, meta, result.val_mae, bool(activate))
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return ws.model(reservoir, version)


@dataclass
class LoadedModel:
    """A registered version in memory: the zoo member plus how to feed it."""

    reservoir: str
    version: int
    model: zoo.Forecaster
    meta: dict[str, Any]
    scaling: Scaling
    config: TrainConfig
    sha256: str

    @cached_property
    def calibration(self) -> Calibration | None:
        """The interval calibration saved with this version (None for versions saved without one)."""
        data = self.meta.get("calibration")
        return Calibration.from_dict(data) if data else None


def load_version(ws: Workspace, reservoir: str, version: int | None = None) -> LoadedModel:
    """Load a registered version (None = active) after checking path and checksum; safe_mode stays on."""
    record = ws.model(reservoir, version)
    meta = record["meta"]
    path = (ws.root / record["path"] / meta.get("model_file", KERAS_FILE)).resolve()
    if not path.is_relative_to(ws.models_dir.resolve()):
        raise RegistryError(f"Version {record['version']} points outside the workspace; refusing to load it.")
    if not path.exists():
        raise RegistryError(
            f"The files of version {record['version']} of '{reservoir}' are missing; "
            "retrain or activate another version."
        )
    if _sha256(path) != record["sha256"]:
        raise RegistryError(
            f"Version {record['version']} of '{reservoir}' was changed on disk after it was saved; refusing to load it."
        )
    config = TrainConfig.from_dict(meta["config"])
    model = zoo.load(path.parent, path.name, config.model.name)
    return LoadedModel(
        reservoir=reservoir,
        version=int(record["version"]),
        model=model,
        meta=meta,
        scaling=Scaling.from_dict(meta["scaling"]),
        config=config,
        sha256=record["sha256"],
    )


def delete_version(ws: Workspace, reservoir: str, version: int) -> None:
    """Unregister an inactive version, then remove its files."""
    record = ws.model(reservoir, version)
    ws.delete_model(reservoir, version)
    shutil.rmtree(ws.root / record["path"], ignore_errors=True)
