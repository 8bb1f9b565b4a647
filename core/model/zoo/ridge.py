"""Ridge regression on the flattened 14-day window (scikit-learn), saved as JSON arrays."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from core.model.config import FitSettings
from core.model.zoo.base import Forecaster, Member, flat, mae

if TYPE_CHECKING:
    from core.model.windows import WindowSet


class Ridge(Forecaster):
    """sklearn Ridge on the flattened window; the penalty is picked on validation windows."""

    name = "ridge"
    ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)

    def __init__(self, horizon: int, coef: np.ndarray | None = None, intercept: np.ndarray | None = None):
        self.horizon = horizon
        self.coef = coef  # (horizon, n_inputs)
        self.intercept = intercept
        self.alpha: float | None = None

    def _fit(self, train: WindowSet, val: WindowSet, settings: FitSettings) -> None:
        """Try each penalty, keep the one with the lowest validation MAE."""
        # scikit-learn/scipy load lazily: the CLI's --help and the pages import the zoo without them.
        from scipy.linalg import LinAlgWarning
        from sklearn.linear_model import Ridge as SkRidge

        best = None
        X, Xv = flat(train.X).astype(float), flat(val.X).astype(float)
        for alpha in self.ALPHAS:
            with (
                warnings.catch_warnings()
            ):  # the 14 near-identical sin/cos columns are collinear: what the penalty is for
                warnings.simplefilter("ignore", LinAlgWarning)
                model = SkRidge(alpha=alpha).fit(X, train.y)
            err = mae(val.y, model.predict(Xv))
            if best is None or err < best[0]:
                best = (err, alpha, model)
        _, self.alpha, model = best
        self.coef, self.intercept = np.asarray(model.coef_, float), np.asarray(model.intercept_, float)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The linear map; the same arithmetic as sklearn's predict, on the saved arrays."""
        return (flat(X).astype(float) @ self.coef.T + self.intercept).astype(np.float32)

    def _params(self) -> dict[str, Any]:
        """Penalty, coefficients and intercepts."""
        return {"alpha": self.alpha, "coef": self.coef.tolist(), "intercept": self.intercept.tolist()}

    @classmethod
    def from_params(cls, data: dict[str, Any]) -> Ridge:
        """Rebuild from the saved JSON."""
        out = cls(int(data["horizon"]), np.asarray(data["coef"], float), np.asarray(data["intercept"], float))
        out.alpha = data.get("alpha")
        return out


DESCRIPTION = "A regularised linear model on the flattened 14-day window."
MEMBER = Member("ridge", "Ridge regression", DESCRIPTION, "#7b5ea7", Ridge, order=20)
