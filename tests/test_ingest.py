"""CSV ingest: every kind of file a user may upload reads into a frame or a report that says what to fix."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from core.data.ingest import IngestError, ReadOptions, read_csv
from core.data.variables import MAIN_VARIABLES, main_variable


def _read(tmp_path, content: str | bytes, name: str = "upload.csv", **options):
    """Write `content` to a file and read it back, as an upload would be."""
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return read_csv(path, options=ReadOptions(**options))


def _codes(parsed) -> set[str]:
    return {i.code for i in parsed.report.issues}


def _one(parsed, code: str):
    found = [i for i in parsed.report.issues if i.code == code]
    assert len(found) == 1, f"expected one {code}, got {[i.code for i in parsed.report.issues]}"
    return found[0]


def _daily_csv(n: int = 70, sep: str = ",", start: str = "2020-01-01", column: str = "level") -> str:
    days = pd.date_range(start, periods=n, freq="D")
    rows = [f"{d.date().isoformat()}{sep}{100 + i * 0.5}" for i, d in enumerate(days)]
    return f"date{sep}{column}\n" + "\n".join(rows) + "\n"


# ---------------------------------------------------------------- encodings, separators, decimals


def test_clean_iso_file_reads_into_the_frame_convention(tmp_path):
    parsed = _read(tmp_path, _daily_csv())
    report, frame = parsed.report, parsed.frame
    assert report.ok and not report.issues
    assert frame.index.name == "date" and isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert list(frame.columns) == ["level"] and frame["level"].dtype == np.float64
    assert (report.start, report.end, report.n_rows) == ("2020-01-01", "2020-03-10", 70)
    assert report.dayfirst is None and report.date_column == "date"
    assert parsed.units == {"level": None}


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path):
    content = "\ufeffDate,Level (m)\n" + "\n".join(f"2021-03-{d:02d},{d}.5" for d in range(1, 11))
    parsed = _read(tmp_path, content.encode("utf-8"))
    assert parsed.report.ok
    assert parsed.report.encoding == "utf-8-sig"
    assert parsed.report.date_column == "Date"
    assert list(parsed.frame.columns) == ["Level (m)"]
    assert parsed.units["Level (m)"] == "m"


def test_latin1_header_with_accent_is_decoded(tmp_path):
    content = "Date;Niveau (m);Débit sortant\n01/02/2020;12,5;3,25\n13/02/2020;12,75;3,5\n"
    parsed = _read(tmp_path, content.encode("latin-1"))
    assert parsed.report.ok, parsed.report.summary_lines()
    assert parsed.report.encoding in ("latin-1", "cp1252")
    assert list(parsed.frame.columns) == ["Niveau (m)", "Débit sortant"]
    assert parsed.frame.loc["2020-02-13", "Débit sortant"] == 3.5


def test_semicolon_with_decimal_comma_and_thousands_dots(tmp_path):
    content = "datum;storage;inflow\n2020-01-01;1.234,5;12,5\n2020-01-02;1.240,25;0,75\n2020-01-03;1.250;1\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok, parsed.report.summary_lines()
    assert (parsed.report.separator, parsed.report.decimal) == (";", ",")
    assert parsed.frame["storage"].tolist() == [1234.5, 1240.25, 1250.0]
    assert parsed.frame["inflow"].tolist() == [12.5, 0.75, 1.0]


def test_comma_separated_file_keeps_dot_decimals(tmp_path):
    content = 'date,level,volume\n2020-01-01,12.5,"1,234.5"\n2020-01-02,12.75,"1,300"\n'
    parsed = _read(tmp_path, content)
    assert (parsed.report.separator, parsed.report.decimal) == (",", ".")
    assert parsed.frame["level"].tolist() == [12.5, 12.75]
    assert parsed.frame["volume"].tolist() == [1234.5, 1300.0]


def test_tab_separated_with_padded_cells(tmp_path):
    content = " date \t level \t rain \n2020-01-01\t 1.5 \t0\n2020-01-02\t2.5\t 3 \n"
    parsed = _read(tmp_path, content)
    assert parsed.report.separator == "\t"
    assert list(parsed.frame.columns) == ["level", "rain"]
    assert parsed.frame["rain"].tolist() == [0.0, 3.0]


# ---------------------------------------------------------------- dates


def test_ambiguous_dates_are_refused_with_the_flags_to_use(tmp_path):
    content = "date,level\n01/02/2020,1\n02/02/2020,2\n03/02/2020,3\n"
    parsed = _read(tmp_path, content)
    issue = _one(parsed, "ambiguous_dates")
    assert issue.severity == "error" and parsed.frame is None and not parsed.report.ok
    assert "--dayfirst" in issue.message and "--monthfirst" in issue.message
    assert issue.examples[0] == "01/02/2020"


def test_forced_order_reads_ambiguous_dates(tmp_path):
    content = "date,level\n01/02/2020,1\n02/02/2020,2\n03/02/2020,3\n"
    dayfirst = _read(tmp_path, content, dayfirst=True)
    monthfirst = _read(tmp_path, content, dayfirst=False)
    assert dayfirst.report.ok and monthfirst.report.ok
    assert dayfirst.frame.index[0] == pd.Timestamp("2020-02-01") and dayfirst.report.dayfirst is True
    assert monthfirst.frame.index[0] == pd.Timestamp("2020-01-02") and monthfirst.report.dayfirst is False


def test_forced_order_reports_rows_invalid_in_that_order(tmp_path):
    content = "date,level\n01/02/2020,1\n02/13/2020,2\n03/02/2020,3\n"
    parsed = _read(tmp_path, content, dayfirst=True)
    issue = _one(parsed, "bad_dates")
    assert issue.rows == (3,) and "day-first" in issue.message and "02/13/2020" in issue.examples


def test_day_first_decided_from_an_unambiguous_row(tmp_path):
    content = "Date,level\n12-01-2004,1\n13-01-2004,2\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok and parsed.report.dayfirst is True
    assert parsed.frame.index.tolist() == [pd.Timestamp("2004-01-12"), pd.Timestamp("2004-01-13")]


def test_inconsistent_date_orders_name_the_odd_rows(tmp_path):
    content = "date,level\n13/01/2020,1\n14/01/2020,2\n01/16/2020,3\n17/01/2020,4\n"
    parsed = _read(tmp_path, content)
    issue = _one(parsed, "inconsistent_dates")
    assert issue.severity == "error" and issue.rows == (4,)
    assert "01/16/2020" in issue.examples and parsed.frame is None


def test_unparseable_dates_give_rows_and_examples(tmp_path):
    content = "date,level\n2020-01-01,1\nyesterday,2\n2020-02-30,3\n2020-01-04,4\n"
    issue = _one(_read(tmp_path, content), "bad_dates")
    assert issue.rows == (3, 4) and issue.count == 2
    assert issue.examples == ("yesterday", "2020-02-30")


def test_named_date_column_that_does_not_exist_lists_the_columns(tmp_path):
    parsed = _read(tmp_path, _daily_csv(), date_column="when")
    issue = _one(parsed, "no_date_column")
    assert "'when'" in issue.message and "'date'" in issue.message and "'level'" in issue.message


def test_named_date_column_is_used(tmp_path):
    content = "id,day_of_obs,level\n1,2020-01-01,5\n2,2020-01-02,6\n"
    parsed = _read(tmp_path, content, date_column="DAY_OF_OBS")
    assert parsed.report.date_column == "day_of_obs"
    assert parsed.frame.columns.tolist() == ["id", "level"]


def test_date_column_found_by_content_when_not_named_like_a_date(tmp_path):
    content = "station,when,level\nA,2020-01-01,5\nA,2020-01-02,6\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.date_column == "when"
    assert _one(parsed, "ignored_column").column == "station"
    assert parsed.frame.columns.tolist() == ["level"]


def test_sub_daily_readings_are_averaged_or_summed_per_day(tmp_path):
    rows = [f"2020-01-0{d} {h:02d}:00,{10 + h},{1.0}" for d in (1, 2) for h in (0, 6, 12, 18)]
    parsed = _read(tmp_path, "timestamp,level,rainfall\n" + "\n".join(rows))
    assert parsed.report.ok
    issue = _one(parsed, "sub_daily")
    assert issue.severity == "warning" and issue.count == 8
    assert parsed.frame.index.tolist() == [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-02")]
    assert parsed.frame["level"].tolist() == [19.0, 19.0]  # mean of 10, 16, 22, 28
    assert parsed.frame["rainfall"].tolist() == [4.0, 4.0]  # rainfall depths add up


def test_a_column_declared_as_rainfall_is_summed_whatever_its_header(tmp_path):
    """'P_hourly' declared rainfall (or an agency code that means rainfall): the day's total, not its mean."""
    rows = [f"2020-01-0{d} {h:02d}:00,0.5,{100 + h}" for d in (1, 2) for h in range(24)]
    content = "timestamp,P_hourly,Pegel\n" + "\n".join(rows)
    plain = _read(tmp_path, content)
    declared = _read(tmp_path, content, variables=(("P_hourly", "rainfall"), ("Pegel", "level")))
    assert plain.frame["P_hourly"].tolist() == [0.5, 0.5]  # undeclared and unnamed: a state, averaged
    assert declared.frame["P_hourly"].tolist() == [12.0, 12.0] and declared.frame["Pegel"].tolist() == [111.5] * 2
    assert "summed for P_hourly" in _one(declared, "sub_daily").message


def test_a_summed_day_short_of_readings_is_left_missing_and_named(tmp_path):
    """18 of 24 hourly rain readings missing: a 6-hour total is not the day's rain; a clock change (23) is."""
    missing = {("03", h) for h in range(18)} | {("05", 2)}
    rows = [
        f"2020-01-{d} {h:02d}:00,{'' if (d, h) in missing else 0.1}"
        for d in ("01", "02", "03", "04", "05")
        for h in range(24)
    ]
    parsed = _read(tmp_path, "timestamp,rainfall\n" + "\n".join(rows))
    assert parsed.frame["rainfall"].round(6).tolist()[:2] == [2.4, 2.4]
    assert np.isnan(parsed.frame["rainfall"].iloc[2]) and parsed.frame["rainfall"].round(6).iloc[4] == 2.3
    issue = _one(parsed, "incomplete_days")
    assert issue.column == "rainfall" and issue.count == 1 and "'2020-01-03'" in issue.message


def test_a_units_row_under_the_header_gives_the_columns_their_units(tmp_path):
    """A water board's export: BOM, ';', decimal commas, CRLF, and the units on line 2."""
    level = {d: f"{100 + d / 10:.1f}".replace(".", ",") for d in range(1, 21)}
    rows = "".join(f"{d:02d}.01.2023;{level[d]};{50 + d},5;{d % 3}\r\n" for d in range(1, 21))
    content = "\ufeffDatum;Level;Storage;Rainfall\r\n;m a.s.l.;hm3;mm\r\n" + rows
    parsed = _read(tmp_path, content.encode("utf-8"))
    assert parsed.report.ok, parsed.report.summary_lines()
    assert list(parsed.frame.columns) == ["Level [m a.s.l.]", "Storage [hm3]", "Rainfall [mm]"]
    assert parsed.units == {"Level [m a.s.l.]": "m", "Storage [hm3]": "hm³", "Rainfall [mm]": "mm"}
    assert parsed.frame["Storage [hm3]"].iloc[0] == 51.5 and len(parsed.frame) == 20
    assert "Line 2 holds the columns' units" in _one(parsed, "units_row").message


def test_summary_rows_and_a_repeated_header_are_skipped_and_named(tmp_path):
    """'Total'/'Mean' rows, a 'Source:' note and the header again (two exports appended) are not readings."""
    body = "".join(f"2023-01-{d:02d},{100 + d}\n" for d in range(1, 11))
    more = "".join(f"2023-01-{d:02d},{100 + d}\n" for d in range(11, 21))
    content = f"date,level\n{body}Total,1055\nMean,105.5\ndate,level\n{more}Source: State Water Board, 2023\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok, parsed.report.summary_lines()
    assert len(parsed.frame) == 20 and parsed.frame["level"].iloc[-1] == 120
    summary = _one(parsed, "summary_row")
    assert list(summary.rows) == [12, 13, 25] and "'Total'" in summary.message
    assert list(_one(parsed, "repeated_header").rows) == [14]


def test_a_quality_column_marks_readings_and_is_never_a_reading_series(tmp_path):
    """EA-style words: Suspect/Rejected/Missing read as missing with their days, Estimated kept and said; a
    numeric code list the app does not know (BoM) is left out and not applied, in words."""
    words = ["Good", "Good", "Suspect", "Estimated", "Rejected", "Good"]
    rows = "".join(f"2024-01-0{i + 1},{1.2 + i / 100:.2f},{w}\n" for i, w in enumerate(words))
    parsed = _read(tmp_path, "date,level,quality\n" + rows)
    assert parsed.report.ok and list(parsed.frame.columns) == ["level"]
    assert parsed.frame["level"].isna().tolist() == [False, False, True, False, True, False]
    marked = [i for i in parsed.report.issues if i.code == "quality_marked"]
    assert [list(i.rows) for i in marked] == [[4, 6], [5]] and "2024-01-03, 2024-01-05" in marked[0].message
    codes = "".join(f"2024-01-0{i + 1},{100 + i},{c}\n" for i, c in enumerate((10, 10, 140, 255, 10, 10)))
    bom = _read(tmp_path, "Timestamp,Value,Quality Code\n" + codes, name="bom.csv")
    assert list(bom.frame.columns) == ["Value"] and bom.frame["Value"].notna().all()
    assert "'140', '255'" in _one(bom, "quality_not_applied").message


def test_dotted_dates_are_day_first_and_an_undecided_order_is_not_called_unambiguous(tmp_path):
    dotted = _read(tmp_path, "Datum;Pegel\n01.02.2024;1,5\n02.02.2024;1,6\n", name="de.csv")
    assert dotted.report.ok and dotted.frame.index[0] == pd.Timestamp("2024-02-01")
    slashed = _read(tmp_path, "Fecha;Nivel\n01/02/2024;1,5\n02/02/2024;1,6\n", name="es.csv")
    assert "ambiguous_dates" in _codes(slashed)
    assert any("(order not decided)" in line for line in slashed.report.summary_lines())


def test_the_autumn_clock_change_with_utc_offsets_is_25_readings_not_a_conflict(tmp_path):
    """01:00-07:00 and 01:00-08:00 are two instants an hour apart; both belong to 3 November's local day."""
    hours = [f"2024-11-03T{h:02d}:00:00-07:00" for h in range(2)] + [
        f"2024-11-03T{h:02d}:00:00-08:00" for h in range(1, 24)
    ]
    rows = "".join(f"{t},{100 + i / 100:.2f},1\n" for i, t in enumerate(hours))
    parsed = _read(tmp_path, "time,level,rainfall\n" + rows)
    assert parsed.report.ok, parsed.report.summary_lines()
    assert parsed.frame.index.tolist() == [pd.Timestamp("2024-11-03")]
    assert parsed.frame["rainfall"].tolist() == [25.0] and "incomplete_days" not in _codes(parsed)


def test_a_long_form_file_of_several_series_says_which_column_tells_them_apart(tmp_path):
    """EA flood-monitoring readings: level and rainfall rows one below the other, told apart by 'measure'."""
    rows = [f"2024-03-31T00:{m:02d}:00Z,http://x/id/measures/1491TH-{s},{v}" for s, v in (("level", 0.5), ("rain", 0.2))
            for m in (0, 15, 30)]  # fmt: skip
    parsed = _read(tmp_path, "dateTime,measure,value\n" + "\n".join(rows))
    error = _one(parsed, "conflicting_duplicates")
    assert "told apart by column 'measure' ('1491TH-level', '1491TH-rain')" in error.message


def test_separate_time_column_is_merged_into_the_timestamp(tmp_path):
    content = "Date;Time;Level\n01.03.2020;08:00;1,0\n01.03.2020;20:00;3,0\n13.03.2020;08:00;5,0\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok, parsed.report.summary_lines()
    assert parsed.frame["Level"].tolist() == [2.0, 5.0]
    assert "sub_daily" in _codes(parsed)


def test_one_reading_per_day_with_midnight_time_is_not_sub_daily(tmp_path):
    content = "DateTime,level\n2020-01-01T00:00:00,1\n2020-01-02T00:00:00,2\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok and "sub_daily" not in _codes(parsed)


# ---------------------------------------------------------------- values


def test_non_numeric_cells_name_column_rows_and_what_to_do(tmp_path):
    content = "date,level,inflow\n2020-01-01,1.5,3\n2020-01-02,abc,4\n2020-01-03,2.5,5\n2020-01-04,1..2,6\n"
    parsed = _read(tmp_path, content)
    issue = _one(parsed, "non_numeric")
    assert issue.severity == "error" and issue.column == "level"
    assert issue.rows == (3, 5) and issue.count == 2 and issue.examples == ("abc", "1..2")
    assert "fix or blank these cells; blank cells are read as missing" in issue.message.lower()
    assert "lines 3, 5" in issue.message
    assert parsed.frame is None


def test_missing_markers_are_missing_not_errors(tmp_path):
    content = "date,level\n2020-01-01,1\n2020-01-02,NA\n2020-01-03,\n2020-01-04,-\n2020-01-05,null\n2020-01-06,2\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok
    issue = _one(parsed, "missing_values")
    assert issue.rows == (3, 4, 5, 6) and issue.count == 4 and issue.severity == "warning"
    assert parsed.frame["level"].isna().sum() == 4


def test_text_column_is_ignored_with_a_warning(tmp_path):
    content = "date,station,level,comment\n2020-01-01,Poondi,1,ok\n2020-01-02,Poondi,2,\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok and parsed.report.columns == ("level",)
    ignored = [i for i in parsed.report.issues if i.code == "ignored_column"]
    assert {i.column for i in ignored} == {"station", "comment"}
    assert all(i.severity == "warning" for i in ignored)


def test_no_numeric_columns_is_an_error(tmp_path):
    parsed = _read(tmp_path, "date,station\n2020-01-01,Poondi\n2020-01-02,Poondi\n")
    assert _one(parsed, "no_numeric_columns").severity == "error"


def test_identical_duplicate_dates_are_dropped(tmp_path):
    content = "date,level\n2020-01-01,1\n2020-01-02,2\n2020-01-02,2\n2020-01-03,3\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok
    assert _one(parsed, "duplicate_dates").rows == (4,)
    assert parsed.frame["level"].tolist() == [1.0, 2.0, 3.0]


def test_conflicting_duplicate_dates_are_an_error_with_both_rows(tmp_path):
    content = "date,level\n2020-01-01,1\n2020-01-02,2\n2020-01-02,2.5\n2020-01-03,3\n"
    parsed = _read(tmp_path, content)
    issue = _one(parsed, "conflicting_duplicates")
    assert issue.rows == (3, 4) and issue.examples == ("2020-01-02",) and parsed.frame is None


def test_unsorted_rows_are_sorted_with_a_warning(tmp_path):
    content = "date,level\n2020-01-03,3\n2020-01-01,1\n2020-01-02,2\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok
    assert 3 in _one(parsed, "unsorted").rows
    assert parsed.frame["level"].tolist() == [1.0, 2.0, 3.0]


def test_missing_days_report_count_gaps_and_longest(tmp_path):
    dates = ["2020-01-01", "2020-01-02", "2020-01-04", "2020-01-05", "2020-01-11", "2020-01-12"]
    content = "date,level\n" + "\n".join(f"{d},1" for d in dates)
    issue = _one(_read(tmp_path, content), "missing_days")
    assert issue.severity == "warning" and issue.count == 6
    assert "2 gap" in issue.message and "5 days" in issue.message
    assert "2020-01-06 to 2020-01-10" in issue.message


def test_sentinels_become_missing_with_rows(tmp_path):
    content = "date,level\n2020-01-01,1\n2020-01-02,-9999\n2020-01-03,3\n2020-01-04,-9999.0\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok
    issue = _one(parsed, "sentinel")
    assert issue.rows == (3, 5) and "-9999" in issue.message
    assert parsed.frame["level"].isna().tolist() == [False, True, False, True]


def test_negative_storage_is_flagged_but_kept(tmp_path):
    content = "date,Storage_m3,inflow\n2020-01-01,100,-5\n2020-01-02,-20,3\n2020-01-03,120,2\n"
    parsed = _read(tmp_path, content)
    assert parsed.report.ok
    issue = _one(parsed, "negative")
    assert issue.column == "Storage_m3" and issue.rows == (3,)  # inflow may be negative
    assert parsed.frame.loc["2020-01-02", "Storage_m3"] == -20.0


def test_spike_warning_names_line_and_date(tmp_path):
    values = [100.0 + 0.1 * i for i in range(40)]
    values[20] = 400.0
    days = pd.date_range("2020-01-01", periods=40, freq="D")
    content = "date,storage\n" + "\n".join(f"{d.date()},{v}" for d, v in zip(days, values, strict=True))
    issue = _one(_read(tmp_path, content), "spike")
    assert issue.rows == (22,) and "2020-01-21" in issue.message


def test_few_rows_is_a_warning_only(tmp_path):
    parsed = _read(tmp_path, _daily_csv(n=10))
    assert parsed.report.ok and _one(parsed, "few_rows").count == 10


def test_issue_rows_are_capped_but_count_is_total(tmp_path):
    days = pd.date_range("2020-01-01", periods=60, freq="D")
    rows = [f"{d.date()},{'x' if i < 25 else i}" for i, d in enumerate(days)]
    issue = _one(_read(tmp_path, "date,level\n" + "\n".join(rows)), "non_numeric")
    assert issue.count == 25 and issue.rows == tuple(range(2, 22))
    assert "(and 17 more)" in issue.message


def test_mostly_text_column_is_dropped_not_a_wall_of_errors(tmp_path):
    rows = [f"2020-01-{d:02d},{'x' if d > 3 else d}" for d in range(1, 31)]
    parsed = _read(tmp_path, "date,code,level\n" + "\n".join(f"{r.split(',')[0]},{r.split(',')[1]},1" for r in rows))
    issue = _one(parsed, "ignored_column")
    assert issue.column == "code" and "3 cells hold numbers" in issue.message
    assert parsed.report.ok


# ---------------------------------------------------------------- unreadable files


def test_no_date_column_explains_what_a_reservoir_csv_needs(tmp_path):
    content = "Name,reservoir_storage,ID,Latitude\nJackson,1078,WY9999,43.8\nMilner,62,ID83075,42.5\n"
    parsed = _read(tmp_path, content, name="gages.csv")
    issue = _one(parsed, "no_date_column")
    assert "without dates" in issue.message and "one date column and one column per variable" in issue.message
    assert parsed.frame is None


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"date,level\n"])
def test_empty_files_are_unreadable(tmp_path, content):
    parsed = _read(tmp_path, content)
    assert _one(parsed, "unreadable").severity == "error" and parsed.frame is None


@pytest.mark.parametrize(
    "content",
    [bytes(range(256)) * 8, b"PK\x03\x04" + bytes(200), b"\x89PNG\r\n\x1a\n" + bytes(range(256))],
    ids=["garbage", "xlsx", "png"],
)
def test_binary_files_are_unreadable_not_a_traceback(tmp_path, content):
    parsed = _read(tmp_path, content)
    issue = _one(parsed, "unreadable")
    assert "CSV" in issue.message and not parsed.report.ok


def test_extra_cells_in_a_row_are_reported(tmp_path):
    content = "date,level\n2020-01-01,1\n2020-01-02,2,5\n2020-01-03,3\n"
    issue = _one(_read(tmp_path, content), "ragged_rows")
    assert issue.rows == (3,) and issue.severity == "error"


def test_missing_file_is_misuse(tmp_path):
    with pytest.raises(IngestError, match="not found"):
        read_csv(tmp_path / "nope.csv")


# ---------------------------------------------------------------- report and identity


def test_report_is_json_safe_and_bytes_are_hashed(tmp_path):
    content = b"date,level\n2020-01-01,1\n2020-01-02,abc\n"
    parsed = read_csv(content, filename="mine.csv")
    data = json.loads(json.dumps(parsed.report.to_dict()))
    assert data["ok"] is False and data["filename"] == "mine.csv"
    assert data["issues"][0]["rows"] == [3]
    assert parsed.sha256 == hashlib.sha256(content).hexdigest()
    assert read_csv(content).sha256 == parsed.sha256
    lines = parsed.report.summary_lines()
    assert any("non_numeric" in line for line in lines) and "NOT IMPORTED" in lines[-1]


# ---------------------------------------------------------------- the shared real records


def test_chennai_files_read_day_first(shared_data):
    for name in ("chennai_reservoir_levels.csv", "chennai_reservoir_rainfall.csv"):
        parsed = read_csv(shared_data / "chennai" / name)
        report = parsed.report
        assert report.ok, report.summary_lines()
        assert report.dayfirst is True and report.n_rows == 5738
        assert (report.start, report.end) == ("2004-01-01", "2019-09-16")
        assert report.columns == ("POONDI", "CHOLAVARAM", "REDHILLS", "CHEMBARAMBAKKAM")
        assert parsed.frame.dtypes.eq(np.float64).all()


def test_snake_river_files_read_month_first(shared_data):
    for name in ("AmericanFalls", "Jackson", "Milner", "Minidoka", "Palisades"):
        parsed = read_csv(shared_data / "snake_river" / f"{name}.csv")
        report = parsed.report
        assert report.ok, report.summary_lines()
        assert report.dayfirst is False and report.date_column == "DateTime"
        assert (report.n_rows, report.start, report.end) == (2922, "2009-01-01", "2016-12-31")
        assert parsed.units == {"Storage_m3": "m³", "Q_out_m3d": "m³/day", "Q_in_m3d": "m³/day"}


def test_gages_table_is_a_clear_no_date_column_error(shared_data):
    parsed = read_csv(shared_data / "snake_river" / "gages.csv")
    assert [i.code for i in parsed.report.errors] == ["no_date_column"]


def test_minidoka_storage_blip_is_reported_as_a_spike(shared_data):
    parsed = read_csv(shared_data / "snake_river" / "Minidoka.csv")
    spikes = [i for i in parsed.report.issues if i.code == "spike" and i.column == "Storage_m3"]
    assert len(spikes) == 1 and "2015-02-03" in spikes[0].message


def test_main_variable_prefers_level_then_storage_then_the_first():
    assert main_variable(["rainfall", "storage", "level"]) == "level"
    assert main_variable(("inflow", "storage")) == "storage"
    assert main_variable(iter(["inflow", "rainfall"])) == "inflow"
    assert main_variable([]) is None
    assert MAIN_VARIABLES[0] == "level"


# ---------------------------------------------------------------- large files: the fast path matches the careful reader


def _logger_text(rows: int = 40_000, sep: str = ",") -> str:
    """A plain 15-minute logger export over 1 MB (the fast path's threshold), with a rain column of mostly zeros."""
    stamps = pd.date_range("2020-01-01", periods=rows, freq="15min").strftime("%Y-%m-%d %H:%M")
    step = np.arange(rows)
    level = (300 + 5 * np.sin(step / 2000)).round(3)
    rain = np.where(step % 97 == 0, (step % 13) * 0.5, 0.0)
    lines = [f"timestamp{sep}level_m{sep}rain_mm"]
    lines += [f"{t}{sep}{lv}{sep}{r}" for t, lv, r in zip(stamps, level, rain, strict=True)]
    return "\n".join(lines) + "\n"


def _careful(monkeypatch) -> None:
    """Force the careful (Python) reader for every step, to compare with the fast path."""
    from core.data import dates, numbers, reading

    monkeypatch.setattr(reading, "FAST_CHARS", 10**15)
    monkeypatch.setattr(dates, "FAST_ROWS", 10**15)
    monkeypatch.setattr(numbers, "VECTOR_ROWS", 10**15)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_large_plain_file_reads_the_same_on_the_fast_path(monkeypatch, sep):
    from core.data import reading

    data = _logger_text(sep=sep).encode()
    assert len(data) >= reading.FAST_CHARS
    assert isinstance(reading.read_cells(data.decode()), reading.CellFrame)
    assert reading._fast_cells(data.decode()) is not None  # this file does take the fast path
    fast = read_csv(data, filename="big.csv")
    _careful(monkeypatch)
    careful = read_csv(data, filename="big.csv")
    assert fast.report.ok and fast.report.n_rows == careful.report.n_rows == 417
    pd.testing.assert_frame_equal(fast.frame, careful.frame)
    assert fast.report.to_dict() == careful.report.to_dict()


def test_large_file_with_problems_leaves_the_fast_path_and_names_the_lines():
    lines = _logger_text().split("\n")
    bad_date, bad_number, ragged = list(lines), list(lines), list(lines)
    bad_date[30_000] = "2020-13-45 10:00,301.2,0.0"  # file line 30,001
    bad_number[25_000] = bad_number[25_000].replace(",", ",approx ", 1)
    ragged[20_000] += ",extra"
    quoted = list(lines)
    quoted[10_000] = '"' + quoted[10_000].replace(",", '",', 1)
    report = read_csv("\n".join(bad_date).encode(), filename="d.csv").report
    (issue,) = [i for i in report.issues if i.code == "bad_dates"]
    assert "30001" in issue.message.replace(",", "") and not report.ok
    report = read_csv("\n".join(bad_number).encode(), filename="n.csv").report
    (issue,) = [i for i in report.issues if i.code == "non_numeric"]
    assert "25001" in issue.message.replace(",", "") and "approx" in issue.message
    report = read_csv("\n".join(ragged).encode(), filename="r.csv").report
    (issue,) = [i for i in report.issues if i.code == "ragged_rows"]
    assert "20001" in issue.message.replace(",", "")
    assert read_csv("\n".join(quoted).encode(), filename="q.csv").report.ok  # quotes: the careful reader reads it


def test_blank_and_comment_lines_keep_the_file_line_numbers(monkeypatch):
    lines = _logger_text().split("\n")
    lines.insert(5000, "")  # a blank line: rows after it are one file line further down
    lines[30_000] = lines[30_000].replace(",", ",oops", 1)
    report = read_csv("\n".join(lines).encode(), filename="b.csv").report
    (issue,) = [i for i in report.issues if i.code == "non_numeric"]
    assert "30001" in issue.message.replace(",", "")
