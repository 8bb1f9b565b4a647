"""Raw beside revised: the readings as imported drawn over a history chart of the revised series."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.charts.style import PERSISTENCE, unit_suffix
from core.display import d3_format

if TYPE_CHECKING:  # plotly loads only when a figure is drawn
    import plotly.graph_objects as go

RAW_LABEL = "raw (as imported)"
REVISED_LABEL = "revised by an operator"
REVISED_COLOUR = "#ff7f0e"


def draw_raw(fig: go.Figure, raw: pd.Series, changed: pd.DataFrame, unit: str | None) -> go.Figure:
    """Add the raw series (dotted grey) and a marker on each revised day whose hover gives raw and revised values.

    `changed` is core.app.revise.revised_days: one row per day a revision changed, columns 'raw' and 'revised'.
    """
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    suffix = unit_suffix(unit)
    fmt = d3_format(raw.to_numpy())
    fig.add_trace(
        go.Scatter(
            x=raw.index,
            y=raw.to_numpy(),
            mode="lines",
            name=RAW_LABEL,
            line={"color": PERSISTENCE, "width": 1.1, "dash": "dot"},
            connectgaps=False,
            hovertemplate=f"%{{y:{fmt}}}{suffix}<extra>raw</extra>",
        )
    )
    if changed.empty:
        return fig
    shown = changed["revised"].where(changed["revised"].notna(), changed["raw"])  # a marked-bad day sits on raw
    spell = fmt
    text = [
        f"raw {_word(r, spell)}{suffix} → revised {_word(v, spell)}{suffix if np.isfinite(v) else ''}"
        for r, v in zip(changed["raw"].to_numpy(), changed["revised"].to_numpy(), strict=True)
    ]
    fig.add_trace(
        go.Scatter(
            x=changed.index,
            y=shown.to_numpy(),
            mode="markers",
            name=REVISED_LABEL,
            marker={"color": REVISED_COLOUR, "symbol": "star", "size": 8},
            text=text,
            hovertemplate="%{text}<extra>revised</extra>",
        )
    )
    return fig


def _word(value: float, spell: str) -> str:
    """A value for the hover; 'missing' when there is none."""
    return f"{value:{spell}}" if np.isfinite(value) else "missing"
