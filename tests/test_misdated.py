"""A mis-dated reading cannot stop a reservoir (issue 19, item 4): rows dated after the import day, before any
daily record, or stranded far from the rest are held out of the record with a named finding (line, date, what to
do) in the report, the Data page and --json; a record stored before this rule is cleaned without them, so forecasts
and trainings judge "today" from the last plausible reading."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.app.pipeline import ImportRefused, forecast_reservoir, import_csv, load_clean, train_reservoir
from core.cli.main import main
from core.data.config import CleanConfig
from core.data.ingest import ReadOptions, read_csv
from core.data.sample import SAMPLE_NAME
from core.model.config import ModelConfig
from core.store.workspace import UploadInfo
from tests.apptest_support import private_copy
from tests.conftest import tiny_config

TODAY = "2025-03-01"
SAMPLE_END = "2023-12-31"  # the sample reservoir's last day (12 years from 2012)


def _file(extra: list[str], days: int = 80, start: str = "2024-01-01") -> bytes:
    rows = [f"{d.date()},{100 + i * 0.1:.1f}" for i, d in enumerate(pd.date_range(start, periods=days))]
    return ("date,level\n" + "\n".join([*rows, *extra]) + "\n").encode()


def test_a_row_dated_after_the_import_day_is_held_out_with_its_line_and_date():
    parsed = read_csv(_file(["2099-06-01,101.0"]), filename="f.csv", options=ReadOptions(today=TODAY))
    assert parsed.report.ok and parsed.frame.index[-1] == pd.Timestamp("2024-03-20")
    (held,) = [i for i in parsed.report.issues if i.code == "held_out_dates"]
    assert held.rows == (82,) and held.examples == ("2099-06-01",)
    assert "2099-06-01 (after the import day (2025-03-01))" in held.message
    assert "Correct the date in the file and import it again" in held.message


def test_a_row_dated_1800_and_a_stranded_row_are_held_out():
    parsed = read_csv(_file(["1800-01-01,99.0", "1990-05-05,98.0"]), filename="f.csv", options=ReadOptions(today=TODAY))
    (held,) = [i for i in parsed.report.issues if i.code == "held_out_dates"]
    assert set(held.examples) == {"1800-01-01", "1990-05-05"}
    assert "before 1850" in held.message and "a year or more before the rest of the record" in held.message
    assert parsed.frame.index[0] == pd.Timestamp("2024-01-01")


def test_a_gap_of_years_within_a_real_record_is_not_held_out():
    """Two long stretches a decade apart are a record with a gap, not a typing error."""
    early = _file([], days=400, start="2000-01-01").decode().splitlines()[1:]
    parsed = read_csv(_file(early), filename="f.csv", options=ReadOptions(today=TODAY))
    assert not [i for i in parsed.report.issues if i.code == "held_out_dates"]
    assert parsed.frame.index[0] == pd.Timestamp("2000-01-01")


def test_a_whole_file_dated_in_2099_is_refused_with_the_reason(workspace):
    data = _file([], days=30, start="2099-01-01")
    with pytest.raises(ImportRefused, match="Every row of f.csv is dated where no reading can be"):
        import_csv(workspace, data, reservoir="Future", filename="f.csv")
    assert workspace.reservoirs() == []


def test_import_json_names_the_held_rows_and_stores_the_rest(tmp_path, capsys):
    path = tmp_path / "f.csv"
    path.write_bytes(_file(["2099-06-01,101.0"]))
    assert main(["--workspace", str(tmp_path / "ws"), "import", str(path), "--reservoir", "Lake", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (held,) = [i for i in data["report"]["issues"] if i["code"] == "held_out_dates"]
    assert held["rows"] == [82] and held["examples"] == ["2099-06-01"]
    assert data["results"][0]["added"] == 80


def test_a_stored_mis_dated_reading_does_not_stop_forecasts_or_training(trained_sample, tmp_path, monkeypatch):
    """A record stored before this rule (here merged straight into the store) keeps forecasting from its last
    plausible day, and a new training is fitted on the plausible record."""
    source, _ = trained_sample
    ws = private_copy(source.root, tmp_path, monkeypatch)
    bad = pd.DataFrame({"level": [301.0]}, index=pd.DatetimeIndex([pd.Timestamp("2099-06-01")], name="date"))
    ws.merge({SAMPLE_NAME: bad}, {SAMPLE_NAME: {"level": "m"}}, UploadInfo(filename="old.csv", sha256="x" * 64))
    assert ws.readings(SAMPLE_NAME).index[-1] == pd.Timestamp("2099-06-01")
    clean = load_clean(ws, SAMPLE_NAME, ["level"], CleanConfig())
    assert clean.values.index[-1] == pd.Timestamp(SAMPLE_END)
    assert clean.held_out == {"2099-06-01": "after the import day (" + str(pd.Timestamp.now("UTC").date()) + ")"}
    assert any("mis-dated stored day left out: 2099-06-01" in line for line in clean.summary_lines())
    forecast = forecast_reservoir(ws, SAMPLE_NAME)
    assert forecast.issued == SAMPLE_END
    outcome = train_reservoir(ws, SAMPLE_NAME, tiny_config(model=ModelConfig(name="ridge")))
    assert outcome.result.bounds.to_dict()["test"][1] <= SAMPLE_END
