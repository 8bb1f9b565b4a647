"""One forecaster trained across the fleet: dataset, graph, fit, fine-tune, cold start, save/load (issue 22).

The integrator's entry points:
- `build_dataset({name: CleanFrame}, FleetConfig())` -> FleetDataset (per-reservoir splits and scaling)
- `fit_fleet(dataset)` -> FleetFit (.model: FleetModel serving every reservoir of the dataset)
- `fine_tune(fleet_model, dataset.reservoirs[name], parent_version=...)` -> FleetModel serving that one
- `add_reservoir(fleet_model, name, values)` -> FleetModel that also serves a cold-start reservoir
- `FleetModel.forecast(name, values)`, `.forecaster(name)` (zoo interface), `.save(folder)`, `FleetModel.load(folder)`
- `reservoir_calibration(model, name, val_windows)` / `cold_start_calibration(model, name)` -> bands
"""

from core.model.fleet.coldstart import add_reservoir, cold_profile, history_days, period_windows
from core.model.fleet.config import FLEET_MODEL, MODEL_LABELS, TUNED_MODEL, FineTuneSettings, FleetConfig
from core.model.fleet.dataset import FleetDataset, ReservoirProfile, ReservoirWindows, build_dataset, to_layout
from core.model.fleet.fit import (
    FineTuner,
    FleetFit,
    cold_start_calibration,
    fine_tune,
    fit_fleet,
    reservoir_calibration,
    scores,
)
from core.model.fleet.model import FLEET_FILE, FleetForecaster, FleetModel

__all__ = [
    "FLEET_FILE",
    "FLEET_MODEL",
    "MODEL_LABELS",
    "TUNED_MODEL",
    "FineTuneSettings",
    "FineTuner",
    "FleetConfig",
    "FleetDataset",
    "FleetFit",
    "FleetForecaster",
    "FleetModel",
    "ReservoirProfile",
    "ReservoirWindows",
    "add_reservoir",
    "build_dataset",
    "cold_profile",
    "cold_start_calibration",
    "fine_tune",
    "fit_fleet",
    "history_days",
    "period_windows",
    "reservoir_calibration",
    "scores",
    "to_layout",
]
