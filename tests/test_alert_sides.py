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
    assert "Alerts on both sides: flood WARNING and drought WATCH" in header
    assert any(line.startswith("alert flood: WARNING - ") for line in header)
    assert any(line.startswith("alert drought: WATCH - ") and "falling below Drought watch" in line for line in header)
    assert "Alerts on both sides: flood WARNING and drought WATCH" in report.csv_text(fc)


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
    import core.app.pipeline as pipeline
    from core.app.cli import main

    monkeypatch.setattr(pipeline, "forecast_reservoir", lambda *a, **k: spread_forecast())
    assert main(["forecast", "--reservoir", "Dam", "--workspace", str(tmp_path / "ws")]) == 0
    out = capsys.readouterr().out
    assert "  alert: WARNING - " in out
    assert "  Alerts on both sides: flood WARNING and drought WATCH" in out
    assert "  alert flood: WARNING - " in out and "  alert drought: WATCH - " in out
