"""Impossible values named before import (issue 23, item 3): the pre-import report (`inspect`, `import`, the Data
page) screens the variables as the operator declared or confirmed them, with the runs (first, last, days, values)
and the mask / keep / relative choice offered before anything is stored."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.app.importplan import RESERVOIR_LAYOUT, ImportPlan, apply, guess_table, read_mapping, skipped_columns
from core.app.screening import out_of_range_decisions
from core.cli.main import main
from core.data.ingest import ReadOptions, read_csv
from core.store.workspace import Workspace
from tests.apptest_support import open_page, run, use_workspace

DAYS = 400


def negative_storage_file(tmp_path, header: str = "cs"):
    """A storage record in acre-ft under a header that does not say so, with 270 days below zero (a pool-bottom
    convention), as in the issue."""
    days = pd.date_range("2020-01-01", periods=DAYS)
    storage = np.round(3000.0 - 2.0 * np.arange(DAYS) + 20 * np.sin(np.arange(DAYS) / 9.0), 1)
    storage[100:370] = np.round(np.linspace(-3.7, -1013.6, 270), 1)
    frame = pd.DataFrame({header: storage}, index=pd.Index(days.strftime("%Y-%m-%d"), name="date"))
    path = tmp_path / "pool.csv"
    frame.to_csv(path)
    return path


def test_inspect_with_a_declaration_names_the_negative_storage_run(tmp_path, capsys):
    path = negative_storage_file(tmp_path)
    assert main(["inspect", str(path), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert not [i for i in plain["issues"] if i["code"] == "negative"]  # 'cs' says nothing: no range to judge
    assert main(["inspect", str(path), "--column", "cs=storage:acre-ft", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (negative,) = [i for i in data["issues"] if i["code"] == "negative"]
    (run_,) = negative["runs"]
    assert (run_["first"], run_["last"], run_["days"]) == ("2020-04-10", "2021-01-04", 270)
    assert run_["values"] == "-1013.6 to -3.7"
    assert "--out-of-range VARIABLE=mask|keep|relative" in negative["message"]
    assert main(["inspect", str(path), "--column", "cs=storage:acre-ft"]) == 0
    text = capsys.readouterr().out
    assert "270 negative values although storage cannot be below zero" in text
    assert "cs -> storage (acre-ft): declared" in text


def test_import_stores_the_out_of_range_choice_with_the_readings(tmp_path, capsys):
    path = negative_storage_file(tmp_path)
    ws = str(tmp_path / "ws")
    args = ["--workspace", ws, "import", str(path), "--reservoir", "Pool", "--column", "cs=storage:acre-ft"]
    assert main([*args, "--out-of-range", "storage=sometimes"]) == 2
    assert "choose mask, keep or relative" in capsys.readouterr().err
    assert main([*args, "--out-of-range", "storage=relative"]) == 0
    assert out_of_range_decisions(Workspace(tmp_path / "ws"), "Pool") == {"storage": "relative"}


def test_the_data_page_judges_the_columns_as_declared_in_its_table(tmp_path):
    """What the page does when the operator sets 'cs' to storage in acre-ft in the mapping table."""
    data = negative_storage_file(tmp_path).read_bytes()
    auto = read_csv(data, filename="pool.csv")
    table = guess_table(auto.report.columns, auto.units, auto.source, auto.report.skipped)
    table.loc[0, ["variable", "unit"]] = ["storage", "acre-ft"]
    mapping, units, problems = read_mapping(table)
    assert problems == []
    options = ReadOptions(
        skip=skipped_columns(table),
        variables=tuple(mapping.items()),
        units=tuple((c, units[v]) for c, v in mapping.items()),
    )
    declared = read_csv(data, filename="pool.csv", options=options)
    (negative,) = [i for i in declared.report.issues if i.code == "negative"]
    assert negative.runs[0].days == 270
    ws = Workspace(tmp_path / "ws")
    plan = ImportPlan(
        RESERVOIR_LAYOUT, reservoir="Pool", mapping=mapping, units=units, options=options, decisions={"storage": "keep"}
    )
    apply(ws, data, "pool.csv", plan)
    assert out_of_range_decisions(ws, "Pool") == {"storage": "keep"}
    assert ws.reservoir("Pool").variable("storage").unit == "acre-ft"


@pytest.mark.slow
@pytest.mark.usefixtures("fresh_caches")
def test_the_data_page_offers_the_choice_before_the_import_and_stores_it(tmp_path, monkeypatch):
    ws = use_workspace(tmp_path / "ws", monkeypatch)
    data = negative_storage_file(tmp_path, header="Storage (acre-ft)").read_bytes()
    at = open_page("data", reservoir=None)
    at.file_uploader(key="data_files").set_value(("pool.csv", data, "text/csv"))
    run(at, None)
    runs = next(t.value for t in at.dataframe if "first day" in t.value.columns)
    row = runs[runs["finding"] == "outside the physical range"].iloc[0]
    assert (row["first day"], row["last day"], row["days"], row["value"]) == (
        "2020-04-10",
        "2021-01-04",
        270,
        "-1013.6 to -3.7",
    )
    assert "pool" not in [r.name for r in ws.reservoirs()]  # nothing stored yet (the app adds its sample)
    radio = next(r for r in at.radio if str(r.key).endswith("_oor_Storage (acre-ft)"))
    assert radio.value == "mask" and "270 values" in radio.label
    radio.set_value("relative")
    run(at, None)
    next(b for b in at.button if str(b.key).endswith("_import")).click()
    run(at, None)
    assert out_of_range_decisions(Workspace(ws.root), "pool") == {"storage": "relative"}
