"""Seasonal climatology: the average change for this time of year in the training years."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from core.model.config import FitSettings, TrainError
from core.model.zoo.base import Forecaster, Member

if TYPE_CHECKING:
    from core.model.windows import WindowSet


def _day_of_year(X: np.ndarray) -> np.ndarray:
    """Issue day of year (0..365) recovered from the seasonal sin/cos inputs of the window's last day."""
    angle = np.arctan2(X[:, -1, -2], X[:, -1, -1]) % (2 * np.pi)
    return np.round(angle / (2 * np.pi) * 365.25).astype(int) % 366


class Climatology(Forecaster):
    """Mean change for the issue's time of year (±15 days, training years only)."""

    name = "climatology"
    WINDOW = 15

    def __init__(self, horizon: int, table: np.ndarray | None = None):
        self.horizon = horizon
        self.table = table  # (366, horizon)

    def _fit(self, train: WindowSet, val: WindowSet, settings: FitSettings) -> None:
        """One table row per day of year: the mean of the training windows issued within ±WINDOW days."""
        if not settings.seasonal:
            raise TrainError("Seasonal climatology needs the seasonal (day-of-year) inputs; turn 'seasonal' on.")
        doy = _day_of_year(train.X)
        overall = train.y.mean(axis=0)
        table = np.empty((366, self.horizon))
        for day in range(366):
            gap = np.abs(doy - day)
            near = np.minimum(gap, 366 - gap) <= self.WINDOW
            table[day] = train.y[near].mean(axis=0) if near.any() else overall
        self.table = table

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The table row of each window's issue day."""
        return self.table[_day_of_year(X)].astype(np.float32)

    def _params(self) -> dict[str, Any]:
        """The day-of-year table."""
        return {"table": np.round(self.table, 6).tolist()}

    @classmethod
    def from_params(cls, data: dict[str, Any]) -> Climatology:
        """Rebuild from the saved JSON."""
        return cls(int(data["horizon"]), np.asarray(data["table"], float))


DESCRIPTION = "The average change for this time of year in the training years."
MEMBER = Member("climatology", "Seasonal climatology", DESCRIPTION, "#b8a06a", Climatology, order=10)
