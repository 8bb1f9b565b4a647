"""Every file in ../shared/data/ still imports unchanged (issue 23): the same variables and units as before the
agency formats, whole-word column guesses and held-out dates, and the values a plain pandas read of the file gives."""

from __future__ import annotations

import pandas as pd
import pytest

from core.app.pipeline import import_csv
from core.data.ingest import read_csv

SNAKE = ("AmericanFalls", "Jackson", "Milner", "Minidoka", "Palisades")


@pytest.mark.parametrize("name", SNAKE)
def test_snake_river_files_import_as_before(shared_data, workspace, name):
    path = shared_data / "snake_river" / f"{name}.csv"
    outcome = import_csv(workspace, path, reservoir=name)
    assert outcome.report["skipped"] == [] and not [
        i for i in outcome.report["issues"] if i["code"] == "held_out_dates"
    ]
    info = workspace.reservoir(name)
    assert [(v.name, v.unit, v.source_column) for v in info.variables] == [
        ("storage", "m³", "Storage_m3"),
        ("outflow", "m³/day", "Q_out_m3d"),
        ("inflow", "m³/day", "Q_in_m3d"),
    ]
    plain = pd.read_csv(path, parse_dates=["DateTime"], date_format="%m/%d/%Y").set_index("DateTime")
    stored = workspace.readings(name)
    assert len(stored) == len(plain) == 2922
    for variable, column in (("storage", "Storage_m3"), ("outflow", "Q_out_m3d"), ("inflow", "Q_in_m3d")):
        assert stored[variable].to_numpy() == pytest.approx(plain[column].to_numpy(), nan_ok=True)


@pytest.mark.parametrize(
    ("file", "variable"), [("chennai_reservoir_levels.csv", "storage"), ("chennai_reservoir_rainfall.csv", "rainfall")]
)
def test_chennai_wide_files_import_as_before(shared_data, workspace, file, variable):
    path = shared_data / "chennai" / file
    outcome = import_csv(workspace, path, variable=variable)
    assert sorted(r.reservoir for r in outcome.results) == ["CHEMBARAMBAKKAM", "CHOLAVARAM", "POONDI", "REDHILLS"]
    plain = pd.read_csv(path, parse_dates=["Date"], dayfirst=True).set_index("Date")
    for reservoir in plain.columns:
        stored = workspace.readings(reservoir)[variable]
        assert len(stored) == len(plain) == 5738
        assert stored.to_numpy() == pytest.approx(plain[reservoir].to_numpy(), nan_ok=True)


def test_the_gages_table_is_still_refused_as_a_table_without_dates(shared_data):
    report = read_csv(shared_data / "snake_river" / "gages.csv").report
    assert [e.code for e in report.errors] == ["no_date_column"]
