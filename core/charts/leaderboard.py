"""Model comparison charts: versions against persistence, skill bars, error by lead day, observed vs forecast,
residuals. Persistence ('tomorrow = today') is the reference on every one of them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.charts.style import (
    BEST_COLOUR,
    FORECAST,
    OBSERVED,
    PERSISTENCE,
    as_float,
    axis_label,
    base_figure,
    finite_values,
    legend_below_axis_title,
    legend_right,
    model_colour,
    placeholder,
    rgba,
    safe_text,
    unit_suffix,
)
from core.display import d3_format, tick_format
from core.model.zoo import ZOO

if TYPE_CHECKING:  # plotly loads only when a figure is drawn
    import plotly.graph_objects as go

LEADERBOARD_METRICS: dict[str, str] = {  # metric -> axis title
    "skill": "skill vs persistence on the test days",
    "val_skill": "skill vs persistence on the validation days",
    "mae": "test MAE",
}
SKILL_FLOOR = -1.0  # skills below -100% are cut at the axis (value written on the bar) so the others stay readable


def _mae(metrics: Mapping[str, Any] | None, side: str, key: str = "mae") -> Any:
    """One stored score ('mae' or 'mae_by_horizon') of the model or of persistence, None when absent."""
    part = (metrics or {}).get(side) or {}
    return part.get(key)


@dataclass(frozen=True)
class _VersionBars:
    """One entry per trained version, oldest first: what the versions chart draws."""

    labels: list[str]
    kinds: list[str | None]
    model_mae: list[float]
    persistence_mae: list[float]
    skills: list[float]
    val_mae: list[float]
    active: list[bool]


def _version_bars(models: Sequence[Mapping[str, Any]]) -> _VersionBars:
    """Labels, model kinds and scores of each version from its stored record."""
    bars = _VersionBars([], [], [], [], [], [], [])
    for m in sorted(models, key=lambda x: int(x["version"])):
        meta = m.get("meta") or {}
        metrics = meta.get("metrics") or {}
        active = bool(m.get("active"))
        bars.labels.append(f"v{int(m['version'])}" + (" (active)" if active else ""))
        name = ((meta.get("config") or {}).get("model") or {}).get("name") or ""
        bars.kinds.append(safe_text(ZOO[name].label if name in ZOO else name or "model"))
        bars.model_mae.append(as_float(_mae(metrics, "model")))
        bars.persistence_mae.append(as_float(_mae(metrics, "persistence")))
        bars.skills.append(as_float(metrics.get("skill_vs_persistence")))
        bars.val_mae.append(as_float(m.get("val_mae")))
        bars.active.append(active)
    return bars


def versions_figure(models: Sequence[Mapping[str, Any]], *, unit: str | None = None, height: int = 320) -> go.Figure:
    """Test MAE of each version next to 'tomorrow = today', so a user can see which version earns its place."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig = base_figure(height, None)
    if not models:
        return placeholder(fig, "no trained versions yet")
    bars = _version_bars(models)
    colours = [FORECAST if active else rgba(FORECAST, 0.55) for active in bars.active]
    fmt = d3_format(bars.model_mae + bars.persistence_mae)
    suffix = unit_suffix(unit)
    fig.add_trace(
        go.Bar(
            x=bars.labels,
            y=bars.model_mae,
            name="model",
            marker={
                "color": colours,
                "line": {
                    "color": [OBSERVED if "active" in lb else colours[i] for i, lb in enumerate(bars.labels)],
                    "width": 2,
                },
            },
            customdata=np.array([bars.skills, bars.val_mae], dtype=float).T,
            hovertext=bars.kinds,
            hovertemplate=(
                f"%{{x}}: %{{hovertext}}<br>model MAE %{{y:{fmt}}}{suffix}<br>skill vs persistence "
                f"%{{customdata[0]:.1%}}<br>validation MAE %{{customdata[1]:{fmt}}}{suffix}<extra></extra>"
            ),
        )
    )
    fig.add_trace(
        go.Bar(
            x=bars.labels,
            y=bars.persistence_mae,
            name="persistence (tomorrow = today)",
            marker={"color": PERSISTENCE},
            hovertemplate=f"%{{x}}<br>persistence MAE %{{y:{fmt}}}{suffix}<extra></extra>",
        )
    )
    fig.update_layout(barmode="group", bargap=0.25, hovermode="closest")
    fig.update_yaxes(title_text=axis_label("test MAE", unit), rangemode="tozero", tickformat=tick_format(fmt))
    fig.update_xaxes(type="category", title_text="model version")
    legend_below_axis_title(fig)
    return fig


def lead_error_figure(metrics: Mapping[str, Any], *, unit: str | None = None, height: int = 300) -> go.Figure:
    """MAE by lead day for the model and persistence: how fast confidence decays over the week."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig = base_figure(height, None)
    model = [as_float(v) for v in (_mae(metrics, "model", "mae_by_horizon") or [])]
    pers = [as_float(v) for v in (_mae(metrics, "persistence", "mae_by_horizon") or [])]
    if not model and not pers:
        return placeholder(fig, "no test scores for this version")
    fmt = d3_format(model + pers)
    suffix = unit_suffix(unit)
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
    legend_below_axis_title(fig)
    return fig


def _persistence_by_lead(
    fig: go.Figure, pers: list[float], unit: str | None, fmt: str, *, marker_size: int, meta: dict | None = None
) -> None:
    """The dashed 'tomorrow = today' reference and the shared axes of the error-by-lead-day charts."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

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
                hovertemplate=f"%{{y:{fmt}}}{unit_suffix(unit)}<extra>persistence</extra>",
            )
        )
    fig.update_xaxes(title_text="lead (days ahead)", dtick=1, hoverformat="d")
    fig.update_yaxes(title_text=axis_label("test MAE", unit), rangemode="tozero", tickformat=tick_format(fmt))
    fig.update_layout(hovermode="x unified")


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
    return safe_text(text)


def _board_value(row: Mapping[str, Any], metric: str) -> float:
    """The number a leaderboard row's bar shows for `metric` (NaN when the row lacks it)."""
    metrics = row.get("metrics") or {}
    if metric == "skill":
        return as_float(metrics.get("skill_vs_persistence"))
    if metric == "val_skill":
        return as_float(row.get("val_skill"))
    return as_float(_mae(metrics, "model"))


@dataclass(frozen=True)
class _Bars:
    """The skill (or MAE) bars, best on validation first, with the axis extent that keeps them readable."""

    names: list[str]
    values: list[float]  # the metric per model (NaN when unknown)
    texts: list[str]  # the value written on each bar
    beats: list[bool]  # beats persistence: blue, else grey
    default: list[bool]  # the app's default net: dark outline
    fmt: str
    low: float  # axis start: 0, the lowest value, or SKILL_FLOOR when skills go below it
    high: float
    cut: bool  # some skills are below SKILL_FLOOR and drawn cut at the axis
    persistence: float  # persistence's test MAE

    @property
    def span(self) -> float:
        """The axis extent the padding is measured in."""
        return (self.high - self.low) or 1.0


def _bars(board: Mapping[str, Any], rows: list[Mapping[str, Any]], metric: str, unit: str | None) -> _Bars:
    """The data step of leaderboard_bars: values, their labels and colours, and the axis extent."""
    skill_metric = metric != "mae"
    values = [_board_value(r, metric) for r in rows]
    persistence = as_float(_mae(rows[0].get("metrics"), "persistence"))
    if skill_metric:
        beats = [math.isfinite(v) and v > 0 for v in values]
        fmt = ".0%"
        texts = [f"{v:+.0%}" if math.isfinite(v) else "n/a" for v in values]
    else:
        beats = [math.isfinite(v) and math.isfinite(persistence) and v < persistence for v in values]
        fmt, suffix = d3_format([*values, persistence]), unit_suffix(unit)
        texts = [f"{v:{fmt}}{suffix}" if math.isfinite(v) else "n/a" for v in values]
    finite = finite_values(values)
    low = min([0.0, *finite])
    cut = skill_metric and low < SKILL_FLOOR
    high = max([0.0, *finite, persistence if not skill_metric and math.isfinite(persistence) else 0.0])
    return _Bars(
        names=[model_name(r, board) for r in rows],
        values=values,
        texts=texts,
        beats=beats,
        default=[r["model"] == board.get("default") for r in rows],
        fmt=fmt,
        low=SKILL_FLOOR if cut else low,
        high=high,
        cut=cut,
        persistence=persistence,
    )


def _draw_bars(fig: go.Figure, bars: _Bars, rows: list[Mapping[str, Any]], metric: str) -> None:
    """Horizontal bars: blue beats persistence, grey does not; the default net is outlined, others paler."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fill = [FORECAST if b else "#b3b3b3" for b in bars.beats]
    fig.add_trace(
        go.Bar(
            x=[max(v, bars.low) if math.isfinite(v) else 0.0 for v in bars.values],
            y=bars.names,
            orientation="h",
            name=LEADERBOARD_METRICS[metric],
            marker={
                "color": [c if d else rgba(c, 0.6) for c, d in zip(fill, bars.default, strict=True)],
                "line": {"color": [OBSERVED if d else "rgba(0,0,0,0)" for d in bars.default], "width": 2.5},
            },
            text=bars.texts,
            textposition=["inside" if bars.cut and v < SKILL_FLOOR else "outside" for v in bars.values],
            cliponaxis=False,
            customdata=np.array(
                [[r.get("version"), r.get("rank"), t] for r, t in zip(rows, bars.texts, strict=True)], dtype=object
            ),
            hovertemplate="%{y}<br>version %{customdata[0]}, rank %{customdata[1]} on validation"
            "<br>" + LEADERBOARD_METRICS[metric] + ": %{customdata[2]}<extra></extra>",
            showlegend=False,
        )
    )


def _draw_best_star(fig: go.Figure, bars: _Bars, rows: list[Mapping[str, Any]], board: Mapping[str, Any]) -> None:
    """A gold star left of the recommended model's bar (the best on the validation days)."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    best = [i for i, r in enumerate(rows) if r["model"] == board.get("best")]
    if not best:
        return
    fig.add_trace(
        go.Scatter(
            x=[bars.low - 0.04 * bars.span],
            y=[bars.names[best[0]]],
            mode="markers",
            name="recommended: best on the validation days",
            marker={"symbol": "star", "size": 16, "color": BEST_COLOUR, "line": {"width": 1, "color": "#222"}},
            hovertemplate="best on the validation days: the recommended model<extra></extra>",
            cliponaxis=False,
        )
    )


def _draw_persistence_line(fig: go.Figure, reference: float) -> None:
    """The dashed 'tomorrow = today' line: skill 0, or persistence's MAE."""
    if not math.isfinite(reference):
        return
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


def leaderboard_bars(
    board: Mapping[str, Any], metric: str = "skill", *, unit: str | None = None, height: int | None = None
) -> go.Figure:
    """One bar per model, best on validation at the top: which members beat 'tomorrow = today', and by how much.

    metric: "skill" (test skill vs persistence, the default), "val_skill" (the skill that ranked them) or
    "mae" (test MAE in the target's unit). Bars that beat persistence are blue, the others grey; the
    default net has a dark outline, the recommended (best on validation) one a gold star.
    """
    if metric not in LEADERBOARD_METRICS:
        raise ValueError(f"Unknown leaderboard metric '{metric}'; use one of {', '.join(LEADERBOARD_METRICS)}.")
    rows = _ranked(board)
    fig = base_figure(height or max(260, 34 * len(rows) + 130), None)
    if not rows:
        return placeholder(fig, "no models compared yet")
    skill_metric = metric != "mae"
    bars = _bars(board, rows, metric, unit)
    _draw_bars(fig, bars, rows, metric)
    _draw_best_star(fig, bars, rows, board)
    _draw_persistence_line(fig, 0.0 if skill_metric else bars.persistence)
    fig.update_yaxes(autorange="reversed", type="category", title_text=None, ticksuffix="  ")
    fig.update_xaxes(
        title_text=axis_label(LEADERBOARD_METRICS[metric], None if skill_metric else unit),
        tickformat=".0%" if skill_metric else tick_format(bars.fmt),
        range=[bars.low - 0.08 * bars.span, bars.high + 0.16 * bars.span],
        zeroline=False,
    )
    fig.update_layout(bargap=0.3, hovermode="closest", margin={"t": 40, "l": 12})
    legend_below_axis_title(fig)
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


def leaderboard_lead_errors(
    board: Mapping[str, Any], unit: str | None = None, *, models: Sequence[str] | None = None, height: int = 380
) -> go.Figure:
    """Test MAE by lead day, one line per model next to persistence (dashed): who holds up further ahead."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig = base_figure(height, None)
    rows = _chosen(board, models)
    if not rows:
        return placeholder(fig, "no models compared yet")
    suffix = unit_suffix(unit)
    pers = [as_float(v) for v in (_mae(rows[0].get("metrics"), "persistence", "mae_by_horizon") or [])]
    every = list(pers)
    for i, row in enumerate(rows):
        if row["model"] == "persistence":
            continue  # the same numbers as the dashed reference line
        errors = [as_float(v) for v in (_mae(row.get("metrics"), "model", "mae_by_horizon") or [])]
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
    fmt = d3_format(every)
    _hover_each(fig, f"%{{y:{fmt}}}{suffix}")
    _persistence_by_lead(fig, pers, unit, fmt, marker_size=5, meta={"model": "persistence"})
    legend_right(fig)
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


@dataclass(frozen=True, eq=False)
class _LeadSample:
    """One model's test forecasts at one lead day, with what then happened."""

    index: int  # position in rank order, which picks the model's colour
    row: Mapping[str, Any]
    issued: list[str]
    observed: np.ndarray
    forecast: np.ndarray

    @property
    def model(self) -> str:
        """The zoo member's name."""
        return str(self.row["model"])

    @property
    def colour(self) -> str:
        """The model's colour on every leaderboard chart."""
        return model_colour(self.row["model"], self.index)


def _lead_samples(board: Mapping[str, Any], models: Sequence[str] | None, lead: int) -> list[_LeadSample]:
    """The chosen models' test forecasts at `lead`, best first, leaving out models that have none."""
    samples = []
    for i, row in enumerate(_chosen(board, models)):
        issued, obs, pred = _lead_pairs(board, row, lead)
        if len(obs):
            samples.append(_LeadSample(i, row, issued, obs, pred))
    return samples


def _hover_each(fig: go.Figure, template: str) -> None:
    """Give every trace drawn so far `template`, named after the trace: the format is known only once all are in."""
    for trace in fig.data:
        trace.hovertemplate = f"{template}<extra>{trace.name}</extra>"


def _days_ahead(lead: int) -> str:
    """'1 day ahead' / '3 days ahead' for axis titles."""
    return f"{lead} {'day' if lead == 1 else 'days'} ahead"


def _target(board: Mapping[str, Any]) -> str:
    """The forecast variable the leaderboard scored, for axis titles."""
    return str(board.get("target") or "value")


def _draw_one_to_one(fig: go.Figure, lo: float, hi: float, fmt: str, suffix: str) -> None:
    """The dotted 1:1 line where a perfect forecast would sit."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig.add_trace(
        go.Scatter(
            x=[lo, hi],
            y=[lo, hi],
            mode="lines",
            name="1:1 (perfect forecast)",
            line={"color": OBSERVED, "width": 1.5, "dash": "dot"},
            hovertemplate=f"forecast = observed (%{{x:{fmt}}}{suffix})<extra></extra>",
        )
    )


def observed_vs_predicted(
    board: Mapping[str, Any],
    models: Sequence[str] | None = None,
    lead: int = 1,
    unit: str | None = None,
    *,
    height: int = 460,
) -> go.Figure:
    """Forecast against what happened on the test days at one lead day; a perfect model sits on the 1:1 line."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    fig = base_figure(height, None)
    samples = _lead_samples(board, models, lead)
    suffix = unit_suffix(unit)
    extent: list[float] = []
    for sample in samples:
        extent += finite_values([*sample.observed, *sample.forecast])
        fig.add_trace(
            go.Scatter(
                x=sample.observed,
                y=sample.forecast,
                mode="markers",
                name=model_name(sample.row, board),
                marker={"color": sample.colour, "size": 5, "opacity": 0.55},
                customdata=sample.issued,
                meta={"model": sample.model},
            )
        )
    if not extent:
        return placeholder(fig, "no test forecasts to plot")
    fmt = d3_format(extent)
    _hover_each(fig, f"issued %{{customdata}}<br>observed %{{x:{fmt}}}{suffix}<br>forecast %{{y:{fmt}}}{suffix}")
    pad = (max(extent) - min(extent)) * 0.03 or 1.0
    square = [min(extent) - pad, max(extent) + pad]
    _draw_one_to_one(fig, *square, fmt, suffix)
    fig.update_xaxes(
        title_text=axis_label(f"observed {safe_text(_target(board))}", unit), range=square, tickformat=tick_format(fmt)
    )
    fig.update_yaxes(
        title_text=axis_label(f"forecast {_days_ahead(lead)}", unit),
        range=square,
        tickformat=tick_format(fmt),
        scaleanchor="x",
        scaleratio=1,
    )
    fig.update_layout(hovermode="closest", meta={"lead": lead})
    legend_below_axis_title(fig)
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
    import plotly.graph_objects as go  # lazy: plotly loads only when a figure is drawn

    samples = _lead_samples(board, models, lead)
    fig = base_figure(height, None)
    every: list[float] = []
    for sample in samples:
        residual = sample.forecast - sample.observed
        every += finite_values(residual)
        name = model_name(sample.row, board)
        fig.add_trace(
            go.Box(
                y=residual,
                x=[name.replace(" (default)", "<br>(default)")] * len(residual),
                name=name,
                marker={"color": sample.colour, "size": 3},
                line={"color": sample.colour},
                fillcolor=rgba(sample.colour, 0.25),
                boxmean=True,
                boxpoints="outliers",
                customdata=sample.issued,
                meta={"model": sample.model},
                showlegend=False,
            )
        )
    if not every:
        return placeholder(fig, "no test forecasts to plot")
    fmt = d3_format(every)
    _hover_each(fig, f"issued %{{customdata}}: %{{y:+{fmt.lstrip(',')}}}{unit_suffix(unit)}")
    fig.add_hline(y=0, line={"color": OBSERVED, "width": 1.5, "dash": "dot"})
    fig.update_yaxes(
        title_text=f"forecast − observed{f' ({unit})' if unit else ''}, {_days_ahead(lead)}",
        tickformat=tick_format(fmt),
        zeroline=False,
    )
    fig.update_xaxes(type="category", title_text="above 0 = forecast too high, below 0 = too low")
    fig.update_layout(hovermode="closest", meta={"lead": lead})
    return fig
