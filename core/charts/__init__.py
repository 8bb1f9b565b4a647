"""Plotly figures shared by the dashboard pages and the CLI export, built from data only (no Streamlit, no I/O)."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.variables import canonical_name

if TYPE_CHECKING:  # plotly and core.forecast.issue (which pulls in the model code) load only when a figure is drawn
    import plotly.graph_objects as go

    from core.data.levels import OperatingLevel
    from core.forecast.issue import Forecast

# One palette for every chart, so a colour means the same thing on every page and in every report.
OBSERVED = "#2f3e4e"  # dark slate
FORECAST = "#1f6fb2"  # blue
PERSISTENCE = "#8c8c8c"  # grey
VALIDATION = "#e07b39"  # orange, validation loss
GRID = "#e5e8ec"
FONT_FAMILY = "DejaVu Sans, Arial, sans-serif"  # DejaVu ships with Debian's Chromium, so exports match the screen
TEMPLATE = "plotly_white"

LEVEL_COLOURS: dict[tuple[str, str], str] = {
    ("flood", "watch"): "#e0a526",  # amber
    ("flood", "warning"): "#ee7b1b",  # orange
    ("flood", "danger"): "#d62728",  # red
    ("drought", "watch"): "#c9a45c",  # ochre
    ("drought", "warning"): "#a87332",  # light brown
    ("drought", "danger"): "#7a4a17",  # dark brown
}
LEVEL_DASH = {"flood": "solid", "drought": "dash"}
LEVEL_MARGIN = 0.3  # levels within 30% of the data span beyond the data are drawn; farther ones are listed

# QC flag codes as written by core.data.clean (int8); kept here as plain ints so charts need not import the cleaning code.
FLAG_OK, FLAG_INTERPOLATED, FLAG_SPIKE, FLAG_IMPOSSIBLE, FLAG_SENTINEL, FLAG_MISSING, FLAG_FLATLINE = range(7)
FLAG_STYLES: dict[int, tuple[str, str, str]] = {  # code -> (legend label, colour, marker symbol)
    FLAG_INTERPOLATED: ("interpolated", "#17a2b8", "circle-open"),
    FLAG_SPIKE: ("spike masked", "#d62728", "x"),
    FLAG_IMPOSSIBLE: ("impossible value masked", "#9467bd", "diamond"),
    FLAG_SENTINEL: ("sentinel value masked", "#e377c2", "square"),
    FLAG_MISSING: ("missing", "rgba(140, 140, 140, 0.18)", "square"),
    FLAG_FLATLINE: ("flat-lined sensor", "#bcbd22", "triangle-up"),
}
MASKED_FLAGS = (FLAG_SPIKE, FLAG_IMPOSSIBLE, FLAG_SENTINEL)  # the cleaned value is NaN at these points

EXPORT_WIDTH, EXPORT_HEIGHT, EXPORT_SCALE = 1200, 600, 2


def plotly_config(filename: str, *, compact: bool = False) -> dict[str, Any]:
    """Plotly's camera button saves a report-size PNG under a readable name; compact hides the toolbar (sparklines)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", filename).strip("-") or "chart"
    config: dict[str, Any] = {
        "displaylogo": False,
        "toImageButtonOptions": {
            "format": "png",
            "width": EXPORT_WIDTH,
            "height": EXPORT_HEIGHT,
            "scale": EXPORT_SCALE,
            "filename": stem,
        },
    }
    if compact:
        config.update(displayModeBar=False, staticPlot=True)
    return config


# ---------------------------------------------------------------- shared helpers


def _figure(height: int, title: str | None) -> go.Figure:
    """Empty figure with the house layout: white template, readable font, horizontal legend at the bottom."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        font={"family": FONT_FAMILY, "size": 13, "color": "#222"},
        title={"text": _safe(title), "x": 0.01, "xanchor": "left", "font": {"size": 16}} if title else None,
        margin={"l": 64, "r": 24, "t": 64 if title else 28, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.14, "x": 0, "xanchor": "left"},
        hoverlabel={"font": {"family": FONT_FAMILY}},
    )
    fig.update_xaxes(gridcolor=GRID, zeroline=False)
    fig.update_yaxes(gridcolor=GRID, zeroline=False)
    return fig


def _legend_below_axis_title(fig: go.Figure) -> None:
    """Room under the x-axis title for the horizontal legend, so the two never overlap (placed in pixels)."""
    height = int(fig.layout.height or 320)
    margin = fig.layout.margin
    bottom = 100
    plot = max(height - int(margin.t or 0) - bottom, 60)
    fig.update_layout(margin={"b": bottom}, legend={"y": -62 / plot, "yanchor": "top"})  # ticks + title ~ 55 px


def _placeholder(fig: go.Figure, text: str) -> go.Figure:
    """A friendly message instead of empty axes when there is nothing to draw yet."""
    fig.add_annotation(
        text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 15, "color": "#666"}
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _safe(text: str | None) -> str | None:
    """User text (reservoir and level names) as plain text: plotly renders a subset of HTML in labels."""
    return None if text is None else html.escape(str(text), quote=False)


def _axis_label(variable: str, unit: str | None) -> str:
    return f"{variable} ({unit})" if unit else variable


def _unit_suffix(unit: str | None) -> str:
    return f" {unit}" if unit else ""


def _value_format(values: Iterable[float]) -> str:
    """d3 number format that shows centimetres on levels but no false precision on big volumes."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    arr = arr[np.isfinite(arr)]
    biggest = float(np.abs(arr).max()) if arr.size else 1.0
    if biggest >= 1e4:
        return ",.0f"
    if biggest >= 1:
        return ",.2f"
    return ".3g"


def _tick_format(value_format: str) -> str | None:
    """Full numbers on big-volume axes (not '2.3G'); plotly's own ticks elsewhere."""
    return ",.0f" if value_format == ",.0f" else None


def _number(value: float) -> str:
    """Level value as written in its label, e.g. 312.0 or 1,250,000."""
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    text = f"{value:,.3f}".rstrip("0")  # as many decimals as the operator typed, up to 3, at least 1
    return text + "0" if text.endswith(".") else text


def _finite(values: Iterable[Any]) -> list[float]:
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def _as_series(values: pd.Series | pd.DataFrame, column: str) -> pd.Series:
    """Accept either the frame with a column per variable or the variable's own series."""
    if isinstance(values, pd.DataFrame):
        if column not in values.columns:
            raise ValueError(f"No column '{column}' to chart; the frame has {', '.join(map(str, values.columns))}.")
        values = values[column]
    series = pd.to_numeric(values, errors="coerce").astype(float)
    series.index = pd.DatetimeIndex(series.index)
    return series.sort_index()


def level_matches(level: OperatingLevel, variable: str, unit: str | None) -> bool:
    """A level belongs on a chart of `variable` when it is set on that variable or in the chart's unit."""
    if canonical_name(str(level.variable)) == canonical_name(variable) or level.variable == variable:
        return True
    return bool(level.unit and unit and level.unit.strip() == unit.strip())


def level_label(level: OperatingLevel, unit: str | None = None) -> str:
    """'Flood warning 312.0 m': the text written on a level line."""
    return _safe(f"{level.name} {_number(float(level.value))}{_unit_suffix(level.unit or unit)}")


def _split_levels(
    levels: Sequence[OperatingLevel], variable: str, unit: str | None, data: list[float]
) -> tuple[list[OperatingLevel], list[OperatingLevel]]:
    """Levels near enough to the data to draw, and those too far away (listed instead of squashing the data)."""
    matching = [lv for lv in levels if level_matches(lv, variable, unit) and math.isfinite(float(lv.value))]
    if not data:
        return matching, []
    lo, hi = min(data), max(data)
    span = hi - lo or max(abs(hi) * 0.05, 1.0)
    near = [lv for lv in matching if lo - LEVEL_MARGIN * span <= float(lv.value) <= hi + LEVEL_MARGIN * span]
    far = [lv for lv in matching if lv not in near]
    return near, far


def _draw_levels(
    fig: go.Figure, near: Sequence[OperatingLevel], far: Sequence[OperatingLevel], unit: str | None, data: list[float]
) -> None:
    """Horizontal labelled lines for the near levels and a small note naming the far ones."""
    middle = (min(data) + max(data)) / 2 if data else 0.0
    for lv in near:
        colour = LEVEL_COLOURS.get((lv.side, lv.severity), "#666")
        flood = lv.side != "drought"
        fig.add_shape(
            type="line",
            xref="paper",
            x0=0,
            x1=1,
            yref="y",
            y0=float(lv.value),
            y1=float(lv.value),
            name=level_label(lv, unit),
            line={"color": colour, "width": 2, "dash": LEVEL_DASH.get(lv.side, "solid")},
            label={
                "text": level_label(lv, unit),
                "textposition": "start",
                "yanchor": "bottom" if flood else "top",
                "font": {"size": 11, "color": colour},
            },
            layer="above",
        )
    # Far levels are named at the top or bottom edge (the side they lie on), mid-width where the forecast isn't.
    for above in (True, False):
        group = [lv for lv in far if (float(lv.value) > middle) == above]
        if not group:
            continue
        group.sort(key=lambda x: -float(x.value))
        fig.add_annotation(
            text=("↑ " if above else "↓ ") + "off chart: " + "; ".join(level_label(lv, unit) for lv in group),
            name="off-chart levels",
            xref="paper",
            yref="paper",
            x=0.5,
            y=1.0 if above else 0.0,
            xanchor="center",
            yanchor="top" if above else "bottom",
            showarrow=False,
            bgcolor="rgba(255, 255, 255, 0.8)",
            font={"size": 11, "color": "#555"},
        )


def _draw_zones(fig: go.Figure, near: Sequence[OperatingLevel], y_range: list[float] | None) -> None:
    """Shade each level's side, from its line outwards to the next level (or the chart edge), by severity."""
    if not y_range:
        return
    for side, outward in (("flood", 1), ("drought", -1)):
        group = sorted((lv for lv in near if lv.side == side), key=lambda lv: outward * float(lv.value))
        for i, lv in enumerate(group):
            edge = float(group[i + 1].value) if i + 1 < len(group) else (y_range[1] if outward > 0 else y_range[0])
            fig.add_shape(
                type="rect",
                name=f"{lv.name} zone",
                xref="paper",
                x0=0,
                x1=1,
                yref="y",
                y0=float(lv.value),
                y1=edge,
                fillcolor=_hex_rgba(LEVEL_COLOURS.get((lv.side, lv.severity), "#999999"), 0.08),
                line={"width": 0},
                layer="below",
            )


def _draw_alert(fig: go.Figure, forecast: Forecast, near: Sequence[OperatingLevel], unit: str | None) -> None:
    """A marker where the alert's level is first likely to be crossed, with the reason in its hover."""
    import plotly.graph_objects as go

    alert = forecast.alert or {}
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
            name=f"alert: {alert['state']}",
            marker={
                "symbol": "triangle-up" if alert.get("side") != "drought" else "triangle-down",
                "size": 16,
                "color": colour,
                "line": {"color": "white", "width": 1},
            },
            text=[f"{alert['probability']:.0%}"],
            textposition="top center" if alert.get("side") != "drought" else "bottom center",
            textfont={"color": colour, "size": 12},
            hovertemplate=f"{_safe(alert['reason'])}<extra>alert: {alert['state']}</extra>",
        )
    )


def _y_range(data: list[float], levels: Sequence[OperatingLevel]) -> list[float] | None:
    """Axis range covering the data and the drawn levels, with a little air."""
    values = data + [float(lv.value) for lv in levels]
    if not values:
        return None
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.06 or max(abs(hi) * 0.02, 0.5)
    return [lo - pad, hi + pad]


def _band_level(key: str) -> float:
    """'95', '95%' or 'p95' -> 95.0, so bands can be ordered widest first."""
    match = re.search(r"\d+(?:\.\d+)?", str(key))
    if not match:
        raise ValueError(f"Band key '{key}' is not a coverage like '95' or '80%'.")
    return float(match.group())


def _hex_rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha:.2f})"


# ---------------------------------------------------------------- forecast


def forecast_figure(
    history: pd.Series,
    forecast: Forecast,
    levels: Sequence[OperatingLevel] = (),
    *,
    title: str | None = None,
    bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    height: int = 460,
) -> go.Figure:
    """Recent observations, the 7-day forecast (with nested risk fans) and the operating levels in one view.

    bands=None draws the forecast's own calibrated bands when it has them; pass {} to draw none.
    """
    import plotly.graph_objects as go

    unit = forecast.unit
    target = forecast.target
    issued = pd.Timestamp(forecast.issued)
    suffix = _unit_suffix(unit)
    if title is None:
        unit_text = f" ({unit})" if unit else ""
        title = (
            f"{forecast.reservoir} — {target}{unit_text} forecast, model v{forecast.version}, issued {forecast.issued}"
        )
    fig = _figure(height, title)

    history = _as_series(history, target) if len(history) else pd.Series(dtype=float, index=pd.DatetimeIndex([]))
    before = history[history.index <= issued]
    after = history[history.index > issued]
    truth = pd.Series(
        {pd.Timestamp(p.date): p.observed for p in forecast.points if p.observed is not None}, dtype=float
    )
    if len(truth):
        after = after.combine_first(truth) if len(after) else truth.sort_index()
    after = after.dropna()

    dates = [pd.Timestamp(p.date) for p in forecast.points]
    values = [float(p.value) for p in forecast.points]
    leads = [int(p.lead) for p in forecast.points]
    last_date = pd.Timestamp(forecast.last_observed.get("date", forecast.issued))
    last_value = forecast.last_observed.get("value")
    anchored = last_value is not None and math.isfinite(float(last_value))

    if bands is None:
        bands = _own_bands(forecast)
    band_items: list[tuple[float, str, list[float], list[float]]] = []
    for key, (lower, upper) in bands.items():
        lower_l, upper_l = [float(v) for v in lower], [float(v) for v in upper]
        if len(lower_l) != len(dates) or len(upper_l) != len(dates):
            raise ValueError(
                f"Band '{key}' has {len(lower_l)} lower and {len(upper_l)} upper values; "
                f"the forecast has {len(dates)} days."
            )
        band_items.append((_band_level(key), str(key), lower_l, upper_l))
    band_items.sort(key=lambda item: -item[0])  # widest first, so narrower fans are drawn on top

    data = _finite([*before.to_numpy(), *after.to_numpy(), *values, last_value if anchored else None])
    for _, _, lower_l, upper_l in band_items:
        data += _finite([*lower_l, *upper_l])
    fmt = _value_format(data)

    # Fans first, so lines and markers sit on top of them.
    n_bands = len(band_items)
    for i, (cover, key, lower_l, upper_l) in enumerate(band_items):
        xs = ([last_date] if anchored else []) + dates
        up = ([float(last_value)] if anchored else []) + upper_l
        lo = ([float(last_value)] if anchored else []) + lower_l
        alpha = 0.12 + 0.14 * i / max(n_bands - 1, 1) if n_bands > 1 else 0.18
        label = f"{cover:g}% band"
        fig.add_trace(
            go.Scatter(
                x=xs + xs[::-1],
                y=up + lo[::-1],
                fill="toself",
                fillcolor=_hex_rgba(FORECAST, alpha),
                line={"width": 0},
                mode="lines",
                name=label,
                hoverinfo="skip",
                meta={"band": key, "coverage": cover},
            )
        )

    if len(before):
        fig.add_trace(
            go.Scatter(
                x=before.index,
                y=before.to_numpy(),
                mode="lines",
                name="observed",
                line={"color": OBSERVED, "width": 2},
                connectgaps=False,
                hovertemplate=f"%{{y:{fmt}}}{suffix}<extra>observed</extra>",
            )
        )
    if len(after):
        fig.add_trace(
            go.Scatter(
                x=after.index,
                y=after.to_numpy(),
                mode="lines+markers",
                name="observed (after issue)",
                line={"color": OBSERVED, "width": 1.5, "dash": "dot"},
                marker={"symbol": "circle-open", "size": 8, "color": OBSERVED, "line": {"width": 1.5}},
                hovertemplate=f"%{{y:{fmt}}}{suffix}<extra>observed (after issue)</extra>",
            )
        )

    if dates:
        xs = ([last_date] if anchored else []) + dates
        ys = ([float(last_value)] if anchored else []) + values
        lead_col = ([0] if anchored else []) + leads
        band_text = []
        for j in range(len(xs)):
            k = j - (1 if anchored else 0)
            if k < 0 or not band_items:
                band_text.append("")
                continue
            pf = _py_fmt(fmt)
            parts = [f"{c:g}%: {lo_[k]:{pf}}–{up_[k]:{pf}}" for c, _, lo_, up_ in reversed(band_items)]
            parts += [
                f"P({name}): {probs[k]:.0%}" for name, probs in (forecast.exceedance or {}).items() if probs[k] > 0
            ]
            band_text.append("<br>" + "<br>".join(parts))
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name="forecast",
                line={"color": FORECAST, "width": 2.5},
                marker={"size": [0 if lead == 0 else 7 for lead in lead_col], "color": FORECAST},
                customdata=np.array([lead_col, band_text], dtype=object).T,
                hovertemplate=(
                    f"%{{y:{fmt}}}{suffix} (lead %{{customdata[0]}} d)%{{customdata[1]}}<extra>forecast</extra>"
                ),
            )
        )

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
        text=f"issued {forecast.issued}",
        x=issued,
        xref="x",
        y=1,
        yref="paper",
        yanchor="bottom",
        xanchor="right",
        showarrow=False,
        font={"size": 11, "color": "#555"},
    )

    near, far = _split_levels(levels, target, unit, data)
    y_range = _y_range(data, near)
    _draw_zones(fig, near, y_range)
    _draw_levels(fig, near, far, unit, data)
    _draw_alert(fig, forecast, near, unit)
    fig.update_yaxes(title_text=_axis_label(target, unit), range=y_range, tickformat=_tick_format(fmt))
    fig.update_xaxes(hoverformat="%Y-%m-%d (%a)")
    fig.update_layout(hovermode="x unified", margin={"b": 40})
    return fig


def _own_bands(forecast: Forecast) -> dict[str, tuple[list[float], list[float]]]:
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


def _py_fmt(d3: str) -> str:
    """The Python format spec matching the d3 one, for hover text built in Python."""
    return {",.0f": ",.0f", ",.2f": ",.2f"}.get(d3, ".3g")


# ---------------------------------------------------------------- history with QC flags


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of consecutive True runs."""
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def history_figure(
    values: pd.DataFrame | pd.Series,
    flags: pd.DataFrame | pd.Series | None,
    variable: str,
    unit: str | None,
    *,
    title: str | None = None,
    levels: Sequence[OperatingLevel] = (),
    height: int = 420,
    raw: pd.DataFrame | pd.Series | None = None,
) -> go.Figure:
    """A variable's daily record with what QC did to it, so an operator can see why a day looks the way it does."""
    import plotly.graph_objects as go

    series = _as_series(values, variable)
    fig = _figure(height, title)
    if series.dropna().empty:
        return _placeholder(fig, f"No {variable} readings to show yet.")
    suffix = _unit_suffix(unit)
    fmt = _value_format(series.to_numpy())
    fig.add_trace(
        go.Scatter(
            x=series.index,
            y=series.to_numpy(),
            mode="lines",
            name=variable,
            line={"color": OBSERVED, "width": 1.4},
            connectgaps=False,
            hovertemplate=f"%{{y:{fmt}}}{suffix}<extra>{variable}</extra>",
        )
    )

    if flags is not None:
        codes = _as_series(flags, variable).reindex(series.index).fillna(FLAG_OK).astype(int).to_numpy()
        raw_series = None
        if raw is not None:  # raw readings may be sub-daily or repeat a day: one daily mean per day for the hover
            raw_all = _as_series(raw, variable)
            raw_series = raw_all.groupby(raw_all.index.normalize()).mean().reindex(series.index)
        # Masked points have no cleaned value: place their markers where the line would have passed.
        guide = series.interpolate(limit_area="inside").ffill().bfill()
        for code, (label, colour, symbol) in FLAG_STYLES.items():
            hit = codes == code
            if not hit.any():
                continue
            if code == FLAG_MISSING:
                # Set in one go: add_vrect per span re-validates the whole layout each time (slow for decades).
                spans = [
                    {
                        "type": "rect",
                        "xref": "x",
                        "yref": "paper",
                        "x0": series.index[a] - pd.Timedelta(hours=12),
                        "x1": series.index[b] + pd.Timedelta(hours=12),
                        "y0": 0,
                        "y1": 1,
                        "fillcolor": colour,
                        "line": {"width": 0},
                        "layer": "below",
                        "name": label,
                        "legendgroup": label,
                        "showlegend": n == 0,
                    }
                    for n, (a, b) in enumerate(_spans(hit))
                ]
                fig.update_layout(shapes=[*fig.layout.shapes, *spans])
                continue
            idx = np.flatnonzero(hit)
            ys = (guide if code in MASKED_FLAGS else series).to_numpy()[idx]
            if raw_series is not None and code in MASKED_FLAGS:
                raw_vals = raw_series.to_numpy()[idx]
                text = [f"raw {v:{_py_fmt(fmt)}}{suffix}" if np.isfinite(v) else "raw missing" for v in raw_vals]
            else:
                text = [""] * len(idx)
            fig.add_trace(
                go.Scatter(
                    x=series.index[idx],
                    y=ys,
                    mode="markers",
                    name=label,
                    legendgroup=label,
                    marker={"color": colour, "symbol": symbol, "size": 7, "line": {"width": 1.2, "color": colour}},
                    text=text,
                    meta={"flag": code},
                    hovertemplate=f"{label} %{{text}}<extra></extra>",
                )
            )

    data = _finite(series.to_numpy())
    near, far = _split_levels(levels, variable, unit, data)
    _draw_levels(fig, near, far, unit, data)
    fig.update_yaxes(title_text=_axis_label(variable, unit), range=_y_range(data, near), tickformat=_tick_format(fmt))
    fig.update_xaxes(
        hoverformat="%Y-%m-%d (%a)",
        rangeslider={"visible": True, "thickness": 0.08},
        rangeselector={
            "buttons": [
                {"count": 3, "label": "3m", "step": "month", "stepmode": "backward"},
                {"count": 1, "label": "1y", "step": "year", "stepmode": "backward"},
                {"count": 5, "label": "5y", "step": "year", "stepmode": "backward"},
                {"step": "all", "label": "all"},
            ],
            "x": 0,
            "y": 1.0,
            "yanchor": "bottom",
        },
    )
    # With a range slider under the axis the legend goes on top, right of the range buttons.
    fig.update_layout(
        hovermode="x unified",
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        margin={"t": 72 if title else 44},
    )
    return fig


# ---------------------------------------------------------------- training and model comparison


def _epoch_rows(epochs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Flatten epochs as the trainer reports them or as the store returns them ({'logs': {...}})."""
    rows = []
    for e in epochs:
        logs = e.get("logs") or {}
        rows.append(
            {
                "epoch": int(e["epoch"]),
                "loss": e.get("loss", logs.get("loss")),
                "val_loss": e.get("val_loss", logs.get("val_loss")),
                "seconds": e.get("seconds"),
            }
        )
    frame = pd.DataFrame(rows, columns=["epoch", "loss", "val_loss", "seconds"])
    for col in ("loss", "val_loss", "seconds"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame.sort_values("epoch")


def loss_figure(epochs: Sequence[Mapping[str, Any]], *, best_epoch: int | None = None, height: int = 320) -> go.Figure:
    """Training and validation loss per epoch, so a user can see learning (and over-fitting) as it happens."""
    import plotly.graph_objects as go

    fig = _figure(height, None)
    frame = _epoch_rows(epochs)
    if frame.empty:
        return _placeholder(fig, "waiting for the first epoch")
    secs = frame["seconds"].fillna(float("nan")).to_numpy()
    lines = (("loss", "training error", FORECAST), ("val_loss", "validation error (held-back days)", VALIDATION))
    for col, name, colour in lines:
        if frame[col].notna().any():
            fig.add_trace(
                go.Scatter(
                    x=frame["epoch"],
                    y=frame[col],
                    mode="lines+markers",
                    name=name,
                    line={"color": colour, "width": 2},
                    marker={"size": 5},
                    customdata=secs,
                    hovertemplate="epoch %{x}: mean absolute error of the scaled change %{y:.4g} "
                    "(%{customdata:.1f} s)<extra>" + name + "</extra>",
                )
            )
    if best_epoch is None and frame["val_loss"].notna().any():
        best_epoch = int(frame.loc[frame["val_loss"].idxmin(), "epoch"])
    if best_epoch is not None and (frame["epoch"] == best_epoch).any():
        row = frame[frame["epoch"] == best_epoch].iloc[0]
        y = row["val_loss"] if pd.notna(row["val_loss"]) else row["loss"]
        fig.add_trace(
            go.Scatter(
                x=[best_epoch],
                y=[y],
                mode="markers",
                name=f"best epoch ({best_epoch})",
                marker={"symbol": "star", "size": 14, "color": "#d4a017", "line": {"width": 1, "color": "#222"}},
                hovertemplate="best epoch %{x}: %{y:.4g}<extra></extra>",
            )
        )
        fig.add_vline(x=best_epoch, line={"color": "#999", "width": 1, "dash": "dot"})
    losses = _finite([*frame["loss"], *frame["val_loss"]])
    positive = [v for v in losses if v > 0]
    log_y = bool(positive) and len(positive) == len(losses) and max(positive) / min(positive) > 10
    fig.update_yaxes(
        title_text="training error (lower is better)", type="log" if log_y else "linear", dtick="D2" if log_y else None
    )
    few = int(frame["epoch"].max()) <= 12
    fig.update_xaxes(  # whole epochs only: every epoch when few, integer ticks otherwise
        title_text="epoch (one pass over the training days)",
        rangemode="tozero" if len(frame) > 1 else None,
        dtick=1 if few else None,
        tickformat="d",
        hoverformat="d",
    )
    fig.update_layout(hovermode="x unified")
    _legend_below_axis_title(fig)
    return fig


def _mae(metrics: Mapping[str, Any] | None, side: str, key: str = "mae") -> Any:
    part = (metrics or {}).get(side) or {}
    return part.get(key)


def versions_figure(models: Sequence[Mapping[str, Any]], *, unit: str | None = None, height: int = 320) -> go.Figure:
    """Test MAE of each version next to 'tomorrow = today', so a user can see which version earns its place."""
    import plotly.graph_objects as go

    fig = _figure(height, None)
    if not models:
        return _placeholder(fig, "no trained versions yet")
    from core.model.architectures import ZOO

    labels, kinds, model_mae, pers_mae, skills, val, colours = [], [], [], [], [], [], []
    for m in sorted(models, key=lambda x: int(x["version"])):
        metrics = (m.get("meta") or {}).get("metrics") or {}
        active = bool(m.get("active"))
        labels.append(f"v{int(m['version'])}" + (" (active)" if active else ""))
        name = (((m.get("meta") or {}).get("config") or {}).get("model") or {}).get("name") or ""
        kinds.append(_safe(ZOO[name].label if name in ZOO else name or "model"))
        model_mae.append(_nan(_mae(metrics, "model")))
        pers_mae.append(_nan(_mae(metrics, "persistence")))
        skills.append(_nan(metrics.get("skill_vs_persistence")))
        val.append(_nan(m.get("val_mae")))
        colours.append(FORECAST if active else _hex_rgba(FORECAST, 0.55))
    fmt = _value_format(model_mae + pers_mae)
    suffix = _unit_suffix(unit)
    custom = np.array([skills, val], dtype=float).T
    fig.add_trace(
        go.Bar(
            x=labels,
            y=model_mae,
            name="model",
            marker={
                "color": colours,
                "line": {
                    "color": [OBSERVED if "active" in lb else colours[i] for i, lb in enumerate(labels)],
                    "width": 2,
                },
            },
            customdata=custom,
            hovertext=kinds,
            hovertemplate=(
                f"%{{x}}: %{{hovertext}}<br>model MAE %{{y:{fmt}}}{suffix}<br>skill vs persistence "
                f"%{{customdata[0]:.1%}}<br>validation MAE %{{customdata[1]:{fmt}}}{suffix}<extra></extra>"
            ),
        )
    )
    fig.add_trace(
        go.Bar(
            x=labels,
            y=pers_mae,
            name="persistence (tomorrow = today)",
            marker={"color": PERSISTENCE},
            hovertemplate=f"%{{x}}<br>persistence MAE %{{y:{fmt}}}{suffix}<extra></extra>",
        )
    )
    fig.update_layout(barmode="group", bargap=0.25, hovermode="closest")
    fig.update_yaxes(title_text=_axis_label("test MAE", unit), rangemode="tozero", tickformat=_tick_format(fmt))
    fig.update_xaxes(type="category", title_text="model version")
    _legend_below_axis_title(fig)
    return fig


def _nan(value: Any) -> float:
    try:
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def lead_error_figure(metrics: Mapping[str, Any], *, unit: str | None = None, height: int = 300) -> go.Figure:
    """MAE by lead day for the model and persistence: how fast confidence decays over the week."""
    import plotly.graph_objects as go

    fig = _figure(height, None)
    model = [_nan(v) for v in (_mae(metrics, "model", "mae_by_horizon") or [])]
    pers = [_nan(v) for v in (_mae(metrics, "persistence", "mae_by_horizon") or [])]
    if not model and not pers:
        return _placeholder(fig, "no test scores for this version")
    fmt = _value_format(model + pers)
    suffix = _unit_suffix(unit)
    n = max(len(model), len(pers))
    leads = list(range(1, n + 1))
    skill = [
        1 - m / p if i < len(pers) and math.isfinite(m) and math.isfinite(p := pers[i]) and p != 0 else float("nan")
        for i, m in enumerate(model)
    ]
    if model:
        fig.add_trace(
            go.Scatter(
                x=leads[: len(model)],
                y=model,
                mode="lines+markers",
                name="model",
                line={"color": FORECAST, "width": 2.5},
                marker={"size": 7},
                customdata=skill,
                hovertemplate=f"%{{y:{fmt}}}{suffix} (skill %{{customdata:.1%}})<extra>model</extra>",
            )
        )
    _persistence_by_lead(fig, pers, unit, fmt, marker_size=6)
    _legend_below_axis_title(fig)
    return fig


def _persistence_by_lead(
    fig: go.Figure, pers: list[float], unit: str | None, fmt: str, *, marker_size: int, meta: dict | None = None
) -> None:
    """The dashed 'tomorrow = today' reference and the shared axes of the error-by-lead-day charts."""
    import plotly.graph_objects as go

    if pers:
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(pers) + 1)),
                y=pers,
                mode="lines+markers",
                name="persistence (tomorrow = today)",
                line={"color": PERSISTENCE, "width": 2, "dash": "dash"},
                marker={"size": marker_size},
                meta=meta,
                hovertemplate=f"%{{y:{fmt}}}{_unit_suffix(unit)}<extra>persistence</extra>",
            )
        )
    fig.update_xaxes(title_text="lead (days ahead)", dtick=1, hoverformat="d")
    fig.update_yaxes(title_text=_axis_label("test MAE", unit), rangemode="tozero", tickformat=_tick_format(fmt))
    fig.update_layout(hovermode="x unified")


# ---------------------------------------------------------------- overview cards


def sparkline_figure(
    history: pd.Series, forecast: Forecast | None = None, *, height: int = 80, days: int = 30
) -> go.Figure:
    """A thumbnail trend for an overview card: the last month and the forecast, which gets about a fifth of the width.

    The y range holds the history, the forecast and its 80% band, padded, so a peak is never clipped on a ~230 px card.
    """
    import plotly.graph_objects as go

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
    series = pd.Series(history, dtype=float) if len(history) else pd.Series(dtype=float)
    if len(series):
        series.index = pd.DatetimeIndex(series.index)
        series = series.sort_index()
        if forecast is not None:
            series = series[series.index <= pd.Timestamp(forecast.issued)]
        if len(series):
            series = series[series.index > series.index.max() - pd.Timedelta(days=days)]
    unit = forecast.unit if forecast is not None else None
    fmt = _value_format(series.to_numpy())
    fig.add_trace(
        go.Scatter(
            x=series.index,
            y=series.to_numpy(),
            mode="lines",
            name="observed",
            line={"color": OBSERVED, "width": 1.5},
            hovertemplate=f"%{{x|%Y-%m-%d}}: %{{y:{fmt}}}{_unit_suffix(unit)}<extra></extra>",
        )
    )
    if forecast is not None and forecast.points:
        xs = [pd.Timestamp(forecast.last_observed["date"])] + [pd.Timestamp(p.date) for p in forecast.points]
        ys = [float(forecast.last_observed["value"])] + [float(p.value) for p in forecast.points]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="forecast",
                line={"color": FORECAST, "width": 2, "dash": "dash"},
                hovertemplate=f"%{{x|%Y-%m-%d}}: %{{y:{fmt}}}{_unit_suffix(unit)}<extra>forecast</extra>",
            )
        )
        extent = [*ys]
        band = _own_bands(forecast).get("80")
        if band is not None:
            days_x = xs[1:]
            fig.add_trace(
                go.Scatter(
                    x=[*days_x, *days_x[::-1]],
                    y=[*band[1], *band[0][::-1]],
                    fill="toself",
                    mode="lines",
                    line={"width": 0},
                    fillcolor=_hex_rgba(FORECAST, 0.18),
                    name="80% band",
                    hoverinfo="skip",
                )
            )
            extent += [float(v) for v in (*band[0], *band[1])]
        values = _finite([*series.to_numpy(), *extent])
        if values:
            low, high = min(values), max(values)
            pad = (high - low) * 0.08 or abs(high) * 0.01 or 1.0
            fig.update_yaxes(range=[low - pad, high + pad])
        start = series.index.min() if len(series) else xs[0]
        fig.update_xaxes(range=[start, xs[-1] + pd.Timedelta(hours=12)])
    return fig


# ---------------------------------------------------------------- model zoo leaderboard and attention

# One colour per zoo member, so a model keeps its colour across the leaderboard's charts; the default net
# is the forecast blue and persistence the reference grey, as everywhere else.
MODEL_COLOURS: dict[str, str] = {
    "persistence": PERSISTENCE,
    "climatology": "#b8a06a",  # sand
    "ridge": "#7b5ea7",  # purple
    "random_forest": "#2e8b57",  # green
    "mlp": "#c2549b",  # pink
    "conv1d": FORECAST,  # the default model: the forecast blue
    "lstm": "#c9a227",  # gold
    "conv_lstm": "#8c564b",  # brown
    "conv_lstm_skip": "#17a2b8",  # teal
    "conv_lstm_attention": "#d95f02",  # dark orange
}
EXTRA_COLOURS = ("#e07b39", "#6b8e23", "#9467bd", "#d62728")  # members added to the zoo later
BEST_COLOUR = "#d4a017"  # the gold star of the best epoch, here the best model on validation
LEADERBOARD_METRICS: dict[str, str] = {  # metric -> axis title
    "skill": "skill vs persistence on the test days",
    "val_skill": "skill vs persistence on the validation days",
    "mae": "test MAE",
}
SKILL_FLOOR = -1.0  # skills below -100% are cut at the axis (value written on the bar) so the others stay readable


def model_colour(model: str, index: int = 0) -> str:
    """The colour a zoo member has on every leaderboard chart (unknown names cycle through spare colours)."""
    return MODEL_COLOURS.get(model, EXTRA_COLOURS[index % len(EXTRA_COLOURS)])


def _ranked(board: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The leaderboard rows best first (rank = validation MAE), whatever order they were given in."""
    rows = list(board.get("models") or [])
    return sorted(rows, key=lambda r: (r.get("rank") is None, r.get("rank") or 0))


def model_name(row: Mapping[str, Any], board: Mapping[str, Any]) -> str:
    """'Ridge regression', with '(default)' for the app's default net and '★' for the best on validation."""
    text = str(row.get("label") or row["model"])
    if row["model"] == board.get("default"):
        text += " (default)"
    if row["model"] == board.get("best"):
        text = "★ " + text
    return _safe(text)


def _board_value(row: Mapping[str, Any], metric: str) -> float:
    metrics = row.get("metrics") or {}
    if metric == "skill":
        return _nan(metrics.get("skill_vs_persistence"))
    if metric == "val_skill":
        return _nan(row.get("val_skill"))
    return _nan(_mae(metrics, "model"))


def leaderboard_bars(
    board: Mapping[str, Any], metric: str = "skill", *, unit: str | None = None, height: int | None = None
) -> go.Figure:
    """One bar per model, best on validation at the top: which members beat 'tomorrow = today', and by how much.

    metric: "skill" (test skill vs persistence, the default), "val_skill" (the skill that ranked them) or
    "mae" (test MAE in the target's unit). Bars that beat persistence are blue, the others grey; the
    default net has a dark outline, the recommended (best on validation) one a gold star.
    """
    import plotly.graph_objects as go

    if metric not in LEADERBOARD_METRICS:
        raise ValueError(f"Unknown leaderboard metric '{metric}'; use one of {', '.join(LEADERBOARD_METRICS)}.")
    rows = _ranked(board)
    fig = _figure(height or max(260, 34 * len(rows) + 130), None)
    if not rows:
        return _placeholder(fig, "no models compared yet")
    skill_metric = metric != "mae"
    values = [_board_value(r, metric) for r in rows]
    names = [model_name(r, board) for r in rows]
    persistence = _nan(_mae(rows[0].get("metrics"), "persistence"))
    if skill_metric:
        beats = [math.isfinite(v) and v > 0 for v in values]
        fmt, suffix = ".0%", ""
        texts = [f"{v:+.0%}" if math.isfinite(v) else "n/a" for v in values]
    else:
        beats = [math.isfinite(v) and math.isfinite(persistence) and v < persistence for v in values]
        fmt, suffix = _value_format([*values, persistence]), _unit_suffix(unit)
        texts = [f"{v:{_py_fmt(fmt)}}{suffix}" if math.isfinite(v) else "n/a" for v in values]
    finite = _finite(values)
    low = min([0.0, *finite])
    cut = skill_metric and low < SKILL_FLOOR
    if cut:
        low = SKILL_FLOOR
    high = max([0.0, *finite, persistence if not skill_metric and math.isfinite(persistence) else 0.0])
    span = (high - low) or 1.0
    shown = [max(v, low) if math.isfinite(v) else 0.0 for v in values]
    default = [r["model"] == board.get("default") for r in rows]
    fill = [FORECAST if b else "#b3b3b3" for b in beats]
    fig.add_trace(
        go.Bar(
            x=shown,
            y=names,
            orientation="h",
            name=LEADERBOARD_METRICS[metric],
            marker={
                "color": [c if d else _hex_rgba(c, 0.6) for c, d in zip(fill, default, strict=True)],
                "line": {"color": [OBSERVED if d else "rgba(0,0,0,0)" for d in default], "width": 2.5},
            },
            text=texts,
            textposition=["inside" if cut and v < SKILL_FLOOR else "outside" for v in values],
            cliponaxis=False,
            customdata=np.array(
                [[r.get("version"), r.get("rank"), t] for r, t in zip(rows, texts, strict=True)], dtype=object
            ),
            hovertemplate="%{y}<br>version %{customdata[0]}, rank %{customdata[1]} on validation"
            "<br>" + LEADERBOARD_METRICS[metric] + ": %{customdata[2]}<extra></extra>",
            showlegend=False,
        )
    )
    best = [i for i, r in enumerate(rows) if r["model"] == board.get("best")]
    if best:
        i = best[0]
        fig.add_trace(
            go.Scatter(
                x=[low - 0.04 * span],
                y=[names[i]],
                mode="markers",
                name="recommended: best on the validation days",
                marker={"symbol": "star", "size": 16, "color": BEST_COLOUR, "line": {"width": 1, "color": "#222"}},
                hovertemplate="best on the validation days: the recommended model<extra></extra>",
                cliponaxis=False,
            )
        )
    reference = 0.0 if skill_metric else persistence
    if math.isfinite(reference):
        fig.add_vline(
            x=reference,
            line={"color": PERSISTENCE, "width": 2, "dash": "dash"},
            annotation={
                "text": "persistence (tomorrow = today)",
                "font": {"size": 11, "color": "#555"},
                "yanchor": "bottom",
            },
            annotation_position="top",
        )
    fig.update_yaxes(autorange="reversed", type="category", title_text=None, ticksuffix="  ")
    fig.update_xaxes(
        title_text=_axis_label(LEADERBOARD_METRICS[metric], None if skill_metric else unit),
        tickformat=".0%" if skill_metric else _tick_format(fmt),
        range=[low - 0.08 * span, high + 0.16 * span],
        zeroline=False,
    )
    fig.update_layout(bargap=0.3, hovermode="closest", margin={"t": 40, "l": 12})
    _legend_below_axis_title(fig)
    return fig


def _chosen(board: Mapping[str, Any], models: Sequence[str] | None) -> list[Mapping[str, Any]]:
    """The requested rows in rank order; a name not on the board is an error that lists the board's models."""
    rows = _ranked(board)
    if models is None:
        return rows
    known = {r["model"] for r in rows}
    unknown = [m for m in models if m not in known]
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)} is not on this leaderboard; it has {', '.join(r['model'] for r in rows)}."
        )
    return [r for r in rows if r["model"] in set(models)]


def _legend_right(fig: go.Figure) -> None:
    """Many models: a vertical legend right of the plot reads better than several rows under it."""
    fig.update_layout(
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        margin={"r": 12},
    )


def leaderboard_lead_errors(
    board: Mapping[str, Any], unit: str | None = None, *, models: Sequence[str] | None = None, height: int = 380
) -> go.Figure:
    """Test MAE by lead day, one line per model next to persistence (dashed): who holds up further ahead."""
    import plotly.graph_objects as go

    fig = _figure(height, None)
    rows = _chosen(board, models)
    if not rows:
        return _placeholder(fig, "no models compared yet")
    suffix = _unit_suffix(unit)
    pers = [_nan(v) for v in (_mae(rows[0].get("metrics"), "persistence", "mae_by_horizon") or [])]
    every = list(pers)
    for i, row in enumerate(rows):
        if row["model"] == "persistence":
            continue  # the same numbers as the dashed reference line
        errors = [_nan(v) for v in (_mae(row.get("metrics"), "model", "mae_by_horizon") or [])]
        every += errors
        default = row["model"] == board.get("default")
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(errors) + 1)),
                y=errors,
                mode="lines+markers",
                name=model_name(row, board),
                line={"color": model_colour(row["model"], i), "width": 3.5 if default else 2},
                marker={"size": 7 if default else 5},
                meta={"model": row["model"]},
            )
        )
    fmt = _value_format(every)
    for trace in fig.data:
        trace.hovertemplate = f"%{{y:{fmt}}}{suffix}<extra>{trace.name}</extra>"
    _persistence_by_lead(fig, pers, unit, fmt, marker_size=5, meta={"model": "persistence"})
    _legend_right(fig)
    return fig


def _lead_pairs(
    board: Mapping[str, Any], row: Mapping[str, Any], lead: int
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Issue dates, observed and forecast values at one lead day over the test windows."""
    test = board.get("test") or {}
    truth = np.asarray(test.get("truth") or [], dtype=float)
    pred = np.asarray(row.get("test_pred") or [], dtype=float)
    if truth.ndim != 2 or pred.shape != truth.shape:
        return [], np.array([]), np.array([])
    if not 1 <= lead <= truth.shape[1]:
        raise ValueError(f"Lead day must be between 1 and {truth.shape[1]}, not {lead}.")
    return list(test.get("issued") or []), truth[:, lead - 1], pred[:, lead - 1]


def _target(board: Mapping[str, Any]) -> str:
    return str(board.get("target") or "value")


def observed_vs_predicted(
    board: Mapping[str, Any],
    models: Sequence[str] | None = None,
    lead: int = 1,
    unit: str | None = None,
    *,
    height: int = 460,
) -> go.Figure:
    """Forecast against what happened on the test days at one lead day; a perfect model sits on the 1:1 line."""
    import plotly.graph_objects as go

    fig = _figure(height, None)
    rows = _chosen(board, models)
    target = _safe(_target(board))
    suffix = _unit_suffix(unit)
    extent: list[float] = []
    for i, row in enumerate(rows):
        issued, obs, pred = _lead_pairs(board, row, lead)
        if not len(obs):
            continue
        extent += _finite([*obs, *pred])
        fig.add_trace(
            go.Scatter(
                x=obs,
                y=pred,
                mode="markers",
                name=model_name(row, board),
                marker={"color": model_colour(row["model"], i), "size": 5, "opacity": 0.55},
                customdata=issued,
                meta={"model": row["model"]},
            )
        )
    if not extent:
        return _placeholder(fig, "no test forecasts to plot")
    fmt = _value_format(extent)
    for trace in fig.data:
        trace.hovertemplate = (
            f"issued %{{customdata}}<br>observed %{{x:{fmt}}}{suffix}<br>forecast %{{y:{fmt}}}{suffix}"
            f"<extra>{trace.name}</extra>"
        )
    lo, hi = min(extent), max(extent)
    pad = (hi - lo) * 0.03 or 1.0
    fig.add_trace(
        go.Scatter(
            x=[lo - pad, hi + pad],
            y=[lo - pad, hi + pad],
            mode="lines",
            name="1:1 (perfect forecast)",
            line={"color": OBSERVED, "width": 1.5, "dash": "dot"},
            hovertemplate=f"forecast = observed (%{{x:{fmt}}}{suffix})<extra></extra>",
        )
    )
    day = "day" if lead == 1 else "days"
    fig.update_xaxes(
        title_text=_axis_label(f"observed {target}", unit),
        range=[lo - pad, hi + pad],
        tickformat=_tick_format(fmt),
    )
    fig.update_yaxes(
        title_text=_axis_label(f"forecast {lead} {day} ahead", unit),
        range=[lo - pad, hi + pad],
        tickformat=_tick_format(fmt),
        scaleanchor="x",
        scaleratio=1,
    )
    fig.update_layout(hovermode="closest", meta={"lead": lead})
    _legend_below_axis_title(fig)
    return fig


def residual_distribution(
    board: Mapping[str, Any],
    models: Sequence[str] | None = None,
    lead: int = 1,
    unit: str | None = None,
    *,
    height: int = 420,
) -> go.Figure:
    """Forecast minus observed at one lead day, one box per model: centred on 0 = no bias, short = small misses."""
    import plotly.graph_objects as go

    rows = _chosen(board, models)
    fig = _figure(height, None)
    suffix = _unit_suffix(unit)
    every: list[float] = []
    for i, row in enumerate(rows):
        issued, obs, pred = _lead_pairs(board, row, lead)
        if not len(obs):
            continue
        residual = pred - obs
        every += _finite(residual)
        colour = model_colour(row["model"], i)
        name = model_name(row, board)
        fig.add_trace(
            go.Box(
                y=residual,
                x=[name.replace(" (default)", "<br>(default)")] * len(residual),
                name=name,
                marker={"color": colour, "size": 3},
                line={"color": colour},
                fillcolor=_hex_rgba(colour, 0.25),
                boxmean=True,
                boxpoints="outliers",
                customdata=issued,
                meta={"model": row["model"]},
                showlegend=False,
            )
        )
    if not every:
        return _placeholder(fig, "no test forecasts to plot")
    fmt = _value_format(every)
    for trace in fig.data:
        trace.hovertemplate = f"issued %{{customdata}}: %{{y:+{fmt.lstrip(',')}}}{suffix}<extra>{trace.name}</extra>"
    fig.add_hline(y=0, line={"color": OBSERVED, "width": 1.5, "dash": "dot"})
    day = "day" if lead == 1 else "days"
    fig.update_yaxes(
        title_text=f"forecast − observed{f' ({unit})' if unit else ''}, {lead} {day} ahead",
        tickformat=_tick_format(fmt),
        zeroline=False,
    )
    fig.update_xaxes(type="category", title_text="above 0 = forecast too high, below 0 = too low")
    fig.update_layout(hovermode="closest", meta={"lead": lead})
    return fig


def attention_figure(forecast: Forecast, *, height: int = 340) -> go.Figure:
    """How much each of the input days weighed in this forecast (attention nets only), in % of the total."""
    import plotly.graph_objects as go

    fig = _figure(height, None)
    attention = getattr(forecast, "attention", None) or {}
    dates = [str(d) for d in attention.get("dates") or []]
    weights = [_nan(w) for w in attention.get("weights") or []]
    if not dates or len(dates) != len(weights):
        return _placeholder(fig, "this model does not report which past days it used")
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
            marker={"color": [FORECAST if s == top else _hex_rgba(FORECAST, 0.5) for s in shares]},
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
    _legend_below_axis_title(fig)
    return fig
