"""Agency files read as they are published (issue 23): USGS NWIS RDB, CDEC's CSV export and Excel workbooks, with
fixtures written by hand from each format's published description (tests/fixtures/agency/), plus the wrong files
people upload by mistake (issue 19, item 13)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from core.app.pipeline import ImportRefused, import_csv
from core.cli.main import main
from core.data.ingest import ReadOptions, read_csv
from core.store.workspace import StoreError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "agency"
RDB = FIXTURES / "usgs_dv_example_lake.rdb"
CDEC = FIXTURES / "cdec_two_stations.csv"


def _codes(parsed, code: str) -> list:
    return [i for i in parsed.report.issues if i.code == code]


def _fixture_rows(path: Path) -> list[list[str]]:
    """The RDB fixture's data rows as the file writes them (read plainly, without the app's reader)."""
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return [ln.split("\t") for ln in lines[2:]]


# ---------------------------------------------------------------- USGS RDB


def test_rdb_maps_parameter_codes_and_reports_its_qualification_codes():
    parsed = read_csv(RDB)
    report = parsed.report
    assert report.ok
    assert report.described[0] == "USGS RDB"
    assert "parameter 00054 storage acre-ft (daily mean)" in report.described
    assert "site 08999900 EXAMPLE LAKE NR SAMPLETOWN, TX" in report.described
    # the unknown parameter (water temperature) and the second statistic are listed and left out, not guessed
    assert report.skipped == ("160476_00060_00001", "160477_00010_00003")
    left_out = next(line for line in report.described if line.startswith("left out"))
    assert "00010 (Temperature, water" in left_out and "not a reservoir variable" in left_out
    assert parsed.units["160474_00054_00003"] == "acre-ft" and parsed.units["160475_62614_00003"] == "ft"
    (provisional,) = [i for i in _codes(parsed, "provisional") if i.column == "160474_00054_00003"]
    assert [(r.first, r.last) for r in provisional.runs] == [("2024-01-31", "2024-02-09")]
    (estimated,) = _codes(parsed, "estimated")
    assert estimated.runs[0].first == "2024-01-12"  # 'A:e': approved and estimated, kept
    missing = {(i.column, i.runs[0].first) for i in _codes(parsed, "agency_missing")}
    assert missing == {
        ("160474_00054_00003", "2024-01-25"),  # '***' in the value cell
        ("160475_62614_00003", "2024-01-15"),  # blank value, 'Eqp'
        ("160476_00060_00003", "2024-01-20"),  # blank values, 'P:Ice'
    }
    assert not _codes(parsed, "missing_values")  # the codes already say why those cells are empty


def test_rdb_imports_the_right_variables_units_and_values(workspace):
    outcome = import_csv(workspace, RDB, reservoir="Example Lake")
    info = workspace.reservoir("Example Lake")
    assert [(v.name, v.unit, v.source_column) for v in info.variables] == [
        ("storage", "acre-ft", "160474_00054_00003"),
        ("level", "ft", "160475_62614_00003"),
        ("outflow", "cfs", "160476_00060_00003"),
    ]
    stored = workspace.readings("Example Lake")
    rows = {r[2]: r for r in _fixture_rows(RDB)}
    assert stored.at[pd.Timestamp("2024-01-01"), "storage"] == float(rows["2024-01-01"][3])
    assert stored.at[pd.Timestamp("2024-02-09"), "level"] == float(rows["2024-02-09"][5])  # provisional: kept
    assert stored.at[pd.Timestamp("2024-01-12"), "storage"] == float(rows["2024-01-12"][3])  # estimated: kept
    assert pd.isna(stored.at[pd.Timestamp("2024-01-15"), "level"])  # Eqp: missing, never 0
    assert pd.isna(stored.at[pd.Timestamp("2024-01-20"), "outflow"])  # Ice
    assert pd.isna(stored.at[pd.Timestamp("2024-01-25"), "storage"])  # ***
    (discharge,) = outcome.weak_guesses  # 00060 is a discharge: the release below a dam, or the inflow above it
    assert discharge.column == "160476_00060_00003" and "inflow" in discharge.question


def test_rdb_unknown_parameter_is_imported_only_when_declared(workspace, tmp_path, capsys):
    code = main(
        [
            "--workspace",
            str(tmp_path / "ws"),
            "import",
            str(RDB),
            "--reservoir",
            "Lake",
            "--column",
            "160477_00010_00003=water_temperature:degC",
            "--column",
            "160476_00060_00003=inflow:cfs",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["mapping"]["160477_00010_00003"] == "water_temperature"
    assert out["mapping"]["160476_00060_00003"] == "inflow"
    assert out["report"]["skipped"] == ["160476_00060_00001"]


def test_rdb_with_two_sites_becomes_two_reservoirs(workspace):
    """NWIS writes a header block per site; each site becomes a reservoir named by its number."""
    text = RDB.read_text()
    second = text.replace("08999900", "08999911").replace("EXAMPLE LAKE", "OTHER LAKE")
    parsed = read_csv((text + second).encode(), filename="two.rdb")
    assert parsed.report.ok and parsed.source.multi_station
    outcome = import_csv(workspace, (text + second).encode(), filename="two.rdb", stations={"08999911": "Other"})
    assert sorted(r.reservoir for r in outcome.results) == ["08999900", "Other"]
    assert workspace.reservoir("Other").variable("storage").unit == "acre-ft"


def _rdb_rows(rows: list[tuple[str, ...]], columns: tuple[str, ...], site: str = "08999900") -> str:
    """One NWIS header section: comments, the header and type lines, and tab-separated rows."""
    head = "\t".join(("agency_cd", "site_no", "datetime", *columns))
    types = "\t".join(("5s", "15s", "20d", *("14n" if not c.endswith("_cd") else "10s" for c in columns)))
    body = "".join("\t".join(("USGS", site, *r)) + "\n" for r in rows)
    return f"# Data provided for site {site}\n{head}\n{types}\n{body}"


def test_a_site_in_two_sections_is_one_reservoir_with_its_variables(workspace):
    """Two downloads of one site appended (`cat a.rdb b.rdb`): one storage and one level over both periods,
    never four variables under raw column names."""
    columns = ("1_00054_00003", "1_00054_00003_cd", "2_62614_00003", "2_62614_00003_cd")
    first = [(f"2024-01-{d:02d}", str(1000 + d), "A", str(100 + d / 10), "A") for d in range(1, 11)]
    second = [(f"2024-01-{d:02d}", str(1000 + d), "P", str(100 + d / 10), "P") for d in range(11, 21)]
    text = _rdb_rows(first, columns) + _rdb_rows(second, columns)
    outcome = import_csv(workspace, text.encode(), filename="appended.rdb")
    assert [r.reservoir for r in outcome.results] == ["08999900"]
    stored = workspace.readings("08999900")
    assert list(stored.columns) == ["storage", "level"] and len(stored) == 20
    assert stored["storage"].iloc[-1] == 1020 and [c.variable for c in outcome.columns] == ["storage", "level"]


def test_sections_with_other_parameters_of_one_site_are_joined_by_date(workspace):
    """A site's storage in one section and its elevation in another, same dates: one row per day."""
    days = [f"2024-01-{d:02d}" for d in range(1, 6)]
    text = _rdb_rows([(d, "1000", "A") for d in days], ("1_00054_00003", "1_00054_00003_cd")) + _rdb_rows(
        [(d, "100.5", "A") for d in days], ("2_62614_00003", "2_62614_00003_cd")
    )
    parsed = read_csv(text.encode(), filename="joined.rdb")
    assert parsed.report.ok, parsed.report.summary_lines()
    assert parsed.frame.notna().all().all() and len(parsed.frame) == 5


def test_an_elevation_is_the_level_before_gage_height(workspace):
    """00065 (height above the gauge's datum) and 62614 (elevation) at one site: the elevation is the level,
    whichever column comes first; gage height is left out with the reason."""
    columns = ("1_00065_00003", "1_00065_00003_cd", "2_62614_00003", "2_62614_00003_cd")
    rows = [(f"2024-02-{d:02d}", "12.30", "A", "3612.30", "A") for d in range(1, 8)]
    parsed = read_csv(_rdb_rows(rows, columns).encode(), filename="gage.rdb")
    assert parsed.source.column("2_62614_00003").variable == "level"
    assert not parsed.source.column("1_00065_00003").mapped
    assert "parameter 62614" in parsed.source.column("1_00065_00003").note


def test_of_two_time_series_of_one_parameter_the_one_with_the_latest_readings_is_taken():
    """A gauge replaced: the old series ends, the new one goes on; the new one is the record, the old is named."""
    columns = ("12001_00054_00003", "12001_00054_00003_cd", "25002_00054_00003", "25002_00054_00003_cd")
    rows = [
        (f"2024-01-{d:02d}", str(500 + d) if d <= 20 else "", "A" if d <= 20 else "", str(600 + d) if d >= 15 else "",
         "P" if d >= 15 else "")
        for d in range(1, 32)
    ]  # fmt: skip
    parsed = read_csv(_rdb_rows(rows, columns).encode(), filename="two_ts.rdb")
    assert parsed.source.column("25002_00054_00003").variable == "storage"
    old = parsed.source.column("12001_00054_00003")
    assert not old.mapped and "readings to 2024-01-20" in old.note and "2024-01-31" in old.note


def test_codes_and_empty_cells_are_each_said_once():
    """'Ice' and 'Eqp' in the value column are named as codes; the one truly blank cell alone is 'empty'."""
    rows = [(f"2024-03-{d:02d}", "1000", "A") for d in range(1, 11)]
    rows[2] = ("2024-03-03", "Ice", "")
    rows[4] = ("2024-03-05", "Eqp", "")
    rows[6] = ("2024-03-07", "", "")
    parsed = read_csv(_rdb_rows(rows, ("1_00054_00003", "1_00054_00003_cd")).encode(), filename="codes.rdb")
    empty = [i for i in parsed.report.issues if i.code == "missing_values"]
    assert len(empty) == 1 and list(empty[0].rows) == [10] and "besides the agency codes" in empty[0].message
    assert len([i for i in parsed.report.issues if i.code == "agency_missing"]) == 2


def test_an_nwis_answer_without_data_says_what_nwis_said():
    said = "No sites found matching all criteria"
    text = f"# //Output-Format: RDB\n# //Response-Status: OK\n# //Response-Message: {said}\n"
    parsed = read_csv(text.encode(), filename="empty.rdb")
    assert not parsed.report.ok
    assert "only the agency's answer: 'No sites found matching all criteria'" in parsed.report.errors[0].message


# ---------------------------------------------------------------- CDEC CSV


def test_cdec_two_stations_become_two_reservoirs_with_their_sensors(workspace):
    outcome = import_csv(workspace, CDEC, stations={"SHA": "Shasta"})
    assert sorted(r.reservoir for r in outcome.results) == ["ORO", "Shasta"]
    shasta, oro = workspace.reservoir("Shasta"), workspace.reservoir("ORO")
    assert [(v.name, v.unit) for v in shasta.variables] == [
        ("storage", "acre-ft"),
        ("level", "ft"),
        ("inflow", "cfs"),
        ("outflow", "cfs"),
        ("rainfall", "in"),
    ]
    assert [v.name for v in oro.variables] == ["storage", "level", "inflow", "outflow"]
    raw = pd.read_csv(CDEC, dtype=str)  # the fixture read plainly: what CDEC wrote for each station and sensor
    storage = raw[(raw.STATION_ID == "ORO") & (raw.SENSOR_TYPE == "STORAGE")]
    stored = workspace.readings("ORO")["storage"]
    assert stored.tolist() == storage.VALUE.astype(float).tolist()
    # '---' is missing, the hourly elevation beside the daily one is left out (the daily one is taken)
    assert pd.isna(workspace.readings("Shasta").at[pd.Timestamp("2024-02-11"), "storage"])
    level = raw[(raw.STATION_ID == "ORO") & (raw.SENSOR_TYPE == "RES ELE") & (raw.DURATION == "D")]
    assert workspace.readings("ORO")["level"].tolist() == level.VALUE.astype(float).tolist()


def test_cdec_lists_what_it_leaves_out_and_keeps_flags():
    parsed = read_csv(CDEC)
    report = parsed.report
    assert report.described[0] == "CDEC CSV"
    assert "station SHA sensor 15 STORAGE -> storage acre-ft" in report.described
    assert report.skipped == ("SHA RAIN", "ORO RES ELE (hourly)")
    rain = parsed.source.column("SHA RAIN")
    assert "accumulated" in rain.note and "PPT INC" in rain.note  # listed with the reason, not guessed
    (flag,) = _codes(parsed, "agency_flag")
    assert flag.column == "ORO INFLOW" and flag.runs[0].days == 3 and "'r'" in flag.message


def test_a_station_file_with_a_reservoir_name_is_refused_with_what_to_do(workspace):
    with pytest.raises(StoreError, match=r"holds several stations \(SHA, ORO\)"):
        import_csv(workspace, CDEC, reservoir="One")


# ---------------------------------------------------------------- Excel workbooks


def _workbook(tmp_path: Path) -> Path:
    """A workbook as operators keep one: a title row, Excel dates, a second sheet with serial-number dates."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Daily"
    sheet.append(["North reservoir: daily record"])
    sheet.append([])
    sheet.append(["Date", "Level (m)", "Inflow (m3/s)"])
    for i in range(12):
        sheet.append([dt.datetime(2024, 3, 1) + dt.timedelta(days=i), 100 + i * 0.25, 5 + i])
    serials = book.create_sheet("Serials")
    serials.append(["Date", "Storage (hm3)"])
    for i in range(12):
        serials.append([45352 + i, 50.5 + i])  # 45352 = 2024-03-01 in Excel's 1900 date system
    path = tmp_path / "record.xlsx"
    book.save(path)
    return path


def test_a_first_sheet_without_dates_names_the_workbook_s_other_sheets(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Summary"
    book.active.append(["Month", "Avg level"])
    book.active.append(["January", 101.5])
    readings = book.create_sheet("Readings")
    readings.append(["Date", "Level (m)"])
    readings.append([dt.datetime(2024, 1, 1), 101.2])
    path = tmp_path / "two_sheets.xlsx"
    book.save(path)
    parsed = read_csv(path)
    assert not parsed.report.ok and "its other sheets are 'Readings'" in parsed.report.errors[0].message
    assert read_csv(path, options=ReadOptions(sheet="Readings")).report.ok


def test_a_time_zone_abbreviation_is_read_as_the_local_time_it_names():
    parsed = read_csv(b"Date,Level (m)\n2024-01-01 09:00 AEST,100.1\n2024-01-02 09:00 AEST,100.2\n", filename="a.csv")
    assert parsed.report.ok and parsed.frame.index[0] == pd.Timestamp("2024-01-01")


def test_workbook_first_sheet_imports_with_the_right_variables_units_and_values(workspace, tmp_path):
    path = _workbook(tmp_path)
    parsed = read_csv(path)
    assert parsed.report.ok and parsed.report.described[:2] == (
        "Excel workbook",
        "sheet 'Daily' (1 of 2: Daily, Serials)",
    )
    assert "rows 1 to 2 above the header skipped" in parsed.report.described
    import_csv(workspace, path, reservoir="North")
    info = workspace.reservoir("North")
    assert [(v.name, v.unit) for v in info.variables] == [("level", "m"), ("inflow", "m³/s")]
    stored = workspace.readings("North")
    assert stored.index[0] == pd.Timestamp("2024-03-01") and stored["level"].iloc[-1] == pytest.approx(102.75)


def test_workbook_chosen_sheet_reads_serial_dates(workspace, tmp_path):
    path = _workbook(tmp_path)
    parsed = read_csv(path, options=ReadOptions(sheet="Serials"))
    assert parsed.report.ok and parsed.frame.index[0] == pd.Timestamp("2024-03-01")
    assert any("Excel serial numbers" in line for line in parsed.report.described)
    missing = read_csv(path, options=ReadOptions(sheet="Monthly"))
    assert "has no sheet 'Monthly'. Its sheets are: Daily, Serials" in missing.report.errors[0].message


def test_a_workbook_named_csv_is_read_as_a_workbook(tmp_path):
    data = _workbook(tmp_path).read_bytes()
    assert read_csv(data, filename="record.csv").report.ok


# ---------------------------------------------------------------- wrong files (issue 19, item 13)


def _zip(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in names.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (gzip.compress(b"date,level\n2024-01-01,1\n"), "gzip-compressed file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n", "This is a PDF document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "Excel 97-2003 workbook (.xls)"),
        (_zip({"data/readings.csv": b"date,level\n"}), "This is a ZIP archive"),
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "web page"),
    ],
    ids=["gzip", "pdf", "xls", "zip", "html"],
)
def test_a_wrong_file_named_csv_gets_its_own_message(content, expected):
    parsed = read_csv(content, filename="readings.csv")
    (error,) = parsed.report.errors
    assert expected in error.message and "NUL" not in error.message


def test_inspect_json_of_a_gzip_file_names_it(tmp_path, capsys):
    path = tmp_path / "feed.csv"
    path.write_bytes(gzip.compress(b"date,level\n2024-01-01,1\n"))
    assert main(["inspect", str(path), "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert "gzip-compressed" in data["issues"][0]["message"]


# ---------------------------------------------------------------- wide files (issue 19, item 10)


def test_a_file_wider_than_the_cap_is_refused_before_its_cells_are_read():
    header = "date," + ",".join(f"res_{i}" for i in range(8000))
    rows = "\n".join(f"2024-01-{d:02d}," + ",".join("1.5" for _ in range(8000)) for d in range(1, 29))
    parsed = read_csv(f"{header}\n{rows}\n".encode(), filename="wide.csv")
    (error,) = parsed.report.errors
    assert "8,001 columns" in error.message and "at most 500 value columns" in error.message
    assert parsed.report.n_rows == 0  # refused before reading the rows


def test_refusing_a_wide_file_refuses_a_wide_workbook_too(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["date", *(f"r{i}" for i in range(1500))])
    book.active.append(["2024-01-01", *([1.0] * 1500)])
    path = tmp_path / "wide.xlsx"
    book.save(path)
    assert "1,501 columns" in read_csv(path).report.errors[0].message


def test_refused_import_of_a_wide_file_stores_nothing(workspace):
    header = "date," + ",".join(f"res_{i}" for i in range(1200))
    with pytest.raises(ImportRefused, match="1,201 columns"):
        import_csv(
            workspace, f"{header}\n2024-01-01,{','.join('1' for _ in range(1200))}\n".encode(), variable="storage"
        )
    assert workspace.reservoirs() == []


def test_an_old_rdb_layout_without_parameter_codes_is_named():
    old = (
        "# USGS 03451500 FRENCH BROAD RIVER AT ASHEVILLE, NC\n#\nagency_cd\tsite_no\tdv_dt\tdv_va\tdv_cd\n"
        "5s\t15s\t10d\t12n\t3s\nUSGS\t03451500\t1985-01-20\t1100\te\n"
    )
    (error,) = read_csv(old.encode(), filename="old.rdb").report.errors
    assert "older NWIS layout (dv_dt, dv_va)" in error.message
