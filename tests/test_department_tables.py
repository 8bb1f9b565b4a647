"""Department tables as they come (issue 23, item 5): month-name and two-digit-year dates, columns guessed on whole
words and units, lagged copies left out, a header unit that contradicts its variable questioned, and bad cells in a
column nobody imports only a warning. The fixture (tests/fixtures/agency/department_daily.csv) is written the way
state water-resources departments publish daily bulletins and people scrape them into CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.app.pipeline import NeedsConfirmation, default_features, import_csv
from core.data.columns import guess_column, guess_columns, parse_declaration, proposed_mapping
from core.data.ingest import ReadOptions, read_csv
from core.data.screen import spans
from core.data.units import factor
from core.data.variables import canonical_name, guess_unit, lag_of, level_bounds

TABLE = Path(__file__).resolve().parent / "fixtures" / "agency" / "department_daily.csv"
HEADERS = {
    "prev": "Level on previous day in Feet",
    "level": "Today's Level in Feet",
    "capacity": "Today's Capacity in TMC",
    "drawl": "Today's Drawl in MLD",
    "inflow": "Today's Inflows in TMC",
    "ly_level": "Last year Level in Feet on same date",
    "ly_capacity": "Last year Capacity in TMC on same date",
}


def _dates_file(dates: list[str]) -> bytes:
    return ("date,level\n" + "".join(f"{d},{100 + i}\n" for i, d in enumerate(dates))).encode()


# ---------------------------------------------------------------- dates


def test_month_name_dates_with_four_and_two_digit_years_are_read():
    four = read_csv(_dates_file(["01-JAN-2014", "02-JAN-2014", "03-JAN-2014"]), filename="a.csv")
    two = read_csv(_dates_file(["30-DEC-13", "31-DEC-13", "01-JAN-14"]), filename="b.csv")
    assert four.report.ok and list(four.frame.index.strftime("%Y-%m-%d")) == ["2014-01-01", "2014-01-02", "2014-01-03"]
    assert two.report.ok and list(two.frame.index.strftime("%Y-%m-%d")) == ["2013-12-30", "2013-12-31", "2014-01-01"]


def test_two_digit_year_first_dates_read_as_the_sequence_they_are():
    """18-10-01, 18-10-02 ... is 1 to 3 October 2018, not 18 October of 2001, 2002 and 2003."""
    parsed = read_csv(_dates_file(["18-10-01", "18-10-02", "18-10-03", "18-10-04"]), filename="yy.csv")
    assert parsed.report.ok
    assert list(parsed.frame.index.strftime("%Y-%m-%d")) == ["2018-10-01", "2018-10-02", "2018-10-03", "2018-10-04"]


def test_an_impossible_year_is_a_bad_date_with_its_line_never_a_library_message():
    parsed = read_csv(_dates_file(["2014-01-01", "0018-10-01", "2014-01-03"]), filename="y.csv")
    (error,) = parsed.report.errors
    assert error.code == "bad_dates" and error.rows == (3,) and "'0018-10-01'" in error.message
    assert "nanosecond" not in error.message and "Out of bounds" not in error.message


# ---------------------------------------------------------------- columns


def test_columns_are_guessed_on_whole_words_and_units():
    assert {k: canonical_name(h) for k, h in HEADERS.items()} == {
        "prev": "level_previous_day",
        "level": "level",  # 'in Feet' is the unit, not an inflow
        "capacity": "storage",
        "drawl": "outflow",
        "inflow": "inflow",
        "ly_level": "level_last_year",
        "ly_capacity": "storage_last_year",
    }
    assert [guess_unit(HEADERS[k]) for k in ("level", "capacity", "drawl")] == ["ft", "TMC", "ML/day"]
    assert guess_unit("Outflow in cusecs") == "cfs" and guess_unit("Storage Mcft") == "mcft"
    assert canonical_name("Rain in") == "rainfall" and guess_unit("Rain in") == "in"  # inches, at the end


def test_a_multiplier_in_a_header_unit_is_read_never_dropped():
    """'Storage (1000 m3)' holds thousands of m³: read as the unit it is (ML = 1000 m³), or as a unit of 1000
    acre-ft/day where none is known; dropping the 1000 stored values 1,000 times too small in the unit shown."""
    headers = {
        "Storage (1000 m3)": "ML",
        "Storage [x1000 m3]": "ML",
        "Stauinhalt [1000 m³]": "ML",
        "Storage_1000_m3": "ML",
        "Storage (thousand m3)": "ML",
        "Storage (10^6 m3)": "hm³",
        "Storage (10³ m³)": "ML",
        "Storage (1,000 acre-ft)": "kaf",
        "Inflow (1000 cfs)": "kcfs",
        "Inflow (1000 m3/day)": "ML/day",
        "Inflow (1000 acre-ft/day)": "1000 acre-ft/day",
        "Level (m)": "m",
        "Gauge_1_m": "m",
    }
    assert {h: guess_unit(h) for h in headers} == headers
    assert factor("1000 acre-ft/day", "acre-ft/day") == pytest.approx(1000.0) and factor("10^6 m3", "m³") == 1e6


def test_multipliers_and_units_as_european_and_australian_boards_write_them():
    headers = {
        "Stauinhalt (Mio. m³)": "hm³",
        "Storage (Mill. m3)": "hm³",
        "Storage (Th. m3)": "ML",
        "Storage (Tsd. m³)": "ML",
        "Storage (k m3)": "ML",
        "Storage (ML x 1000)": "hm³",
        "Storage (TCM)": "ML",
        "Storage (BCM)": "km³",
        "Level (mm)": "mm",
    }
    assert {h: guess_unit(h) for h in headers} == headers


def test_headers_in_other_languages_and_changes_of_a_variable():
    """Spanish, French, German and Italian words name the variables (accents dropped); 'Volume change' is not
    storage, so it cannot take the reservoir's storage from 'Accessible volume'."""
    assert [canonical_name(h) for h in ("Volumen (hm3)", "Cota (m.s.n.m.)", "Cote (m NGF)", "Wasserstand [m ü. NN]",
                                        "Stauhöhe", "Zufluss", "Abfluss", "Niederschlag (mm)", "Salidas")] == [
        "storage", "level", "level", "level", "level", "inflow", "outflow", "rainfall", "outflow"]  # fmt: skip
    stored = proposed_mapping(guess_columns(["Accessible volume (GL)", "Volume change (GL)"]))
    assert stored == {"Accessible volume (GL)": "storage", "Volume change (GL)": "volume_change_gl"}
    both = proposed_mapping(guess_columns(["Storage (Ml)", "Capacity (GL)"]))  # two storages never merge
    assert both == {"Storage (Ml)": "storage", "Capacity (GL)": "capacity_gl"}  # the first keeps the variable


def test_a_gauge_board_level_in_mm_can_be_declared_and_converts(workspace):
    data = b"date,Gauge (mm)\n2023-01-01,1250\n2023-01-02,1262\n"
    import_csv(workspace, data, reservoir="Pond", filename="pond.csv", declarations=[parse_declaration(
        "Gauge (mm)=level:mm")])  # fmt: skip
    assert workspace.reservoir("Pond").variable("level").unit == "mm"
    assert factor("mm", "m") == 0.001 and level_bounds("mm") == (-430_000.0, 8_849_000.0)


def test_a_file_with_a_multiplied_unit_stores_its_values_in_that_unit(workspace):
    data = b"date,Storage (1000 m3),Inflow (1000 acre-ft/day)\n2023-01-01,1234.5,10\n2023-01-02,1240.0,12\n"
    import_csv(workspace, data, reservoir="Board", filename="board.csv")
    info = workspace.reservoir("Board")
    assert [(v.name, v.unit) for v in info.variables] == [("storage", "ML"), ("inflow", "1000 acre-ft/day")]
    assert workspace.readings("Board")["storage"].tolist() == [1234.5, 1240.0]  # 1,234,500 m³, as the file says


def test_lagged_copies_are_recognised_and_left_out_by_default():
    assert lag_of(HEADERS["prev"]) == "previous_day" and lag_of(HEADERS["ly_capacity"]) == "last_year"
    assert lag_of(HEADERS["level"]) is None
    guess = guess_column(HEADERS["prev"])
    assert guess.lagged == "previous_day" and "never a covariate by default" in guess.note


def test_a_header_unit_that_contradicts_its_variable_is_questioned():
    level = guess_column("Level in TMC", span=(2100.0, 2275.0))
    assert level.weak and "TMC is a unit of volume" in level.question and "2,275" in level.question
    inflow = guess_column(HEADERS["inflow"])
    assert inflow.weak and inflow.unit == "TMC/day" and "a day's inflow in TMC is read as TMC/day" in inflow.question


def test_bad_cells_in_a_column_not_imported_are_a_warning():
    parsed = read_csv(TABLE)
    assert parsed.report.ok
    (warning,) = [i for i in parsed.report.issues if i.code == "not_imported_bad_cells"]
    assert warning.column == HEADERS["ly_capacity"] and warning.rows == (19, 20) and "'.30.140'" in warning.message
    assert set(parsed.report.skipped) == {HEADERS["prev"], HEADERS["ly_level"], HEADERS["ly_capacity"]}
    imported = read_csv(TABLE, options=ReadOptions(skip=()))  # importing that column too: its cells block
    assert not imported.report.ok and imported.report.errors[0].column == HEADERS["ly_capacity"]


# ---------------------------------------------------------------- the whole table


def test_department_table_imports_with_the_right_mapping_once_confirmed(workspace):
    with pytest.raises(NeedsConfirmation, match="Today's Inflows in TMC"):  # the inbox would hold it
        import_csv(workspace, TABLE, reservoir="Dam", sure_only=True)
    assert workspace.reservoirs() == []
    confirmed = parse_declaration(f"{HEADERS['inflow']}=inflow:TMC/day")
    outcome = import_csv(workspace, TABLE, reservoir="Dam", declarations=[confirmed], sure_only=True)
    info = workspace.reservoir("Dam")
    assert [(v.name, v.unit, v.source_column) for v in info.variables] == [
        ("level", "ft", HEADERS["level"]),
        ("storage", "TMC", HEADERS["capacity"]),
        ("outflow", "ML/day", HEADERS["drawl"]),
        ("inflow", "TMC/day", HEADERS["inflow"]),
    ]
    raw = pd.read_csv(TABLE, thousands=",")
    stored = workspace.readings("Dam")
    assert stored["level"].tolist() == pytest.approx(raw[HEADERS["level"]].tolist())
    assert stored["outflow"].tolist() == pytest.approx(raw[HEADERS["drawl"]].tolist())
    assert stored.index[0] == pd.Timestamp("2014-01-01") and len(stored) == len(raw)
    assert outcome.report["skipped"] == [HEADERS["prev"], HEADERS["ly_level"], HEADERS["ly_capacity"]]


def test_a_lagged_column_imported_on_purpose_is_never_a_default_covariate(workspace):
    declared = [parse_declaration(f"{HEADERS['prev']}=level_previous_day:ft")]
    import_csv(workspace, TABLE, reservoir="Dam", declarations=declared)
    names = workspace.reservoir("Dam").variable_names
    assert "level_previous_day" in names
    features = default_features(workspace, "Dam", "level")
    assert "level_previous_day" not in features and "inflow" in features


def test_without_confirmation_the_cli_stores_what_the_note_says_and_warns(workspace):
    """`import` (not the inbox) stores a weak guess with a warning; the unit stored is the one the note gives."""
    outcome = import_csv(workspace, TABLE, reservoir="Dam")
    assert [g.column for g in outcome.weak_guesses] == [HEADERS["inflow"]]
    assert workspace.reservoir("Dam").variable("inflow").unit == "TMC/day"


def test_the_questioned_range_is_the_readings_not_a_logger_code():
    level = [f"{2100 + 4 * i}" for i in range(40)]
    level[10] = level[11] = "-999999"
    data = (
        "date,Level in TMC\n"
        + "".join(
            f"2024-01-01,{v}\n".replace("01-01", f"{1 + i // 28:02d}-{1 + i % 28:02d}") for i, v in enumerate(level)
        )
    ).encode()
    outcome = read_csv(data, filename="l.csv")
    (guess,) = guess_columns(list(outcome.frame.columns), spans=spans(outcome.frame))
    assert "(values 2,100 to 2,256)" in guess.question
