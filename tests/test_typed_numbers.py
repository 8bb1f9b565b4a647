"""Editors that refuse what they cannot read: one typed number is read exactly, or refused with what to type.

The parser (core.data.typed_numbers), the levels CLI spec, the levels editor on the page, and the sign rule for
variables that cannot be negative.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.data.levels import LevelError, OperatingLevel, check_level, parse_level
from core.data.sample import SAMPLE_NAME
from core.data.typed_numbers import NumberEntryError, format_number, parse_number_strict
from pages import levels as page
from tests.apptest_support import open_page, run


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("313.5", 313.5),
        (" -2 ", -2.0),
        ("+0.25", 0.25),
        (".5", 0.5),
        ("1e5", 1e5),
        ("2.5E-3", 0.0025),
        ("313,5", 313.5),  # a lone decimal comma can only be read one way
        ("\u22124.5", -4.5),  # typographic minus
        (312, 312.0),
        (np.float64(1.5), 1.5),
    ],
)
def test_plain_numbers_are_read_exactly(text, number) -> None:
    assert parse_number_strict(text) == number


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1,2e5x", r"'1,2e5x' is not a number"),  # never 125
        ("398.000,5", r"mixes '\.' and ','"),  # never 398.0005
        ("1,234", r"could be 1234 .* or 1\.234"),
        ("1.234.567", r"is not a number"),
        ("12 m", r"is not a number"),
        ("inf", r"is not a number"),
        ("nan", r"is not a number"),
        ("1e400", r"not a finite number"),
        (float("nan"), r"not a finite number"),
        ("", r"empty"),
        (True, r"is not a number"),
    ],
)
def test_what_cannot_be_read_one_way_is_refused(text, says) -> None:
    with pytest.raises(NumberEntryError, match=says):
        parse_number_strict(text)


def test_format_number_round_trips() -> None:
    for value in (313.5, 312.0, 0.1 + 0.2, 1e-7, 123456789.125):
        assert parse_number_strict(format_number(value)) == value
    assert format_number(312.0) == "312"


@pytest.mark.parametrize("spec", ["Flood=1,2e5x:flood:watch", "Flood=398.000,5:flood:watch"])
def test_cli_level_spec_is_strict(spec) -> None:
    with pytest.raises(LevelError, match="not a number"):
        parse_level(spec, "m", "level")
    assert parse_level("Flood=313,5:flood:watch", "m", "level").value == 313.5


def test_negative_level_for_a_nonnegative_variable_is_refused() -> None:
    with pytest.raises(LevelError, match=r"'Empty': -5 is below zero, but storage cannot be negative"):
        check_level(OperatingLevel("Empty", -5.0, "hm³", "drought", "danger", "storage"))
    with pytest.raises(LevelError, match="cannot be negative"):
        parse_level("Dry=-1:drought:watch", "mm", "rainfall")
    check_level(OperatingLevel("Low", -2.0, "m", "drought", "watch", "level"))  # a level (elevation) may be < 0


def frame(rows: list[tuple]) -> pd.DataFrame:
    """An edited levels table as st.data_editor returns it (the value column holds the typed text)."""
    return pd.DataFrame(rows, columns=list(page.COLUMNS))


@pytest.mark.parametrize(
    ("typed", "says"),
    [("1,2e5x", "'1,2e5x' is not a number"), ("398.000,5", "mixes '.' and ','"), ("1,234", "could be 1234")],
)
def test_levels_from_frame_refuses_typed_text_it_cannot_read(typed, says) -> None:
    with pytest.raises(LevelError, match=r"Row 1: Level 'A': value must be a finite number") as err:
        page.levels_from_frame(frame([("A", typed, "flood", "watch", "level")]))
    assert says in str(err.value)
    [level] = page.levels_from_frame(frame([("A", "313,25", "flood", "watch", "level")]))
    assert level.value == 313.25


def test_editor_shows_values_as_text_that_reads_back() -> None:
    table = page.editor_frame(
        [OperatingLevel("A", 313.5, "m", "flood", "watch"), OperatingLevel("B", 0.1 + 0.2, "m", "flood", "danger")]
    )
    assert table["value"].tolist() == ["313.5", "0.30000000000000004"]
    assert [lv.value for lv in page.levels_from_frame(table)] == [313.5, 0.1 + 0.2]


def test_levels_page_refuses_a_value_it_cannot_read(app_empty_ws) -> None:
    """'398.000,5' typed into the editor: refused with the reason under the editor, nothing stored."""
    at = open_page("levels")
    stored = [(lv.name, lv.value) for lv in app_empty_ws.levels(SAMPLE_NAME)]
    (editor,) = at.data_editor
    row = list(editor.value["name"]).index("Flood warning")
    at.session_state[editor.key] = {"edited_rows": {row: {"value": "398.000,5"}}, "added_rows": [], "deleted_rows": []}
    at.button(key="levels_save").click()
    run(at)
    assert [(lv.name, lv.value) for lv in app_empty_ws.levels(SAMPLE_NAME)] == stored
    errors = [str(e.value).replace("\\", "") for e in at.error]
    assert len(errors) == 1 and "mixes '.' and ','" in errors[0] and "Flood warning" in errors[0], errors
    assert not math.isnan(stored[0][1])
