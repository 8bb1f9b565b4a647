"""Release scenarios: the storage forecast *if* the operator releases a planned amount, with calibrated bands.

The model (chosen by measurement, bench/whatif.py and bench/RESULTS.md "What-if"):

    S_scenario(t+h) = S_model(t+h) + c_h * sum_{k<=h} [R_plan(t+k) - R(t)],   c_h <= 0

The reservoir's own forecaster (the active version) already forecasts storage with "today's release carries
on" folded in. The release effect c_h (core.forecast.effect) is learned per lead day by regressing the plain
forecast's error on the recorded cumulative release deviation over the version's VALIDATION split only (out of
sample for the network, before the test period), with a ridge pull toward the water balance's -b whose strength
blocked cross-validation on those same validation forecasts picks. b comes from `fit_balance`: least squares of
the daily storage change on inflow and release over the TRAINING split (it absorbs the unit conversion, e.g.
1 cfs-day = 1.9835 acre-ft); with too few validation forecasts the effect is -b itself. The learned effect holds
what a larger release went with in this reservoir's record, including the inflow operators pass on, which is why
it beats -b: where releases follow the inflow (Minidoka) -b over-corrects.

Measured on the five Snake River test periods (hindcasts told the recorded releases vs the plain forecast,
mean MAE change over the reservoirs): -b (the previous model) -1.5 %; this effect +3.1 %; the other variants
tried (one coefficient per release day, intercept always or when CV helps, ridge toward zero, deviations from
the last 3 days' mean release) +2.4 to +3.1 %; even fitted in-sample on the test split itself a linear release
effect reaches only +5.2 %. The 20 % the issue hoped for is out of reach of any release effect: the week's
error is the inflow nobody tells the model (see bench/RESULTS.md).

Physics holds by construction: every c_h <= 0 (bounded least squares; a positive fit is clipped to 0 and the
words say the record shows no effect at that lead), so a larger release on any day never gives a higher median,
band edge or ensemble member. Bands are the product's adaptive per-lead conformal bands (core.model.uncertainty)
drawn from the residuals of *scenario hindcasts told the recorded releases*, known by the issue day; because every
scenario shares those residual quantiles and only its median moves, scenario bands shift monotonically with the
release and stay nested.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core.display import entered, number
from core.forecast.effect import (
    DEFAULT_EFFECT,
    EffectSettings,
    ReleaseEffect,
    deviations,
    fit_effect,
    reference_release,
)
from core.forecast.issue import Forecast, ForecastPoint
from core.model.history import IssuedForecasts
from core.model.uncertainty import BANDS, Calibration

MIN_BALANCE_DAYS = 30  # fewer complete training days than this cannot pin down the balance


class ScenarioError(ValueError):
    """A release scenario cannot be run as asked; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class Balance:
    """The learned daily water balance dS = a*I - b*R - c (storage units per day; a, b >= 0)."""

    inflow_coef: float  # a
    release_coef: float  # b: storage lost per unit of daily release
    loss: float  # c: storage lost per day whatever the flows (evaporation, seepage, unmetered use)
    explained: float  # share of the daily storage change's variance the balance explains (R², 0..1)
    days: int
    start: str
    end: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the CLI and the bulletin."""
        return asdict(self)

    def words(self, release_unit: str | None = None, storage_unit: str | None = None) -> str:
        """One line for operators: how well the records close the balance and what a release does."""
        quality = "closes well" if self.explained >= 0.9 else "closes poorly" if self.explained < 0.5 else "closes"
        rate = f"1 {release_unit}" if release_unit else "1 unit of release"
        return (
            f"Water balance learned on {self.days} training days ({self.start} to {self.end}) {quality}: it "
            f"explains {self.explained:.0%} of the daily storage change. Releasing {rate} more for one day "
            f"lowers storage by {number(self.release_coef, storage_unit or 'storage units')}."
        )


def fit_balance(storage: pd.Series, inflow: pd.Series, release: pd.Series, start: str, end: str) -> Balance:
    """Least squares of the daily storage change on inflow and release over [start, end], a and b kept >= 0."""
    frame = pd.DataFrame({"dS": storage.diff(), "I": inflow, "R": release}).loc[start:end].dropna()
    if len(frame) < MIN_BALANCE_DAYS:
        raise ScenarioError(
            f"Only {len(frame)} training days have storage, inflow and release all recorded (at least "
            f"{MIN_BALANCE_DAYS} needed to learn the water balance); import a longer record of all three."
        )
    y = frame["dS"].to_numpy(float)
    X = np.column_stack([frame["I"].to_numpy(float), -frame["R"].to_numpy(float), -np.ones(len(frame))])
    coef = _nonnegative_lstsq(X, y)
    resid = y - X @ coef
    var = float(np.var(y))
    explained = max(0.0, 1.0 - float(np.var(resid)) / var) if var > 0 else 0.0
    first, last = frame.index[0].date().isoformat(), frame.index[-1].date().isoformat()
    return Balance(float(coef[0]), float(coef[1]), float(coef[2]), explained, len(frame), first, last)


def _nonnegative_lstsq(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares with the first two coefficients >= 0: the best of the four active sets (exact for 2)."""
    best, best_sse = np.zeros(X.shape[1]), math.inf
    for free in ([0, 1, 2], [1, 2], [0, 2], [2]):
        coef = np.zeros(X.shape[1])
        coef[free] = np.linalg.lstsq(X[:, free], y, rcond=None)[0]
        if (coef[:2] < 0).any():
            continue
        sse = float(np.sum((y - X @ coef) ** 2))
        if sse < best_sse:
            best, best_sse = coef, sse
    return best


@dataclass(frozen=True)
class ReleasePlan:
    """What the operator plans to release: one rate every day, one per day, or the releases recorded (hindcasts)."""

    name: str
    rates: tuple[float, ...] | None = None  # None: the recorded releases

    @property
    def recorded(self) -> bool:
        """True for the 'recorded' plan (the releases actually made, past issue days only)."""
        return self.rates is None

    def daily(self, horizon: int) -> np.ndarray:
        """The planned rate for each forecast day; a single rate holds every day."""
        if self.rates is None:
            raise ScenarioError("The 'recorded' plan has no rates of its own; read them from the record.")
        if len(self.rates) not in (1, horizon):
            raise ScenarioError(
                f"Scenario '{self.name}' gives {len(self.rates)} release values; give 1 (the same every day) "
                f"or {horizon} (one per forecast day)."
            )
        return np.full(horizon, self.rates[0]) if len(self.rates) == 1 else np.asarray(self.rates, float)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: name, kind (constant / per day / recorded) and the rates given."""
        kind = "recorded" if self.rates is None else "constant" if len(self.rates) == 1 else "per day"
        return {"name": self.name, "kind": kind, "rates": None if self.rates is None else list(self.rates)}


def plan(name: str, rates: Sequence[float] | None) -> ReleasePlan:
    """A checked plan: finite, non-negative rates (None = recorded)."""
    if rates is None:
        return ReleasePlan(name, None)
    values = tuple(float(r) for r in rates)
    if not values:
        raise ScenarioError(f"Scenario '{name}' has no release values.")
    if not all(math.isfinite(v) for v in values):
        raise ScenarioError(f"Scenario '{name}': every release must be a number.")
    if any(v < 0 for v in values):
        raise ScenarioError(f"Scenario '{name}': a release cannot be negative (got {entered(min(values))}).")
    return ReleasePlan(name, values)


def release_effect(effect: ReleaseEffect, releases: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Storage change, per forecast and lead day, of releasing `releases` instead of the reference rate."""
    return effect.apply(releases, reference)


def recorded_releases(release: np.ndarray, positions: np.ndarray, horizon: int) -> np.ndarray:
    """R(t+1..t+h) for each issue position t (NaN past the end of `release`), (n, horizon)."""
    padded = np.concatenate([np.asarray(release, float), np.full(horizon, np.nan)])
    return np.stack([padded[np.asarray(positions) + k] for k in range(1, horizon + 1)], axis=1)


def _recorded_deviations(forecasts: IssuedForecasts, release: pd.Series, days: int) -> tuple[np.ndarray, np.ndarray]:
    """The recorded releases of each forecast's days (n, horizon) and its reference rate (n,)."""
    positions = release.index.get_indexer(pd.DatetimeIndex(forecasts.issued))
    values = release.to_numpy(float)
    return recorded_releases(values, positions, forecasts.forecast.shape[1]), reference_release(values, positions, days)


def told_recorded(forecasts: IssuedForecasts, effect: ReleaseEffect, release: pd.Series) -> IssuedForecasts:
    """The forecasts as scenario hindcasts told the recorded releases (NaN where a release is not in `release`)."""
    releases, reference = _recorded_deviations(forecasts, release, effect.reference_days)
    return replace(forecasts, forecast=forecasts.forecast + effect.apply(releases, reference))


def fit_release_effect(
    forecasts: IssuedForecasts, release: pd.Series, balance: Balance, settings: EffectSettings = DEFAULT_EFFECT
) -> ReleaseEffect:
    """Learn the release effect from the plain forecasts' errors over `forecasts` (the validation split).

    Only forecasts whose every day is observed and whose releases are all in `release` count; the caller
    passes readings up to the validation end, so nothing of the test period is read.
    """
    releases, reference = _recorded_deviations(forecasts, release, settings.reference_days)
    resid = forecasts.truth - forecasts.forecast
    dev = deviations(releases, reference)
    return fit_effect(resid, dev, balance.release_coef, settings, forecasts.issued)


def scenario_forecast(
    plain: Forecast, effect: np.ndarray, calibration: Calibration | None, change: float, nonnegative: bool = True
) -> Forecast:
    """The plain forecast moved by a release effect, with bands and ensemble from the scenario calibration."""
    median = np.asarray([p.value for p in plain.points], float) + np.asarray(effect, float)
    bands: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    samples = None
    if calibration is not None:
        bands = {b: (lo[0], hi[0]) for b, (lo, hi) in calibration.bands(median[None], np.array([change])).items()}
        samples = calibration.samples(median[None], np.array([change]))[0]
    if nonnegative:
        median = np.maximum(median, 0.0)
    points = []
    for i, p in enumerate(plain.points):
        extra = {
            f"{side}_{b}": float(bands[b][k][i])
            for b in BANDS
            if b in bands
            for k, side in enumerate(("lower", "upper"))
        }
        points.append(ForecastPoint(date=p.date, value=float(median[i]), lead=p.lead, observed=p.observed, **extra))
    note = "Scenario bands: calibrated on hindcasts told the recorded releases." if bands else None
    return replace(
        plain, points=tuple(points), samples=samples, bands_note=note, exceedance=None, alert=None, alerts=None,
        converted=None, attention=None,
    )  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    """One release plan's outcome: the daily releases used and the storage forecast they give (assessed)."""

    plan: ReleasePlan
    releases: tuple[float, ...]
    forecast: Forecast

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the plan, the releases per day, and the forecast days, exceedance and alerts."""
        fc = self.forecast.to_dict()
        keep = ("forecast", "bands_note", "exceedance", "alert", "alerts", "levels", "converted")
        return {**self.plan.to_dict(), "releases": list(self.releases), **{k: fc[k] for k in keep if k in fc}}


def summary_row(name: str, release: str, forecast: Forecast) -> dict[str, Any]:
    """One line of the scenario table: last-day median and 80 % band, the alert per side, the top exceedance."""
    last = forecast.points[-1]
    alerts = forecast.alerts or {}
    top = max(((lv, max(p)) for lv, p in (forecast.exceedance or {}).items()), key=lambda x: x[1], default=None)
    return {
        "scenario": name,
        "release": release,
        f"day {last.lead} median": last.value,
        "day 80 % band": None if last.lower_80 is None else (last.lower_80, last.upper_80),
        "flood alert": alerts["flood"].words() if "flood" in alerts else "-",
        "drought alert": alerts["drought"].words() if "drought" in alerts else "-",
        "highest daily chance": None if top is None else f"{top[1]:.0%} ({top[0]})",
    }


@dataclass(frozen=True)
class WhatIf:
    """Several release scenarios side by side with the plain forecast they start from (one issue day)."""

    reservoir: str
    issued: str
    target: str
    unit: str | None
    release_unit: str | None
    balance: Balance
    assumed_release: float  # the release on the issue day: what the plain forecast carries on
    plain: Forecast
    scenarios: tuple[Scenario, ...]
    effect: ReleaseEffect | None = None  # what moves each scenario (None: built before the effect was learned)

    def to_dict(self) -> dict[str, Any]:
        """JSON form carried by `forecast/hindcast --what-if --json` and the bulletin."""
        return {
            "reservoir": self.reservoir,
            "issued": self.issued,
            "target": self.target,
            "unit": self.unit,
            "release_unit": self.release_unit,
            "assumed_release": self.assumed_release,
            "balance": self.balance.to_dict(),
            "release_effect": None if self.effect is None else self.effect.to_dict(),
            "scenarios": [s.to_dict() for s in self.scenarios],
            "table": self.table(),
        }

    def words(self) -> str:
        """What the scenarios stand on, for the page caption and the CLI: the balance, then the release effect."""
        text = self.balance.words(self.release_unit, self.unit)
        return text if self.effect is None else f"{text} {self.effect.words(self.release_unit, self.unit)}"

    def table(self) -> list[dict[str, Any]]:
        """The scenario table (plain forecast first): what a bulletin or a screen lists per scenario."""
        unit = f" {self.release_unit}" if self.release_unit else ""
        rows = [summary_row("plain forecast", f"today's {number(self.assumed_release)}{unit} carries on", self.plain)]
        for s in self.scenarios:
            rates = np.asarray(s.releases)
            same = np.ptp(rates) == 0
            words = (
                f"{number(rates[0])}{unit} every day"
                if same
                else f"{number(rates.min())} to {number(rates.max())}{unit}"
            )
            rows.append(summary_row(s.plan.name, ("recorded: " if s.plan.recorded else "") + words, s.forecast))
        return rows
