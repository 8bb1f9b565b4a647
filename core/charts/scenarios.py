"""The what-if chart: the plain forecast and each release scenario's median with its 80 % band, from one issue day.

Built from data only (a core.forecast.scenario.WhatIf), so the Forecast page and a bulletin can draw the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from core.charts.style import (
    EXTRA_COLOURS,
    FORECAST,
    LEVEL_COLOURS,
    OBSERVED,
    axis_label,
    base_figure,
    legend_below_axis_title,
    safe_text,
)
from core.display import d3_format, number, tick_format

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from core.forecast.issue import Forecast
    from core.forecast.scenario import WhatIf


def _line(fig: go.Figure, forecast: Forecast, start: tuple[pd.Timestamp, float], name: str, colour: str,
          dash: str = "solid") -> None:  # fmt: skip
    """One median from the last observed reading, with its 80 % band shaded when the forecast has bands."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    dates = [start[0], *pd.to_datetime([p.date for p in forecast.points])]
    values = [start[1], *[p.value for p in forecast.points]]
    if forecast.points[0].lower_80 is not None:
        lower = [start[1], *[p.lower_80 for p in forecast.points]]
        upper = [start[1], *[p.upper_80 for p in forecast.points]]
        fig.add_trace(go.Scatter(x=dates + dates[::-1], y=upper + lower[::-1], fill="toself", fillcolor=colour,
                                 mode="lines", opacity=0.15, line={"width": 0}, hoverinfo="skip", showlegend=False,
                                 legendgroup=name))  # fmt: skip
    fig.add_trace(go.Scatter(x=dates, y=values, mode="lines+markers", name=safe_text(name), legendgroup=name,
                             line={"color": colour, "width": 2.5, "dash": dash}, marker={"size": 5}))  # fmt: skip


def _level_lines(fig: go.Figure, levels: tuple[dict, ...], unit: str | None) -> None:
    """The forecast's operating levels as labelled dotted lines, so a scenario crossing one shows."""
    for lv in levels:
        colour = LEVEL_COLOURS.get((lv["side"], lv["severity"]), "#666")
        label = f"{lv['name']} ({number(lv['value'], unit)})"
        fig.add_hline(y=lv["value"], line={"color": colour, "dash": "dot", "width": 1.5},
                      annotation_text=safe_text(label), annotation_position="top left",
                      annotation_font={"color": colour, "size": 12})  # fmt: skip


def scenario_figure(result: WhatIf, *, height: int = 380) -> go.Figure:
    """Plain forecast (dashed) and one coloured median + 80 % band per scenario, starting at the last reading;
    operating levels near the lines are drawn, far ones left out so the scenarios stay readable."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    title = f"{result.reservoir}: {result.target} if the release changes, issued {result.issued}"
    fig = base_figure(height, title)
    start = (pd.Timestamp(result.plain.last_observed["date"]), float(result.plain.last_observed["value"]))
    _line(fig, result.plain, start, "plain forecast (today's release carries on)", FORECAST, "dash")
    for i, s in enumerate(result.scenarios):
        _line(fig, s.forecast, start, s.plan.name, EXTRA_COLOURS[i % len(EXTRA_COLOURS)])
    last = go.Scatter(
        x=[start[0]], y=[start[1]], mode="markers", name="last reading", marker={"color": OBSERVED, "size": 9}
    )
    fig.add_trace(last)
    values = [p.value for f in (result.plain, *(s.forecast for s in result.scenarios)) for p in f.points]
    lo, hi = min(values + [start[1]]), max(values + [start[1]])
    room = (hi - lo) * 0.5 or abs(hi) * 0.05
    _level_lines(fig, tuple(lv for lv in result.plain.levels if lo - room <= lv["value"] <= hi + room), result.unit)
    fmt = d3_format(values)
    fig.update_yaxes(title=axis_label(result.target, result.unit), tickformat=tick_format(fmt))
    fig.update_xaxes(tickformat="%b %d", dtick=86_400_000)
    legend_below_axis_title(fig)
    return fig
