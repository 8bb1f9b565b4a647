"""The Forecast page's what-if section via AppTest: scenario inputs, the scenario table, and the refusals."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from core.app.pipeline import add_sample, import_csv, train_reservoir
from core.data.sample import SAMPLE_NAME
from core.model.config import ModelConfig
from core.store.workspace import Workspace
from tests.apptest_support import open_page, texts, use_workspace
from tests.conftest import tiny_config

pytestmark = pytest.mark.slow  # AppTest runs over a trained storage model

K = "forecast_whatif_"


@pytest.fixture(scope="module")
def storage_root(tmp_path_factory):
    """The sample with a ridge storage model (scenarios run) and a reservoir without a release record."""
    ws = Workspace(tmp_path_factory.mktemp("page_whatif") / "ws")
    add_sample(ws)
    train_reservoir(ws, SAMPLE_NAME, tiny_config("storage", ("inflow", "outflow"), model=ModelConfig(name="ridge")))
    csv = ws.root.parent / "dry.csv"
    days = pd.date_range("2020-01-01", periods=400, freq="D")
    rng = np.random.default_rng(1)
    pd.DataFrame(
        {"date": days.date, "storage": 50 + np.cumsum(rng.normal(0, 1, 400)), "inflow": 5 + rng.random(400)}
    ).to_csv(csv, index=False)
    import_csv(ws, csv, reservoir="Dry Lake")
    train_reservoir(ws, "Dry Lake", tiny_config("storage", ("inflow",), model=ModelConfig(name="ridge")))
    return ws.root


@pytest.fixture
def app_ws(storage_root, tmp_path, monkeypatch, fresh_caches):
    """A private copy named to the app."""
    root = tmp_path / "ws"
    shutil.copytree(storage_root, root)
    return use_workspace(root, monkeypatch)


def _table(at) -> pd.DataFrame:
    """The scenario table (the dataframe whose first column is 'scenario')."""
    frames = [d.value for d in at.dataframe if "scenario" in d.value.columns]
    assert frames, "no scenario table on the page"
    return frames[0]


def test_two_scenarios_side_by_side_with_the_plain_forecast(app_ws):
    """Default: two constant-release scenarios; a larger second one gives a lower last-day storage."""
    at = open_page("forecast")
    assert "What if we release more" in texts(at)
    at.number_input(key=f"{K}rate_0").set_value(0.0)
    at.number_input(key=f"{K}rate_1").set_value(60.0)
    at.run()
    assert not at.exception, at.exception
    table = _table(at)
    assert table["scenario"].tolist() == ["plain forecast", "Scenario 1", "Scenario 2"]
    median = next(c for c in table.columns if "median" in c)
    values = [float(v.split()[0].replace(",", "")) for v in table[median]]
    assert values[2] < values[1]
    assert "60 m³/s every day" in table["release"].iloc[2]
    assert {"flood alert", "drought alert"} <= set(table.columns)
    assert "Water balance learned on" in texts(at)


def test_recorded_is_offered_for_a_past_date_only(app_ws):
    """Live forecast: 'Same every day' and 'Per day'; a hindcast adds 'Recorded' and shows its releases."""
    at = open_page("forecast")
    assert list(at.radio(key=f"{K}kind_0").options) == ["Same every day", "Per day"]
    at.date_input(key="forecast_as_of").set_value(pd.Timestamp("2023-06-01").date())
    at.run()
    assert not at.exception, at.exception
    radio = at.radio(key=f"{K}kind_0")
    assert "Recorded" in radio.options
    radio.set_value("Recorded")
    at.radio(key=f"{K}kind_1").set_value("Per day")
    at.run()
    assert not at.exception, at.exception
    table = _table(at)
    assert table["release"].iloc[1].startswith("recorded:")
    assert table["scenario"].tolist() == ["plain forecast", "Scenario 1", "Scenario 2"]  # the per-day one runs too


def test_a_reservoir_without_release_record_says_why(app_ws):
    """No outflow column: the section explains why scenarios are not available and what to import."""
    at = open_page("forecast", "Dry Lake")
    shown = texts(at)
    assert "no release (outflow) record" in shown and "Import daily releases" in shown
    assert not [d for d in at.dataframe if "scenario" in d.value.columns]
