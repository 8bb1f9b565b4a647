"""When the daily cycle retrains a reservoir: the rule, its settings, and the verdict in words.

The rule (`--retrain due`), judged on the reservoir's NEWEST version (active or not), never only the active one:

1. no version yet -> due (the reservoir gets the default model on its main variable);
2. cold start: the newest version is the fleet model serving the reservoir from a short record: due once the
   record is long enough for its own training (`own_training_days`, 140 days with the default settings; a fine-tune
   of the fleet model with --fleet, else its own default model), never before, whatever the mode but `none`;
3. age: the newest version's data end is `after_days` (default 30) or more days behind the last reading of its
   target -> due;
4. skill: otherwise, when the newest version is the active one and has issued at least `min_forecasts`
   (default 14) forecasts on days after its data end whose whole horizon is now observed, and their skill vs
   persistence is below `skill_floor` (default 0: worse than "tomorrow = today") -> due. This needs the model,
   so the task judges it (`skill_verdict`); the driver only says "if the skill dropped".

Judging the newest version makes a rerun after a crash safe: a reservoir retrained before the crash has a newest
version ending on today's data, so it is not due again, even if that version did not beat the active one.
`all` retrains every reservoir; `none` retrains nothing (a reservoir without a model then fails with a reason).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from core.fleet.modes import RETRAIN_MODES
from core.model.config import TrainConfig
from core.store.workspace import ModelVersion

TRAIN_YES, TRAIN_NO, TRAIN_IF_SKILL_DROPPED = "yes", "no", "if_skill_dropped"


@dataclass(frozen=True)
class DueRule:
    """The retrain rule's settings (CLI: --retrain-after-days, --skill-floor)."""

    after_days: int = 30
    skill_floor: float = 0.0
    min_forecasts: int = 14

    def to_dict(self) -> dict[str, Any]:
        """JSON form (job params, cycle records)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DueRule:
        """Rebuild from JSON; missing keys take the defaults."""
        data = data or {}
        return cls(**{k: data[k] for k in ("after_days", "skill_floor", "min_forecasts") if k in data})


@dataclass(frozen=True)
class Verdict:
    """Whether to train: yes, no, or if the skill dropped (the task decides), and why in words."""

    train: str
    reason: str


def data_end(version: ModelVersion | None) -> pd.Timestamp | None:
    """Last day of the data a version was trained on (None when it does not say)."""
    if version is None or version.data_range is None:
        return None
    return pd.Timestamp(version.data_range[1])


def own_training_days(config: TrainConfig | None = None) -> int:
    """The shortest record a reservoir's own training can split: each part holds at least one n_steps + horizon
    window (core.model.train's split rule), 140 days with the default settings."""
    config = config or TrainConfig(target="")
    split = config.split
    share = min(split.val_fraction, split.test_fraction, 1 - split.val_fraction - split.test_fraction)
    return int(math.ceil((config.n_steps + config.horizon) / share))


def cold_start_verdict(newest: ModelVersion, last_day: pd.Timestamp) -> Verdict | None:
    """A cold start (served by the fleet model from a short record) is due once its record is long enough for its own
    training, and never before (its record cannot be split yet); None for any other version."""
    if not newest.meta.get("cold_start") or newest.data_range is None:
        return None
    days = int((pd.Timestamp(last_day) - pd.Timestamp(newest.data_range[0])).days) + 1
    if days < own_training_days():
        return Verdict(TRAIN_NO, f"cold start: {days} days of record, its own training needs {own_training_days()}")
    return Verdict(
        TRAIN_YES,
        f"cold start: {days} days of record now, enough for its own training (from {own_training_days()}); "
        "a fine-tune (--fleet) or its own model is trained",
    )


def verdict(mode: str, newest: ModelVersion | None, last_day: pd.Timestamp, rule: DueRule) -> Verdict:
    """The driver's part of the rule: mode, model presence and the age of the newest version's data."""
    if mode not in RETRAIN_MODES:
        raise ValueError(f"--retrain must be one of {', '.join(RETRAIN_MODES)}, not '{mode}'.")
    if newest is None:
        if mode == "none":
            return Verdict(TRAIN_NO, "no model yet (--retrain none trains nothing)")
        return Verdict(TRAIN_YES, "no model yet: the default model is trained")
    if mode == "none":
        return Verdict(TRAIN_NO, "--retrain none")
    cold = cold_start_verdict(newest, last_day)
    if cold is not None:
        return cold
    if mode == "all":
        return Verdict(TRAIN_YES, "--retrain all")
    end = data_end(newest)
    if end is None:
        return Verdict(TRAIN_YES, f"version {newest.version} does not record its data end")
    behind = int((pd.Timestamp(last_day) - end).days)
    if behind >= rule.after_days:
        return Verdict(
            TRAIN_YES,
            f"version {newest.version} ends {behind} days before the last reading (retrain after {rule.after_days})",
        )
    reason = f"version {newest.version} is {behind} day(s) behind the readings (retrain after {rule.after_days})"
    if newest.active:
        return Verdict(TRAIN_IF_SKILL_DROPPED, reason)
    return Verdict(TRAIN_NO, reason + "; it is newer than the active version, so its skill is not judged")


def skill_verdict(skill: float | None, forecasts: int, rule: DueRule) -> tuple[bool, str]:
    """The task's part: is the recent skill vs persistence (on `forecasts` issued after the data end) too low?"""
    if forecasts < rule.min_forecasts or skill is None or skill != skill:
        return False, f"{forecasts} forecast(s) after the data end (skill judged from {rule.min_forecasts})"
    if skill < rule.skill_floor:
        return True, f"recent skill {skill:.2f} on {forecasts} forecasts is below {rule.skill_floor:.2f}"
    return False, f"recent skill {skill:.2f} on {forecasts} forecasts (floor {rule.skill_floor:.2f})"
