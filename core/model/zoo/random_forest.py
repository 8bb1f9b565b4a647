"""Random forest on the flattened window (scikit-learn), kept as plain node arrays in JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from core.model.config import FitSettings
from core.model.zoo.base import Forecaster, Member, flat

if TYPE_CHECKING:
    from core.model.windows import WindowSet

_NODE_ARRAYS = {"left": np.int32, "right": np.int32, "feature": np.int32, "threshold": float, "value": float}


class RandomForest(Forecaster):
    """sklearn RandomForestRegressor, read out into arrays and predicted by a vectorised walk.

    sklearn's own persistence is pickle, which the store refuses; so the fitted trees are read out
    into arrays (children, feature, threshold, leaf values), saved as JSON, and predicted by a
    vectorised walk. One code path serves the fresh and the loaded model, so a loaded version
    predicts exactly what was scored.
    """

    name = "random_forest"
    N_TREES = 50
    MIN_LEAF = 10

    def __init__(self, horizon: int, trees: list[dict[str, np.ndarray]] | None = None):
        self.horizon = horizon
        self.trees = trees or []

    def _fit(self, train: WindowSet, val: WindowSet, settings: FitSettings) -> None:
        """Fit the forest, then keep only its node arrays."""
        from sklearn.ensemble import RandomForestRegressor  # lazy: scikit-learn is heavy and only needed here

        forest = RandomForestRegressor(
            n_estimators=self.N_TREES,
            min_samples_leaf=self.MIN_LEAF,
            max_features=0.5,
            n_jobs=-1,
            random_state=settings.seed,
        ).fit(flat(train.X), train.y)
        self.trees = [
            {
                "left": t.tree_.children_left.astype(np.int32),
                "right": t.tree_.children_right.astype(np.int32),
                "feature": t.tree_.feature.astype(np.int32),
                "threshold": t.tree_.threshold.astype(float),
                "value": t.tree_.value[:, :, 0].astype(float),
            }
            for t in forest.estimators_
        ]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Mean of the trees' leaf values."""
        rows_in = flat(X).astype(float)
        rows = np.arange(len(rows_in))
        total = np.zeros((len(rows_in), self.horizon))
        for tree in self.trees:
            node = np.zeros(len(rows_in), dtype=np.int32)
            while True:
                inner = tree["left"][node] >= 0
                if not inner.any():
                    break
                go_left = rows_in[rows, np.maximum(tree["feature"][node], 0)] <= tree["threshold"][node]
                node = np.where(inner, np.where(go_left, tree["left"][node], tree["right"][node]), node)
            total += tree["value"][node]
        return (total / max(len(self.trees), 1)).astype(np.float32)

    def _params(self) -> dict[str, Any]:
        """The node arrays (thresholds unrounded: a rounded split point moves windows)."""
        return {"trees": [{k: t[k].tolist() for k in _NODE_ARRAYS} for t in self.trees]}

    @classmethod
    def from_params(cls, data: dict[str, Any]) -> RandomForest:
        """Rebuild from the saved JSON."""
        trees = [{k: np.asarray(t[k], dtype) for k, dtype in _NODE_ARRAYS.items()} for t in data["trees"]]
        for tree in trees:
            tree["value"] = tree["value"].reshape(len(tree["left"]), -1)
        return cls(int(data["horizon"]), trees)


DESCRIPTION = "50 regression trees on the flattened window (scikit-learn)."
MEMBER = Member("random_forest", "Random forest", DESCRIPTION, "#2e8b57", RandomForest, order=30)
