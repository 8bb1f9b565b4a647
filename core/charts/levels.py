"""Operating levels on a chart: which belong to it, labelled lines for the near ones, a note naming the far ones,
severity-shaded zones, and an axis range that shows the data and the drawn levels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.charts.style import LEVEL_COLOURS, LEVEL_DASH, rgba, safe_text, unit_suffix
from core.data.variables import canonical_name
from core.display import entered

if TYPE_CHECKING:  # plotly loads only when a figure is drawn
    import plotly.graph_objects as go

    from core.data.levels import OperatingLevel

LEVEL_MARGIN = 0.3  # levels within 30% of the data span beyond the data are drawn; farther ones are listed
LABEL_PX = 18  # height of a level's label in pixels (11 px text and its padding): closer labels would overlap
AXIS_PX = 40  # room the x-axis and a legend below it take from the plot, beyond the figure's margins
LABEL_SLOTS = ("start", "middle", "end")  # where along its line a label may sit, in the order tried


def label_slots(
    levels: Sequence[OperatingLevel], y_range: list[float] | None, plot_px: float, prefer: Sequence[str] = LABEL_SLOTS
) -> dict[str, str]:
    """Level name -> where its label sits along the line, so no two labels overlap: a label that would cover the
    one below it at the same place moves along its line (left, middle, right) to the first free place.

    A flood label sits above its line and a drought label below it, so each covers LABEL_PX pixels on one side.
    """
    if not levels:
        return {}
    if not y_range or plot_px <= 0:
        return {lv.name: prefer[0] for lv in levels}
    per_px = (y_range[1] - y_range[0]) / plot_px
    height = LABEL_PX * per_px
    placed: dict[str, list[tuple[float, float]]] = {slot: [] for slot in prefer}
    out = {}
    for lv in sorted(levels, key=lambda x: float(x.value)):
        value = float(lv.value)
        box = (value, value + height) if lv.side != "drought" else (value - height, value)
        free = [s for s in prefer if all(box[1] <= lo or box[0] >= hi for lo, hi in placed[s])]
        slot = free[0] if free else prefer[0]
        placed[slot].append(box)
        out[lv.name] = slot
    return out


def level_matches(level: OperatingLevel, variable: str, unit: str | None) -> bool:
    """A level belongs on a chart of `variable` when it is set on that variable or in the chart's unit."""
    if canonical_name(str(level.variable)) == canonical_name(variable) or level.variable == variable:
        return True
    return bool(level.unit and unit and level.unit.strip() == unit.strip())


def level_label(level: OperatingLevel, unit: str | None = None) -> str:
    """'Flood warning 312.0 m': the text written on a level line."""
    return safe_text(f"{level.name} {entered(float(level.value))}{unit_suffix(level.unit or unit)}")


def split_levels(
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


def draw_levels(
    fig: go.Figure,
    near: Sequence[OperatingLevel],
    far: Sequence[OperatingLevel],
    unit: str | None,
    data: list[float],
    prefer: Sequence[str] = LABEL_SLOTS,
) -> None:
    """Horizontal labelled lines for the near levels (labels moved along their lines where they would overlap;
    `prefer`: the places tried, in order) and a small note naming the far ones."""
    middle = (min(data) + max(data)) / 2 if data else 0.0
    margin = fig.layout.margin
    plot_px = float(fig.layout.height or 450) - float(margin.t or 64) - float(margin.b or 40) - AXIS_PX
    slots = label_slots(near, axis_range(data, near), plot_px, prefer)
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
                "textposition": slots.get(lv.name, prefer[0]),
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
            text=("↑ " if above else "↓ ") + "off chart: " + "<br>".join(level_label(lv, unit) for lv in group),
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


def draw_zones(fig: go.Figure, near: Sequence[OperatingLevel], y_range: list[float] | None) -> None:
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
                fillcolor=rgba(LEVEL_COLOURS.get((lv.side, lv.severity), "#999999"), 0.08),
                line={"width": 0},
                layer="below",
            )


def axis_range(data: list[float], levels: Sequence[OperatingLevel]) -> list[float] | None:
    """Axis range covering the data and the drawn levels, with a little air."""
    values = data + [float(lv.value) for lv in levels]
    if not values:
        return None
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.06 or max(abs(hi) * 0.02, 0.5)
    return [lo - pad, hi + pad]
