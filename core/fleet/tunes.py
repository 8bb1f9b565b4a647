"""A fine-tune of the fleet model as a cycle task's training (issue 22): the `fleet_tune` entry of TRAINERS.

The task gets the fleet version serving its reservoir as archive bytes (`TaskSpec.parent`, checked like any
version before loading), splits and scales the reservoir's clean record as the fleet does, fine-tunes a copy of the
fleet's weights on it (core.model.fleet.FineTuner: a few epochs, early stopping on its own validation split, the
fleet's weights kept when that is no better) and writes one reservoir's version whose parent is the fleet version.
Pure like every task: no workspace access.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.app.fleettrain import tuned_part, write_tuned
from core.model.config import TrainConfig
from core.model.fleet import FleetForecaster
from core.model.fleet.dataset import reservoir_windows
from core.registry import LoadedModel, VersionError, load_archived, pack_folder, written_record
from core.registry.fleet import train_config

if TYPE_CHECKING:
    from core.fleet.tasks import TaskSpec

TUNE_TRAINER = "fleet_tune"  # TaskSpec.trainer of a fine-tune


def tune_trainer(spec: TaskSpec, folder: Path) -> tuple[LoadedModel, dict[str, Any]]:
    """Fine-tune the parent fleet version on the task's record; the loaded copy and its archive, meta, val MAE."""
    if spec.parent is None:
        raise VersionError(f"'{spec.reservoir}' has no fleet version to fine-tune; train the fleet model first.")
    parent = load_archived(spec.parent, folder.parent / "parent")
    if not isinstance(parent.model, FleetForecaster):
        raise VersionError(f"Version {parent.version} of '{spec.reservoir}' is not a fleet model; nothing to tune.")
    fleet = parent.model.model
    cap = TrainConfig.from_dict(spec.config).epochs  # the cycle's --max-epochs caps a fine-tune too
    fleet = replace(fleet, config=fleet.config.with_fine_tune(epochs=min(fleet.config.fine_tune.epochs, cap)))
    windows = reservoir_windows(spec.reservoir, spec.values, fleet.config)
    tuned, part = tuned_part(fleet, windows, parent.record.id, spec.clean_summary)
    folder.mkdir(parents=True)
    meta = write_tuned(folder, tuned, spec.reservoir, part, parent.record.id)
    record = written_record(folder, meta, spec.reservoir)
    loaded = LoadedModel(record=record, model=tuned.forecaster(spec.reservoir), scaling=windows.profile.scaling,
                         config=train_config(tuned, spec.reservoir))  # fmt: skip
    return loaded, {"archive": pack_folder(folder), "meta": meta, "val_mae": float(part["val_mae"])}
