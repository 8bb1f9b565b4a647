"""A seeded synthetic reservoir, so a fresh workspace, the tests and the README have realistic data to forecast.

The series come from a daily water balance, not from a formula of time:
rain (seasonal Markov chain + gamma depths + multi-day storms + drought / wet years)
-> catchment (soil bucket, quick and slow linear stores) -> inflow
-> reservoir (seasonal demand release with drought restrictions, uncontrolled spillway, lake evaporation)
-> storage -> level through the storage->level curve, read with mm-scale gauge noise.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.levels import OperatingLevel

SAMPLE_NAME = "Sample Reservoir"
COLUMNS: tuple[str, ...] = ("level", "storage", "inflow", "outflow", "rainfall")
UNITS: dict[str, str] = {"level": "m", "storage": "hm³", "inflow": "m³/s", "outflow": "m³/s", "rainfall": "mm"}

# Storage->level curve: level = BED + A * S**B (S in hm³); concave as the valley widens upward.
BED_LEVEL_M = 280.0
FULL_SUPPLY_M = 312.0
CAPACITY_HM3 = 250.0  # storage at full supply level
CURVE_B = 0.4
CURVE_A = (FULL_SUPPLY_M - BED_LEVEL_M) / CAPACITY_HM3**CURVE_B
CREST_M = 316.0
FLOOD_WARNING_M = 313.5
DROUGHT_WATCH_M = 300.0
MIN_OPERATING_M = 292.0

M3S_TO_HM3_PER_DAY = 86400.0 / 1e6  # a flow of 1 m³/s held for a day, in hm³

# Catchment and operation parameters (chosen so the 12-year default spills in wet years and
# crosses the drought watch line in droughts).
_CATCHMENT_KM2 = 650.0
_SOIL_MM = 320.0  # soil moisture capacity
_SOIL_BETA = 2.6  # runoff share grows with wetness: (W/Wmax)**beta
_QUICK_DAYS = 3.0  # recession constant of storm runoff
_SLOW_DAYS = 60.0  # recession constant of baseflow
_PERCOLATION = 0.006  # share of soil water draining to groundwater per day
_DEMAND_M3S = 7.0  # mean demand release
_ENV_FLOW_M3S = 0.8  # environmental flow kept even in deep drought
_DEAD_HM3 = 3.0  # storage below the outlet, never released
_SPILL_COEF = 110.0  # weir: spill [m³/s] = coef * head**1.5, head above full supply [m]
_WET_PEAK_DOY = 213  # wet season centred on early August
_DEMAND_PEAK_DOY = 100  # irrigation demand peaks late in the dry season


@dataclass(frozen=True)
class SampleConfig:
    """Seed and span of the synthetic record; equal configs give identical frames."""

    seed: int = 7
    start: str = "2012-01-01"
    years: int = 12

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, so the workspace can record how its sample was made."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class SampleReservoir:
    """The sample's data plus the metadata a user would otherwise type in (units, operating levels)."""

    name: str
    frame: pd.DataFrame
    units: dict[str, str]
    levels: tuple[OperatingLevel, ...]
    capacity_hm3: float

    def to_csv(self, path: Path) -> None:
        """Write the sample as a clean example input whose headers re-import 1:1 as canonical variables."""
        out = self.frame.loc[:, list(COLUMNS)].round(3)
        out.to_csv(Path(path), index=True, index_label="date", date_format="%Y-%m-%d", float_format="%.3f")


@dataclass(frozen=True)
class _Run:
    """Noise-free simulation internals, kept so tests can check the water balance closes exactly."""

    dates: pd.DatetimeIndex
    rainfall: np.ndarray  # mm/day
    inflow: np.ndarray  # m³/s, day mean
    release: np.ndarray  # m³/s, day mean (through the outlet)
    spill: np.ndarray  # m³/s, day mean (over the spillway)
    evaporation: np.ndarray  # hm³ lost from the lake that day
    storage: np.ndarray  # hm³ at the end of each day
    initial_storage: float  # hm³ at the start of the first day


def storage_to_level(storage_hm3: np.ndarray | float) -> np.ndarray | float:
    """The sample's rating curve, so storage and level stay consistent everywhere they are shown."""
    s = np.maximum(np.asarray(storage_hm3, dtype=float), 0.0)
    level = BED_LEVEL_M + CURVE_A * s**CURVE_B
    return float(level) if level.ndim == 0 else level


def level_to_storage(level_m: np.ndarray | float) -> np.ndarray | float:
    """Inverse of the rating curve, used to turn gauge readings into storage; bed level or below is empty."""
    h = np.maximum(np.asarray(level_m, dtype=float) - BED_LEVEL_M, 0.0)
    storage = (h / CURVE_A) ** (1.0 / CURVE_B)
    return float(storage) if storage.ndim == 0 else storage


def _surface_area_km2(storage_hm3: np.ndarray | float) -> np.ndarray | float:
    """Lake area dS/dh (hm³ per m = km²), which sets how much water evaporates."""
    s = np.maximum(np.asarray(storage_hm3, dtype=float), 0.0)
    area = s ** (1.0 - CURVE_B) / (CURVE_A * CURVE_B)
    return float(area) if area.ndim == 0 else area


def _sample_levels() -> tuple[OperatingLevel, ...]:
    """The operating lines an operator of this dam would enter, lowest first."""
    return (
        OperatingLevel("Minimum operating", MIN_OPERATING_M, "m", "drought", "danger"),
        OperatingLevel("Drought watch", DROUGHT_WATCH_M, "m", "drought", "watch"),
        OperatingLevel("Full supply", FULL_SUPPLY_M, "m", "flood", "watch"),
        OperatingLevel("Flood warning", FLOOD_WARNING_M, "m", "flood", "warning"),
        OperatingLevel("Dam crest", CREST_M, "m", "flood", "danger"),
    )


def make_sample(config: SampleConfig = SampleConfig()) -> SampleReservoir:
    """Build the deterministic sample reservoir for this config (fresh objects each call)."""
    run = _simulate(config)
    rng = np.random.default_rng([config.seed, 1])  # separate stream: gauge noise never shifts the physics
    level = np.round(storage_to_level(run.storage) + rng.normal(0.0, 0.002, run.storage.size), 3)
    storage = np.round(level_to_storage(level), 3)  # operators derive storage from the gauge reading
    frame = pd.DataFrame(
        {
            "level": level,
            "storage": storage,
            "inflow": np.round(run.inflow, 3),
            "outflow": np.round(run.release + run.spill, 3),
            "rainfall": np.round(run.rainfall, 3),
        },
        index=pd.DatetimeIndex(run.dates, name="date", freq=None),
        dtype="float64",
    )
    return SampleReservoir(
        name=SAMPLE_NAME,
        frame=frame,
        units=dict(UNITS),
        levels=_sample_levels(),
        capacity_hm3=CAPACITY_HM3,
    )


def _check_config(config: SampleConfig) -> pd.Timestamp:
    """Reject configs that cannot make a record, with a message that says what to change."""
    if not isinstance(config.seed, numbers.Integral) or isinstance(config.seed, bool) or config.seed < 0:
        raise ValueError(f"Sample seed must be a non-negative integer, not {config.seed!r}.")
    if not isinstance(config.years, numbers.Integral) or isinstance(config.years, bool) or not 1 <= config.years <= 100:
        raise ValueError(f"Sample years must be a whole number from 1 to 100, not {config.years!r}.")
    try:
        start = pd.Timestamp(config.start)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Sample start must be an ISO date such as '2012-01-01', not {config.start!r}.") from exc
    if pd.isna(start) or start.tzinfo is not None:
        raise ValueError(f"Sample start must be a plain ISO date such as '2012-01-01', not {config.start!r}.")
    return start.normalize()


def _simulate(config: SampleConfig) -> _Run:
    """Run forcing, catchment and reservoir for one spin-up year plus the configured span."""
    start = _check_config(config)
    spin_start = start - pd.DateOffset(years=1)
    end = start + pd.DateOffset(years=config.years) - pd.Timedelta(days=1)
    all_dates = pd.date_range(spin_start, end, freq="D")
    rng = np.random.default_rng(config.seed)

    year_factor = _year_factors(rng, config.years)  # index 0 is the spin-up year
    anniversaries = pd.DatetimeIndex([start + pd.DateOffset(years=k) for k in range(config.years)])
    factor = year_factor[np.searchsorted(anniversaries, all_dates, side="right")]
    doy = all_dates.dayofyear.to_numpy()

    rain = _rainfall(rng, doy, factor)
    pet = 4.2 + 1.8 * np.cos(2 * np.pi * (doy - 120) / 365.25)  # mm/day, hottest in late spring
    inflow = _catchment(rain, pet)
    release_target = _demand(rng, doy)
    lake_evap_mm = 0.75 * pet * np.where(rain > 1.0, 0.6, 1.0)
    run = _operate(inflow, release_target, lake_evap_mm)

    keep = all_dates >= start
    first = int(np.argmax(keep))  # > 0: the spin-up year always precedes the record
    return _Run(
        dates=all_dates[keep],
        rainfall=rain[keep],
        inflow=inflow[keep],
        release=run["release"][keep],
        spill=run["spill"][keep],
        evaporation=run["evaporation"][keep],
        storage=run["storage"][keep],
        initial_storage=float(run["storage"][first - 1]),
    )


def _year_factors(rng: np.random.Generator, years: int) -> np.ndarray:
    """Rainfall multiplier per year (index 0 = spin-up): persistent noise, drought spells and wet years."""
    noise = np.empty(years + 1)
    noise[0] = 0.0
    for i in range(1, years + 1):  # AR(1): wet and dry years cluster as in real records
        noise[i] = 0.4 * noise[i - 1] + rng.normal(0.0, 0.12)
    factor = np.exp(noise)
    factor[0] = 1.0
    free = np.ones(years + 1, dtype=bool)
    free[0] = False
    n_spells = max(1, years // 6)
    seg = years / n_spells
    for k in range(n_spells):  # one multi-year drought in each stretch of ~6 years
        lo, hi = round(k * seg) + 1, round((k + 1) * seg)
        length = min(int(rng.integers(2, 4)), hi - lo + 1)
        first = int(rng.integers(lo + (1 if hi - lo + 1 > length else 0), hi - length + 2))
        spell = np.arange(first, first + length)
        factor[spell] *= rng.uniform(0.55, 0.7, size=length)
        free[spell] = False
        free[max(first - 1, 1)] = False  # keep a wet year from directly preceding a drought
    candidates = np.flatnonzero(free)
    n_wet = min(max(1, years // 6), candidates.size)
    if n_wet:
        wet = rng.choice(candidates, size=n_wet, replace=False)
        factor[wet] *= rng.uniform(1.4, 1.6, size=n_wet)
    return factor


def _rainfall(rng: np.random.Generator, doy: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Daily rain depth (mm): Markov-chain wet days, gamma depths, plus multi-day storms in the wet season."""
    n = doy.size
    season = (0.5 * (1.0 + np.cos(2 * np.pi * (doy - _WET_PEAK_DOY) / 365.25))) ** 1.5
    scale = np.sqrt(factor)
    p_dry_wet = np.clip((0.04 + 0.36 * season) * scale, 0.0, 0.9)
    p_wet_wet = np.clip((0.30 + 0.42 * season) * scale, 0.0, 0.95)
    mean_depth = (3.0 + 11.0 * season) * scale
    u = rng.random(n)
    wet = np.zeros(n, dtype=bool)
    state = False
    for t in range(n):  # the chain needs yesterday's state
        state = bool(u[t] < (p_wet_wet[t] if state else p_dry_wet[t]))
        wet[t] = state
    shape = 0.75
    depth = rng.gamma(shape, mean_depth / shape)
    rain = np.where(wet, depth, 0.0)

    # Storms: Poisson starts weighted to the wet season, heavier in wet years, 2-5 days long.
    storm_rate = 2.2 / 365.25 * season / season.mean() * factor
    starts = np.flatnonzero(rng.random(n) < storm_rate)
    for s in starts:
        length = int(rng.integers(2, 6))
        total = rng.gamma(2.5, 30.0) * math.sqrt(float(factor[s]))
        weights = rng.dirichlet(np.full(length, 2.0))
        stop = min(s + length, n)
        rain[s:stop] += total * weights[: stop - s]
    return np.round(rain, 1)  # gauges report 0.1 mm


def _catchment(rain: np.ndarray, pet: np.ndarray) -> np.ndarray:
    """Inflow (m³/s) from an HBV-like bucket: wet soils shed more rain, stores recede over days to months."""
    soil, quick, slow = 0.5 * _SOIL_MM, 0.0, 30.0
    k_quick, k_slow = 1.0 / _QUICK_DAYS, 1.0 / _SLOW_DAYS
    to_m3s = _CATCHMENT_KM2 * 1e3 / 86400.0  # 1 mm/day over the catchment, in m³/s
    out = np.empty(rain.size)
    for t in range(rain.size):
        r = float(rain[t])
        wetness = soil / _SOIL_MM
        runoff = r * wetness**_SOIL_BETA
        soil += r - runoff
        soil -= min(soil, float(pet[t]) * min(1.0, wetness / 0.7))
        perc = _PERCOLATION * soil
        soil -= perc
        if soil > _SOIL_MM:  # saturated: the excess runs off straight away
            runoff += soil - _SOIL_MM
            soil = _SOIL_MM
        quick += 0.75 * runoff
        slow += 0.25 * runoff + perc
        q = k_quick * quick + k_slow * slow
        quick -= k_quick * quick
        slow -= k_slow * slow
        out[t] = q * to_m3s
    return out


def _demand(rng: np.random.Generator, doy: np.ndarray) -> np.ndarray:
    """Requested release (m³/s): seasonal irrigation demand, reset weekly by the operator."""
    seasonal = _DEMAND_M3S * (1.0 + 0.35 * np.cos(2 * np.pi * (doy - _DEMAND_PEAK_DOY) / 365.25))
    weeks = np.arange(doy.size) // 7
    weekly = np.exp(rng.normal(0.0, 0.1, weeks.max() + 1))[weeks]
    return seasonal * weekly


def _spill_m3s(storage: float) -> float:
    """Uncontrolled weir discharge: zero at full supply, growing with head**1.5 above it."""
    if storage <= CAPACITY_HM3:
        return 0.0
    head = CURVE_A * storage**CURVE_B + BED_LEVEL_M - FULL_SUPPLY_M
    return _SPILL_COEF * head**1.5


def _operate(inflow: np.ndarray, target: np.ndarray, evap_mm: np.ndarray) -> dict[str, Any]:
    """Daily water balance: restricted release in drought, spill above full supply, evaporation, bounded storage."""
    watch_hm3 = float(level_to_storage(DROUGHT_WATCH_M))
    min_hm3 = float(level_to_storage(MIN_OPERATING_M))
    crest_hm3 = float(level_to_storage(CREST_M))
    n = inflow.size
    release = np.empty(n)
    spill = np.empty(n)
    evap = np.empty(n)
    storage = np.empty(n)
    s = 0.8 * CAPACITY_HM3
    hours = 24
    for t in range(n):
        q_in = float(inflow[t])
        want = float(target[t])
        if s < min_hm3:  # drought rule curve: cut to environmental flow, then to 60 % of demand
            want = _ENV_FLOW_M3S
        elif s < watch_hm3:
            want = max(0.6 * want, _ENV_FLOW_M3S)
        e = min(float(evap_mm[t]) * 1e-3 * float(_surface_area_km2(s)), s)
        available = s + q_in * M3S_TO_HM3_PER_DAY - e - _DEAD_HM3
        r = min(want, max(available, 0.0) / M3S_TO_HM3_PER_DAY)
        s_end = s + (q_in - r) * M3S_TO_HM3_PER_DAY - e
        spilled = 0.0
        if s_end > CAPACITY_HM3 or s > CAPACITY_HM3:  # route the day hourly through the weir
            dt = M3S_TO_HM3_PER_DAY / hours
            net = (q_in - r) * dt - e / hours
            s_end = s
            for _ in range(hours):
                q_sp = min(_spill_m3s(s_end), max(s_end + net - CAPACITY_HM3, 0.0) / dt)
                s_end += net - q_sp * dt
                spilled += q_sp / hours
        if s_end > crest_hm3:  # never overtop: anything above the crest leaves as extra spill
            spilled += (s_end - crest_hm3) / M3S_TO_HM3_PER_DAY
            s_end = crest_hm3
        s_end = max(s_end, 0.0)
        release[t], spill[t], evap[t], storage[t] = r, spilled, e, s_end
        s = s_end
    return {"release": release, "spill": spill, "evaporation": evap, "storage": storage}
