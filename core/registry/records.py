"""What a saved model version is, as every layer reads it: `ModelVersion` (one version as one reservoir sees it),
`LoadedModel` (a version in memory, ready to forecast one reservoir), the activation rule and meta.json's content.

A version has its own id and a kind (`SINGLE`: trained on one reservoir; a kind that serves several reservoirs
registers its loader in core.registry.kinds) and may name a parent version (a fine-tune of a fleet model). The
link table (core.store) says which reservoirs it serves, each with the number operators see for it ("version 3
of Poondi") and whether it is active there; `ModelVersion` is that view: the version's meta.json overlaid with the
reservoir's own part (``meta["served"][name]``: its scores, scaling or profile), so pages, the CLI and the
forecast read one reservoir's numbers whichever kind of version it is. Records are read tolerantly: a row
written by an earlier app version, with keys missing from its meta, still loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from core.jsonio import number
from core.model import zoo
from core.model.config import TrainConfig
from core.model.preprocess import Scaling
from core.model.uncertainty import Calibration
from core.model.zoo import KERAS_FILE

if TYPE_CHECKING:
    from core.model.train import TrainResult

SINGLE = "single"  # a version trained on one reservoir's record (every version before the fleet model)
SERVED_KEY = "served"  # meta.json: reservoir name -> that reservoir's own part of a version serving several


class VersionError(ValueError):
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


def served_meta(meta: dict[str, Any], reservoir: str | None) -> dict[str, Any]:
    """The version's meta as one reservoir sees it: its own part (scores, scaling) over the shared settings."""
    own = _mapping(_mapping(meta.get(SERVED_KEY)).get(reservoir or ""))
    return {**meta, **own} if own else meta


@dataclass(frozen=True)
class ModelVersion:
    """One saved version as one reservoir's pages and CLI use it: which model, on what data, how good, where."""

    reservoir: str
    version: int  # the number operators see for this reservoir
    active: bool
    created: str
    path: str  # folder relative to the workspace root
    sha256: str  # of the model file, checked before every load (and the dashboard's cache key)
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
    id: int = 0  # the version's own id (one version may serve several reservoirs, each with its own number)
    kind: str = SINGLE
    parent_id: int | None = None  # the version this one was fine-tuned from
    files: dict[str, str] = field(default_factory=dict, compare=False)  # every file but meta.json -> its sha256
    meta: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # meta.json as this reservoir sees

    @property
    def test_period(self) -> tuple[str, str] | None:
        """The days its test scores come from (a retrain may name its own period in the metrics)."""
        return _span(self.metrics.get("test_period")) or self.splits.get("test")

    @property
    def model_file(self) -> str:
        """The model file's name inside the version folder."""
        return str(self.meta.get("model_file") or KERAS_FILE)

    @property
    def checked_files(self) -> dict[str, str]:
        """Every file a load checks first, with the digest it must have (older rows: the model file alone)."""
        return self.files or {self.model_file: self.sha256}

    def to_dict(self) -> dict[str, Any]:
        """The stored record: row columns plus the saved meta (the shape from_dict reads)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "parent_id": self.parent_id,
            "version": self.version,
            "created": self.created,
            "path": self.path,
            "sha256": self.sha256,
            "files": self.files,
            "val_mae": self.val_mae,
            "active": self.active,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any], reservoir: str | None = None) -> ModelVersion:
        """Read a stored record; missing or odd values become empty rather than errors."""
        name = reservoir if reservoir is not None else _mapping(record.get("meta")).get("reservoir")
        meta = served_meta(_mapping(record.get("meta")), name)
        config = _mapping(meta.get("config"))
        data = _mapping(meta.get("data"))
        splits = {k: span for k, v in _mapping(data.get("splits")).items() if (span := _span(v)) is not None}
        parent = _whole(record.get("parent_id"))
        return cls(
            reservoir=str(name or ""),
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
            id=_whole(record.get("id")) or 0,
            kind=str(record.get("kind") or SINGLE),
            parent_id=parent,
            files={str(k): str(v) for k, v in _mapping(record.get("files")).items()},
            meta=meta,
        )


@dataclass(frozen=True)
class LoadedModel:
    """A registered version in memory, serving one reservoir: the forecaster plus how to feed it."""

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
        """Its version number (for this reservoir)."""
        return self.record.version

    @property
    def sha256(self) -> str:
        """Checksum of the model file it was loaded from (a cache key for the dashboard)."""
        return self.record.sha256

    @property
    def meta(self) -> dict[str, Any]:
        """Everything saved beside the weights (this reservoir's view)."""
        return self.record.meta

    @cached_property
    def calibration(self) -> Calibration | None:
        """The interval calibration saved with this version (None for versions saved without one)."""
        data = self.meta.get("calibration")
        return Calibration.from_dict(data) if data else None


def beats_active(active: ModelVersion | None, val_mae: float) -> bool:
    """The activation rule: the first version, or one with a better validation MAE than the active one, wins."""
    if active is None:
        return True
    return active.val_mae is not None and val_mae < active.val_mae


def build_meta(
    result: TrainResult, reservoir: str, version: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything saved beside the weights of a one-reservoir training: config, scaling, data, metrics, timings."""
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
