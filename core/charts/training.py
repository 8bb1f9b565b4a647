"""The training loss chart: learning (and over-fitting) as it happens, epoch by epoch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.charts.style import (
    BEST_COLOUR,
    FORECAST,
    VALIDATION,
    base_figure,
    finite_values,
    legend_below_axis_title,
    placeholder,
)

if TYPE_CHECKING:  # plotly loads only when a figure is drawn
    import plotly.graph_objects as go

# The loss is the mean absolute error of the daily change scaled by its typical size on the training days
# (core.model.preprocess: delta_scale), so its unit is "typical daily changes" whatever the reading's unit.
LOSS_AXIS = "error, in typical daily changes (lower is better)"


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


def _draw_losses(fig: go.Figure, frame: pd.DataFrame) -> None:
    """One line each for the training and validation error, with the epoch's duration in the hover."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

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
                    hovertemplate="epoch %{x}: mean absolute error %{y:.3f} typical daily changes "
                    "(%{customdata:.1f} s)<extra>" + name + "</extra>",
                )
            )


def _draw_best_epoch(fig: go.Figure, frame: pd.DataFrame, best_epoch: int | None) -> None:
    """A gold star and a dotted line at the kept epoch (lowest validation error unless told)."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    if best_epoch is None and frame["val_loss"].notna().any():
        best_epoch = int(frame.loc[frame["val_loss"].idxmin(), "epoch"])
    if best_epoch is None or not (frame["epoch"] == best_epoch).any():
        return
    row = frame[frame["epoch"] == best_epoch].iloc[0]
    y = row["val_loss"] if pd.notna(row["val_loss"]) else row["loss"]
    fig.add_trace(
        go.Scatter(
            x=[best_epoch],
            y=[y],
            mode="markers",
            name=f"best epoch ({best_epoch})",
            marker={"symbol": "star", "size": 14, "color": BEST_COLOUR, "line": {"width": 1, "color": "#222"}},
            hovertemplate="best epoch %{x}: %{y:.4g}<extra></extra>",
        )
    )
    fig.add_vline(x=best_epoch, line={"color": "#999", "width": 1, "dash": "dot"})


def _loss_axes(fig: go.Figure, frame: pd.DataFrame) -> None:
    """Log scale when the error falls by more than 10x; whole-epoch ticks on the x axis."""
    losses = finite_values([*frame["loss"], *frame["val_loss"]])
    positive = [v for v in losses if v > 0]
    log_y = bool(positive) and len(positive) == len(losses) and max(positive) / min(positive) > 10
    fig.update_yaxes(
        title_text=LOSS_AXIS, type="log" if log_y else "linear", dtick="D2" if log_y else None
    )
    few = int(frame["epoch"].max()) <= 12
    fig.update_xaxes(  # whole epochs only: every epoch when few, integer ticks otherwise
        title_text="epoch (one pass over the training days)",
        rangemode="tozero" if len(frame) > 1 else None,
        dtick=1 if few else None,
        tickformat="d",
        hoverformat="d",
    )


def loss_figure(epochs: Sequence[Mapping[str, Any]], *, best_epoch: int | None = None, height: int = 320) -> go.Figure:
    """Training and validation loss per epoch, so a user can see learning (and over-fitting) as it happens."""
    fig = base_figure(height, None)
    frame = _epoch_rows(epochs)
    if frame.empty:
        return placeholder(fig, "waiting for the first epoch")
    _draw_losses(fig, frame)
    _draw_best_epoch(fig, frame, best_epoch)
    _loss_axes(fig, frame)
    fig.update_layout(hovermode="x unified")
    legend_below_axis_title(fig)
    return fig
