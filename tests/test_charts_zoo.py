"""Leaderboard and attention figures: what an operator reads off them when choosing between zoo members."""

from __future__ import annotations

import numpy as np
import pytest

from core import charts
from core.charts.leaderboard import SKILL_FLOOR
from core.charts.style import FORECAST, OBSERVED
from core.forecast.issue import Forecast, ForecastPoint

ISSUED = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
TRUTH = [[300.0 + i + k for k in range(3)] for i in range(4)]  # 4 test windows x 3 lead days


def row(model: str, label: str, rank: int, skill: float, mae: float, val_skill: float, bias: float) -> dict:
    """A leaderboard row as core.model.leaderboard writes it; its test forecasts are the truth shifted by `bias`."""
    return {
        "model": model,
        "label": label,
        "version": rank + 10,
        "rank": rank,
        "val_mae": 0.01 * rank,
        "val_skill": val_skill,
        "train_seconds": 1.0,
        "metrics": {
            "model": {"mae": mae, "mae_by_horizon": [mae / 2, mae, mae * 1.5]},
            "persistence": {"mae": 0.2, "mae_by_horizon": [0.1, 0.2, 0.3]},
            "skill_vs_persistence": skill,
        },
        "test_pred": [[v + bias for v in day] for day in TRUTH],
    }


def make_board() -> dict:
    """Three members given out of rank order: ridge is best on validation, the default net loses to persistence."""
    return {
        "reservoir": "Lake <b>Test</b>",
        "target": "level",
        "default": "conv_lstm_skip",
        "best": "ridge",
        "models": [
            row("conv_lstm_skip", "Conv1D+LSTM + skip", 3, -0.25, 0.25, -0.1, -0.5),
            row("ridge", "Ridge regression", 1, 0.4, 0.12, 0.5, 0.25),
            row("persistence", "Persistence", 2, 0.0, 0.2, 0.0, 0.0),
        ],
        "test": {"issued": ISSUED, "truth": TRUTH},
    }


def bars(fig):
    return next(t for t in fig.data if t.type == "bar")


def test_bars_rank_best_on_top_with_persistence_at_zero_and_marks():
    """Best on validation first (top), skill as %, default outlined, recommended starred, persistence line at 0."""
    fig = charts.leaderboard_bars(make_board())
    bar = bars(fig)
    assert list(bar.y) == ["★ Ridge regression", "Persistence", "Conv1D+LSTM + skip (default)"]
    assert list(bar.x) == pytest.approx([0.4, 0.0, -0.25])
    assert list(bar.text) == ["+40%", "+0%", "-25%"]
    assert fig.layout.yaxis.autorange == "reversed" and fig.layout.xaxis.tickformat == ".0%"
    assert bar.marker.line.color[2] == OBSERVED and bar.marker.line.width == 2.5  # the default net
    assert bar.marker.color[0] != bar.marker.color[2]  # beats persistence vs does not
    star = next(t for t in fig.data if t.name.startswith("recommended"))
    assert list(star.y) == ["★ Ridge regression"] and star.marker.symbol == "star"
    zero = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(zero) == 1 and zero[0].x0 == 0 and zero[0].line.dash == "dash"
    assert "persistence" in fig.layout.annotations[0].text
    assert fig.layout.xaxis.title.text == "skill vs persistence on the test days"


def test_bars_on_mae_put_the_persistence_line_at_its_error_and_carry_the_unit():
    fig = charts.leaderboard_bars(make_board(), "mae", unit="m")
    bar = bars(fig)
    assert list(bar.x) == pytest.approx([0.12, 0.2, 0.25])
    assert bar.text[0].endswith(" m")
    assert [s.x0 for s in fig.layout.shapes if s.type == "line"] == [pytest.approx(0.2)]
    assert fig.layout.xaxis.title.text == "test MAE (m)"
    val = charts.leaderboard_bars(make_board(), "val_skill")
    assert list(bars(val).x) == pytest.approx([0.5, 0.0, -0.1])


def test_bars_keep_a_hopeless_model_from_squashing_the_rest():
    """A member at -500 % skill is cut at -100 % on the axis but its real value is written on the bar."""
    board = make_board()
    board["models"][0]["metrics"]["skill_vs_persistence"] = -5.0
    bar = bars(charts.leaderboard_bars(board))
    assert bar.x[2] == pytest.approx(SKILL_FLOOR) and bar.text[2] == "-500%"
    assert bar.textposition[2] == "inside"


def test_bars_refuse_an_unknown_metric_and_show_a_placeholder_when_empty():
    with pytest.raises(ValueError, match="Unknown leaderboard metric 'nse'"):
        charts.leaderboard_bars(make_board(), "nse")
    fig = charts.leaderboard_bars({"models": []})
    assert "no models compared" in fig.layout.annotations[0].text


def test_lead_errors_one_line_per_model_and_persistence_dashed():
    """Persistence is drawn once, as the dashed reference, not again as a model line."""
    fig = charts.leaderboard_lead_errors(make_board(), "m")
    assert [t.name for t in fig.data] == [
        "★ Ridge regression",
        "Conv1D+LSTM + skip (default)",
        "persistence (tomorrow = today)",
    ]
    ridge, default, pers = fig.data
    assert list(ridge.x) == [1, 2, 3] and list(ridge.y) == pytest.approx([0.06, 0.12, 0.18])
    assert pers.line.dash == "dash" and list(pers.y) == pytest.approx([0.1, 0.2, 0.3])
    assert default.line.width > ridge.line.width and default.line.color == charts.model_colour("conv_lstm_skip")
    assert " m" in ridge.hovertemplate and fig.layout.yaxis.title.text == "test MAE (m)"
    only = charts.leaderboard_lead_errors(make_board(), "m", models=["ridge"])
    assert [t.name for t in only.data] == ["★ Ridge regression", "persistence (tomorrow = today)"]


def test_observed_vs_predicted_at_a_lead_day_with_the_one_to_one_line():
    fig = charts.observed_vs_predicted(make_board(), ["ridge", "conv_lstm_skip"], lead=2, unit="m")
    ridge = next(t for t in fig.data if t.meta == {"model": "ridge"})
    assert list(ridge.x) == pytest.approx([301.0, 302.0, 303.0, 304.0])  # truth at lead 2
    assert list(ridge.y) == pytest.approx([301.25, 302.25, 303.25, 304.25])
    assert list(ridge.customdata) == ISSUED and "issued" in ridge.hovertemplate
    line = next(t for t in fig.data if t.name.startswith("1:1"))
    assert line.x[0] == line.y[0] and line.x[1] == line.y[1]
    assert fig.layout.xaxis.title.text == "observed level (m)"
    assert fig.layout.yaxis.title.text == "forecast 2 days ahead (m)"
    assert fig.layout.yaxis.scaleanchor == "x"
    with pytest.raises(ValueError, match="Lead day must be between 1 and 3"):
        charts.observed_vs_predicted(make_board(), ["ridge"], lead=4)
    with pytest.raises(ValueError, match="lstm is not on this leaderboard"):
        charts.observed_vs_predicted(make_board(), ["lstm"])


def test_residuals_are_forecast_minus_observed_per_model():
    """Positive = forecast too high: ridge +0.25, persistence (no change) 0, the default net -0.5."""
    fig = charts.residual_distribution(make_board(), lead=3, unit="m")
    boxes = {t.meta["model"]: t for t in fig.data}
    assert list(boxes) == ["ridge", "persistence", "conv_lstm_skip"]
    assert np.asarray(boxes["ridge"].y) == pytest.approx(0.25)
    assert np.asarray(boxes["conv_lstm_skip"].y) == pytest.approx(-0.5)
    assert boxes["ridge"].boxmean is True and boxes["ridge"].x[0] == "★ Ridge regression"
    assert fig.layout.yaxis.title.text == "forecast − observed (m), 3 days ahead"
    assert "above 0 = forecast too high" in fig.layout.xaxis.title.text
    assert [s.y0 for s in fig.layout.shapes] == [0]


def test_user_text_in_labels_is_not_html():
    board = make_board()
    board["models"][1]["label"] = "<i>Ridge</i>"
    assert "<i>" not in bars(charts.leaderboard_bars(board)).y[0]


def make_attention_forecast(weights: list[float] | None) -> Forecast:
    dates = [f"2024-03-{d:02d}" for d in range(1, 15)]
    point = ForecastPoint(date="2024-03-15", value=1.0, lead=1)
    attention = None if weights is None else {"dates": dates, "weights": weights}
    return Forecast(
        reservoir="R",
        version=4,
        model="conv_lstm_attention",
        target="level",
        unit="m",
        issued="2024-03-14",
        last_observed={"date": "2024-03-14", "value": 1.0},
        points=(point,),
        attention=attention,
    )


def test_attention_bars_show_each_input_day_in_percent():
    weights = [0.02] * 13 + [0.74]
    fig = charts.attention_figure(make_attention_forecast(weights))
    bar = fig.data[0]
    assert list(bar.x)[0] == "2024-03-01" and list(bar.x)[-1] == "2024-03-14"
    assert sum(bar.y) == pytest.approx(100.0) and bar.y[-1] == pytest.approx(74.0)
    assert bar.text[-1] == "74%" and list(bar.customdata)[-1] == 0  # days before the issue date
    assert bar.marker.color[-1] == FORECAST != bar.marker.color[0]  # the day that mattered most stands out
    assert fig.layout.yaxis.ticksuffix == "%"
    equal = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(equal) == 1 and equal[0].y0 == pytest.approx(100 / 14)
    assert "2024-03-01 to 2024-03-14" in fig.layout.xaxis.title.text
    assert fig.layout.xaxis.ticktext[-1] == "Thu<br>03-14"  # weekday and day on the axis, full dates in the title
    assert [t.name for t in fig.data] == ["share of attention", "equal share (7.1% each)"]


def test_attention_placeholder_for_models_without_it():
    fig = charts.attention_figure(make_attention_forecast(None))
    assert "does not report" in fig.layout.annotations[0].text and not fig.data


def test_versions_chart_says_which_model_each_version_is():
    """With several kinds of model per reservoir, hovering a version's bar names its kind."""
    models = [
        {
            "version": v,
            "active": v == 1,
            "val_mae": 0.1,
            "meta": {"config": {"model": {"name": name}}, "metrics": {"model": {"mae": 0.1}, "persistence": {}}},
        }
        for v, name in ((1, "ridge"), (2, "conv_lstm_attention"), (3, "retired_member"))
    ]
    fig = charts.versions_figure(models, unit="m")
    assert list(fig.data[0].hovertext) == ["Ridge regression", "Conv1D+LSTM + attention", "retired_member"]
    hover = fig.data[0].hovertemplate
    assert "%{hovertext}" in hover and "validation MAE %{customdata[1]:" in hover and " m<" in hover
