"""Names are text, not control sequences (issue 19, item 9): reservoir names (typed, from a wide file's headers, from
an agency file's stations) and units from header brackets refuse control and bidi-override characters with a
specific message, are capped in length and stripped of surrounding spaces."""

from __future__ import annotations

import pytest

from core.app.pipeline import import_csv
from core.data.ingest import read_csv
from core.data.names import MAX_LENGTH, clean_name, name_problem
from core.store.workspace import StoreError

DATA = b"date,level\n2024-01-01,1.5\n2024-01-02,1.6\n"


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("Dam\r\nBcc: all@example.org", "carriage return (U+000D), at character 4"),
        ("Dam\x00", "NUL (U+0000)"),
        ("\x1b[31mDam\x1b[0m", "ESC (escape) (U+001B), at character 1"),
        ("Dam \u202eTXT.exe", "right-to-left override (U+202E)"),
        ("Dam\u2028two", "line separator (U+2028)"),
    ],
    ids=["crlf", "nul", "esc", "rlo", "line-separator"],
)
def test_a_reservoir_name_with_control_characters_is_refused(workspace, name, what):
    with pytest.raises(StoreError, match="Reservoir name") as refused:
        import_csv(workspace, DATA, reservoir=name, filename="d.csv")
    assert what in str(refused.value)
    assert "\r" not in str(refused.value) and "\x1b" not in str(refused.value)  # the message itself is safe
    assert workspace.reservoirs() == []


def test_long_names_are_refused_and_spaces_stripped(workspace):
    with pytest.raises(StoreError, match="10,000 characters long"):
        import_csv(workspace, DATA, reservoir="x" * 10_000, filename="d.csv")
    import_csv(workspace, DATA, reservoir="  North Dam  ", filename="d.csv")
    assert [r.name for r in workspace.reservoirs()] == ["North Dam"]
    assert clean_name("y" * MAX_LENGTH, "Name") == "y" * MAX_LENGTH and name_problem("", "Name") is not None


def test_a_wide_file_header_and_an_agency_station_name_follow_the_same_rule(workspace):
    wide = b'date,"North\r\nDam",South\n2024-01-01,1,2\n'
    with pytest.raises(StoreError, match="line feed"):
        import_csv(workspace, wide, variable="storage", filename="w.csv")
    cdec = (
        b"STATION_ID,DURATION,SENSOR_NUMBER,SENSOR_TYPE,DATE TIME,OBS DATE,VALUE,DATA_FLAG,UNITS\n"
        b"SHA,D,15,STORAGE,20240201 0000,20240201 0000,100, ,AF\n"
        b"ORO,D,15,STORAGE,20240201 0000,20240201 0000,200, ,AF\n"
    )
    with pytest.raises(StoreError, match="right-to-left override"):
        import_csv(workspace, cdec, filename="c.csv", stations={"SHA": "Shasta\u202e"})
    assert workspace.reservoirs() == []


def test_a_unit_from_header_brackets_follows_the_same_rule(workspace):
    parsed = read_csv(b"date,Level (\x1b[31mm)\n2024-01-01,1.5\n", filename="u.csv")
    (error,) = parsed.report.errors
    assert error.code == "bad_unit" and "ESC (escape) (U+001B)" in error.message and "\x1b" not in error.message
    assert parsed.units["Level (\x1b[31mm)"] is None
    long_unit = read_csv(f"date,Level ({'m' * 200})\n2024-01-01,1.5\n".encode(), filename="l.csv")
    assert "200 characters long" in long_unit.report.errors[0].message
    with pytest.raises(StoreError, match="Unit of level"):  # typed on the Data page or given to the store
        import_csv(workspace, DATA, reservoir="Dam", filename="d.csv", units={"level": "m\nft"})
