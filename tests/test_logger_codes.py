"""Logger codes and impossible values (issue 11, item 1): found by what they are, reported with their date runs,
masked in cleaning, drawn on the history chart; out-of-range runs left to the operator's decision."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.app.pipeline import import_csv, load_clean
from core.app.screening import decide_out_of_range, out_of_range_decisions, stored_findings
from core.charts import history_figure
from core.cli.main import main
from core.data import screen
from core.data.clean import clean_daily
from core.data.config import CleanConfig
from core.data.ingest import read_csv
from core.data.qc import QcFlag
from core.data.variables import physical_range

START = "2021-01-01"


def _csv(n: int = 90, **columns: np.ndarray) -> bytes:
    """A daily CSV from START with the given columns."""
    days = pd.date_range(START, periods=n)
    frame = pd.DataFrame(columns, index=pd.Index(days.strftime("%Y-%m-%d"), name="date"))
    return frame.to_csv().encode()


def _level(n: int = 90) -> np.ndarray:
    return 200.0 + 5.0 * np.sin(np.arange(n) / 10.0)


def _storage(n: int = 90) -> np.ndarray:
    return 5000.0 + 3.0 * np.arange(n)


def _issues(parsed, code: str) -> list:
    return [i for i in parsed.report.issues if i.code == code]


def test_code_run_in_the_middle_is_reported_with_its_dates_and_its_companions():
    level, storage = _level(), _storage()
    level[40:46], storage[40:46] = -999999.0, 12.0  # the logger's code and a bogus companion value
    parsed = read_csv(_csv(elevation=level, storage=storage), filename="codes.csv")
    assert parsed.report.ok
    (coded,) = [i for i in _issues(parsed, "coded_run") if i.column == "elevation"]
    assert [(r.first, r.last, r.days, r.value) for r in coded.runs] == [("2021-02-10", "2021-02-15", 6, -999999.0)]
    assert "-999999" in coded.message and "2021-02-10 to 2021-02-15" in coded.message
    assert coded.rows == (42, 43, 44, 45, 46, 47)
    flagged_storage = [
        i for i in parsed.report.issues if i.column == "storage" and i.code in ("companion", "coded_run")
    ]
    assert flagged_storage and all(i.runs[0].first == "2021-02-10" for i in flagged_storage)
    as_json = json.loads(json.dumps(parsed.report.to_dict()))
    runs = [i["runs"] for i in as_json["issues"] if i["code"] == "coded_run" and i["column"] == "elevation"]
    assert runs == [[{"first": "2021-02-10", "last": "2021-02-15", "days": 6, "value": -999999.0, "values": ""}]]

    clean = clean_daily(parsed.frame.rename(columns={"elevation": "level"}))
    assert (clean.flags["level"].iloc[40:46] == QcFlag.MASKED_SENTINEL).all()
    assert clean.flags["storage"].iloc[40:46].isin([QcFlag.MASKED_SENTINEL, QcFlag.MASKED_COMPANION]).all()
    assert clean.values.iloc[40:46].isna().all().all()  # a 6-day gap: longer than max_gap_days, left missing
    assert clean.values["level"].min() > 190 and clean.values["storage"].min() > 4900


def test_companion_is_masked_only_when_odd_for_its_own_series():
    level, storage = _level(), _storage()
    level[30:33] = 9999.9
    storage[31] = 40.0  # the logger's bogus companion on one of the coded days; the other two continue the line
    frame = read_csv(_csv(level=level, storage=storage), filename="x.csv").frame
    clean = clean_daily(frame)
    assert clean.flags["storage"].iloc[31] == QcFlag.MASKED_COMPANION
    assert (clean.flags["storage"].iloc[[30, 32]] == QcFlag.OK).all()  # ordinary for storage: kept as read
    assert (clean.flags["level"].iloc[30:33] == QcFlag.MASKED_SENTINEL).all()
    # interpolated over the masked day: the storage line carries on where it was
    assert np.allclose(clean.values["storage"].iloc[30:33], _storage()[30:33])


def test_dry_days_are_not_companions_of_a_code():
    """0 mm of rain on a coded level day is an ordinary dry day: never flagged, never masked (walkthrough bug)."""
    level = _level()
    rain = np.where(np.arange(90) % 7 == 0, 12.5, 0.0)  # one storm size: zeros must not read as a code either
    level[40:46] = -999999.0
    rain[43] = 900.0  # beyond anything the rain gauge wrote on other days: odd for rainfall, a companion
    parsed = read_csv(_csv(level=level, rainfall=rain), filename="rain.csv")
    companions = [i for i in _issues(parsed, "companion") if i.column == "rainfall"]
    assert [(r.first, r.last) for r in companions[0].runs] == [("2021-02-13", "2021-02-13")]
    clean = clean_daily(parsed.frame)
    flags = clean.flags["rainfall"].iloc[40:46]
    assert flags.iloc[3] == QcFlag.MASKED_COMPANION
    assert (flags.drop(flags.index[3]) == QcFlag.OK).all()
    assert (clean.values["rainfall"].iloc[[40, 41, 42, 44, 45]] == rain[[40, 41, 42, 44, 45]]).all()


def test_codes_at_the_start_and_an_absurd_last_reading_are_caught():
    level = _level()
    level[:3] = -999999.0
    level[-1] = 1e308  # the reading a forecast would start from
    parsed = read_csv(_csv(level=level), filename="edges.csv")
    (coded,) = _issues(parsed, "coded_run")
    assert (coded.runs[0].first, coded.runs[0].last) == ("2021-01-01", "2021-01-03")
    (absurd,) = _issues(parsed, "absurd_value")
    assert absurd.runs[0].first == absurd.runs[0].last == "2021-03-31"
    assert "last reading" in absurd.message
    clean = clean_daily(parsed.frame)
    assert (clean.flags["level"].iloc[:3] == QcFlag.MASKED_SENTINEL).all()
    assert clean.flags["level"].iloc[-1] == QcFlag.MASKED_IMPOSSIBLE and np.isnan(clean.values["level"].iloc[-1])


def test_absurd_first_reading_and_huge_single_values_need_no_neighbour():
    values = _storage()
    values[0] = -1e30
    flags = screen.find_absurd(pd.Series(values))
    assert flags.tolist() == [True] + [False] * (len(values) - 1)


def test_level_below_any_plausible_bed_is_out_of_range():
    level = _level()
    level[50] = -5000.0  # once: not a code, not a spike at an edge, but no reservoir is 5 km below sea level
    parsed = read_csv(_csv(level=level), filename="bed.csv")
    issues = _issues(parsed, "out_of_range") + _issues(parsed, "absurd_value")
    assert issues and issues[0].runs[0].first == "2021-02-20"


def test_real_hydrology_is_not_taken_for_codes():
    rng = np.random.default_rng(3)
    flow = np.round(rng.gamma(0.6, 200.0, 3000))  # flashy inflow, whole cfs: repeats and big storms
    flow[1000:1003] = [40000.0, 40000.0, 18000.0]  # a flood peak held two days, then a fast recession
    rain = np.round(np.where(rng.random(3000) < 0.1, rng.gamma(0.8, 12.0, 3000), 0.0))
    rain[2000], rain[2500] = 150.0, 150.0  # two identical big storm days
    series = {"inflow": flow, "rainfall": rain}
    for name, values in series.items():
        assert not screen.find_codes(pd.Series(values), name).any(), name
        assert not screen.find_absurd(pd.Series(values)).any(), name


def test_long_negative_storage_run_is_reported_and_left_to_the_operator(workspace):
    storage = _storage(120) - 5200.0  # counted from a pool bottom: negative for the first 67 days
    parsed = read_csv(_csv(120, storage=storage), filename="relative.csv")
    (negative,) = _issues(parsed, "negative")
    assert negative.runs[0].first == "2021-01-01" and negative.runs[0].days >= 60
    assert "convention" in negative.message and "relative" in negative.message

    import_csv(workspace, _csv(120, storage=storage), reservoir="Pool", filename="relative.csv")
    masked = load_clean(workspace, "Pool", ["storage"], CleanConfig())
    assert (masked.flags["storage"].iloc[:60] == QcFlag.MASKED_IMPOSSIBLE).all()
    (finding,) = stored_findings(workspace, "Pool")
    assert finding.kind == "out_of_range" and finding.decision == "mask" and finding.long

    decide_out_of_range(workspace, "Pool", "storage", "relative")
    assert out_of_range_decisions(workspace, "Pool") == {"storage": "relative"}
    relative = load_clean(workspace, "Pool", ["storage"], CleanConfig())
    assert (relative.flags["storage"] == QcFlag.OK).all() and relative.values["storage"].iloc[0] == storage[0]

    decide_out_of_range(workspace, "Pool", "storage", "keep")
    kept = load_clean(workspace, "Pool", ["storage"], CleanConfig())
    assert (kept.flags["storage"].iloc[:60] == QcFlag.OUT_OF_RANGE).all()
    assert kept.values["storage"].iloc[0] == storage[0]
    assert any("out-of-range" in line for line in kept.summary_lines())

    decide_out_of_range(workspace, "Pool", "storage", "mask")
    assert out_of_range_decisions(workspace, "Pool") == {}


def test_codes_in_another_variable_mask_their_companions_in_cleaning(workspace):
    level, storage = _level(), _storage()
    level[20:24], storage[20:24] = -999999.0, [1.0, 4.0, 2.0, 9.0]
    import_csv(workspace, _csv(level=level, storage=storage), reservoir="Two", filename="two.csv")
    clean = load_clean(workspace, "Two", ["storage"], CleanConfig())  # level is not loaded, its codes still count
    assert (clean.flags["storage"].iloc[20:24] == QcFlag.MASKED_COMPANION).all()
    assert (clean.flags["storage"].iloc[:20] == QcFlag.OK).all()


def test_fixed_no_data_code_makes_its_companions_missing_at_import():
    level, storage = _level(), _storage()
    level[[10, 50]], storage[10] = -9999.0, 0.0  # a bogus companion by the first code, a plausible one by the second
    parsed = read_csv(_csv(level=level, storage=storage), filename="fixed.csv")
    assert np.isnan(parsed.frame["level"].iloc[10]) and np.isnan(parsed.frame["storage"].iloc[10])
    assert parsed.frame["storage"].iloc[50] == storage[50]  # continues its line: not a companion
    (sentinel,) = _issues(parsed, "sentinel")
    assert [(r.first, r.last) for r in sentinel.runs] == [("2021-01-11", "2021-01-11"), ("2021-02-20", "2021-02-20")]
    assert "2021-01-11" in sentinel.message
    (companion,) = _issues(parsed, "companion")
    assert companion.column == "storage" and "'level'" in companion.message


def test_history_chart_draws_codes_and_companions():
    level, storage = _level(), _storage()
    level[30:33], storage[30:33] = 9999.9, [7.0, 3.0, 11.0]
    clean = clean_daily(read_csv(_csv(level=level, storage=storage), filename="x.csv").frame)
    fig = history_figure(clean.values[["storage"]], clean.flags[["storage"]], "storage", None)
    names = {t.name for t in fig.data}
    assert "companion of a code masked" in names
    fig = history_figure(clean.values[["level"]], clean.flags[["level"]], "level", "m")
    assert "logger code masked" in {t.name for t in fig.data}


def test_level_range_is_judged_in_the_declared_unit():
    """9,000 is above Everest in metres but an ordinary elevation in feet (walkthrough: the unit was ignored)."""
    from core.data.ingest import ReadOptions

    data = _csv(elev=9000.0 + np.sin(np.arange(90) / 10.0))
    as_m = read_csv(
        data, filename="elev.csv", options=ReadOptions(variables=(("elev", "level"),), units=(("elev", "m"),))
    )
    as_ft = read_csv(
        data, filename="elev.csv", options=ReadOptions(variables=(("elev", "level"),), units=(("elev", "ft"),))
    )
    assert [i.column for i in as_m.report.issues if i.code == "out_of_range"] == ["elev"]
    assert not [i for i in as_ft.report.issues if i.code == "out_of_range"]
    assert physical_range("level", unit="ft")[1] > 29000 > physical_range("level", unit="m")[1]
    frame = pd.DataFrame({"level": 9000.0 + np.arange(40.0)}, index=pd.date_range(START, periods=40, name="date"))
    assert (clean_daily(frame, units={"level": "m"}).flags["level"] == QcFlag.MASKED_IMPOSSIBLE).all()
    assert (clean_daily(frame, units={"level": "ft"}).flags["level"] == QcFlag.OK).all()


def test_negative_level_is_accepted_for_a_variable_declared_relative(workspace):
    from core.app.pipeline import update_levels
    from core.data.levels import LevelError, OperatingLevel, parse_level

    import_csv(workspace, _csv(120, storage=_storage(120) - 5200.0), reservoir="Pool", filename="p.csv")
    low = OperatingLevel("Empty", -150.0, None, "drought", "watch", "storage")
    with pytest.raises(LevelError, match="cannot be negative"):
        update_levels(workspace, "Pool", [low])
    decide_out_of_range(workspace, "Pool", "storage", "relative")
    assert [lv.value for lv in update_levels(workspace, "Pool", [low])] == [-150.0]
    assert parse_level("Empty=-5:drought:watch", "hm³", "storage", relative=True).value == -5.0
    with pytest.raises(LevelError, match="declare the variable relative"):
        parse_level("Empty=-5:drought:watch", "hm³", "storage")
    ws = str(workspace.root)
    assert main(["--workspace", ws, "levels", "--reservoir", "Pool", "--set", "Low=-120:drought:watch"]) == 0


def test_hindcast_cleaning_sees_codes_of_variables_the_model_does_not_read(workspace, monkeypatch):
    """A code in a column outside the model's inputs still masks its companions on every hindcast issue day."""
    import core.app.pipeline as pipeline_module
    from core.app.pipeline import hindcast
    from core.forecast.issue import ForecastError

    level, storage = _level(), _storage()
    level[60:63] = -999999.0
    storage[60:63] = [3.0, 8.0, 5.0]
    import_csv(workspace, _csv(level=level, storage=storage), reservoir="Two", filename="two.csv")
    seen = []
    real = pipeline_module.clean_daily

    def spy(raw, config=CleanConfig(), out_of_range=None, coded_elsewhere=None, units=None):
        result = real(raw, config, out_of_range, coded_elsewhere, units)
        seen.append(result.flags["storage"])
        return result

    def no_forecast(*args, **kwargs):
        raise ForecastError("not needed here")

    monkeypatch.setattr(pipeline_module, "clean_daily", spy)  # the names hindcast calls
    monkeypatch.setattr(pipeline_module, "issue", no_forecast)
    cfg = type("Cfg", (), {"target": "storage", "features": (), "clean": CleanConfig(), "horizon": 7, "n_steps": 14})
    loaded = type("Loaded", (), {"config": cfg, "calibration": None})()
    assert hindcast(workspace, "Two", "2021-03-05", "2021-03-05", loaded=loaded) == []
    (flags,) = seen
    assert (flags.loc["2021-03-02":"2021-03-04"] == QcFlag.MASKED_COMPANION).all()


def test_cli_qc_lists_runs_and_stores_the_decision(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    csv = tmp_path / "pool.csv"
    csv.write_bytes(_csv(120, storage=_storage(120) - 5200.0))
    assert main(["--workspace", ws, "import", str(csv), "--reservoir", "Pool"]) == 0
    capsys.readouterr()
    assert main(["--workspace", ws, "qc", "--reservoir", "Pool", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (finding,) = data["findings"]
    assert finding["kind"] == "out_of_range" and finding["runs"][0]["first"] == "2021-01-01"
    assert (
        main(["--workspace", ws, "qc", "--reservoir", "Pool", "--variable", "storage", "--out-of-range", "relative"])
        == 0
    )
    out = capsys.readouterr().out
    assert "relative" in out and "2021-01-01" in out


# ---------------------------------------------------------------- awkward files (item 7)

ROWS = "\n".join(f"2020-01-{d:02d},{d}" for d in range(1, 29))


def _error(data: bytes) -> str:
    parsed = read_csv(data, filename="awkward.csv")
    assert not parsed.report.ok
    return parsed.report.errors[0].message


def test_a_cell_longer_than_the_csv_limit_names_its_line_and_the_unclosed_quote():
    message = _error(('date,level\n2020-01-01,1\n2020-01-02,"2\n' + "x" * 200_000 + "\n").encode())
    assert "Line 3" in message and "131,072" in message and "quote" in message


def test_utf16_without_bom_is_read_in_either_byte_order():
    for encoding in ("utf-16-le", "utf-16-be"):
        parsed = read_csv(("date,level\n" + ROWS).encode(encoding), filename="u16.csv")
        assert parsed.report.ok and parsed.report.encoding == encoding
        assert parsed.frame["level"].iloc[-1] == 28.0


def test_duplicate_headers_are_named_as_written():
    data = ("date,Level,level \n" + "\n".join(f"2020-01-{d:02d},{d},{d + 1}" for d in range(1, 29))).encode()
    parsed = read_csv(data, filename="dup.csv")
    (issue,) = [i for i in parsed.report.issues if i.code == "duplicate_column"]
    assert "Columns 2 ('Level') and 3 ('level')" in issue.message and "'level_3'" in issue.message
    assert list(parsed.frame.columns) == ["Level", "level_3"]


def test_a_nul_byte_is_named_with_its_line():
    message = _error(("date,level\n" + ROWS + "\n2020-01-29,5\x00\n").encode())
    assert "NUL byte" in message and "Line 30" in message
