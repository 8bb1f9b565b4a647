"""Persistence: tomorrow = today, the reference every model must beat."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.model.config import FitSettings
from core.model.zoo.base import Forecaster, Member

if TYPE_CHECKING:
    from core.model.windows import WindowSet


class Persistence(Forecaster):
    """No change: kept in the zoo so it can be the active model when nothing beats it."""

    name = "persistence"

    def _fit(self, train: WindowSet, val: WindowSet, settings: FitSettings) -> None:
        """Nothing to learn."""
        return None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Zeros: the last observed value carried forward."""
        return np.zeros((len(X), self.horizon), np.float32)


DESCRIPTION = "Tomorrow = today: the reference every model must beat."
MEMBER = Member("persistence", "Persistence", DESCRIPTION, "#8c8c8c", Persistence, order=0)
