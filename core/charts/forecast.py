"""The forecast views: the 7-day forecast with its risk fans and levels, the overview sparkline, attention weights."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.charts.levels import axis_range, draw_levels, draw_zones, split_levels
from core.charts.style import (
    FONT_FAMILY,
    FORECAST,
    LEVEL_COLOURS,
    OBSERVED,
    PERSISTENCE,
    TEMPLATE,
    as_float,
    as_series,
    axis_label,
    base_figure,
    finite_values,
    legend_below_axis_title,
    placeholder,
    rgba,
    safe_text,
    unit_suffix,
)
from core.display import d3_format, tick_format

if TYPE_CHECKING:  # plotly and core.forecast.issue (which pulls in the model code) load only when a figure is drawn
    import plotly.graph_objects as go

    from core.data.levels import OperatingLevel
    from core.forecast.coverage import RecentCoverage
    from core.forecast.issue import Forecast


@dataclass(frozen=True)
class Band:
    """One risk fan: its coverage (95 for '95%'), the key it was given under, and its bounds per forecast day."""

    coverage: float
    key: str
    lower: list[float]
    upper: list[float]


@dataclass(frozen=True, eq=False)
class ForecastView:
    """What forecast_figure draws, worked out once: observations split at the issue date, the forecast path
    (starting at the last observation when there is one), the fans widest first and the shared number format."""

    target: str
    unit: str | None
    issued: pd.Timestamp
    before: pd.Series  # observed up to the issue date
    after: pd.Series  # observed after it (stored readings and the forecast's own verification values)
    dates: list[pd.Timestamp]
    values: list[float]
    leads: list[int]
    anchor: tuple[pd.Timestamp, float] | None  # the last observation the forecast path starts from
    bands: tuple[Band, ...]  # widest first, so narrower fans are drawn on top
    exceedance: Mapping[str, Sequence[float]]
    data: list[float]  # every finite value drawn, for the axis range and the levels near the data
    fmt: str  # d3 number format for hovers and ticks
    notes: tuple[str, ...] = ()  # per forecast day: why a value converted through a curve is unknown ("" when known)

    @property
    def suffix(self) -> str:
        """The unit after a hover value."""
        return unit_suffix(self.unit)

    def path(self, values: Sequence[float], start: float) -> list[Any]:
        """Values along the forecast path, led by `start` at the anchor when the path starts at an observation."""
        return ([start] if self.anchor else []) + list(values)

    @property
    def path_dates(self) -> list[pd.Timestamp]:
        """The x of every point on the forecast path."""
        return self.path(self.dates, self.anchor[0]) if self.anchor else list(self.dates)


def _observed(history: pd.Series, forecast: Forecast) -> tuple[pd.Series, pd.Series]:
    """Observations up to the issue date, and after it (stored readings topped up with the forecast's own truth)."""
    issued = pd.Timestamp(forecast.issued)
    empty = pd.Series(dtype=float, index=pd.DatetimeIndex([]))
    history = as_series(history, forecast.target) if len(history) else empty
    before = history[history.index <= issued]
    after = history[history.index > issued]
    truth = pd.Series(
        {pd.Timestamp(p.date): p.observed for p in forecast.points if p.observed is not None}, dtype=float
    )
    if len(truth):
        after = after.combine_first(truth) if len(after) else truth.sort_index()
    return before, after.dropna()


def _bands(bands: Mapping[str, tuple[Sequence[float], Sequence[float]]], n_days: int) -> tuple[Band, ...]:
    """The fans widest first; a band whose length differs from the forecast's is an error that says so."""
    items = []
    for key, (lower, upper) in bands.items():
        lower_l, upper_l = [float(v) for v in lower], [float(v) for v in upper]
        if len(lower_l) != n_days or len(upper_l) != n_days:
            raise ValueError(
                f"Band '{key}' has {len(lower_l)} lower and {len(upper_l)} upper values; "
                f"the forecast has {n_days} days."
            )
        items.append(Band(_band_level(key), str(key), lower_l, upper_l))
    return tuple(sorted(items, key=lambda band: -band.coverage))


def forecast_view(
    history: pd.Series,
    forecast: Forecast,
    bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
) -> ForecastView:
    """The data step of forecast_figure: everything it draws, without plotly.

    bands=None takes the forecast's own calibrated bands when it has them; {} takes none.
    """
    before, after = _observed(history, forecast)
    values = [float(p.value) for p in forecast.points]
    last_value = forecast.last_observed.get("value")
    anchored = last_value is not None and math.isfinite(float(last_value))
    anchor = (
        (pd.Timestamp(forecast.last_observed.get("date", forecast.issued)), float(last_value)) if anchored else None
    )
    fans = _bands(own_bands(forecast) if bands is None else bands, len(values))
    data = finite_values([*before.to_numpy(), *after.to_numpy(), *values, last_value if anchored else None])
    for band in fans:
        data += finite_values([*band.lower, *band.upper])
    return ForecastView(
        target=forecast.target,
        unit=forecast.unit,
        issued=pd.Timestamp(forecast.issued),
        before=before,
        after=after,
        dates=[pd.Timestamp(p.date) for p in forecast.points],
        values=values,
        leads=[int(p.lead) for p in forecast.points],
        anchor=anchor,
        bands=fans,
        exceedance=forecast.exceedance or {},
        data=data,
        fmt=d3_format(data),
        notes=forecast.converted.notes if forecast.converted is not None else (),
    )


def _default_subtitle(forecast: Forecast) -> str:
    """'level (m) forecast, model v3, issued 2024-05-01': the line under the reservoir's name (two short lines, so
    a narrow chart does not cut the title; plotly never wraps one)."""
    unit_text = f" ({forecast.unit})" if forecast.unit else ""
    return f"{forecast.target}{unit_text} forecast, model v{forecast.version}, issued {forecast.issued}"


def _draw_bands(fig: go.Figure, view: ForecastView) -> None:
    """The nested risk fans, widest and palest first, each starting at the last observation."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    start = view.anchor[1] if view.anchor else 0.0
    xs = view.path_dates
    n_bands = len(view.bands)
    for i, band in enumerate(view.bands):
        up, lo = view.path(band.upper, start), view.path(band.lower, start)
        alpha = 0.12 + 0.14 * i / max(n_bands - 1, 1) if n_bands > 1 else 0.18
        fig.add_trace(
            go.Scatter(
                x=xs + xs[::-1],
                y=up + lo[::-1],
                fill="toself",
                fillcolor=rgba(FORECAST, alpha),
                line={"width": 0},
                mode="lines",
                name=f"{band.coverage:g}% band",
                hoverinfo="skip",
                meta={"band": band.key, "coverage": band.coverage},
            )
        )


def _draw_observed(fig: go.Figure, view: ForecastView, name: str = "observed") -> None:
    """The observed history up to the issue date (solid) and what happened after it (dotted, open markers);
    `name` says what the line is when it is not the variable's own readings (converted through a curve)."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    label = safe_text(name) or "observed"
    if len(view.before):
        fig.add_trace(
            go.Scatter(
                x=view.before.index,
                y=view.before.to_numpy(),
                mode="lines",
                name=label,
                line={"color": OBSERVED, "width": 2},
                connectgaps=False,
                hovertemplate=f"%{{y:{view.fmt}}}{view.suffix}<extra>{label}</extra>",
            )
        )
    if len(view.after):
        fig.add_trace(
            go.Scatter(
                x=view.after.index,
                y=view.after.to_numpy(),
                mode="lines+markers",
                name=f"{label} (after issue)",
                line={"color": OBSERVED, "width": 1.5, "dash": "dot"},
                marker={"symbol": "circle-open", "size": 8, "color": OBSERVED, "line": {"width": 1.5}},
                hovertemplate=f"%{{y:{view.fmt}}}{view.suffix}<extra>{label} (after issue)</extra>",
            )
        )


def _hover_text(view: ForecastView) -> list[str]:
    """Per path point, the band ranges (narrowest first) and the exceedance chances, for the forecast's hover."""
    texts = [""] if view.anchor else []
    for k in range(len(view.dates)):
        note = view.notes[k] if k < len(view.notes) else ""
        parts = [f"{b.coverage:g}%: {b.lower[k]:{view.fmt}}–{b.upper[k]:{view.fmt}}" for b in reversed(view.bands)]
        parts += [f"P({name}): {probs[k]:.0%}" for name, probs in view.exceedance.items() if probs[k] > 0]
        parts += [safe_text(note)] if note else []
        texts.append("<br>" + "<br>".join(parts) if parts else "")
    return texts


def _draw_median(fig: go.Figure, view: ForecastView) -> None:
    """The forecast line with a marker per day (none at the anchor) and the lead, bands and risks in its hover."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    if not view.dates:
        return
    leads = view.path(view.leads, 0)
    fig.add_trace(
        go.Scatter(
            x=view.path_dates,
            y=view.path(view.values, view.anchor[1] if view.anchor else 0.0),
            mode="lines+markers",
            name="forecast",
            line={"color": FORECAST, "width": 2.5},
            marker={"size": [0 if lead == 0 else 7 for lead in leads], "color": FORECAST},
            customdata=np.array([leads, _hover_text(view)], dtype=object).T,
            hovertemplate=(
                f"%{{y:{view.fmt}}}{view.suffix} (lead %{{customdata[0]}} d)%{{customdata[1]}}<extra>forecast</extra>"
            ),
        )
    )


def _draw_issue_line(fig: go.Figure, issued: pd.Timestamp, text: str) -> None:
    """A dotted vertical line at the issue date, labelled at the top."""
    fig.add_shape(
        type="line",
        name="issued",
        xref="x",
        x0=issued,
        x1=issued,
        yref="paper",
        y0=0,
        y1=1,
        line={"color": "#555", "width": 1.2, "dash": "dot"},
    )
    fig.add_annotation(
        text=f"issued {text}",
        x=issued,
        xref="x",
        y=1,
        yref="paper",
        yanchor="bottom",
        xanchor="right",
        showarrow=False,
        font={"size": 11, "color": "#555"},
    )


def _draw_level_layers(
    fig: go.Figure, view: ForecastView, forecast: Forecast, levels: Sequence[OperatingLevel]
) -> list[float] | None:
    """Level zones, level lines and the alert marker; returns the y range that shows the data and the near levels."""
    near, far = split_levels(levels, view.target, view.unit, view.data)
    y_range = axis_range(view.data, near)
    draw_zones(fig, near, y_range)
    draw_levels(fig, near, far, view.unit, view.data)
    _draw_alert(fig, forecast, near)
    return y_range


def forecast_figure(
    history: pd.Series,
    forecast: Forecast,
    levels: Sequence[OperatingLevel] = (),
    *,
    title: str | None = None,
    bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    height: int = 460,
    observed_name: str = "observed",
) -> go.Figure:
    """Recent observations, the 7-day forecast (with nested risk fans) and the operating levels in one view.

    bands=None draws the forecast's own calibrated bands when it has them; pass {} to draw none. `observed_name`
    labels the history line (e.g. 'observed level as storage' when it was converted through a curve).
    """
    fig = base_figure(height, forecast.reservoir if title is None else title)
    if title is None:
        fig.update_layout(title_subtitle_text=safe_text(_default_subtitle(forecast)), margin_t=84)
    view = forecast_view(history, forecast, bands)
    _draw_bands(fig, view)  # fans first, so lines and markers sit on top of them
    _draw_observed(fig, view, observed_name)
    _draw_median(fig, view)
    _draw_issue_line(fig, view.issued, str(forecast.issued))
    y_range = _draw_level_layers(fig, view, forecast, levels)
    fig.update_yaxes(title_text=axis_label(view.target, view.unit), range=y_range, tickformat=tick_format(view.fmt))
    fig.update_xaxes(hoverformat="%Y-%m-%d (%a)")
    fig.update_layout(hovermode="x unified", margin={"b": 40})
    return fig


def own_bands(forecast: Forecast) -> dict[str, tuple[list[float], list[float]]]:
    """The calibrated bands a forecast carries (Forecast.band), if its version has them."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    band = getattr(forecast, "band", None)
    if band is None or not forecast.points:
        return out
    for cover in (95, 80, 50):
        try:
            pair = band(cover)
        except (AttributeError, TypeError, ValueError):
            pair = None
        if pair is not None and all(v is not None for v in (*pair[0], *pair[1])):
            out[str(cover)] = pair
    return out


def _band_level(key: str) -> float:
    """'95', '95%' or 'p95' -> 95.0, so bands can be ordered widest first."""
    match = re.search(r"\d+(?:\.\d+)?", str(key))
    if not match:
        raise ValueError(f"Band key '{key}' is not a coverage like '95' or '80%'.")
    return float(match.group())


def _draw_alert(fig: go.Figure, forecast: Forecast, near: Sequence[OperatingLevel]) -> None:
    """One marker per raised side (flood and drought both, when both passed the trigger), else the overall alert's."""
    sides = [a.to_dict() for a in (forecast.alerts or {}).values() if a.raised]
    for alert in sides or [forecast.alert or {}]:
        _alert_marker(fig, forecast, near, alert)


def _alert_marker(fig: go.Figure, forecast: Forecast, near: Sequence[OperatingLevel], alert: dict) -> None:
    """A marker where the alert's level is first likely to be crossed, with the reason in its hover."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    if alert.get("state") not in ("watch", "warning", "danger") or not alert.get("date"):
        return
    level = next((lv for lv in near if lv.name == alert.get("level")), None)
    y = float(level.value) if level else float(alert.get("value", forecast.points[-1].value))
    colour = LEVEL_COLOURS.get((alert.get("side", "flood"), alert["state"]), "#c0392b")
    fig.add_trace(
        go.Scatter(
            x=[pd.Timestamp(alert["date"])],
            y=[y],
            mode="markers+text",
            name=f"{alert.get('side', '')} alert: {alert['state']}".strip(),
            marker={
                "symbol": "triangle-up" if alert.get("side") != "drought" else "triangle-down",
                "size": 16,
                "color": colour,
                "line": {"color": "white", "width": 1},
            },
            text=[f"{alert['probability']:.0%}"],
            textposition="top center" if alert.get("side") != "drought" else "bottom center",
            textfont={"color": colour, "size": 12},
            hovertemplate=f"{safe_text(alert['reason'])}<extra>alert: {alert['state']}</extra>",
        )
    )


def _sparkline_base(height: int) -> go.Figure:
    """A bare, transparent figure without axes or legend, for a ~230 px overview card."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        margin={"l": 2, "r": 8, "t": 8, "b": 4},
        showlegend=False,
        font={"family": FONT_FAMILY, "size": 11},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hovermode="x",
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _recent(history: pd.Series, forecast: Forecast | None, days: int) -> pd.Series:
    """The last `days` days of readings up to the forecast's issue date (or the latest reading)."""
    series = pd.Series(history, dtype=float) if len(history) else pd.Series(dtype=float)
    if len(series):
        series.index = pd.DatetimeIndex(series.index)
        series = series.sort_index()
        if forecast is not None:
            series = series[series.index <= pd.Timestamp(forecast.issued)]
        if len(series):
            series = series[series.index > series.index.max() - pd.Timedelta(days=days)]
    return series


def _draw_sparkline_forecast(fig: go.Figure, series: pd.Series, forecast: Forecast, hover: str) -> None:
    """The dashed forecast from the last observation and its 80% band; ranges that show all of it unclipped."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    xs = [pd.Timestamp(forecast.last_observed["date"])] + [pd.Timestamp(p.date) for p in forecast.points]
    ys = [float(forecast.last_observed["value"])] + [float(p.value) for p in forecast.points]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name="forecast",
            line={"color": FORECAST, "width": 2, "dash": "dash"},
            hovertemplate=f"{hover}<extra>forecast</extra>",
        )
    )
    extent = [*ys]
    band = own_bands(forecast).get("80")
    if band is not None:
        days_x = xs[1:]
        fig.add_trace(
            go.Scatter(
                x=[*days_x, *days_x[::-1]],
                y=[*band[1], *band[0][::-1]],
                fill="toself",
                mode="lines",
                line={"width": 0},
                fillcolor=rgba(FORECAST, 0.18),
                name="80% band",
                hoverinfo="skip",
            )
        )
        extent += [float(v) for v in (*band[0], *band[1])]
    values = finite_values([*series.to_numpy(), *extent])
    if values:
        low, high = min(values), max(values)
        pad = (high - low) * 0.08 or abs(high) * 0.01 or 1.0
        fig.update_yaxes(range=[low - pad, high + pad])
    start = series.index.min() if len(series) else xs[0]
    fig.update_xaxes(range=[start, xs[-1] + pd.Timedelta(hours=12)])


def sparkline_figure(
    history: pd.Series, forecast: Forecast | None = None, *, height: int = 80, days: int = 30
) -> go.Figure:
    """A thumbnail trend for an overview card: the last month and the forecast, which gets about a fifth of the width.

    The y range holds the history, the forecast and its 80% band, padded, so a peak is never clipped on a ~230 px card.
    """
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig = _sparkline_base(height)
    series = _recent(history, forecast, days)
    unit = forecast.unit if forecast is not None else None
    hover = f"%{{x|%Y-%m-%d}}: %{{y:{d3_format(series.to_numpy())}}}{unit_suffix(unit)}"
    fig.add_trace(
        go.Scatter(
            x=series.index,
            y=series.to_numpy(),
            mode="lines",
            name="observed",
            line={"color": OBSERVED, "width": 1.5},
            hovertemplate=f"{hover}<extra></extra>",
        )
    )
    if forecast is not None and forecast.points:
        _draw_sparkline_forecast(fig, series, forecast, hover)
    return fig


def attention_figure(forecast: Forecast, *, height: int = 340) -> go.Figure:
    """How much each of the input days weighed in this forecast (attention nets only), in % of the total."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig = base_figure(height, None)
    attention = getattr(forecast, "attention", None) or {}
    dates = [str(d) for d in attention.get("dates") or []]
    weights = [as_float(w) for w in attention.get("weights") or []]
    if not dates or len(dates) != len(weights):
        return placeholder(fig, "this model does not report which past days it used")
    total = sum(w for w in weights if math.isfinite(w)) or 1.0
    shares = [100.0 * w / total if math.isfinite(w) else 0.0 for w in weights]
    issued = pd.Timestamp(forecast.issued)
    ago = [(issued - pd.Timestamp(d)).days for d in dates]
    top = max(shares)
    fig.add_trace(
        go.Bar(
            x=dates,
            y=shares,
            name="share of attention",
            marker={"color": [FORECAST if s == top else rgba(FORECAST, 0.5) for s in shares]},
            text=[f"{s:.0f}%" for s in shares],
            textposition="outside",
            cliponaxis=False,
            customdata=ago,
            hovertemplate="%{x} (%{customdata} days before the issue date): %{y:.1f}%<extra></extra>",
            showlegend=False,
        )
    )
    equal = 100.0 / len(dates)
    line = {"color": PERSISTENCE, "width": 1.5, "dash": "dash"}
    fig.add_hline(y=equal, line=line)
    fig.add_trace(  # the line's legend entry (a shape has none)
        go.Scatter(x=[None], y=[None], mode="lines", line=line, name=f"equal share ({equal:.1f}% each)")
    )
    days = [pd.Timestamp(d) for d in dates]
    fig.update_xaxes(
        title_text=f"input day, {dates[0]} to {dates[-1]} (the forecast was issued on {forecast.issued})",
        type="category",
        tickvals=dates,
        ticktext=[f"{d:%a}<br>{d:%m-%d}" for d in days],
        tickangle=0,
    )
    fig.update_yaxes(title_text="share of attention (%)", ticksuffix="%", rangemode="tozero", range=[0, top * 1.2])
    fig.update_layout(hovermode="closest", bargap=0.25, showlegend=True)
    legend_below_axis_title(fig)
    return fig


def band_coverage_figure(record: RecentCoverage | None, *, height: int = 240, tolerance: float = 5.0) -> go.Figure:
    """Share of recent outcomes inside each issued band beside its promise; bars off by more than tolerance in amber."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig = base_figure(height, None)
    bands = [b for b in (record.bands if record else ()) if math.isfinite(b.share)]
    if not bands:
        return placeholder(fig, "no outcome of a recent forecast is known yet")
    labels = [f"{b.band}% band" for b in bands]
    shares = [100.0 * b.share for b in bands]
    nominal = [100.0 * b.nominal for b in bands]
    held = [abs(s - n) <= tolerance for s, n in zip(shares, nominal, strict=True)]
    fig.add_trace(
        go.Bar(
            x=shares,
            y=labels,
            orientation="h",
            name="inside the band",
            marker={"color": [FORECAST if ok else LEVEL_COLOURS[("flood", "watch")] for ok in held]},
            text=[f"{s:.0f}% ({b.inside} of {b.outcomes})" for s, b in zip(shares, bands, strict=True)],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.1f}% of the known outcomes inside<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=nominal,
            y=labels,
            mode="markers",
            name="promised share",
            marker={"symbol": "line-ns", "size": 26, "line": {"width": 3, "color": OBSERVED}},
            hovertemplate="%{y} promises %{x:.0f}%<extra></extra>",
        )
    )
    fig.update_xaxes(
        title_text=f"share of the outcomes from {record.start} to {record.end} inside the band issued for them",
        range=[0, 135],  # room for the count beside a full bar
        tickvals=[0, 20, 40, 60, 80, 100],
        ticktext=[f"{v}%" for v in (0, 20, 40, 60, 80, 100)],
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(hovermode="closest", bargap=0.35, showlegend=True)
    legend_below_axis_title(fig)
    return fig
