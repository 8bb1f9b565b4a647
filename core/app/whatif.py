"""What-if release scenarios for a reservoir: the plain forecast plus one storage forecast per planned release.

Glue between the store and core.forecast.scenario, shared by the Forecast page, the CLI (`forecast/hindcast
--what-if`) and bench/whatif.py. Leakage rule for hindcasts: a scenario issued on a past day reads readings up
to that day only, except that the 'recorded' plan reads the releases of the forecast days themselves (and
nothing after the last one). The water balance reads the training split, the release effect the readings up to
the validation end: both are fixed before any test-period day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from core.app.curves import stored_curve
from core.app.pipeline import alert_trigger, forecast_levels, forecast_reservoir, hindcast, load_clean
from core.app.screening import out_of_range_decisions
from core.data.clean import clean_daily
from core.data.variables import canonical_name
from core.forecast import risk
from core.forecast.convert import attach
from core.forecast.effect import DEFAULT_EFFECT, EffectSettings, ReleaseEffect, from_balance, reference_release
from core.forecast.issue import Forecast, ForecastError, version_forecasts
from core.forecast.scenario import (
    Balance,
    ReleasePlan,
    Scenario,
    ScenarioError,
    WhatIf,
    fit_balance,
    fit_release_effect,
    release_effect,
    scenario_forecast,
    told_recorded,
)
from core.registry import LoadedModel
from core.store.workspace import StoreError, Workspace

STORAGE, INFLOW, RELEASE = "storage", "inflow", "outflow"


class ScenarioUnavailable(StoreError):
    """This reservoir or model cannot run release scenarios; the message says why and what would make it possible."""


def unavailable_reason(ws: Workspace, reservoir: str, target: str | None = None) -> str | None:
    """Why scenarios cannot run here (missing release/inflow/storage record, or a model not on storage), else None."""
    info = ws.reservoir(reservoir)
    names = {canonical_name(v.name) for v in info.variables}
    missing = [v for v in (RELEASE, INFLOW, STORAGE) if v not in names]
    if RELEASE in missing:
        return (
            f"{info.name} has no release (outflow) record, so the app cannot learn what a release does to its "
            "storage. Import daily releases (a column named outflow or release) with storage and inflow on the "
            "Data page to plan releases here."
        )
    if missing:
        return (
            f"{info.name} records releases but not {' or '.join(missing)}: the water balance that turns a release "
            f"into storage needs storage, inflow and release recorded together. Import the {' and '.join(missing)} "
            "record on the Data page."
        )
    if target is not None and canonical_name(target) != STORAGE:
        return (
            f"The chosen model forecasts {target}; release scenarios move a storage forecast. Pick or train a "
            "version with storage as its target (Train page) to plan releases."
        )
    return None


def _check(ws: Workspace, reservoir: str, target: str) -> None:
    """Raise ScenarioUnavailable with the reason when scenarios cannot run."""
    reason = unavailable_reason(ws, reservoir, target)
    if reason:
        raise ScenarioUnavailable(reason)


def learned_balance(ws: Workspace, reservoir: str, loaded: LoadedModel) -> Balance:
    """The water balance fitted on the version's training split, cleaned from readings up to its end only."""
    start, end = loaded.record.splits["train"]
    raw = ws.readings(reservoir, [STORAGE, INFLOW, RELEASE]).loc[:end]
    clean = clean_daily(raw, loaded.config.clean, out_of_range_decisions(ws, reservoir)).values
    return fit_balance(clean[STORAGE], clean[INFLOW], clean[RELEASE], start, end)


def learned_effect(
    ws: Workspace, reservoir: str, loaded: LoadedModel, balance: Balance, settings: EffectSettings = DEFAULT_EFFECT
) -> ReleaseEffect:
    """The release effect fitted on the version's validation forecasts, from readings up to its end only."""
    cfg = loaded.config
    if "val" not in loaded.record.splits:
        return from_balance(balance.release_coef, cfg.horizon)
    start, end = (pd.Timestamp(d) for d in loaded.record.splits["val"])
    columns = list(dict.fromkeys([cfg.target, *cfg.features, INFLOW, RELEASE]))
    raw = ws.readings(reservoir, columns).loc[:end]
    clean = clean_daily(raw, cfg.clean, out_of_range_decisions(ws, reservoir)).values
    forecasts = version_forecasts(loaded, clean, start, end)
    return fit_release_effect(forecasts, clean[RELEASE], balance, settings)


def scenarios_on(
    loaded: LoadedModel,
    past: pd.DataFrame,
    plain: Forecast,
    plans: Sequence[ReleasePlan],
    effect: ReleaseEffect,
    recorded: pd.Series | None,
) -> tuple[float, tuple[Scenario, ...]]:
    """Each plan's forecast from `plain` (issued on past's last day), bands from recorded-release hindcasts.

    `past` holds the cleaned readings up to the issue day only; `recorded` the raw releases (only the
    forecast days' are read, for the 'recorded' plan).
    """
    cfg, calib = loaded.config, loaded.calibration
    day = pd.Timestamp(plain.issued)
    if day not in past.index or not np.isfinite(past.at[day, RELEASE]):
        raise ScenarioError(f"The release on the issue day {plain.issued} is not recorded; scenarios start from it.")
    window = calib.adaptive.window_days if calib is not None and calib.adaptive else 0
    since = day - pd.Timedelta(days=window + cfg.horizon)
    history = version_forecasts(loaded, past.loc[:day], since, day)
    scen_calib, change = None, 0.0
    if calib is not None and len(history.issued) and history.issued[-1] == np.datetime64(day.date(), "D"):
        residuals = told_recorded(history, effect, past[RELEASE]).residuals(calib)
        scen_calib, change = calib.at(residuals, day), float(history.change[-1])
    assumed = float(past.at[day, RELEASE])
    release = past[RELEASE].loc[:day].to_numpy(float)
    reference = reference_release(release, np.array([len(release) - 1]), effect.reference_days)
    if not np.isfinite(reference).all():
        raise ScenarioError(
            f"The releases of the {effect.reference_days} days up to {plain.issued} are not all recorded; "
            "scenarios start from them."
        )
    out = []
    for p in plans:
        rates = _recorded_rates(recorded, plain, p.name) if p.recorded else p.daily(cfg.horizon)
        moved = release_effect(effect, rates[None], reference)[0]
        out.append(Scenario(p, tuple(float(r) for r in rates), scenario_forecast(plain, moved, scen_calib, change)))
    return assumed, tuple(out)


def _recorded_rates(recorded: pd.Series | None, plain: Forecast, name: str) -> np.ndarray:
    """The releases recorded on the forecast days, or a ScenarioError naming the missing ones."""
    days = pd.to_datetime([p.date for p in plain.points])
    rates = (recorded if recorded is not None else pd.Series(dtype=float)).reindex(days).to_numpy(float)
    if not np.isfinite(rates).all():
        gaps = [d.date().isoformat() for d, r in zip(days, rates, strict=True) if not np.isfinite(r)]
        raise ScenarioError(
            f"Scenario '{name}': the releases of {', '.join(gaps)} are not recorded. 'recorded' replays the "
            "releases actually made, so it needs a past issue date (--as-of or a hindcast) whose forecast days "
            "all have a recorded release."
        )
    return rates


def _assemble(
    ws: Workspace, name: str, loaded: LoadedModel, plain: Forecast, scenarios: tuple[Scenario, ...], assumed: float,
    balance: Balance, effect: ReleaseEffect, trigger: float,
) -> WhatIf:  # fmt: skip
    """Assess each scenario against the reservoir's levels, attach the curve's elevations, wrap them up."""
    levels = forecast_levels(ws, name, plain.target)
    curve = stored_curve(ws, name)
    assessed = tuple(replace(s, forecast=attach(risk.assess(s.forecast, levels, trigger), curve)) for s in scenarios)
    unit = ws.reservoir(name).variable(RELEASE).unit
    return WhatIf(name, plain.issued, plain.target, plain.unit, unit, balance, assumed, plain, assessed, effect)


def what_if(
    ws: Workspace,
    reservoir: str,
    plans: Sequence[ReleasePlan],
    version: int | None = None,
    as_of: str | None = None,
    loaded: LoadedModel | None = None,
    plain: Forecast | None = None,
) -> WhatIf:
    """The plain forecast and one scenario per plan, issued from the latest (or as-of) readings."""
    name = ws.reservoir(reservoir).name
    _check(ws, name, None)  # the record first: a reservoir without releases may have no model either
    loaded = loaded or ws.load_version(name, version)
    cfg = loaded.config
    _check(ws, name, cfg.target)
    plain = plain or forecast_reservoir(ws, name, as_of=as_of, loaded=loaded)
    columns = list(dict.fromkeys([cfg.target, *cfg.features, INFLOW, RELEASE]))
    values = load_clean(ws, name, columns, cfg.clean).values
    day = pd.Timestamp(plain.issued)
    recorded = ws.readings(name, [RELEASE])[RELEASE]
    balance = learned_balance(ws, name, loaded)
    effect = learned_effect(ws, name, loaded, balance)
    assumed, scenarios = scenarios_on(loaded, values.loc[:day], plain, plans, effect, recorded)
    return _assemble(ws, name, loaded, plain, scenarios, assumed, balance, effect, alert_trigger(ws, name))


def what_if_hindcast(
    ws: Workspace,
    reservoir: str,
    start: str,
    end: str,
    plans: Sequence[ReleasePlan],
    version: int | None = None,
    lookback_days: int = 400,
) -> list[WhatIf]:
    """Scenarios issued on each past day from start to end, each from readings up to its own day only."""
    name = ws.reservoir(reservoir).name
    _check(ws, name, None)
    loaded = ws.load_version(name, version)
    cfg = loaded.config
    _check(ws, name, cfg.target)
    plains = hindcast(ws, name, start, end, loaded=loaded, lookback_days=lookback_days)
    columns = list(dict.fromkeys([cfg.target, *cfg.features, INFLOW, RELEASE]))
    raw = ws.readings(name, columns)
    decisions = out_of_range_decisions(ws, name)
    balance = learned_balance(ws, name, loaded)
    effect = learned_effect(ws, name, loaded, balance)
    trigger = alert_trigger(ws, name)
    calib = loaded.calibration
    if calib is not None and calib.adaptive is not None:
        lookback_days = max(lookback_days, calib.adaptive.window_days + cfg.horizon + cfg.n_steps + 1)
    out = []
    for plain in plains:
        day = pd.Timestamp(plain.issued)
        past = clean_daily(raw.loc[day - pd.Timedelta(days=lookback_days) : day], cfg.clean, decisions).values
        last = pd.Timestamp(plain.points[-1].date)
        recorded = raw[RELEASE].loc[day + pd.Timedelta(days=1) : last]  # the forecast days' releases, no later
        try:
            assumed, scenarios = scenarios_on(loaded, past, plain, plans, effect, recorded)
        except (ScenarioError, ForecastError):
            continue  # a missing release that day: no scenario would have been issued
        out.append(_assemble(ws, name, loaded, plain, scenarios, assumed, balance, effect, trigger))
    return out
