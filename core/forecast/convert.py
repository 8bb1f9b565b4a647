"""A forecast in the other variable of the reservoir's curve: storage forecasts also as elevation, and back.

Median and bands are quantiles, and a curve is a monotone transform, so each quantile (and each sample) is
converted on its own. Operating levels set on either variable are converted the same way for the risk rule.
The curve is never extrapolated: a day (or a band end) beyond the table converts to NaN and carries a note that
says which edge it passed ("above the curve's top, 250 hm³ of storage: level unknown"), for the table, the chart's
hover and --json.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from core.data.curves import Curve
from core.data.levels import OperatingLevel
from core.data.variables import canonical_name
from core.display import entered
from core.forecast.issue import Converted, Forecast, ForecastPoint

_POINT_FIELDS = ("value", "observed", "lower_50", "upper_50", "lower_80", "upper_80", "lower_95", "upper_95")
_BANDS = (50, 80, 95)


def _one(curve: Curve, value: float | None, variable: str) -> float | None:
    """One value through the curve; None when missing or outside the table."""
    if value is None:
        return None
    out = float(curve.convert([value], variable)[0])
    return out if np.isfinite(out) else None


def _through(curve: Curve, value: float | None, variable: str) -> float | None:
    """One value through the curve: None when there is none, NaN beyond the table (the curve is not extrapolated)."""
    return None if value is None else float(curve.convert([value], variable)[0])


def beyond(curve: Curve, value: float | None, variable: str) -> str:
    """Which edge of the curve a value passed ("above the curve's top, 250 hm³ of storage"); '' within it."""
    if value is None or not np.isfinite(value):
        return ""
    key = canonical_name(variable)
    low, high = curve.span(key)
    unit = curve.unit_of(key)
    if value > high:
        return f"above the curve's top, {entered(high, unit)} of {key}"
    if value < low:
        return f"below the curve's bottom, {entered(low, unit)} of {key}"
    return ""


def day_note(curve: Curve, point: ForecastPoint, variable: str) -> str:
    """Why a converted day (or one of its band ends) is unknown, in words; '' when the whole day is on the curve."""
    other = curve.other(variable)
    where = beyond(curve, point.value, variable)
    if where:
        return f"{where}: {other} unknown (the curve is not extrapolated)"
    passed = []
    for band in _BANDS:
        edges = [beyond(curve, getattr(point, f"{side}_{band}"), variable) for side in ("lower", "upper")]
        passed += [(band, edge) for edge in edges if edge]
    if not passed:
        return ""
    names = ", ".join(f"{band}%" for band in dict.fromkeys(band for band, _ in passed))
    return f"the {names} band reaches {passed[-1][1]}: {other} unknown at that end (the curve is not extrapolated)"


def converted(forecast: Forecast, curve: Curve | None) -> Converted | None:
    """The forecast's days in the curve's other variable, or None (no curve, or a target the curve does not link).

    A day beyond the curve stays, with NaN where its value or a band end is unknown and a note saying why.
    """
    other = curve.other(forecast.target) if curve is not None else None
    if curve is None or other is None:
        return None
    points = []
    for p in forecast.points:
        values = {f: _through(curve, getattr(p, f), forecast.target) for f in _POINT_FIELDS}
        observed = values["observed"]
        values["observed"] = None if observed is None or not np.isfinite(observed) else observed
        points.append(ForecastPoint(date=p.date, lead=p.lead, **values))
    via = f"storage-elevation curve ({curve.source})" if curve.source else "storage-elevation curve"
    last = _one(curve, float(forecast.last_observed["value"]), forecast.target)
    notes = tuple(day_note(curve, p, forecast.target) for p in forecast.points)
    return Converted(other, curve.unit_of(other), via, last, tuple(points), notes if any(notes) else ())


def attach(forecast: Forecast, curve: Curve | None) -> Forecast:
    """The forecast with its converted days attached (unchanged when there is no usable curve)."""
    return replace(forecast, converted=converted(forecast, curve))


def express(forecast: Forecast, curve: Curve) -> Forecast | None:
    """The whole forecast told in the other variable (days, last reading, samples), for the page's toggle.

    Exceedance and the alert carry over unchanged (a monotone curve keeps every crossing); its `levels` are
    left empty for the caller to fill with `levels_on(levels, result.target, curve)`.
    """
    conv = converted(forecast, curve)
    if conv is None:
        return None
    samples = None if forecast.samples is None else curve.convert(forecast.samples, forecast.target)
    if samples is not None and not np.isfinite(samples).all():
        samples = None  # some samples fall outside the curve: no probabilities rather than wrong ones
    back = Converted(  # the notes stay with the days: they say where the two variables part
        forecast.target,
        forecast.unit,
        conv.via,
        float(forecast.last_observed["value"]),
        forecast.points,
        conv.notes,
    )
    return replace(
        forecast,
        target=conv.variable,
        unit=conv.unit,
        last_observed={**forecast.last_observed, "value": conv.last_observed},
        points=conv.points,
        samples=samples,
        converted=back,
        bands_note=None,
        levels=(),
    )


def history_as(values: pd.Series, variable: str, curve: Curve) -> pd.Series:
    """Observed readings of `variable` in the curve's other variable (NaN outside the table)."""
    return pd.Series(curve.convert(values.to_numpy(dtype=float), variable), index=values.index, name=values.name)


def levels_on(levels: Sequence[OperatingLevel], variable: str, curve: Curve | None) -> list[OperatingLevel]:
    """Levels that apply to `variable`: its own, plus those set on the curve's other variable, converted.

    A converted level keeps its name, side and severity; one outside the curve is left out.
    """
    key = canonical_name(variable)
    mine = [lv for lv in levels if canonical_name(lv.variable) == key]
    other = curve.other(variable) if curve is not None else None
    if curve is None or other is None:
        return mine
    for lv in levels:
        if canonical_name(lv.variable) != other:
            continue
        value = _one(curve, lv.value, other)
        if value is not None:  # 6 significant digits: past any curve's precision, and readable in headers
            mine.append(replace(lv, value=float(f"{value:.6g}"), unit=curve.unit_of(key), variable=variable))
    return mine
