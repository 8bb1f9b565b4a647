"""The house style every chart shares: palette, fonts, number formats, the base layout, legends, safe user text.

One palette for every chart, so a colour means the same thing on every page and in every report.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.model.zoo import ZOO

if TYPE_CHECKING:  # plotly loads only when a figure is drawn
    import plotly.graph_objects as go

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
EXTRA_COLOURS = ("#e07b39", "#6b8e23", "#9467bd", "#d62728")  # names no zoo member declares (older versions)
BEST_COLOUR = "#d4a017"  # the gold star of the best epoch, and of the best model on validation
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


def model_colour(model: str, index: int = 0) -> str:
    """The colour a zoo member declares for every leaderboard chart (unknown names cycle through spare colours)."""
    return ZOO[model].colour if model in ZOO else EXTRA_COLOURS[index % len(EXTRA_COLOURS)]


def base_figure(height: int, title: str | None) -> go.Figure:
    """Empty figure with the house layout: white template, readable font, horizontal legend at the bottom."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        font={"family": FONT_FAMILY, "size": 13, "color": "#222"},
        title={"text": safe_text(title), "x": 0.01, "xanchor": "left", "font": {"size": 16}} if title else None,
        margin={"l": 64, "r": 24, "t": 64 if title else 28, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.14, "x": 0, "xanchor": "left"},
        hoverlabel={"font": {"family": FONT_FAMILY}},
    )
    fig.update_xaxes(gridcolor=GRID, zeroline=False)
    fig.update_yaxes(gridcolor=GRID, zeroline=False)
    return fig


def legend_below_axis_title(fig: go.Figure) -> None:
    """Room under the x-axis title for the horizontal legend, so the two never overlap (placed in pixels)."""
    height = int(fig.layout.height or 320)
    margin = fig.layout.margin
    bottom = 100
    plot = max(height - int(margin.t or 0) - bottom, 60)
    fig.update_layout(margin={"b": bottom}, legend={"y": -62 / plot, "yanchor": "top"})  # ticks + title ~ 55 px


def legend_right(fig: go.Figure) -> None:
    """Many models: a vertical legend right of the plot reads better than several rows under it."""
    fig.update_layout(
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        margin={"r": 12},
    )


def placeholder(fig: go.Figure, text: str) -> go.Figure:
    """A friendly message instead of empty axes when there is nothing to draw yet."""
    fig.add_annotation(
        text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 15, "color": "#666"}
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def safe_text(text: str | None) -> str | None:
    """User text (reservoir and level names) as plain text: plotly renders a subset of HTML in labels."""
    return None if text is None else html.escape(str(text), quote=False)


def axis_label(variable: str, unit: str | None) -> str:
    """'level (m)', or the bare name when the unit is unknown, so axes never show '(None)'."""
    return f"{variable} ({unit})" if unit else variable


def unit_suffix(unit: str | None) -> str:
    """' m' after a hover value, or nothing when the unit is unknown."""
    return f" {unit}" if unit else ""


def finite_values(values: Iterable[Any]) -> list[float]:
    """The values that are real numbers, so ranges and formats ignore gaps, None and text."""
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def as_float(value: Any) -> float:
    """A stored metric as a float, NaN when absent or unreadable, so a missing score plots as a gap."""
    try:
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def as_series(values: pd.Series | pd.DataFrame, column: str) -> pd.Series:
    """Accept either the frame with a column per variable or the variable's own series."""
    if isinstance(values, pd.DataFrame):
        if column not in values.columns:
            raise ValueError(f"No column '{column}' to chart; the frame has {', '.join(map(str, values.columns))}.")
        values = values[column]
    series = pd.to_numeric(values, errors="coerce").astype(float)
    series.index = pd.DatetimeIndex(series.index)
    return series.sort_index()


def rgba(colour: str, alpha: float) -> str:
    """'#1f6fb2' at some opacity, for fans, zones and de-emphasised bars in the palette's own colours."""
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha:.2f})"
