"""Declared variables and units (--column, weak guesses, US customary units) and storage-elevation curves (read,
checked, stored, and applied to forecasts, exports and levels), with tiny generated files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.app.curves import import_curve, stored_curve
from core.app.importplan import GUESS_COLUMN, guess_table, unconfirmed_guesses, unit_problems
from core.app.pipeline import forecast_levels, forecast_reservoir, import_csv, update_levels
from core.cli.main import main
from core.data.columns import DeclarationError, guess_column, parse_declaration
from core.data.curves import Curve, CurveError, CurveOptions, read_curve
from core.data.levels import OperatingLevel
from core.data.sample import SAMPLE_NAME, level_to_storage
from core.data.units import check_unit, conversion_text, find_unit, normalize_unit, unit_rows
from core.export import report
from core.forecast.convert import express, levels_on
from core.jsonio import dumps
from core.store.workspace import Workspace

DAYS = 20


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def us_file(tmp_path, negative_day: int | None = None):
    """A US-style logger export: elevation in feet and inflow in cfs, under headers that say neither."""
    lines = ["date,c_elev,q1,x"]
    for i in range(DAYS):
        x = -5.0 if i == negative_day else 100.0 + i
        lines.append(f"2024-01-{i + 1:02d},{650 + 0.1 * i:.2f},{200 + i},{x}")
    path = tmp_path / "us.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def curve_file(tmp_path, rows, header="elevation_ft,storage_af", name="curve.csv"):
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(f"{e},{s}" for e, s in rows) + "\n")
    return path


# ---------------------------------------------------------------- units


def test_us_customary_and_metric_units_are_known_with_their_conversions():
    assert conversion_text("acre-ft", "m3") == "1 acre-ft = 1,233.48 m³"
    assert find_unit("cfs").conversion() == "1 cfs = 0.0283168 m³/s"
    assert find_unit("feet").conversion() == "1 ft = 0.3048 m"
    assert find_unit("inches").conversion() == "1 in = 25.4 mm"
    assert normalize_unit("Acre-Feet") == "acre-ft" and normalize_unit("cumecs") == "m³/s"
    assert normalize_unit("furlongs") == "furlongs"  # unknown units are kept as typed
    rows = {r["unit"]: r for r in unit_rows()}
    assert {"ft", "acre-ft", "cfs", "in", "m", "m³", "hm³", "m³/s", "mm"} <= set(rows)
    assert rows["m"]["conversion"] == "base unit of length"
    problem = check_unit("level", "cfs", "Column 'c_elev'")
    assert problem and "'cfs' is a unit of flow, but level is a length" in problem
    assert check_unit("storage", "acre-ft", "x") is None


# ---------------------------------------------------------------- declarations and guesses


def test_a_weak_guess_is_flagged_and_needs_confirming():
    guess = guess_column("c_elev")
    assert (guess.variable, guess.unit, guess.weak) == ("level", "m", True)
    assert guess.note.startswith("weak guess, confirm")
    assert not guess_column("Storage_m3").weak and not guess_column("level").weak
    assert "assumed (not in the header)" in guess_column("level").note
    table = guess_table(["c_elev", "Storage_m3"], {"Storage_m3": "m³"})
    assert unconfirmed_guesses(table) == ["c_elev"]
    table.loc[0, "unit"] = "ft"  # the operator says what it is: no longer a guess
    assert unconfirmed_guesses(table) == []
    # what the Data page's editor keeps of that edit: the note says so instead of keeping the guess's stale words
    redrawn = guess_table(["c_elev", "Storage_m3"], {"Storage_m3": "m³"}, edits={0: {"unit": "ft"}})
    assert list(redrawn[GUESS_COLUMN]) == ["set by you", table.loc[1, GUESS_COLUMN]]
    assert unit_problems({"c_elev": "level"}, {"level": "cfs"})


def test_declarations_parse_and_bad_ones_are_refused():
    d = parse_declaration("c_elev=Elevation:feet")
    assert (d.column, d.variable, d.unit) == ("c_elev", "level", "ft")
    assert parse_declaration("q1=inflow").unit is None
    with pytest.raises(DeclarationError, match="COLUMN=VARIABLE"):
        parse_declaration("c_elev")


def test_import_with_column_declarations_in_us_units(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    path = us_file(tmp_path, negative_day=5)
    code, out, err = run(
        capsys,
        "--workspace", ws, "import", str(path), "--reservoir", "Lake", "--json",
        "--column", "c_elev=level:ft", "--column", "q1=inflow:cfs", "--column", "x=storage:acre-ft",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    columns = {c["column"]: c for c in data["columns"]}
    assert (columns["c_elev"]["variable"], columns["c_elev"]["unit"]) == ("level", "ft")
    assert columns["q1"]["variable_source"] == "declared" and not columns["q1"]["weak"]
    # the checks follow the declaration: 'x' is storage, so its negative day is flagged although 'x' says nothing
    negative = [i for i in data["report"]["issues"] if i["code"] == "negative"]
    assert negative and negative[0]["column"] == "x"
    code, out, _ = run(capsys, "--workspace", ws, "reservoirs", "--json")
    units = {v["name"]: v["unit"] for v in json.loads(out)["reservoirs"][0]["variables"]}
    assert units == {"level": "ft", "inflow": "cfs", "storage": "acre-ft"}


def test_undeclared_weak_guess_is_warned_about_and_bad_declarations_refused(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    path = us_file(tmp_path)
    code, out, err = run(capsys, "--workspace", ws, "import", str(path), "--reservoir", "Lake")
    assert code == 0, err
    assert "column 'c_elev' was stored as level in no unit on a weak guess" in out  # what the store holds
    assert Workspace(ws).reservoir("Lake").variable("level").unit is None  # an assumed unit is never stored
    assert "c_elev -> level (no unit)" in out
    code, _, err = run(capsys, "--workspace", ws, "import", str(path), "--reservoir", "B", "--column", "nope=level")
    assert code == 2 and "the file has no column 'nope'" in err
    code, _, err = run(
        capsys, "--workspace", ws, "import", str(path), "--reservoir", "B", "--column", "c_elev=level:cfs"
    )
    assert code == 2 and "'cfs' is a unit of flow" in err


def test_same_unit_spelled_differently_is_not_a_conflict(workspace, tmp_path):
    path = us_file(tmp_path)
    import_csv(workspace, path, reservoir="Lake", declarations=[parse_declaration("c_elev=level:ft")])
    again = import_csv(workspace, path, reservoir="Lake", declarations=[parse_declaration("c_elev=level:feet")])
    assert again.results[0].already_imported
    with pytest.raises(ValueError, match=r"1 m = 3\.28084 ft"):
        import_csv(
            workspace, path.read_bytes() + b"2024-02-01,1,1,1\n", reservoir="Lake", filename="m.csv",
            declarations=[parse_declaration("c_elev=level:m")],
        )  # fmt: skip


# ---------------------------------------------------------------- curves


def test_curve_with_a_non_monotonic_row_is_refused_naming_the_row(tmp_path):
    path = curve_file(tmp_path, [(640, 1000), (650, 2000), (660, 1900), (670, 4000)])
    with pytest.raises(CurveError, match=r"line 4: storage_af 1900 \(at elevation_ft 660\) is below 2000 on line 3"):
        read_curve(path.read_bytes(), "curve.csv")
    repeated = curve_file(tmp_path, [(640, 1000), (640, 2000)], name="r.csv")
    with pytest.raises(CurveError, match="line 3: elevation_ft 640 is not above 640 on line 2"):
        read_curve(repeated.read_bytes(), "r.csv")
    text = curve_file(tmp_path, [(640, 1000), (650, "n/a"), (660, 3000)], name="t.csv")
    with pytest.raises(CurveError, match=r"not on line 3 \('n/a'\)"):
        read_curve(text.read_bytes(), "t.csv")


def test_curve_columns_and_units_are_detected_and_overridable(tmp_path):
    eac = tmp_path / "eac.csv"
    eac.write_text("Elev (ft),Area (acres),Capacity (acre-ft)\n700,10,50\n690,8,20\n680,5,0\n")
    curve = read_curve(eac.read_bytes(), "eac.csv")  # written top-down, read upwards; area ignored
    assert curve.elevation == (680.0, 690.0, 700.0) and curve.storage == (0.0, 20.0, 50.0)
    assert (curve.elevation_unit, curve.storage_unit) == ("ft", "acre-ft")
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n1,10\n2,20\n")
    forced = read_curve(plain.read_bytes(), "plain.csv", CurveOptions(storage_column="a", elevation_column="b"))
    assert forced.elevation == (10.0, 20.0) and "as given" in forced.notes[0]
    with pytest.raises(CurveError, match="'cfs' is a unit of flow"):
        read_curve(plain.read_bytes(), "plain.csv", CurveOptions(storage_unit="cfs"))
    assert float(curve.convert([685], "level")[0]) == pytest.approx(10.0)
    assert float(curve.convert([35], "storage")[0]) == pytest.approx(695.0)
    assert np.isnan(curve.convert([720], "level")[0])  # never extrapolated


def test_curve_not_covering_the_recorded_range_is_refused_unless_partial(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    run(
        capsys,
        "--workspace",
        ws,
        "import",
        str(us_file(tmp_path)),
        "--reservoir",
        "Lake",
        "--column",
        "c_elev=level:ft",
    )
    short = curve_file(tmp_path, [(640, 1000), (651, 2000)])  # the records reach 651.9 ft
    code, _, err = run(capsys, "--workspace", ws, "curve", "--reservoir", "Lake", str(short))
    assert code == 2
    assert (
        "The curve covers level 640 to 651 ft, but the recorded level (cleaned: logger codes and impossible values "
        "masked) runs up to 651.9 ft (on 2024-01-20)" in err
    )
    code, out, err = run(capsys, "--workspace", ws, "curve", "--reservoir", "Lake", str(short), "--partial", "--json")
    assert code == 0, err
    assert json.loads(out)["uncovered"]
    metric = curve_file(tmp_path, [(190, 1e6), (200, 3e6)], header="level_m,storage_m3", name="m.csv")
    code, out, err = run(capsys, "--workspace", ws, "curve", "--reservoir", "Lake", str(metric), "--json")
    assert code == 0, err
    data = json.loads(out)  # metres converted to the feet the records are kept in, with the factor said
    assert data["level"]["unit"] == "ft" and data["level"]["from"] == pytest.approx(190 / 0.3048)
    assert any("1 m = 3.28084 ft" in n for n in data["notes"])
    code, out, _ = run(capsys, "--workspace", ws, "curve", "--reservoir", "Lake")
    assert code == 0 and "storage-elevation curve from m.csv, 2 rows" in out


def sample_curve(tmp_path):
    """The sample reservoir's own storage-elevation relation as a table covering its record."""
    levels = np.linspace(285, 320, 36)
    rows = [(f"{lv:.2f}", f"{float(level_to_storage(lv)):.4f}") for lv in levels]
    return curve_file(tmp_path, rows, header="Elevation (m),Storage (hm3)")


def test_forecast_gains_the_converted_variable_with_bands(trained_sample, tmp_path):
    ws, _ = trained_sample
    import_curve(ws, SAMPLE_NAME, sample_curve(tmp_path))
    try:
        fc = forecast_reservoir(ws, SAMPLE_NAME)
        assert fc.target == "level" and fc.converted is not None
        day = fc.to_dict()["forecast"][0]
        assert day["storage"] == pytest.approx(float(level_to_storage(day["value"])), rel=1e-3)
        assert day["storage_lower_80"] <= day["storage"] <= day["storage_upper_80"]
        assert fc.to_dict()["converted"]["unit"] == "hm³"
        csv_text = report.csv_text(fc)
        assert "storage (hm³)" in csv_text and "storage lower 80% (hm³)" in csv_text
        assert "also as: storage (hm³), via the storage-elevation curve" in csv_text
        view = express(fc, stored_curve(ws, SAMPLE_NAME))
        assert view.target == "storage" and view.points[0].value == pytest.approx(day["storage"])
        assert view.converted.points[0].value == pytest.approx(day["value"])
    finally:
        ws.set_meta(SAMPLE_NAME, "curve", None)


def test_levels_in_either_variable_are_converted_through_the_curve(workspace, tmp_path):
    path = tmp_path / "stor.csv"
    path.write_text("date,storage\n" + "".join(f"2024-01-{i + 1:02d},{150 + i}\n" for i in range(DAYS)))
    import_csv(workspace, path, reservoir="S", units={"storage": "hm³"})
    import_curve(workspace, "S", sample_curve(tmp_path))
    flood = OperatingLevel("Flood", 310.0, None, "flood", "warning", "level")  # an elevation on a storage record
    stored = update_levels(workspace, "S", [flood])
    assert (stored[0].variable, stored[0].unit) == ("level", "m")
    on_storage = forecast_levels(workspace, "S", "storage")
    assert on_storage[0].value == pytest.approx(float(level_to_storage(310.0)), rel=1e-4)
    assert on_storage[0].variable == "storage" and on_storage[0].unit == "hm³"
    with pytest.raises(ValueError, match="outside the storage-elevation curve"):
        update_levels(workspace, "S", [OperatingLevel("Top", 400.0, None, "flood", "danger", "level")])
    assert levels_on(stored, "storage", None) == []  # no curve: levels of other variables do not apply


# ---------------------------------------------------------------- pages


@pytest.mark.usefixtures("fresh_caches")
def test_data_page_shows_the_curve_and_the_units(app_sample_ws, tmp_path):
    from tests.apptest_support import open_page

    import_curve(app_sample_ws, SAMPLE_NAME, sample_curve(tmp_path))
    at = open_page("data")
    labels = [e.label for e in at.expander]
    assert "Storage-elevation curve (36 rows)" in labels and "Units the app knows" in labels
    curve_table = next(df.value for df in at.dataframe if "level (m)" in df.value.columns)
    assert list(curve_table.columns) == ["level (m)", "storage (hm³)"] and len(curve_table) == 36
    units = next(df.value for df in at.dataframe if "conversion" in df.value.columns)
    assert "1 acre-ft = 1,233.48 m³" in set(units["conversion"])
    assert any("-curve" in str(c.proto.config) for c in at.get("plotly_chart"))


@pytest.mark.slow
@pytest.mark.usefixtures("fresh_caches")
def test_data_page_asks_to_confirm_a_weak_guess(app_sample_ws):
    from tests.apptest_support import open_page

    at = open_page("data")
    data = b"date,c_elev\n" + b"".join(f"2024-01-{i + 1:02d},{650 + i}\n".encode() for i in range(DAYS))
    at.file_uploader(key="data_files").set_value(("weak.csv", data, "text/csv"))
    at.run()
    (editor,) = at.data_editor
    assert "weak guess, confirm" in str(editor.proto)  # the note column of the mapping table
    assert any("Weak guess for c_elev" in e.value.replace("\\", "") for e in at.error)
    confirm = next(c for c in at.checkbox if "c_elev are right" in c.label)
    assert next(b for b in at.button if b.label == "Import").disabled
    confirm.check().run()
    assert not next(b for b in at.button if b.label == "Import").disabled


@pytest.mark.usefixtures("fresh_caches")
def test_forecast_page_shows_the_forecast_as_the_other_variable(app_trained_ws, tmp_path):
    from tests.apptest_support import open_page

    import_curve(app_trained_ws, SAMPLE_NAME, sample_curve(tmp_path))
    at = open_page("forecast")
    toggle = next(r for r in at.radio if r.label == "Show the forecast as")
    assert toggle.options == ["level", "storage"]
    shown = at.dataframe[0].value
    assert "storage (hm³)" in shown.columns and "storage lower 80% (hm³)" in shown.columns
    toggle.set_value("storage").run()
    assert not at.exception
    assert at.metric[0].label.startswith("Storage on")
    assert "hm³" in at.metric[0].value


# ---------------------------------------------------------------- beyond the curve: said, never silent


def _edge_forecast():
    """A level forecast (ft) that climbs past the top of a curve ending at 215 ft; its 95% band passes first."""
    from core.forecast.issue import Forecast, ForecastPoint

    values = [212.0, 213.0, 214.0, 216.0]
    points = tuple(
        ForecastPoint(
            date=f"2026-11-{24 + i}", value=v, lead=i + 1, lower_50=v - 0.2, upper_50=v + 0.2,
            lower_80=v - 0.5, upper_80=v + 0.5, lower_95=v - 1.5, upper_95=v + 1.5,
        )
        for i, v in enumerate(values)
    )  # fmt: skip
    fc = Forecast("Dam", 1, "conv1d", "level", "ft", "2026-11-23", {"date": "2026-11-23", "value": 211.0}, points)
    curve = Curve((200.0, 210.0, 215.0), (100.0, 200.0, 300.0), "ft", "acre-ft", source="c.csv")
    return fc, curve


def test_a_day_beyond_the_curve_says_so_in_table_json_cli_and_hover():
    from core.export import report
    from core.forecast.convert import attach, express

    fc, curve = _edge_forecast()
    fc = attach(fc, curve)
    notes = fc.converted.notes
    assert notes[0] == ""  # 212 ± 1.5 lies within 200..215: nothing to say
    assert notes[2] == (
        "the 95% band reaches above the curve's top, 215 ft of level: storage unknown at that end "
        "(the curve is not extrapolated)"
    )
    assert notes[3] == "above the curve's top, 215 ft of level: storage unknown (the curve is not extrapolated)"
    days = json.loads(dumps(fc.to_dict()))["forecast"]
    assert days[3]["storage"] is None and days[3]["storage_note"].startswith("above the curve's top, 215 ft")
    assert "storage_note" not in days[0] and days[0]["storage"] == pytest.approx(240.0)
    assert json.loads(dumps(fc.to_dict()))["converted"]["outside_curve"] == 2
    table = report.table(fc)
    assert table["storage note"].tolist()[3].startswith("above the curve's top") and table["storage note"][0] == ""
    assert "above the curve's top, 215 ft of level" in report.csv_text(fc)
    view = express(fc, curve)
    fig = report.chart(pd.Series(dtype=float), view, [])
    hover = next(t for t in fig.data if t.name == "forecast").customdata
    assert [str(row[1]).count("above the curve's top") for row in hover] == [0, 0, 0, 1, 1]  # anchor + 4 days


def test_the_forecast_page_table_shows_the_note_column_as_text():
    from core.forecast.convert import attach, express
    from pages import forecast as page

    fc, curve = _edge_forecast()
    view = express(attach(fc, curve), curve)
    table = page.screen_table(view)
    assert "level note" in table.columns and table["level note"].iloc[3].startswith("above the curve's top")
