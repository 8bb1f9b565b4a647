"""Cold start: a reservoir with too little history for its own model is forecast by the fleet from its first month.

Its profile (scaling and descriptors) comes from every day it has up to the issue date; the fleet's weights
are used as they are. The net is not conditioned on its descriptors but on the fleet's mean (the mode
descriptor dropout trains): descriptors of a few months are not the reservoir's (a dry season, no seasonality;
measured in leave-one-out on the shared reservoirs, bench/RESULTS.md), and a learned per-reservoir embedding
would have no entry for it at all. Bands: fit.cold_start_calibration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.model.config import TrainError
from core.model.fleet.dataset import ReservoirProfile, to_layout
from core.model.fleet.descriptors import describe
from core.model.fleet.model import FleetModel
from core.model.preprocess import fit_scaling
from core.model.windows import WindowSet, make_windows


def history_days(values: pd.DataFrame, target: str) -> int:
    """Days with a reading of the target."""
    return int(values[target].notna().sum()) if target in values.columns else 0


def cold_profile(model: FleetModel, name: str, values: pd.DataFrame) -> ReservoirProfile:
    """The profile of a short record (all of it is history), or TrainError saying how many days are missing."""
    config = model.config
    target = config.target
    days = history_days(values, target)
    if days < config.min_history_days:
        raise TrainError(
            f"'{name}' has {days} day(s) of {target}; the fleet model needs at least {config.min_history_days} "
            "to describe a new reservoir. Import more history."
        )
    covariates = tuple(c for c in values.columns if c != target and c in config.covariates)
    every_day = np.ones(len(values), dtype=bool)
    return ReservoirProfile(
        name=name,
        scaling=fit_scaling(values, target, covariates, every_day, config.seasonal, level=False),
        descriptors=describe(values, target, covariates, every_day),
        splits=None,
        history_days=days,
        cold_start=True,
        conditioned=False,
    )


def add_reservoir(model: FleetModel, name: str, values: pd.DataFrame) -> FleetModel:
    """The fleet model serving one more reservoir, described by `values` (its record up to now)."""
    return model.with_profile(name, cold_profile(model, name, values))


def period_windows(
    model: FleetModel, name: str, values: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp | None = None
) -> WindowSet:
    """Windows whose inputs and truth lie wholly inside [start, end], in the fleet layout, with the saved scaling.

    The same windows the single-reservoir pipeline scores when [start, end] is its test period (the day before
    start only gives the first day's change), e.g. for scoring a cold start over its test period.
    """
    scaling = model.profile(name).scaling
    start = pd.Timestamp(start)
    part = values.loc[start - pd.Timedelta(days=1) : end]
    inputs = to_layout(scaling.inputs(part), scaling, model.config.covariates)
    labels = np.where(part.index >= start, "period", "before")
    return make_windows(
        inputs, part[scaling.target].to_numpy(float), part.index, labels, "period", model.config.n_steps,
        model.config.horizon, scaling.delta_scale,
    )  # fmt: skip
