"""The storage-elevation curve as a small chart for the Data page (storage across, elevation up)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.charts.style import axis_label, base_figure, unit_suffix
from core.data.curves import ELEVATION, STORAGE, Curve
from core.display import d3_format

if TYPE_CHECKING:
    import plotly.graph_objects as go


def curve_figure(curve: Curve, height: int = 300) -> go.Figure:
    """The curve's rows as a line with markers, so a kink or a mistyped row stands out."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig = base_figure(height, None)
    fig.add_trace(
        go.Scatter(
            x=list(curve.storage),
            y=list(curve.elevation),
            mode="lines+markers",
            name="curve",
            marker={"size": 5},
            hovertemplate=f"%{{x:{d3_format(curve.storage)}}}{unit_suffix(curve.storage_unit)} at "
            f"%{{y:{d3_format(curve.elevation)}}}"
            f"{unit_suffix(curve.elevation_unit)}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=axis_label(STORAGE, curve.storage_unit))
    fig.update_yaxes(title_text=axis_label(ELEVATION, curve.elevation_unit))
    fig.update_layout(showlegend=False, margin={"t": 16})
    return fig
