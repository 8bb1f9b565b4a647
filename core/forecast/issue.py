"""Issue a dated forecast, with calibrated bands, from a loaded model and the latest (or as-of) clean readings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.data.variables import canonical_name, is_nonnegative
from core.model.history import IssuedForecasts, issued_forecasts
from core.model.uncertainty import BANDS, Calibration, recent_change
from core.model.windows import latest_window
from core.registry import LoadedModel


class ForecastError(ValueError):
    """A forecast cannot be issued for this date; the message says what is missing."""


@dataclass(frozen=True)
class ForecastPoint:
    """One forecast day with its bands; `observed` is filled in for hindcasts when the truth is known."""

    date: str
    value: float
    lead: int
    observed: float | None = None
    lower_50: float | None = None
    upper_50: float | None = None
    lower_80: float | None = None
    upper_80: float | None = None
    lower_95: float | None = None
    upper_95: float | None = None


@dataclass(frozen=True)
class Converted:
    """A forecast's days in the other variable of the reservoir's curve (storage given as level, or back)."""

    variable: str
    unit: str | None
    via: str  # where the conversion comes from, e.g. "storage-elevation curve (dam_curve.csv)"
    last_observed: float | None
    points: tuple[ForecastPoint, ...]
    notes: tuple[str, ...] = ()  # per day: why its value or a band end is unknown (beyond the curve), "" when fine

    def note(self, index: int) -> str:
        """The day's conversion note ('' when the day and its bands lie within the curve)."""
        return self.notes[index] if index < len(self.notes) else ""

    def day_fields(self, point: ForecastPoint, note: str = "") -> dict[str, float | str | None]:
        """One day's converted value and bands under the variable's name ('level', 'level_lower_80', ...), with
        'level_note' when part of the day lies beyond the curve."""
        out: dict[str, float | str | None] = {self.variable: point.value}
        for key in ("lower_50", "upper_50", "lower_80", "upper_80", "lower_95", "upper_95", "observed"):
            if getattr(point, key) is not None:
                out[f"{self.variable}_{key}"] = getattr(point, key)
        if note:
            out[f"{self.variable}_note"] = note
        return out


@dataclass(frozen=True)
class Forecast:
    """A forecast as issued: which model, from which day, for which days, how uncertain, how risky."""

    reservoir: str
    version: int
    model: str
    target: str
    unit: str | None
    issued: str
    last_observed: dict[str, Any]
    points: tuple[ForecastPoint, ...]
    bands_note: str | None = None
    exceedance: dict[str, list[float]] | None = None
    alert: dict[str, Any] | None = None
    levels: tuple[dict[str, Any], ...] = ()
    attention: dict[str, list] | None = None  # {"dates": input days, "weights": summing to 1} for attention nets
    converted: Converted | None = None  # the days in the curve's other variable, when the reservoir has a curve
    alerts: dict[str, Any] | None = None  # side -> core.forecast.risk.SideAlert ("flood", "drought"); JSON: dicts
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by the CLI: `forecast` is a list of day objects with value and bands.

        With a curve, each day also carries the converted variable by name ("level": 201.43, "level_lower_80",
        ...) and `converted` says which variable, unit and curve.
        """
        out = asdict(replace(self, samples=None, converted=None))
        out.pop("samples")
        out["forecast"] = out.pop("points")
        if self.converted is not None:
            c = self.converted
            for i, (day, point) in enumerate(zip(out["forecast"], c.points, strict=True)):
                day.update(c.day_fields(point, c.note(i)))
            out["converted"] = {
                "variable": c.variable,
                "unit": c.unit,
                "via": c.via,
                "last_observed": c.last_observed,
                "outside_curve": sum(1 for n in c.notes if n),  # days with a value or band end beyond the curve
            }
        return out

    def frame(self) -> pd.DataFrame:
        """Forecast days as a table (date index), for charts and CSV export."""
        df = pd.DataFrame([asdict(p) for p in self.points])
        df["date"] = pd.to_datetime(df["date"])
        return df.set_index("date")

    def band(self, band: int) -> tuple[list[float], list[float]] | None:
        """Lower and upper bounds of one band per day, or None when the version has no calibration."""
        if self.points[0].lower_50 is None:
            return None
        return (
            [getattr(p, f"lower_{band}") for p in self.points],
            [getattr(p, f"upper_{band}") for p in self.points],
        )


def issue(
    loaded: LoadedModel, values: pd.DataFrame, as_of: str | pd.Timestamp | None = None, unit: str | None = None
) -> Forecast:
    """Forecast from the n_steps days ending on as_of (default: the last day with all inputs)."""
    scaling, cfg = loaded.scaling, loaded.config
    needed = [cfg.target, *cfg.features]
    missing = [c for c in needed if c not in values.columns]
    if missing:
        raise ForecastError(f"The model needs {', '.join(missing)}, which this reservoir no longer has.")
    values = values[needed]
    inputs = scaling.inputs(values)
    day = _issue_day(values, inputs, as_of)
    try:
        window = latest_window(inputs, values.index, cfg.n_steps, day)
    except ValueError as exc:
        raise ForecastError(str(exc)) from exc
    last = float(values.at[day, cfg.target])
    value = last + loaded.model.predict(window)[0].astype(float) * scaling.delta_scale
    weights = loaded.model.attention(window)
    attention = None
    if weights is not None:
        days = pd.date_range(end=day, periods=cfg.n_steps, freq="D")
        attention = {"dates": [d.date().isoformat() for d in days], "weights": [float(w) for w in weights[0]]}
    dates = pd.date_range(day + pd.Timedelta(days=1), periods=cfg.horizon, freq="D")
    truth = values[cfg.target].reindex(dates)
    calibration = calibration_on(loaded, values, day)
    bands: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    samples = None
    note = None
    if calibration is not None:
        change = recent_change(window, scaling.delta_scale, scaling.change_column)
        bands = {b: (lo[0], hi[0]) for b, (lo, hi) in calibration.bands(value[None], change).items()}
        samples = calibration.samples(value[None], change)[0]
        if calibration.nonnegative and any((lo <= 0).any() for lo, _ in bands.values()):
            note = f"Lower bands are cut at 0: {cfg.target} cannot be negative."
    if is_nonnegative(canonical_name(cfg.target)):
        value = np.maximum(value, 0.0)
    points = []
    for i, (d, v, t) in enumerate(zip(dates, value, truth, strict=True)):
        extra = {
            f"{side}_{b}": float(arr[i])
            for b in BANDS
            if b in bands
            for side, arr in zip(("lower", "upper"), bands[b], strict=True)
        }
        points.append(
            ForecastPoint(
                date=d.date().isoformat(),
                value=float(v),
                lead=i + 1,
                observed=None if pd.isna(t) else float(t),
                **extra,
            )
        )
    return Forecast(
        reservoir=loaded.reservoir,
        version=loaded.version,
        model=cfg.model.name,
        target=cfg.target,
        unit=unit,
        issued=day.date().isoformat(),
        last_observed={"date": day.date().isoformat(), "value": last},
        points=tuple(points),
        bands_note=note,
        attention=attention,
        samples=samples,
    )


def calibration_on(loaded: LoadedModel, values: pd.DataFrame, day: pd.Timestamp) -> Calibration | None:
    """The version's calibration as it stood on `day`: adapted to the errors of forecasts whose truth was known then.

    The residual history covers at most window_days + horizon issue days back; rows after `day` in
    `values` are cut off before it, so no later truth is read.
    """
    calib = loaded.calibration
    if calib is None or calib.adaptive is None:
        return calib
    since = day - pd.Timedelta(days=calib.adaptive.window_days + loaded.config.horizon)
    forecasts = version_forecasts(loaded, values.loc[:day], since, day - pd.Timedelta(days=1))
    return calib.at(forecasts.residuals(calib), day)


def version_forecasts(
    loaded: LoadedModel, values: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> IssuedForecasts:
    """The version's forecasts issued from start (never before its validation period) to end, with known truths."""
    cfg = loaded.config
    if "val" in loaded.record.splits:  # earlier forecasts are of days the model trained on
        start = max(start, pd.Timestamp(loaded.record.splits["val"][0]))
    return issued_forecasts(loaded.model, loaded.scaling, values, cfg.target, cfg.n_steps, cfg.horizon, start, end)


def _issue_day(values: pd.DataFrame, inputs: np.ndarray, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
    """The forecast issue date: as_of checked against the data, or the last day with all inputs."""
    if as_of is None:
        complete = np.isfinite(inputs).all(axis=1)
        if not complete.any():
            raise ForecastError("No day has all the inputs the model needs.")
        return values.index[np.flatnonzero(complete)[-1]]
    try:
        day = pd.Timestamp(as_of).normalize()
    except (ValueError, TypeError) as exc:
        raise ForecastError(f"'{as_of}' is not a date; use YYYY-MM-DD.") from exc
    if day < values.index.min() or day > values.index.max():
        raise ForecastError(
            f"As-of date {day.date()} is outside the stored readings "
            f"({values.index.min().date()} to {values.index.max().date()})."
        )
    return day
