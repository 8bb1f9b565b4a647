"""Alerts on both sides: the flood and drought states kept apart and said together in JSON, CLI text, CSV and banner.

A forecast whose ensemble spreads over a flood and a drought line at once (both at least trigger-likely) must name
both; the old `alert` key (most severe overall) stays for compatibility.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.data.levels import OperatingLevel
from core.export import report
from core.forecast import risk
from core.forecast.issue import Forecast, ForecastPoint
from core.jsonio import dumps

RNG = np.random.default_rng(11)
LEVELS = [
    OperatingLevel("Flood warning", 312.0, "m", "flood", "warning"),
    OperatingLevel("Drought watch", 308.0, "m", "drought", "watch"),
]


def spread_forecast(centre: float = 310.0, scale: float = 3.0) -> Forecast:
    """A 7-day level forecast whose samples straddle both lines (about 25 % beyond each on any day)."""
    points = tuple(ForecastPoint(date=f"2026-11-{24 + i}", value=centre, lead=i + 1) for i in range(7))
    samples = centre + scale * RNG.standard_normal((2000, 7))
    fc = Forecast("Dam", 1, "conv1d", "level", "m", "2026-11-23", {"date": "2026-11-23", "value": centre}, points)
    return risk.assess(Forecast(**{**fc.__dict__, "samples": samples}), LEVELS, trigger=0.2)


def test_each_side_keeps_its_own_state_and_the_old_key_stays() -> None:
    fc = spread_forecast()
    flood, drought = fc.alerts["flood"], fc.alerts["drought"]
    assert (flood.state, flood.level, drought.state, drought.level) == (
        "warning",
        "Flood warning",
        "watch",
        "Drought watch",
    )
    assert flood.raised and drought.raised and flood.probability >= 0.2 and drought.probability >= 0.2
    assert fc.alert["state"] == "warning" and fc.alert["level"] == "Flood warning"  # compatible: most severe
    assert risk.both_sides_words(fc.alerts) == "Alerts on both sides: flood WARNING and drought WATCH"


def test_one_side_raised_and_a_side_without_levels() -> None:
    fc = spread_forecast(centre=314.0, scale=1.0)  # well above the flood line, far from the drought line
    assert fc.alerts["flood"].raised and fc.alerts["drought"].state == "normal"
    assert risk.both_sides_words(fc.alerts) is None
    only_flood = risk.side_alerts(fc, LEVELS[:1])
    assert only_flood["drought"].state == "no levels" and "No drought levels" in only_flood["drought"].reason


def test_json_carries_both_sides() -> None:
    data = json.loads(dumps(spread_forecast().to_dict()))
    assert data["alert"]["state"] == "warning"
    assert data["alerts"]["flood"]["state"] == "warning" and data["alerts"]["drought"]["state"] == "watch"
    assert data["alerts"]["drought"]["side"] == "drought" and data["alerts"]["drought"]["level"] == "Drought watch"


def test_csv_header_and_cli_lines_say_both() -> None:
    fc = spread_forecast()
    header = report.header_lines(fc)
    assert "alert: warning - alerts on both sides: flood WARNING and drought WATCH" in header
    assert any(line.startswith("alert flood: WARNING - ") for line in header)
    assert any(line.startswith("alert drought: WATCH - ") and "falling below Drought watch" in line for line in header)
    assert "alerts on both sides: flood WARNING and drought WATCH" in report.csv_text(fc)
    assert sum(fc.alert["reason"] in line for line in header) == 1  # the flood reason is said once, on its line


def test_exceedance_table_is_days_by_levels_in_percent() -> None:
    fc = spread_forecast()
    table = report.exceedance_frame(fc)
    assert list(table.columns) == ["date", "lead_days", "Flood warning (above 312 m)", "Drought watch (below 308 m)"]
    assert len(table) == 7 and table["lead_days"].tolist() == list(range(1, 8))
    assert table.iloc[:, 2:].to_numpy().max() <= 100 and table.iloc[:, 2].mean() == pytest.approx(25, abs=5)
    assert report.exceedance_frame(Forecast(**{**fc.__dict__, "exceedance": None})).empty


def test_chart_marks_both_sides() -> None:
    fig = report.chart(pd.Series(dtype=float), spread_forecast(), LEVELS)
    names = {t.name for t in fig.data}
    assert {"flood alert: warning", "drought alert: watch"} <= names


def test_cli_forecast_text_says_both(monkeypatch, capsys, tmp_path) -> None:
    import core.cli.main as cli
    from core.cli.main import main

    monkeypatch.setattr(cli, "forecast_reservoir", lambda *a, **k: spread_forecast())
    assert main(["forecast", "--reservoir", "Dam", "--workspace", str(tmp_path / "ws")]) == 0
    out = capsys.readouterr().out
    assert "  alert: WARNING - alerts on both sides: flood WARNING and drought WATCH\n" in out
    assert "  alert flood: WARNING - " in out and "  alert drought: WATCH - " in out
    alert_lines = [line for line in out.splitlines() if line.lstrip().lower().startswith("alert")]
    assert len(alert_lines) == 3  # once overall, once per side
    assert out.count("chance of passing Flood warning") == 1  # the flood reason once, on its own line


def test_one_side_raised_is_said_once() -> None:
    fc = spread_forecast(centre=314.0, scale=1.0)
    lines = risk.alert_lines(fc.alert, fc.alerts, upper=True)
    assert lines[0] == "alert: WARNING - flood WARNING; drought: normal"
    assert lines[1].startswith("alert flood: WARNING - ") and lines[2].startswith("alert drought: normal - ")
    assert sum(fc.alert["reason"] in line for line in lines) == 1


def test_chance_by_then_is_the_alert_rule_per_prefix_of_the_horizon() -> None:
    fc = spread_forecast()
    table = report.exceedance_frame(fc, cumulative=True)
    daily, by_then = "Flood warning (above 312 m)", "Flood warning (above 312 m)" + report.BY_THEN
    assert list(table.columns) == [
        "date", "lead_days", daily, daily + report.BY_THEN,
        "Drought watch (below 308 m)", "Drought watch (below 308 m)" + report.BY_THEN,
    ]  # fmt: skip
    assert table[by_then].is_monotonic_increasing and (table[by_then] >= table[daily]).all()
    assert table[by_then].iloc[0] == table[daily].iloc[0]  # day 1: the same chance
    for n in (1, 3, 7):  # each prefix: within_horizon over the first n days
        level = LEVELS[0]
        expected = 100 * risk.within_horizon(fc.samples[:, :n], level)
        assert table[by_then].iloc[n - 1] == pytest.approx(expected, abs=0.05)
    assert table[by_then].iloc[-1] == pytest.approx(100 * fc.alerts["flood"].probability, abs=0.05)
    assert report.exceedance_frame(fc).columns.tolist() == ["date", "lead_days", daily, "Drought watch (below 308 m)"]
