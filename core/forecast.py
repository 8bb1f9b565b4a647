"""Issue a dated forecast from a loaded model and the latest (or as-of) clean readings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.registry import LoadedModel
from core.train import predict
from core.windows import latest_window


class ForecastError(ValueError):
    """A forecast cannot be issued for this date; the message says what is missing."""


@dataclass(frozen=True)
class ForecastPoint:
    """One forecast day; `observed` is filled in for hindcasts when the truth is known."""

    date: str
    value: float
    lead: int
    observed: float | None = None


@dataclass(frozen=True)
class Forecast:
    """A forecast as issued: which model, from which day, for which days."""

    reservoir: str
    version: int
    model: str
    target: str
    unit: str | None
    issued: str
    last_observed: dict[str, Any]
    points: tuple[ForecastPoint, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by the CLI (`forecast` list of {date, value, ...})."""
        out = asdict(self)
        out["forecast"] = out.pop("points")
        return out

    def frame(self) -> pd.DataFrame:
        """Forecast days as a table (date index), for charts and CSV export."""
        df = pd.DataFrame([asdict(p) for p in self.points])
        df["date"] = pd.to_datetime(df["date"])
        return df.set_index("date")


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
    complete = np.isfinite(inputs).all(axis=1)
    if as_of is None:
        if not complete.any():
            raise ForecastError("No day has all the inputs the model needs.")
        day = values.index[np.flatnonzero(complete)[-1]]
    else:
        try:
            day = pd.Timestamp(as_of).normalize()
        except (ValueError, TypeError) as exc:
            raise ForecastError(f"'{as_of}' is not a date; use YYYY-MM-DD.") from exc
        if day < values.index.min() or day > values.index.max():
            raise ForecastError(
                f"As-of date {day.date()} is outside the stored readings "
                f"({values.index.min().date()} to {values.index.max().date()})."
            )
    try:
        window = latest_window(inputs, values.index, cfg.n_steps, day)
    except ValueError as exc:
        raise ForecastError(str(exc)) from exc
    last = float(values.at[day, cfg.target])
    change = predict(loaded.model, window)[0].astype(float) * scaling.delta_scale
    dates = pd.date_range(day + pd.Timedelta(days=1), periods=cfg.horizon, freq="D")
    truth = values[cfg.target].reindex(dates)
    points = tuple(
        ForecastPoint(
            date=d.date().isoformat(),
            value=float(last + c),
            lead=i + 1,
            observed=None if pd.isna(t) else float(t),
        )
        for i, (d, c, t) in enumerate(zip(dates, change, truth, strict=True))
    )
    return Forecast(
        reservoir=loaded.reservoir,
        version=loaded.version,
        model=cfg.model.name,
        target=cfg.target,
        unit=unit,
        issued=day.date().isoformat(),
        last_observed={"date": day.date().isoformat(), "value": last},
        points=points,
    )
