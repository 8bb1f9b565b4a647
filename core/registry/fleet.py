"""Versions of the fleet model (issue 22): one folder (model.keras + fleet.json + meta.json) serving many reservoirs.

A fleet version is saved once and linked to every reservoir it serves; a fine-tuned copy is saved as one
reservoir's version whose parent is the fleet version; a cold-start reservoir is linked to a fleet version later,
with its own profile in its link. Each reservoir's own part of meta.json (``served[name]``: its settings, scaling,
profile, scores, bands, history) is what its pages, the CLI and the forecast read, exactly as for a one-reservoir
version, so a fleet version forecasts through the same `LoadedModel` interface. The reader loads the Keras file
with safe_mode=True (FleetModel.load) after core.registry.artifacts has checked every file's checksum.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.jsonio import dumps, write_atomic
from core.model.config import ModelConfig, TrainConfig
from core.model.fleet import FLEET_MODEL, TUNED_MODEL, FleetModel, ReservoirProfile
from core.model.preprocess import Scaling
from core.registry.records import SERVED_KEY, ModelVersion, VersionError

if TYPE_CHECKING:
    from core.model.zoo import Forecaster

FLEET = "fleet"  # the kind of a fleet version and of a fine-tuned copy of one (parent_id tells them apart)
PROFILE_KEY = "profile"  # a reservoir's part of meta.json: what the net needs to serve it (ReservoirProfile)


def train_config(model: FleetModel, name: str) -> TrainConfig:
    """The settings one reservoir's forecast is windowed with: its own covariates, the fleet's window and horizon."""
    config, profile = model.config, model.profile(name)
    label = TUNED_MODEL if model.parent is not None else FLEET_MODEL
    return TrainConfig(
        target=config.target,
        features=profile.covariates,
        n_steps=config.n_steps,
        horizon=config.horizon,
        learning_rate=config.learning_rate,
        epochs=config.epochs,
        batch_size=config.batch_size,
        patience=config.patience,
        seed=config.seed,
        seasonal=config.seasonal,
        model=ModelConfig(
            name=label,
            filters=config.filters,
            kernel_size=config.kernel_size,
            units=config.units,
            dropout=config.dropout,
        ),  # fmt: skip
        split=config.split,
        clean=config.clean,
    )


def served_part(model: FleetModel, name: str, scores: dict[str, Any]) -> dict[str, Any]:
    """One reservoir's own part of a fleet version's meta.json: settings, scaling, profile and `scores`
    (metrics, calibration, val_mae, data, history_days, cold_start: whatever its pages read)."""
    profile = model.profile(name)
    return {
        "reservoir": name,
        "config": train_config(model, name).to_dict(),
        "scaling": profile.scaling.to_dict(),
        PROFILE_KEY: profile.to_dict(),
        "features": [model.config.target, *profile.covariates],
        "history_days": profile.history_days,
        "cold_start": profile.cold_start,
        **scores,
    }


def write_fleet(
    folder: Path, model: FleetModel, served: dict[str, dict[str, Any]], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Save a fleet (or fine-tuned) model and its meta.json into an empty temp folder; the meta written.

    `served`: reservoir name -> served_part(...). The shared part says how the fleet was trained (its settings,
    epochs, seconds); each reservoir's numbers live only in its part.
    """
    model.save(folder)
    first = next(iter(served.values()), {})
    meta = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_file": "model.keras",
        "config": first.get("config", {}),
        "fleet_config": model.config.to_dict(),
        "fleet_parent": model.parent,
        "history": model.history,
        "epochs_run": len(model.history),
        "train_seconds": model.train_seconds,
        SERVED_KEY: served,
        **(extra or {}),
    }
    write_atomic(folder / "meta.json", dumps(meta))
    return meta


def read_fleet(folder: Path, record: ModelVersion, reservoir: str) -> tuple[Forecaster, Scaling, TrainConfig]:
    """A checked fleet folder as one reservoir's forecaster: its profile (from its part of meta.json, where a cold
    start keeps the one it was linked with), its scaling and its windowing settings (core.registry.kinds wraps
    them as `Served`)."""
    part = record.meta.get(PROFILE_KEY)
    if not isinstance(part, dict):
        raise VersionError(f"Version {record.version} does not say how it serves '{reservoir}'; retrain it.")
    try:
        model = FleetModel.load(folder)
        profile = ReservoirProfile.from_dict(part)
    except (ValueError, KeyError, OSError) as exc:
        raise VersionError(
            f"Version {record.version} of '{reservoir}' cannot be used: {exc}. Activate another version or retrain."
        ) from exc
    served = model.with_profile(reservoir, profile)
    return served.forecaster(reservoir), profile.scaling, TrainConfig.from_dict(record.config)
