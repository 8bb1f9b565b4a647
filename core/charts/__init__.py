"""Plotly figures shared by the dashboard pages and the CLI export, built from data only (no Streamlit, no I/O).

The builders live by figure family (forecast, history, training, leaderboard) on a shared house style (style) and
level drawing (levels); callers use them from here: `from core import charts; charts.forecast_figure(...)`.
Importing this package does not import plotly: each builder loads it when it draws.
"""

from __future__ import annotations

from core.charts.forecast import attention_figure, band_coverage_figure, forecast_figure, sparkline_figure
from core.charts.history import history_figure
from core.charts.leaderboard import (
    lead_error_figure,
    leaderboard_bars,
    leaderboard_lead_errors,
    observed_vs_predicted,
    residual_distribution,
    versions_figure,
)
from core.charts.revisions import draw_raw
from core.charts.scenarios import scenario_figure
from core.charts.style import model_colour, plotly_config
from core.charts.training import loss_figure

__all__ = [
    "attention_figure",
    "band_coverage_figure",
    "draw_raw",
    "forecast_figure",
    "history_figure",
    "lead_error_figure",
    "leaderboard_bars",
    "leaderboard_lead_errors",
    "loss_figure",
    "model_colour",
    "observed_vs_predicted",
    "plotly_config",
    "residual_distribution",
    "scenario_figure",
    "sparkline_figure",
    "versions_figure",
]
