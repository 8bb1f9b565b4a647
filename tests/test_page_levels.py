"""Levels & alerts page driven through the real app with AppTest: the sample's levels in the editor, edits saved (and
refused edits storing nothing), the alert trigger stored, and alert verification plus band coverage of a trained
version. The table -> levels conversion is also checked directly through the functions the Save button calls."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.app.pipeline import alert_trigger, verify_alerts
from core.data.levels import LevelError, OperatingLevel
from core.data.sample import SAMPLE_NAME
from pages import levels as page
from tests.apptest_support import open_page, run, texts

pytestmark = [pytest.mark.usefixtures("fresh_caches"), pytest.mark.slow]  # AppTest runs of 2-3 s each

SAMPLE_LEVELS = {
    "Minimum operating": (292.0, "drought", "danger"),
    "Drought watch": (300.0, "drought", "watch"),
    "Full supply": (312.0, "flood", "watch"),
    "Flood warning": (313.5, "flood", "warning"),
    "Dam crest": (316.0, "flood", "danger"),
}


def messages(at: AppTest, kind: str) -> list[str]:
    """The st.error / st.success / st.info boxes, unescaped."""
    return [str(e.value).replace("\\", "") for e in at.get(kind)]


def edit(at: AppTest, edited_rows=None, added_rows=None, deleted_rows=None) -> AppTest:
    """Put cell edits into the levels editor (as the browser would) and press Save levels."""
    (editor,) = at.data_editor
    at.session_state[editor.key] = {
        "edited_rows": edited_rows or {},
        "added_rows": added_rows or [],
        "deleted_rows": deleted_rows or [],
    }
    at.button(key="levels_save").click()
    return run(at)


def as_dict(levels: list[OperatingLevel]) -> dict[str, tuple[float, str, str]]:
    """Levels by name as (value, side, severity)."""
    return {lv.name: (lv.value, lv.side, lv.severity) for lv in levels}


def editor_table(at: AppTest) -> pd.DataFrame:
    """The table the levels editor shows."""
    (editor,) = at.data_editor
    assert editor.editing_mode == "dynamic"
    return editor.value


# ------------------------------------------------------------------------------------------------ page


def test_sample_shows_its_levels_trigger_and_asks_for_a_model(app_empty_ws):
    """A fresh workspace: the sample's 5 levels in the editor, the 20% trigger, and 'train a model first'."""
    at = open_page("levels")
    assert at.title[0].value == "Levels & alerts"
    about = texts(at, ("caption",))
    assert "ABOVE" in about and "BELOW" in about and "watch < warning < danger" in about

    table = editor_table(at)
    assert list(table.columns) == list(page.COLUMNS)
    shown = {r.name: (float(r.value), r.side, r.severity) for r in table.itertuples()}
    assert shown == SAMPLE_LEVELS
    assert sorted(table["value"], key=float) == ["292", "300", "312", "313.5", "316"]  # text, read strictly on Save
    assert set(table["variable"]) == {"level"}
    assert at.data_editor[0].proto.columns  # column config sent
    assert '"Value (m)"' in at.data_editor[0].proto.columns  # the unit is in the value column's header

    assert at.slider(key="levels_trigger").value == 20
    assert at.button(key="levels_save_trigger").disabled  # nothing to save until the slider moves
    assert "earlier warnings but more false alarms" in about
    assert "Train a model first" in texts(at, ("info",))
    assert "Add a row" not in texts(at, ("info",))  # the hint is for an empty grid only


def test_empty_levels_editor_says_how_to_add_a_row(app_sample_ws):
    """No levels at all: one line above the empty grid says what a row needs."""
    app_sample_ws.set_levels(SAMPLE_NAME, [])
    at = open_page("levels")
    assert not at.exception
    hint = texts(at, ("info",))
    assert "No levels yet. Add a row: name" in hint and "value in m" in hint
    assert "side (flood = alert above the line, drought = alert below it)" in hint
    assert "severity (watch, warning, danger)" in hint
    assert editor_table(at).empty
    assert not at.dataframe[1:]  # no verification or coverage table without a model
    assert not at.error


def test_editing_a_value_and_saving_persists_it(app_empty_ws):
    """Raise 'Flood warning' to 314 m: stored, the editor shows the stored set, the user is told."""
    at = open_page("levels")
    row = list(editor_table(at)["name"]).index("Flood warning")
    edit(at, edited_rows={row: {"value": 314.0}})

    stored = as_dict(app_empty_ws.levels(SAMPLE_NAME))
    assert stored == {**SAMPLE_LEVELS, "Flood warning": (314.0, "flood", "warning")}
    assert [lv.unit for lv in app_empty_ws.levels(SAMPLE_NAME)] == ["m"] * 5  # unit follows the variable
    assert any(m.startswith("Saved 5 levels.") and "Flood warning" in m for m in messages(at, "success"))
    table = editor_table(at)
    assert [float(v) for v in table.loc[table["name"] == "Flood warning", "value"]] == [314.0]  # typed as text
    assert not at.error


def test_adding_and_deleting_rows(app_empty_ws):
    """Delete 'Full supply', add a new watch line: one removed, one added; a markup-looking name stays text."""
    at = open_page("levels")
    names = list(editor_table(at)["name"])
    odd = "<b>Spill</b> *watch*"
    edit(
        at,
        deleted_rows=[names.index("Full supply")],
        added_rows=[{"name": odd, "value": 312.5, "side": "flood", "severity": "watch", "variable": "level"}],
    )
    stored = as_dict(app_empty_ws.levels(SAMPLE_NAME))
    assert "Full supply" not in stored
    assert stored[odd] == (312.5, "flood", "watch")
    assert len(stored) == 5
    (success,) = at.success
    assert "Removed: Full supply" in success.value.replace("\\", "")
    assert "<b>" not in success.value  # escaped: no markup from operator text
    assert not any(m.proto.allow_html for m in at.markdown)
    assert odd in list(editor_table(at)["name"])


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("Drought watch", 313.0, "must lie below flood level"),  # a drought line above the flood lines
        ("Full supply", 312000.0, "far outside the recorded level"),  # a typo, 312000 for 312
    ],
)
def test_bad_edit_shows_the_error_and_stores_nothing(app_empty_ws, name, value, says):
    """A refused edit: the reason right under the editor, the stored levels unchanged, no success message."""
    at = open_page("levels")
    row = list(editor_table(at)["name"]).index(name)
    edit(at, edited_rows={row: {"value": value}})

    assert as_dict(app_empty_ws.levels(SAMPLE_NAME)) == SAMPLE_LEVELS
    errors = messages(at, "error")
    assert len(errors) == 1 and says in errors[0], errors
    assert "Nothing was stored" in texts(at, ("caption",))
    assert not at.success


def test_trigger_change_is_stored(app_empty_ws):
    """Move the trigger to 35% and save: stored as 0.35, the slider keeps it, the user is told."""
    at = open_page("levels")
    at.slider(key="levels_trigger").set_value(35)
    run(at)
    assert not at.button(key="levels_save_trigger").disabled
    at.button(key="levels_save_trigger").click()
    run(at)
    assert alert_trigger(app_empty_ws, SAMPLE_NAME) == pytest.approx(0.35)
    assert at.slider(key="levels_trigger").value == 35
    assert "Alert trigger saved: 35%." in messages(at, "success")
    assert at.button(key="levels_save_trigger").disabled


def test_verification_and_coverage_of_a_trained_version(app_trained_ws):
    """The active version's alert scores per level and how often its bands held the truth, with the test period."""
    at = open_page("levels")
    record = app_trained_ws.version(SAMPLE_NAME)
    start, end = record.splits["test"]
    expected = verify_alerts(app_trained_ws, SAMPLE_NAME)

    scores = at.dataframe[1].value
    assert list(scores["level"]) == [r["level"] for r in expected["levels"]]
    assert list(scores["hits"]) == [r["hits"] for r in expected["levels"]]
    assert list(scores["false alarms"]) == [r["false_alarms"] for r in expected["levels"]]
    for col, key in (("POD", "pod"), ("FAR", "far"), ("CSI", "csi")):
        want = [f"{100 * r[key]:.0f}%" if r[key] is not None else "–" for r in expected["levels"]]
        assert scores[col].tolist() == want
    words = texts(at)
    assert f"issued {start} – {end}" in words and "at least 20%" in words
    assert "share of real crossings that were warned of" in words
    assert "share of warnings that did not come true" in words

    coverage = at.dataframe[2].value
    assert list(coverage["band"]) == ["50%", "80%", "95%"]
    held = 100 * record.metrics["coverage"]["80"]["mean"]
    assert coverage.loc[coverage["band"] == "80%", "held the truth"].item() == pytest.approx(held)
    assert re.search(rf"The 80% band held the truth {round(held)}% of the time on {start} – {end} data", words)

    at.slider(key="levels_trigger").set_value(60)  # verification previews an unsaved trigger
    run(at)
    assert "at least 60%" in texts(at)
    assert alert_trigger(app_trained_ws, SAMPLE_NAME) == pytest.approx(0.2)


def test_no_levels_on_the_models_variable_says_so(app_trained_ws):
    """Levels only on storage while the model forecasts level: a plain sentence instead of a table."""
    app_trained_ws.set_levels(SAMPLE_NAME, [OperatingLevel("Storage low", 20.0, "hm³", "drought", "watch", "storage")])
    at = open_page("levels")
    assert "No operating levels are set on level" in texts(at, ("info",))
    assert len(at.dataframe) == 2  # the editor and the coverage table, no verification table
    assert "Value (in its variable's unit)" in at.data_editor[0].proto.columns  # level in m, storage in hm³


# ------------------------------------------------------------------------------------------------ apply logic


def frame(rows: list[tuple]) -> pd.DataFrame:
    """An edited table as st.data_editor returns it."""
    return pd.DataFrame(rows, columns=list(page.COLUMNS))


def test_levels_from_frame_skips_empty_rows_and_names_the_bad_row():
    """Untouched new rows are ignored; a half-filled row is refused with its row number and core's reason."""
    got = page.levels_from_frame(
        frame([("Flood", 10.0, "flood", "watch", "level"), (None, float("nan"), None, None, None)])
    )
    assert [(lv.name, lv.value, lv.unit) for lv in got] == [("Flood", 10.0, None)]
    with pytest.raises(LevelError, match=r"Row 2: An operating level needs a name"):
        page.levels_from_frame(frame([("A", 1.0, "flood", "watch", "level"), ("", 2.0, "flood", "watch", "level")]))
    with pytest.raises(LevelError, match=r"Row 1: Level 'A': value must be a finite number"):
        page.levels_from_frame(frame([("A", None, "flood", "watch", "level")]))
    with pytest.raises(LevelError, match=r"Row 1: Level 'A': value must be a finite number"):
        page.levels_from_frame(frame([("A", "high", "flood", "watch", "level")]))
    with pytest.raises(LevelError, match=r"Row 1: Level 'A': side must be one of flood, drought, not ''"):
        page.levels_from_frame(frame([("A", 1.0, None, "watch", "level")]))
    with pytest.raises(LevelError, match=r"Row 1: Level 'A': severity must be one of watch, warning, danger"):
        page.levels_from_frame(frame([("A", 1.0, "flood", "severe", "level")]))


def test_plan_changes_by_name():
    """Unchanged levels are left alone, a rename removes the old name and adds the new one."""
    stored = [OperatingLevel("A", 1.0, "m", "drought", "watch"), OperatingLevel("B", 5.0, "m", "flood", "watch")]
    edited = [OperatingLevel("A", 1.0, None, "drought", "watch"), OperatingLevel("C", 5.0, None, "flood", "watch")]
    new, remove = page.plan_changes(stored, edited)
    assert [lv.name for lv in new] == ["C"] and remove == ["B"]


def test_apply_edits_duplicate_names_and_no_op(app_empty_ws):
    """Two rows with one name, or a row on an unknown reading, are refused before anything is stored (core's
    messages); an unchanged table writes nothing."""
    from core.app.pipeline import add_sample

    add_sample(app_empty_ws)
    table = page.editor_frame(app_empty_ws.levels(SAMPLE_NAME))
    assert page.apply_edits(app_empty_ws, SAMPLE_NAME, table).nothing
    table.loc[len(table)] = ["dam crest", 317.0, "flood", "danger", "level"]
    with pytest.raises(LevelError, match=r"Two levels share the name 'dam crest'"):
        page.apply_edits(app_empty_ws, SAMPLE_NAME, table)
    assert as_dict(app_empty_ws.levels(SAMPLE_NAME)) == SAMPLE_LEVELS
    table.loc[len(table) - 1] = ["Spill", 317.0, "flood", "danger", "turbidity"]
    with pytest.raises(ValueError, match=r"has no variable 'turbidity'"):
        page.apply_edits(app_empty_ws, SAMPLE_NAME, table)
    assert as_dict(app_empty_ws.levels(SAMPLE_NAME)) == SAMPLE_LEVELS


def test_a_side_that_disagrees_with_the_name_or_a_crossed_line_is_warned():
    """The walkthrough saved 'Drought watch' on the flood side without a word (core.data.levels.level_warnings)."""
    from core.data.levels import level_warnings, side_from_name

    assert side_from_name("Drought watch") == "drought" and side_from_name("Flood warning") == "flood"
    assert side_from_name("Full supply") is None and side_from_name("Low flood risk") is None  # neither or both
    slip = OperatingLevel("Drought watch", 300.0, "m", "flood", "watch")
    crossed = OperatingLevel("Minimum operating", 307.5, "m", "drought", "danger")
    fine = OperatingLevel("Flood warning", 313.5, "m", "flood", "warning")
    words = level_warnings([slip, crossed, fine], {"level": ("2023-12-31", 306.99)})
    assert len(words) == 3, words  # the slip is also crossed: 306.99 m is above a flood line at 300 m
    assert words[0].startswith("'Drought watch' is on the flood side although its name speaks of drought")
    assert "'Drought watch' (300 m) is already crossed: the latest level reading (306.99 m on 2023-12-31)" in words[1]
    assert "'Minimum operating' (307.5 m) is already crossed" in words[2] and "below it" in words[2]
    assert level_warnings([fine], {"level": ("2023-12-31", 306.99)}) == []


def test_levels_page_warns_before_the_save(app_empty_ws):
    """The table as edited is checked while the operator types, not only after a save."""
    at = open_page("levels")
    assert not at.warning  # the sample's own lines are on their right sides and not crossed
    row = list(editor_table(at)["name"]).index("Drought watch")
    (editor,) = at.data_editor
    at.session_state[editor.key] = {"edited_rows": {row: {"side": "flood"}}, "added_rows": [], "deleted_rows": []}
    run(at)
    assert any("'Drought watch' is on the flood side" in m for m in messages(at, "warning"))
