"""End to end through the same functions the CLI and pages call: import, train (few epochs), forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.app.pipeline import add_sample, forecast_reservoir, import_csv, train_reservoir
from core.data.sample import SAMPLE_NAME
from tests.conftest import tiny_config


@pytest.mark.slow
def test_sample_import_train_forecast(workspace, tmp_path):
    csv = tmp_path / "sample.csv"
    add_sample(workspace, csv)
    outcome = import_csv(workspace, csv, reservoir="From CSV")
    assert outcome.results[0].added == 5 * len(pd.read_csv(csv))
    stored = workspace.readings("From CSV")
    pd.testing.assert_frame_equal(stored, workspace.readings(SAMPLE_NAME), check_freq=False)
    trained = train_reservoir(workspace, "From CSV", tiny_config(target="level", features=("rainfall", "inflow")))
    fc = forecast_reservoir(workspace, "From CSV")
    assert trained.record.version == fc.version == 1
    assert len(fc.points) == 7 and all(np.isfinite(p.value) for p in fc.points)


@pytest.mark.slow
def test_real_snake_river_reservoir(workspace, shared_data):
    import_csv(workspace, shared_data / "snake_river" / "Palisades.csv", reservoir="Palisades")
    info = workspace.reservoir("Palisades")
    assert {v.name for v in info.variables} == {"storage", "inflow", "outflow"}
    assert info.first == "2009-01-01" and info.last == "2016-12-31"
    cfg = tiny_config(target="Storage_m3", features=("Q_in_m3d", "Q_out_m3d"))
    out = train_reservoir(workspace, "Palisades", cfg).to_dict()
    assert out["target"] == "storage" and out["features"] == ["inflow", "outflow"]
    assert out["metrics"]["persistence"]["mae"] > 0
    fc = forecast_reservoir(workspace, "Palisades")
    assert fc.points[0].date == "2017-01-01" and fc.unit == "m³"


def test_real_chennai_wide_files_give_four_reservoirs_with_two_variables(workspace, shared_data):
    chennai = shared_data / "chennai"
    first = import_csv(
        workspace, chennai / "chennai_reservoir_levels.csv", variable="storage", units={"storage": "mcft"}
    )
    import_csv(workspace, chennai / "chennai_reservoir_rainfall.csv", variable="rainfall")
    assert {r.reservoir for r in first.results} == {"POONDI", "CHOLAVARAM", "REDHILLS", "CHEMBARAMBAKKAM"}
    for info in workspace.reservoirs():
        assert {v.name: v.unit for v in info.variables} == {"storage": "mcft", "rainfall": "mm"}
        assert info.first == "2004-01-01" and info.last == "2019-09-16"
    again = import_csv(
        workspace, chennai / "chennai_reservoir_levels.csv", variable="storage", units={"storage": "mcft"}
    )
    assert all(r.already_imported and r.added == 0 for r in again.results)
