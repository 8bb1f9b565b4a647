"""Chronological train/validation/test splits: the only place that decides which day belongs where."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.model.config import SplitConfig

SPLITS = ("train", "val", "test")


class SplitError(ValueError):
    """The requested split leaves a part empty or too short; the message says what to change."""


@dataclass(frozen=True)
class SplitBounds:
    """First day of validation and of test; train is everything before validation."""

    start: pd.Timestamp
    val_start: pd.Timestamp
    test_start: pd.Timestamp
    end: pd.Timestamp

    def labels(self, index: pd.DatetimeIndex) -> np.ndarray:
        """Split name for each day, so windows can be kept inside one split."""
        out = np.full(len(index), "train", dtype=object)
        out[index >= self.val_start] = "val"
        out[index >= self.test_start] = "test"
        return out

    def to_dict(self) -> dict[str, str]:
        """ISO dates of each part, for the saved model and the report."""
        day = pd.Timedelta(days=1)
        return {
            "train": [self.start.date().isoformat(), (self.val_start - day).date().isoformat()],
            "val": [self.val_start.date().isoformat(), (self.test_start - day).date().isoformat()],
            "test": [self.test_start.date().isoformat(), self.end.date().isoformat()],
        }


def split_bounds(index: pd.DatetimeIndex, config: SplitConfig, min_days: int = 30) -> SplitBounds:
    """Cut the daily calendar chronologically; fractions count calendar days, not rows."""
    if len(index) == 0:
        raise SplitError("There are no readings to split.")
    start, end = index.min(), index.max()
    n_days = (end - start).days + 1
    if config.test_from:
        try:
            test_start = pd.Timestamp(config.test_from).normalize()
        except (ValueError, TypeError) as exc:
            raise SplitError(f"--test-from '{config.test_from}' is not a date; use YYYY-MM-DD.") from exc
        if not start < test_start <= end:
            raise SplitError(
                f"--test-from {test_start.date()} must fall inside the data ({start.date()} to {end.date()})."
            )
        before = (test_start - start).days
        val_days = int(round(before * config.val_fraction))
    else:
        test_days = int(round(n_days * config.test_fraction))
        val_days = int(round(n_days * config.val_fraction))
        test_start = end - pd.Timedelta(days=test_days - 1)
    val_start = test_start - pd.Timedelta(days=val_days)
    parts = {
        "training": (val_start - start).days,
        "validation": (test_start - val_start).days,
        "test": (end - test_start).days + 1,
    }
    short = [f"{name} has {days} days" for name, days in parts.items() if days < min_days]
    if short:
        raise SplitError(
            f"Not enough history to split {n_days} days into training/validation/test ({'; '.join(short)}, "
            f"need at least {min_days} each). Import a longer record or change --test-from."
        )
    return SplitBounds(start=start, val_start=val_start, test_start=test_start, end=end)
