"""A variable's daily record with what QC did to each day: masked, interpolated, missing, flat-lined."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.charts.levels import axis_range, draw_levels, split_levels
from core.charts.style import (
    OBSERVED,
    as_series,
    axis_label,
    base_figure,
    finite_values,
    placeholder,
    unit_suffix,
)
from core.data.qc import MASKED_FLAGS, QcFlag
from core.display import d3_format, tick_format

if TYPE_CHECKING:  # plotly loads only when a figure is drawn
    import plotly.graph_objects as go

    from core.data.levels import OperatingLevel

FLAG_STYLES: dict[QcFlag, tuple[str, str, str]] = {  # code -> (legend label, colour, marker symbol)
    QcFlag.INTERPOLATED: ("interpolated", "#17a2b8", "circle-open"),
    QcFlag.MASKED_SPIKE: ("spike masked", "#d62728", "x"),
    QcFlag.MASKED_IMPOSSIBLE: ("impossible value masked", "#9467bd", "diamond"),
    QcFlag.MASKED_SENTINEL: ("logger code masked", "#e377c2", "square"),
    QcFlag.MASKED_COMPANION: ("companion of a code masked", "#8c564b", "square-open"),
    QcFlag.OUT_OF_RANGE: ("out of range, kept", "#ff7f0e", "diamond-open"),
    QcFlag.MISSING: ("missing", "rgba(140, 140, 140, 0.18)", "square"),
    QcFlag.FLATLINE: ("flat-lined sensor", "#bcbd22", "triangle-up"),
}
RANGE_BUTTONS = (
    {"count": 3, "label": "3m", "step": "month", "stepmode": "backward"},
    {"count": 1, "label": "1y", "step": "year", "stepmode": "backward"},
    {"count": 5, "label": "5y", "step": "year", "stepmode": "backward"},
    {"step": "all", "label": "all"},
)


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of consecutive True runs."""
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _draw_missing(fig: go.Figure, index: pd.DatetimeIndex, hit: np.ndarray, label: str, colour: str) -> None:
    """Grey day-wide bands over missing days, one legend entry for all of them."""
    # Set in one go: add_vrect per span re-validates the whole layout each time (slow for decades).
    spans = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": index[a] - pd.Timedelta(hours=12),
            "x1": index[b] + pd.Timedelta(hours=12),
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


def _raw_daily(raw: pd.DataFrame | pd.Series | None, variable: str, index: pd.DatetimeIndex) -> pd.Series | None:
    """The raw reading behind each day, for the hover of masked points (sub-daily readings averaged per day)."""
    if raw is None:
        return None
    raw_all = as_series(raw, variable)
    return raw_all.groupby(raw_all.index.normalize()).mean().reindex(index)


def _draw_flags(
    fig: go.Figure,
    series: pd.Series,
    flags: pd.DataFrame | pd.Series,
    variable: str,
    raw: pd.Series | None,
    hover: tuple[str, str],
) -> None:
    """One marker trace per QC code (bands for missing days); masked points sit where the line would have passed."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fmt, suffix = hover
    codes = as_series(flags, variable).reindex(series.index).fillna(int(QcFlag.OK)).astype(int).to_numpy()
    guide = series.interpolate(limit_area="inside").ffill().bfill()
    for code, (label, colour, symbol) in FLAG_STYLES.items():
        hit = codes == code
        if not hit.any():
            continue
        if code == QcFlag.MISSING:
            _draw_missing(fig, series.index, hit, label, colour)
            continue
        idx = np.flatnonzero(hit)
        ys = (guide if code in MASKED_FLAGS else series).to_numpy()[idx]
        if raw is not None and code in MASKED_FLAGS:
            raw_vals = raw.to_numpy()[idx]
            text = [f"raw {v:{fmt}}{suffix}" if np.isfinite(v) else "raw missing" for v in raw_vals]
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
                meta={"flag": int(code)},
                hovertemplate=f"{label} %{{text}}<extra></extra>",
            )
        )


def _history_axes(fig: go.Figure, title: str | None) -> None:
    """Date axis with a range slider and 3m/1y/5y/all buttons; the legend goes on top, right of the buttons."""
    fig.update_xaxes(
        hoverformat="%Y-%m-%d (%a)",
        rangeslider={"visible": True, "thickness": 0.08},
        rangeselector={"buttons": list(RANGE_BUTTONS), "x": 0, "y": 1.0, "yanchor": "bottom"},
    )
    fig.update_layout(
        hovermode="x unified",
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        margin={"t": 72 if title else 44},
    )


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
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    series = as_series(values, variable)
    fig = base_figure(height, title)
    if series.dropna().empty:
        return placeholder(fig, f"No {variable} readings to show yet.")
    suffix = unit_suffix(unit)
    fmt = d3_format(series.to_numpy())
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
        _draw_flags(fig, series, flags, variable, _raw_daily(raw, variable, series.index), (fmt, suffix))
    data = finite_values(series.to_numpy())
    near, far = split_levels(levels, variable, unit, data)
    draw_levels(fig, near, far, unit, data, prefer=("end", "middle", "start"))  # the range buttons sit top left
    fig.update_yaxes(title_text=axis_label(variable, unit), range=axis_range(data, near), tickformat=tick_format(fmt))
    _history_axes(fig, title)
    return fig
