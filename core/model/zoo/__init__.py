"""The model zoo: every member in its own module, found here, behind one interface.

Adding a member is a one-file change: a module in this package that defines `MEMBER = Member(...)`
(see persistence.py for a one-shot member, conv1d.py for a Keras net). This registry imports each
module of the package once, in file order, and sorts the members by their `order`.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from core.model.config import DEFAULT_MODEL, ModelConfig
from core.model.zoo.base import KERAS_FILE, EpochHook, FitLog, Forecaster, Member, StopHook


def _discover() -> dict[str, Member]:
    """Every `MEMBER` declared by a module of this package, in display order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        member = getattr(module, "MEMBER", None)
        if isinstance(member, Member):
            found.append(member)
    return {m.name: m for m in sorted(found, key=lambda m: m.order)}


ZOO: dict[str, Member] = _discover()
MODEL_NAMES: tuple[str, ...] = tuple(ZOO)


def check_name(name: str) -> str:
    """The name itself, or a ValueError listing the zoo."""
    if name not in ZOO:
        raise ValueError(f"Unknown model '{name}'. Known models: {', '.join(MODEL_NAMES)}.")
    return name


def create(cfg: ModelConfig, n_steps: int, n_features: int, horizon: int, seed: int) -> Forecaster:
    """A fresh, unfitted member named by cfg.name (Keras weights seeded for reproducibility)."""
    return ZOO[check_name(cfg.name)].create(cfg, n_steps, n_features, horizon, seed)


class ModelFileDamaged(ValueError):
    """A model file whose checksum matches what was recorded cannot be read: it was damaged before being recorded,
    or replaced together with its recorded checksum."""


def load(folder: Path, filename: str, name: str) -> Forecaster:
    """Rebuild a saved member from the file its version registered (never pickle); a file its reader cannot read
    is a ModelFileDamaged in words, never the zip, JSON or Keras reader's own exception."""
    member = ZOO[check_name(name)]
    if filename != member.file:
        raise ValueError(f"{filename} does not hold a '{name}' model (expected {member.file}).")
    try:
        return member.load(folder / filename)
    except Exception as exc:  # noqa: BLE001 - BadZipFile, JSONDecodeError, KeyError, Keras' ValueError...
        kind = "Keras archive" if filename == KERAS_FILE else f"'{name}' model file"
        raise ModelFileDamaged(f"its model file {filename} is damaged: it is not a readable {kind}") from exc


__all__ = [
    "DEFAULT_MODEL",
    "KERAS_FILE",
    "MODEL_NAMES",
    "ModelFileDamaged",
    "ZOO",
    "EpochHook",
    "FitLog",
    "Forecaster",
    "Member",
    "StopHook",
    "check_name",
    "create",
    "load",
]
