"""The release effect: what a release different from today's did to the plain forecast, learned per lead day.

A scenario moves the active version's storage forecast by `ReleaseEffect.apply`:

    S_scenario(t+h) = S_model(t+h) + a_h + sum_{k<=h} c_{h,k} * [R_plan(t+k) - R_ref(t)],   c_{h,k} <= 0

The coefficients come from regressing the plain forecast's error e_h = S_true(t+h) - S_model(t+h) on the
recorded release deviations over the version's VALIDATION split (the network never trained on it; it ends
before the test period), so they hold what a larger release went with in this reservoir's record, including
the inflow that came with it where operators pass inflow on. Every c is kept <= 0 (bounded least squares):
storage never rises with a release, so a larger planned release never raises a median or band edge. The
water balance (-b on every day, no intercept: `from_balance`) is the fallback when the validation split is
too short to learn from, and the prior the 'toward balance' ridge shrinks to. Which ridge strength and whether
an intercept helps are chosen by blocked cross-validation over the validation forecasts, never by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.display import number

MIN_EFFECT_WINDOWS = 60  # fewer complete validation forecasts than this: the water balance is used instead
FOLDS = 5  # contiguous blocks of validation issue days for the cross-validated choices
RIDGE_GRID = (0.0, 0.01, 0.1, 1.0, 10.0)  # penalty per window on standardised coefficients
INTERCEPTS = ("never", "always", "if it helps")
RIDGES = ("none", "toward zero", "toward balance")


@dataclass(frozen=True)
class EffectSettings:
    """How the release effect is learned: lag structure, intercept, ridge and the release deviations' reference."""

    lagged: bool = False  # each forecast day's release its own coefficient (else one on their sum)
    intercept: str = "never"  # per-lead bias correction of the plain model: never / always / if it helps (CV)
    ridge: str = "toward balance"  # none / toward zero / toward balance (-b per day), strength by CV
    reference_days: int = 1  # deviations from the mean release of the last N days up to the issue day

    def __post_init__(self) -> None:
        """Refuse settings the fit does not know."""
        if self.intercept not in INTERCEPTS or self.ridge not in RIDGES or self.reference_days < 1:
            raise ValueError(f"Unknown release-effect settings {self}; see core.forecast.effect.")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EffectSettings:
        """Back from to_dict."""
        return cls(**data)


DEFAULT_EFFECT = EffectSettings()  # sum per lead, ridge toward -b: chosen by bench/whatif.py (bench/RESULTS.md)


@dataclass(frozen=True)
class ReleaseEffect:
    """The storage change per lead day of releasing other than the reference rate (learned or from the balance)."""

    coefs: tuple[tuple[float, ...], ...]  # lead h: the coefficient (<= 0) of each forecast day k <= h's deviation
    intercept: tuple[float, ...]  # per lead (0.0 when not used)
    reference_days: int
    source: str  # "validation" (fitted) or "balance" (the water balance's -b)
    windows: int  # validation forecasts fitted on (0 for the balance)
    start: str | None
    end: str | None
    balance_coef: float  # b, for comparison in the words
    ridge: float = 0.0  # the chosen penalty
    prior: str = "none"

    @property
    def horizon(self) -> int:
        """Forecast days covered."""
        return len(self.coefs)

    def matrix(self) -> np.ndarray:
        """(horizon, horizon) lower-triangular coefficients: row = lead day, column = release day."""
        out = np.zeros((self.horizon, self.horizon))
        for h, row in enumerate(self.coefs):
            out[h, : len(row)] = row
        return out

    def apply(self, releases: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Storage change (n, horizon) of releasing `releases` (n, horizon) instead of `reference` (n,)."""
        releases = np.atleast_2d(np.asarray(releases, float))
        reference = np.atleast_1d(np.asarray(reference, float))
        return (releases - reference[:, None]) @ self.matrix().T + np.asarray(self.intercept)[None]

    def per_unit(self) -> np.ndarray:
        """Storage change per lead day of releasing one unit more on every forecast day (<= 0)."""
        return self.matrix().sum(axis=1)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the CLI and the bulletin."""
        return {**asdict(self), "per_unit": self.per_unit().tolist()}

    def words(self, release_unit: str | None = None, storage_unit: str | None = None) -> str:
        """One line for operators: where the release effect comes from and how large it is at the last day."""
        rate = f"1 {release_unit}" if release_unit else "1 unit of release"
        su = storage_unit or "storage units"
        last, physics = abs(float(self.per_unit()[-1])), self.balance_coef * self.horizon  # abs: no '-0'
        if self.source == "balance":
            return (
                f"Release effect from the water balance (too few validation forecasts to learn it): releasing {rate} "
                f"more every day lowers day {self.horizon} storage by {number(last, su)}."
            )
        none = [str(h + 1) for h, v in enumerate(self.per_unit()) if v == 0]
        text = (
            f"Release effect learned from {self.windows} validation forecasts ({self.start} to {self.end}): "
            f"releasing {rate} more every day lowers day {self.horizon} storage by {number(last, su)} (the water "
            f"balance alone: {number(physics)}); it includes the inflow that came with larger releases in the record."
        )
        if none:
            text += f" The record shows no release effect at day {', '.join(none)}."
        return text


def from_balance(release_coef: float, horizon: int) -> ReleaseEffect:
    """The water balance as a release effect: -b on every forecast day up to each lead, no intercept."""
    coefs = tuple(tuple(-release_coef for _ in range(h + 1)) for h in range(horizon))
    return ReleaseEffect(coefs, (0.0,) * horizon, 1, "balance", 0, None, None, release_coef)


def deviations(releases: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """R(t+k) - R_ref(t) for each forecast (n, horizon)."""
    return np.asarray(releases, float) - np.asarray(reference, float)[:, None]


def reference_release(release: np.ndarray, positions: np.ndarray, days: int) -> np.ndarray:
    """Mean recorded release over the `days` days ending on each issue position (NaN if any is missing)."""
    release = np.asarray(release, float)
    positions = np.asarray(positions)
    cols = [np.where(positions - j >= 0, release[np.maximum(positions - j, 0)], np.nan) for j in range(days)]
    return np.mean(np.stack(cols, axis=1), axis=1)


@dataclass(frozen=True)
class _Design:
    """One lead day's regression: design (n, p), target (n,), scales and the prior in scaled units."""

    X: np.ndarray
    y: np.ndarray
    x_scale: np.ndarray
    y_scale: float
    prior: np.ndarray


def _design(resid: np.ndarray, dev: np.ndarray, lead: int, lagged: bool, prior_coef: float) -> _Design:
    """The lead's design: each day's deviation (lagged) or their sum, standardised; the prior -b per day."""
    X = dev[:, : lead + 1] if lagged else dev[:, : lead + 1].sum(axis=1, keepdims=True)
    prior = np.full(X.shape[1], -prior_coef)  # -b per day; on the sum too (each day contributes -b)
    x_scale = np.sqrt(np.mean(X**2, axis=0))
    x_scale[x_scale == 0] = 1.0
    y = resid[:, lead]
    y_scale = float(np.std(y)) or 1.0
    return _Design(X / x_scale, y / y_scale, x_scale, y_scale, prior * x_scale / y_scale)


def _solve(d: _Design, rows: np.ndarray, ridge: float, intercept: bool) -> tuple[np.ndarray, float]:
    """Bounded least squares on `rows`: coefficients <= 0 (scaled), a free intercept if asked, ridge to the prior."""
    from scipy.optimize import lsq_linear  # scipy: heavy import, only when a fit runs

    X, y, p = d.X[rows], d.y[rows], d.X.shape[1]
    n = len(y)
    A = np.column_stack([X, np.ones(n)]) if intercept else X
    b = y
    if ridge > 0:
        pen = np.sqrt(ridge * n) * np.eye(p)
        A = np.vstack([A, np.column_stack([pen, np.zeros(p)]) if intercept else pen])
        b = np.concatenate([y, np.sqrt(ridge * n) * d.prior])
    lower = np.full(A.shape[1], -np.inf)
    upper = np.zeros(A.shape[1])
    if intercept:
        upper[-1] = np.inf
    sol = lsq_linear(A, b, bounds=(lower, upper), method="bvls").x
    coef = np.minimum(sol[:p], 0.0)
    return coef, float(sol[p]) if intercept else 0.0


def _cv_error(designs: list[_Design], ridge: float, intercept: bool, n: int) -> float:
    """Sum of squared held-out errors (scaled) over contiguous folds and every lead day."""
    folds = np.array_split(np.arange(n), FOLDS)
    total = 0.0
    for held in folds:
        train = np.setdiff1d(np.arange(n), held)
        for d in designs:
            coef, a = _solve(d, train, ridge, intercept)
            total += float(np.sum((d.y[held] - d.X[held] @ coef - a) ** 2))
    return total


def _choose(designs: list[_Design], settings: EffectSettings, n: int) -> tuple[float, bool]:
    """The ridge strength and intercept choice with the lowest cross-validated error (fixed ones kept)."""
    ridges = (0.0,) if settings.ridge == "none" else RIDGE_GRID
    intercepts = {"never": (False,), "always": (True,), "if it helps": (False, True)}[settings.intercept]
    if len(ridges) * len(intercepts) == 1:
        return ridges[0], intercepts[0]
    scores = {(r, i): _cv_error(designs, r, i, n) for r in ridges for i in intercepts}
    return min(scores, key=lambda k: (scores[k], k[0], k[1]))


def fit_effect(
    resid: np.ndarray,
    dev: np.ndarray,
    release_coef: float,
    settings: EffectSettings = DEFAULT_EFFECT,
    days: np.ndarray | None = None,
) -> ReleaseEffect:
    """Learn the effect from plain-forecast errors (n, horizon) and release deviations (n, horizon) issued on `days`.

    Rows with any missing value are dropped; with fewer than MIN_EFFECT_WINDOWS left, the water balance's
    effect is returned (source 'balance').
    """
    resid, dev = np.asarray(resid, float), np.asarray(dev, float)
    horizon = resid.shape[1]
    ok = np.isfinite(resid).all(axis=1) & np.isfinite(dev).all(axis=1)
    if ok.sum() < MIN_EFFECT_WINDOWS:
        return from_balance(release_coef, horizon)
    resid, dev = resid[ok], dev[ok]
    n = len(resid)
    prior_coef = release_coef if settings.ridge == "toward balance" else 0.0
    designs = [_design(resid, dev, h, settings.lagged, prior_coef) for h in range(horizon)]
    ridge, intercept = _choose(designs, settings, n)
    coefs, intercepts = [], []
    for h, d in enumerate(designs):
        coef, a = _solve(d, np.arange(n), ridge, intercept)
        real = coef * d.y_scale / d.x_scale
        coefs.append(tuple(float(c) for c in real) if settings.lagged else (float(real[0]),) * (h + 1))
        intercepts.append(a * d.y_scale)
    used = np.asarray(days)[ok] if days is not None else None
    start, end = (str(used[0]), str(used[-1])) if used is not None else (None, None)
    return ReleaseEffect(
        tuple(coefs), tuple(intercepts), settings.reference_days, "validation", n, start, end, release_coef, ridge,
        settings.ridge,
    )  # fmt: skip
