"""Curves as agencies publish them (issue 23, items 1 and 2): zero capacity below the dead pool, flat steps where the
capacity is rounded, area columns and site numbers in the headers, 11,500-row tables; and every check between a
curve or levels and the record judges the cleaned record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.app.curves import import_curve
from core.app.pipeline import import_csv, update_levels
from core.data.curves import Curve, CurveError, read_curve
from core.data.levels import OperatingLevel

HEADER = "08067600 Elevation (ft),08067600 Area (acres),08067600 Capacity (acre-ft)"


def _table(rows: list[tuple[float, float, float]], header: str = HEADER) -> bytes:
    return (header + "\n" + "".join(f"{e:.1f},{a:g},{c:g}\n" for e, a, c in rows)).encode()


def published(n_zero: int = 5) -> list[tuple[float, float, float]]:
    """A TWDB-style table: capacity 0 below the dead pool, then rising with two flat (rounded) steps."""
    rows = [(2810.0 + 0.1 * i, 0.0, 0.0) for i in range(n_zero)]  # 2810.0 .. 2810.4: dead pool at 2810.4
    capacity = [1, 3, 6, 6, 6, 10, 15, 21, 21, 28]  # flat steps: 6 (three rows), 21 (two rows)
    for i, c in enumerate(capacity, start=1):
        rows.append((2810.4 + 0.1 * i, 2.0 * i, float(c)))
    return rows


def test_flat_zero_run_and_flat_steps_are_accepted_and_convert_both_ways():
    curve = read_curve(_table(published()), "twdb.csv")
    assert curve.columns == ("08067600 Elevation (ft)", "08067600 Capacity (acre-ft)")
    assert (curve.elevation_unit, curve.storage_unit) == ("ft", "acre-ft")
    assert len(curve.elevation) == 15  # every published row kept
    # elevation -> storage: the published values, flat runs included; below the dead pool, 0
    assert curve.convert([2810.2, 2810.8, 2810.9, 2811.0], "level").tolist() == pytest.approx([0, 6, 6, 10])
    # storage -> elevation: 0 is the dead-pool elevation (the top of the zero run) ...
    assert curve.convert([0.0], "storage")[0] == pytest.approx(2810.4)
    # ... a rounded step maps to its middle (6 acre-ft from 2810.7 to 2810.9), between points as interpolated
    assert curve.convert([6.0, 21.0], "storage").tolist() == pytest.approx([2810.8, 2811.25])
    assert curve.convert([4.5], "storage")[0] == pytest.approx((2810.6 + 2810.8) / 2)
    notes = " ".join(curve.notes)
    assert "5 rows of capacity 0 acre-ft below the dead pool (2810 to 2810.4 ft)" in notes
    assert "maps to the dead-pool elevation 2810.4 ft" in notes
    assert "2 flat steps of rounded capacity" in notes and "middle of its step" in notes
    assert "'08067600 Area (acres)' (surface area) not used" in curve.notes[0]
    again = Curve.from_dict(curve.to_dict())  # stored and read back: checked again, same conversions
    assert again.convert([21.0], "storage")[0] == pytest.approx(2811.25)


def test_a_decreasing_capacity_is_refused_with_its_line():
    rows = published()
    rows[9] = (rows[9][0], rows[9][1], 5.0)  # 6 -> 5: capacity falls as elevation rises (line 11)
    with pytest.raises(CurveError, match=r"line 11: 08067600 Capacity \(acre-ft\) 5 \(at 08067600 Elevation \(ft\) "):
        read_curve(_table(rows), "bad.csv")


def test_an_elevation_that_does_not_rise_is_refused_with_its_line():
    rows = published()
    rows[3] = rows[2]
    with pytest.raises(CurveError, match="line 5: 08067600 Elevation"):
        read_curve(_table(rows), "dup.csv")


def test_two_column_tables_and_area_only_tables():
    two = read_curve(b"Elevation (feet NGVD29),Capacity (acre-feet)\n100,0\n101,5\n102,12\n", "two.csv")
    assert (two.elevation_unit, two.storage_unit) == ("ft", "acre-ft") and two.storage == (0.0, 5.0, 12.0)
    with pytest.raises(CurveError, match=r"Area \(acres\) is surface area\). An elevation-area table alone"):
        read_curve(b"Elevation (ft),Area (acres)\n100,0\n101,5\n", "area.csv")


def test_an_11500_row_table_reads_and_converts():
    elevations = 2800 + 0.1 * np.arange(11_500)
    capacity = np.round(np.maximum(0, elevations - 2810) ** 2 * 12.0, -2)  # zero run, then rounded to 100 acre-ft
    rows = [(e, 0.0, c) for e, c in zip(elevations, capacity, strict=True)]
    curve = read_curve(_table(rows), "big.csv")
    assert len(curve.elevation) == 11_500
    back = curve.convert(curve.convert([2900.0, 3500.0], "level"), "storage")
    assert back == pytest.approx([2900.0, 3500.0], abs=0.1)


# ---------------------------------------------------------------- checks on the cleaned record


def _record_with_code() -> bytes:
    """A level record in ft with a -999999 logger-code run (the real range is 1320.7 to 1385.7)."""
    days = pd.date_range("2019-05-01", periods=90)
    level = 1320.7 + 65.0 * (np.arange(90) / 89.0)
    level[40:44] = -999999.0
    frame = pd.DataFrame({"level_ft": level}, index=pd.Index(days.strftime("%Y-%m-%d"), name="date"))
    return frame.to_csv().encode()


def test_a_record_with_a_logger_code_run_accepts_a_curve_covering_its_real_range(workspace):
    import_csv(workspace, _record_with_code(), reservoir="Lake", filename="lake.csv")
    curve = b"elevation_ft,storage_af\n1300,100\n1350,2000\n1390,9000\n"
    outcome = import_curve(workspace, "Lake", curve, filename="curve.csv")
    assert outcome.uncovered == ()
    short = b"elevation_ft,storage_af\n1330,100\n1390,9000\n"
    with pytest.raises(
        CurveError,
        match=r"recorded level \(cleaned: logger codes and impossible values masked\) "
        r"runs down to 1320.7 ft",
    ):
        import_curve(workspace, "Lake", short, filename="short.csv")


def test_a_level_is_judged_against_the_cleaned_record(workspace):
    import_csv(workspace, _record_with_code(), reservoir="Lake", filename="lake.csv")
    levels = update_levels(workspace, "Lake", [OperatingLevel("Flood", 1380.0, "ft", "flood", "warning")])
    assert [lv.name for lv in levels] == ["Flood"]
    with pytest.raises(ValueError, match=r"far outside the recorded level \(1,320.7 to 1,385.7 ft, cleaned"):
        update_levels(workspace, "Lake", [OperatingLevel("Typo", 13800.0, "ft", "flood", "danger")])


def test_a_curve_table_in_a_workbook_is_read(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Lake curve, 2019 survey"])
    book.active.append(["Elevation (ft)", "Capacity (acre-ft)"])
    for e, _, c in published():
        book.active.append([e, c])
    path = tmp_path / "curve.xlsx"
    book.save(path)
    curve = read_curve(path.read_bytes(), "curve.xlsx")
    assert curve.convert([0.0], "storage")[0] == pytest.approx(2810.4) and len(curve.elevation) == 15
