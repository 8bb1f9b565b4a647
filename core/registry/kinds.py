"""How each kind of version turns its folder into the forecaster for one reservoir it serves.

A kind's reader gets the checked folder, the version as that reservoir sees it (`ModelVersion`, with the
reservoir's own part of meta.json overlaid) and the reservoir's name, and returns what forecasting needs:
the forecaster (the zoo's `Forecaster` interface), the reservoir's `Scaling` and the `TrainConfig` that says
how to window its inputs. Today's versions are `SINGLE` (one zoo member trained on one reservoir). A kind that
serves several reservoirs (the fleet model) adds one entry to READERS: it loads its saved model once and asks
it for that reservoir's forecaster and scaling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.model import zoo
from core.model.config import TrainConfig
from core.model.preprocess import Scaling
from core.registry.fleet import FLEET, read_fleet
from core.registry.records import SINGLE, ModelVersion, VersionError


@dataclass(frozen=True)
class Served:
    """What one reservoir needs from a loaded version."""

    model: zoo.Forecaster
    scaling: Scaling
    config: TrainConfig


Reader = Callable[[Path, ModelVersion, str], Served]


def read_single(folder: Path, record: ModelVersion, reservoir: str) -> Served:
    """A zoo member trained on one reservoir: its model file, the scaling and settings in meta.json."""
    config = TrainConfig.from_dict(record.config)
    try:
        model = zoo.load(folder, record.model_file, config.model.name)
    except zoo.ModelFileDamaged as exc:
        raise VersionError(
            f"Version {record.version} of '{reservoir}' cannot be used: {exc}. Activate another version "
            "(or retrain), and restore the folder from a backup if you need this one."
        ) from exc
    return Served(model, Scaling.from_dict(record.meta["scaling"]), config)


def read_fleet_kind(folder: Path, record: ModelVersion, reservoir: str) -> Served:
    """A fleet version (or a fine-tuned copy of one) serving this reservoir (core.registry.fleet)."""
    return Served(*read_fleet(folder, record, reservoir))


READERS: dict[str, Reader] = {SINGLE: read_single, FLEET: read_fleet_kind}


def reader(kind: str) -> Reader:
    """The reader of a kind; a version of a kind this app does not know is refused, not guessed at."""
    if kind not in READERS:
        raise VersionError(
            f"This version is a '{kind}' model, which this version of Reservoir Sentinel cannot load; update the app."
        )
    return READERS[kind]
