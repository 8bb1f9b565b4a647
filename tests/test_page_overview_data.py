"""Overview and Data pages driven through the real app with AppTest, plus the helpers they call.

What an operator relies on: the sample card on first start, the model's version and skill in words, a card that
explains (not crashes) when its forecast fails, uploads that import and say what changed, bad files that are
refused with their line numbers, the day/month choice for ambiguous dates, repeat uploads recognised, and uploaded
names never rendered as markup.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.app.importplan import (
    RESERVOIR_LAYOUT,
    WIDE_LAYOUT,
    ImportPlan,
    apply,
    default_reservoir,
    guess_layout,
    guess_wide_variable,
    issue_table,
    line_ranges,
    outcome_lines,
    read_mapping,
    retrain_candidates,
)
from core.app.pipeline import ImportRefused, add_sample, train_reservoir
from core.app.summary import latest_trend, levels_words, main_variable, model_skill, version_skill
from core.data.ingest import read_csv
from core.data.sample import SAMPLE_NAME
from core.model.config import TrainConfig
from core.model.leaderboard import Skill
from core.model.zoo import ZOO
from core.store.workspace import ModelVersion, StoreError, UploadInfo, Workspace
from pages.common import md_escape
from tests.apptest_support import open_page, private_copy, run, start_app, texts
from tests.conftest import tiny_config

pytestmark = pytest.mark.usefixtures("fresh_caches")


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def trained_root(tmp_path_factory) -> Path:
    """The sample with one tiny trained version (v1, active), trained once for this file (its tests are slow)."""
    ws = Workspace(tmp_path_factory.mktemp("trained") / "ws")
    add_sample(ws)
    train_reservoir(ws, SAMPLE_NAME, tiny_config(epochs=1))
    return ws.root


@pytest.fixture
def trained_ws(trained_root, tmp_path, monkeypatch) -> Workspace:
    """A private copy of the trained sample, so a test may change it."""
    return private_copy(trained_root, tmp_path, monkeypatch)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    """Drop one file on the Data page's uploader."""
    at.file_uploader(key="data_files").set_value((name, data, "text/csv"))
    return run(at)


def widget(widgets, suffix: str):
    """The one widget of a per-file panel whose key ends with `suffix` (keys start with a content hash)."""
    found = [w for w in widgets if str(w.key).endswith(suffix)]
    assert len(found) == 1, [w.key for w in widgets]
    return found[0]


def shown(elements) -> str:
    """Messages of one kind (error, warning, ...) as seen on screen."""
    return "\n".join(str(e.value) for e in elements).replace("\\", "")


def daily_csv(days: int = 70, start: str = "2024-01-01", extra: str = "") -> bytes:
    """A clean file with level and inflow, one row per day."""
    dates = pd.date_range(start, periods=days, freq="D")
    lines = ["date,level,inflow" + extra]
    for i, d in enumerate(dates):
        lines.append(f"{d.date().isoformat()},{300 + 0.01 * i:.2f},{5 + (i % 7):.1f}" + (",1" if extra else ""))
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------- core.app.summary / core.app.importplan


def test_latest_trend_compares_with_the_reading_a_week_earlier():
    """The card's arrow is the change since 7 days before the latest reading, and is withheld when data are sparse."""
    index = pd.date_range("2024-01-01", periods=20, freq="D")
    series = pd.Series(np.arange(20, dtype=float), index=index)
    trend = latest_trend(series)
    assert (trend.date, trend.value, trend.since, trend.change) == ("2024-01-20", 19.0, "2024-01-13", 7.0)
    sparse = pd.Series([1.0, 2.0], index=pd.to_datetime(["2023-01-01", "2024-01-20"]))
    assert latest_trend(sparse).change is None
    assert latest_trend(pd.Series([np.nan], index=index[:1])) is None


def test_skill_and_levels_in_words():
    """Skill reads as operator language, including the 'does not beat persistence' warning."""
    assert Skill(0.42, 0.3).words() == "beats 'tomorrow = today' by 42%"
    assert Skill(-0.1, None).words() == "does not beat persistence yet: forecasts are shown with a warning"
    assert Skill(0.0, None).words().startswith("does not beat persistence")
    assert "not scored" in Skill(None, None).words()
    assert model_skill(ModelVersion.from_dict({"meta": {"metrics": {"skill_vs_persistence": float("nan")}}})) is None
    assert model_skill(ModelVersion.from_dict({"meta": {"metrics": {"skill_vs_persistence": "0.25"}}})) == 0.25
    assert model_skill(ModelVersion.from_dict({})) is None  # a row without metrics (an earlier app version)
    persistence = "simply assuming 'tomorrow = today' (persistence)."
    said = Skill(0.42, None).sentence()
    assert said == f"On its test period its average error (MAE) was 42% smaller than {persistence}"
    assert "12% larger than" in Skill(-0.12, None).sentence() and "the same as" in Skill(0.0, None).sentence()
    assert "less than 1% smaller" in Skill(0.004, None).sentence()
    assert "could not be measured" in Skill(None, None).sentence()
    assert levels_words(0) == "No operating levels set yet"
    assert levels_words(1) == "1 operating level set"


def test_main_variable_prefers_level_then_storage(app_sample_ws):
    """The card leads with level (the sample has level and storage)."""
    assert main_variable(app_sample_ws.reservoir(SAMPLE_NAME)).name == "level"


def test_layout_and_defaults_guessed_from_the_file():
    """Chennai-style files (one column per reservoir) default to the wide layout; names come from the file."""
    assert guess_layout(["POONDI", "CHOLAVARAM", "REDHILLS"]) == WIDE_LAYOUT
    assert guess_layout(["Storage_m3", "Q_out_m3d", "Q_in_m3d"]) == RESERVOIR_LAYOUT
    assert guess_layout(["value"]) == RESERVOIR_LAYOUT
    assert guess_wide_variable("chennai_reservoir_rainfall.csv") == "rainfall"
    assert guess_wide_variable("chennai_reservoir_levels.csv") == "level"
    assert default_reservoir("jackson.csv", ["Jackson", "Milner"]) == "Jackson"
    assert default_reservoir("New Dam.csv", ["Jackson"]) == "New Dam"


def test_mapping_table_edits_become_import_arguments():
    """The edited table (column, variable, unit) becomes the import's mapping and units; duplicates block it."""
    table = pd.DataFrame(
        [["Storage_m3", "storage", "m³"], ["Q_out_m3d", "outflow", "m³/day"], ["Rain (mm)", "rainfall", "mm"]],
        columns=["column", "variable", "unit"],
    )
    table.loc[1, "variable"] = ""  # a cleared cell falls back to the proposal
    table.loc[2, "unit"] = " "
    mapping, units, problems = read_mapping(table)
    assert mapping == {"Storage_m3": "storage", "Q_out_m3d": "outflow", "Rain (mm)": "rainfall"}
    assert units == {"storage": "m³", "outflow": "m³/day", "rainfall": None}
    assert problems == []
    table.loc[1, "variable"] = "Storage"
    assert "both mapped to variable 'Storage'" in read_mapping(table)[2][0]


def test_apply_uses_the_edited_mapping_and_units(workspace):
    """A renamed column is stored under the chosen variable with the chosen unit."""
    data = b"date,Lvl,Q\n2024-01-01,1.5,3\n2024-01-02,1.6,4\n"
    plan = ImportPlan(
        layout=RESERVOIR_LAYOUT, reservoir="Dam", mapping={"Lvl": "level", "Q": "inflow"}, units={"level": "ft"}
    )
    outcome = apply(workspace, data, "dam.csv", plan)
    assert outcome_lines([r.to_dict() for r in outcome.results]) == ["Dam: 4 readings added, 0 changed, 0 unchanged."]
    info = workspace.reservoir("Dam")
    assert [(v.name, v.unit, v.source_column) for v in info.variables] == [
        ("level", "ft", "Lvl"),
        ("inflow", None, "Q"),
    ]
    again = apply(workspace, data, "dam.csv", plan)
    assert outcome_lines([r.to_dict() for r in again.results]) == [
        "Dam: already imported, nothing changed (4 readings already stored)."
    ]
    with pytest.raises(StoreError, match="Give the reservoir a name"):
        apply(workspace, data, "dam.csv", ImportPlan(layout=RESERVOIR_LAYOUT, reservoir=" "))


def test_apply_wide_file_creates_one_reservoir_per_column(workspace):
    """Wide layout: columns are reservoirs, all holding the chosen variable and unit."""
    data = b"Date,POONDI,REDHILLS\n01-01-2004,3.9,268\n02-01-2004,4.0,270\n13-01-2004,4.1,271\n"
    outcome = apply(workspace, data, "w.csv", ImportPlan(layout=WIDE_LAYOUT, variable="storage", unit="mcft"))
    assert [r.reservoir for r in outcome.results] == ["POONDI", "REDHILLS"]
    assert workspace.reservoir("REDHILLS").variable("storage").unit == "mcft"
    assert workspace.readings("POONDI")["storage"].tolist() == [3.9, 4.0, 4.1]


def test_issue_table_lists_offending_lines_and_values():
    """Issues that point at cells become rows a user can find in the file."""
    parsed = read_csv(
        b"date,level\n2024-01-01,1\n2024-01-02,abc\n2024-01-03,x\n2024-01-04,2\n2024-01-05,3\n", filename="bad.csv"
    )
    table = issue_table(parsed.report.issues)
    row = table[table["problem"] == "non numeric"].iloc[0]
    assert (row["column"], row["file lines"], row["examples"]) == ("level", "3, 4", "abc, x")


def test_long_runs_of_bad_lines_are_compressed_into_ranges():
    """Forty bad lines in a row read as one range, so the examples column stays on screen."""
    assert line_ranges([*range(1627, 1668), 1702, 1703, 1800, 5]) == "5, 1627\u20131667 (41 lines), 1702, 1703, 1800"
    assert line_ranges([7, 7, 8, 9]) == "7\u20139 (3 lines)"
    assert line_ranges([]) == ""
    days = pd.date_range("2024-01-01", periods=120, freq="D")
    body = "".join(f"{d.date()},{'bad' if 3 <= i <= 20 else i}\n" for i, d in enumerate(days))
    table = issue_table(read_csv(("date,level\n" + body).encode(), filename="bad.csv").report.issues)
    row = table[table["problem"] == "non numeric"].iloc[0]
    assert row["file lines"].startswith("5\u201322 (18 lines)") and row["examples"].startswith("bad")


@pytest.mark.slow
def test_retrain_offered_only_when_days_were_added_to_a_modelled_reservoir(trained_ws):
    """New days for a reservoir with an active model -> offer; a reservoir without a model -> no offer."""
    new_days = daily_csv(days=5, start="2024-01-01")
    outcome = apply(trained_ws, new_days, "new.csv", ImportPlan(layout=RESERVOIR_LAYOUT, reservoir=SAMPLE_NAME))
    assert retrain_candidates(trained_ws, outcome) == [SAMPLE_NAME]
    other = apply(trained_ws, new_days, "new.csv", ImportPlan(layout=RESERVOIR_LAYOUT, reservoir="Other"))
    assert retrain_candidates(trained_ws, other) == []


def test_md_escape_makes_user_text_inert():
    """Markdown, HTML and LaTeX in uploaded names are shown literally."""
    assert md_escape("<b>x</b>") == "\\<b\\>x\\</b\\>"
    assert md_escape("[a](javascript:x) $y$ **z**") == "\\[a\\]\\(javascript\\:x\\) \\$y\\$ \\*\\*z\\*\\*"


def test_parse_file_is_cached_per_content_and_options(monkeypatch):
    """Reruns do not parse the same file again; other read options do."""
    import pages.data_upload as data_page
    from core.data.ingest import ReadOptions

    calls = []
    real = data_page.read_csv

    def counting(*args, **kwargs):
        calls.append(kwargs.get("options"))
        return real(*args, **kwargs)

    monkeypatch.setattr(data_page, "read_csv", counting)
    raw = b"date,level\n01/02/2024,1\n02/03/2024,2\n"
    first = data_page.parse("sha-a", "a.csv", raw, ReadOptions())
    again = data_page.parse("sha-a", "a.csv", raw, ReadOptions())
    dayfirst = data_page.parse("sha-a", "a.csv", raw, ReadOptions(dayfirst=True))
    assert len(calls) == 2
    assert not first.report.ok and again.report.errors[0].code == "ambiguous_dates"
    assert dayfirst.report.ok and dayfirst.report.start == "2024-02-01"


def test_example_csv_reads_back_as_the_sample():
    """The 'Download an example CSV' file is a valid upload with the sample's five variables."""
    import pages.data as data_page

    parsed = read_csv(data_page.example_csv(), filename="example.csv")
    assert parsed.report.ok
    assert list(parsed.report.columns) == ["level", "storage", "inflow", "outflow", "rainfall"]


# ---------------------------------------------------------------- Overview page


def test_first_start_shows_the_sample_card(tmp_path, monkeypatch):
    """An empty workspace gets the sample on first start; its card shows the latest level, trend and levels."""
    monkeypatch.setenv("SENTINEL_WORKSPACE", str(tmp_path / "fresh"))
    at = start_app()
    assert [t.value for t in at.title] == ["Overview"]
    assert [s.value for s in at.subheader] == [SAMPLE_NAME]
    metric = at.metric[0]
    assert metric.label == "Level"  # short: the unit is on the value, the day on the line below
    assert metric.value.endswith(" m")
    assert metric.delta.endswith("m in 7 days")
    page = texts(at)
    assert "No model yet — train one on the Train page" in page
    assert "5 operating levels set" in page
    assert len(at.get("plotly_chart")) == 1  # the history sparkline, even without a model


@pytest.mark.slow
def test_overview_shows_model_version_skill_and_forecast(trained_ws):
    """With a trained model the card names the version, its skill in words and the forecast's last day."""
    record = trained_ws.version(SAMPLE_NAME)
    at = start_app()
    page = texts(at)
    label = ZOO[record.model].label  # the card names the kind of model too
    assert f"Model v{record.version} · {label} (level): {version_skill(record).words()}" in page
    assert "Forecast from the last reading (" in page and "on 2024-01-07" in page  # the sample ends 2023-12-31
    assert "No forecast" not in page


@pytest.mark.slow
def test_card_without_levels_says_so_once(trained_ws):
    """No levels set: the card says it in the levels line only, not again as an 'Alert:' line."""
    from core.app.pipeline import update_levels

    update_levels(trained_ws, SAMPLE_NAME, [], remove=[lv.name for lv in trained_ws.levels(SAMPLE_NAME)])
    at = start_app()
    assert not at.exception
    page = texts(at)
    assert "No operating levels set yet" in page and "Forecast from the last reading (" in page
    assert "Alert:" not in page and "No operating levels are set" not in page


@pytest.mark.slow
def test_card_with_a_failing_forecast_explains_in_one_line(trained_ws):
    """A model whose files are gone: the card says why, the page does not crash."""
    record = trained_ws.version(SAMPLE_NAME)
    shutil.rmtree(trained_ws.root / record.path)
    at = start_app()
    assert not at.error
    page = texts(at)
    assert "No forecast: The files of version 1 of 'Sample Reservoir' are missing" in page


@pytest.mark.slow
def test_open_forecast_links_to_the_forecast_page_of_its_reservoir(app_sample_ws):
    """The card's link opens the Forecast page with its reservoir in the address (a new tab or a bookmark keeps it;
    the sidebar picker follows the address), and following it shows that reservoir's forecast page."""
    app_sample_ws.merge(
        {"Aaa Lake": pd.DataFrame({"level": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"], name="date"))},
        {"Aaa Lake": {"level": "m"}},
        UploadInfo(filename="t.csv", sha256="t"),
    )
    at = start_app()
    assert [s.value for s in at.subheader] == ["Aaa Lake", SAMPLE_NAME]
    links = [link.proto for link in at.get("page_link") if link.proto.label == "Open forecast"]
    assert [(link.page, link.query_string) for link in links] == [
        ("forecast", "reservoir=Aaa+Lake"),
        ("forecast", "reservoir=Sample+Reservoir"),
    ]
    at.query_params["reservoir"] = SAMPLE_NAME  # what following the second link does
    at.switch_page("pages/forecast.py").run()
    assert not at.exception, at.exception
    assert at.session_state["reservoir"] == SAMPLE_NAME
    assert [t.value for t in at.title] == ["Forecast"]


@pytest.mark.slow
def test_a_small_workspace_keeps_the_cards_and_folds_the_cycle_away(app_sample_ws):
    """Up to three reservoirs: every card is the main content, no fleet table; the cycle sits in a fold below (with
    "Fleet model too" once there is more than one reservoir to learn from)."""
    alone = start_app()
    assert "overview_cycle_fleet" not in [t.key for t in alone.toggle]
    for name in ("Aaa Lake", "Bbb Lake"):
        app_sample_ws.merge(
            {name: pd.DataFrame({"level": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"], name="date"))},
            {name: {"level": "m"}},
            UploadInfo(filename=f"{name}.csv", sha256=name),
        )
    at = start_app()
    assert [s.value for s in at.subheader] == ["Aaa Lake", "Bbb Lake", SAMPLE_NAME]
    assert "Fleet status" not in texts(at) and not at.dataframe
    assert [e.label for e in at.expander] == ["Daily cycle: run it now, see its history"]
    assert "The cycle has not run in this workspace yet." in texts(at)
    assert at.button(key="overview_cycle_run").label == "Run the cycle now"
    assert at.toggle(key="overview_cycle_fleet").label == "Fleet model too"


@pytest.mark.slow
def test_a_fourth_reservoir_brings_the_fleet_table(app_sample_ws):
    """More than three reservoirs: the fleet table leads, with one row each, and the cards follow the choice."""
    for name in ("Aaa Lake", "Bbb Lake", "Ccc Lake"):
        app_sample_ws.merge(
            {name: pd.DataFrame({"level": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"], name="date"))},
            {name: {"level": "m"}},
            UploadInfo(filename=f"{name}.csv", sha256=name),
        )
    at = start_app()
    assert [s.value for s in at.subheader][:1] == ["Fleet status"]
    frame = at.dataframe[0].value
    assert sorted(frame["Reservoir"]) == ["Aaa Lake", "Bbb Lake", "Ccc Lake", SAMPLE_NAME]
    assert set(frame["Flood"]) == {"Not run yet"}  # nothing cycled yet: said, not guessed
    assert at.multiselect(key="overview_cards").value == ["Aaa Lake", "Bbb Lake", "Ccc Lake"]  # nothing raised


# ---------------------------------------------------------------- Data page


@pytest.mark.slow
def test_good_file_imports_shows_counts_and_a_repeat_says_already_imported(app_sample_ws):
    """A clean file is imported into a new reservoir named after it with counts; the same file again changes nothing."""
    at = open_page("data")
    upload(at, "North Dam.csv", daily_csv(days=70))
    assert not at.error
    assert "70 days, 2024-01-01 to 2024-03-10" in texts(at)
    assert widget(at.text_input, "_name").value == "North Dam"
    button = widget(at.button, "_import")
    assert not button.disabled
    button.click()
    run(at)
    assert shown(at.success) == "North Dam: 140 readings added, 0 changed, 0 unchanged."
    assert at.session_state["reservoir"] == "North Dam"  # the stored-data section follows the import
    assert widget(at.selectbox, "_target").value == "North Dam"  # the file panel no longer says "(new reservoir)"
    assert not [w for w in at.text_input if str(w.key).endswith("_name")]
    stored = Workspace(app_sample_ws.root).reservoir("North Dam")
    assert [(v.name, v.count) for v in stored.variables] == [("level", 70), ("inflow", 70)]
    run(at, "North Dam")
    assert "Stored data: North Dam" in texts(at)
    widget(at.button, "_import").click()  # the same file again
    run(at, "North Dam")
    assert shown(at.info).startswith("North Dam: already imported, nothing changed (140 readings already stored)")
    assert not at.success
    assert len(Workspace(app_sample_ws.root).uploads("North Dam")) == 1


@pytest.mark.slow
def test_bad_file_shows_errors_with_lines_and_imports_nothing(app_sample_ws):
    """Non-numeric cells: the error names the file lines, Import is disabled, the store is untouched."""
    before = (len(app_sample_ws.reservoirs()), len(app_sample_ws.uploads()))
    at = open_page("data")
    upload(at, "bad.csv", b"date,level\n2024-01-01,1\n2024-01-02,abc\n2024-01-03,2\n2024-01-04,x\n")
    errors = shown(at.error)
    assert "Column 'level': 2 cells are not numbers (lines 3, 5" in errors
    table = next(df.value for df in at.dataframe if "file lines" in df.value.columns)
    assert table.iloc[0]["file lines"] == "3, 5"  # two lines apart: no range
    button = widget(at.button, "_import")
    assert button.disabled
    assert "Import is disabled" in texts(at)
    with pytest.raises(ImportRefused):  # what the button would do: refused by core as well
        apply(app_sample_ws, b"date,level\n2024-01-01,abc\n", "bad.csv", ImportPlan(RESERVOIR_LAYOUT, reservoir="bad"))
    assert (len(app_sample_ws.reservoirs()), len(app_sample_ws.uploads())) == before


@pytest.mark.slow
def test_unreadable_file_says_why(app_sample_ws):
    """A zip that is no workbook (here a damaged one) is explained, not crashed on, and cannot be imported."""
    at = open_page("data")
    upload(at, "book.csv", b"PK\x03\x04" + b"\x00" * 64)
    assert "This is a ZIP archive, not a CSV or an Excel workbook" in shown(at.error)
    assert widget(at.button, "_import").disabled


@pytest.mark.slow
def test_ambiguous_dates_ask_for_the_order_and_day_first_fixes_it(app_sample_ws):
    """No day above 12: the page asks for the order; choosing day-first reads 01/02 as 1 February."""
    data = b"date,level\n01/02/2024,1\n02/03/2024,2\n03/04/2024,3\n"
    at = open_page("data")
    upload(at, "amb.csv", data)
    assert "day/month order cannot be told" in shown(at.error)
    assert "Choose Day first or Month first" in shown(at.info).replace("*", "")
    assert widget(at.button, "_import").disabled
    widget(at.radio, "_order").set_value("day")
    run(at)
    assert not at.error
    assert "3 days, 2024-02-01 to 2024-04-03" in texts(at)
    assert "(day-first)" in texts(at)
    widget(at.button, "_import").click()
    run(at)
    assert "amb: 3 readings added" in shown(at.success)
    dates = Workspace(app_sample_ws.root).readings("amb").index.strftime("%Y-%m-%d").tolist()
    assert dates == ["2024-02-01", "2024-03-02", "2024-04-03"]


@pytest.mark.slow
def test_uploaded_names_are_not_rendered_as_html(app_sample_ws):
    """A column named <b>x</b> and a file named <i>f</i>.csv appear literally, never as markup."""
    data = b"date,<b>x</b>\n2024-01-01,1\n2024-01-02,oops\n"
    at = open_page("data")
    upload(at, "<i>f</i>.csv", data)
    assert [s.value for s in at.subheader] == ["\\<i\\>f\\</i\\>\\.csv"]
    error = at.error[0].value
    assert "\\<b\\>x\\</b\\>" in error and "<b>" not in error
    for element in [*at.markdown, *at.caption, *at.error, *at.warning, *at.info, *at.subheader]:
        raw = str(element.value)
        assert "<b>" not in raw and "<i>" not in raw, raw
        assert not getattr(element.proto, "allow_html", False)
    editor = widget(at.data_editor, "_mapping_")
    assert editor.value["column"].tolist() == ["<b>x</b>"]  # shown as a table cell, i.e. as text


@pytest.mark.slow
def test_wide_file_defaults_to_one_reservoir_per_column(app_sample_ws):
    """A Chennai-style file proposes the wide layout and imports one reservoir per column."""
    data = b"Date,POONDI,REDHILLS\n01-01-2004,3.9,268\n02-01-2004,4.0,270\n13-01-2004,4.1,271\n"
    at = open_page("data")
    upload(at, "chennai_reservoir_levels.csv", data)
    assert widget(at.radio, "_layout").value == WIDE_LAYOUT
    assert widget(at.selectbox, "_wide_var").value == "level"
    widget(at.selectbox, "_wide_var").set_value("storage")
    run(at)
    widget(at.text_input, "_wide_unit_storage").set_value("mcft")
    run(at)
    widget(at.button, "_import").click()
    run(at)
    assert shown(at.success).splitlines() == [
        "POONDI: 3 readings added, 0 changed, 0 unchanged.",
        "REDHILLS: 3 readings added, 0 changed, 0 unchanged.",
    ]
    assert Workspace(app_sample_ws.root).reservoir("POONDI").variable("storage").unit == "mcft"


@pytest.mark.slow
def test_new_days_offer_retraining_with_the_same_settings(trained_ws, monkeypatch):
    """Days added to a reservoir with a model -> 'Retrain with the same settings' starts a retrain job."""
    import core.app.jobs

    started = []

    def fake_start(ws, reservoir, config, *, activate=None, retrain=False):
        started.append((reservoir, config, retrain))
        return 42

    monkeypatch.setattr(core.app.jobs, "start_training", fake_start)
    at = open_page("data")
    upload(at, "Sample Reservoir.csv", daily_csv(days=5, start="2024-01-01"))
    assert widget(at.selectbox, "_target").value == SAMPLE_NAME  # the file name matches the reservoir
    widget(at.button, "_import").click()
    run(at)
    assert "Sample Reservoir: 10 readings added" in shown(at.success)
    widget(at.button, f"_retrain_{SAMPLE_NAME}").click()
    run(at)
    config = TrainConfig.from_dict(trained_ws.version(SAMPLE_NAME).config)
    assert started == [(SAMPLE_NAME, config, True)]
    assert "Retraining of Sample Reservoir started (job #42). Follow it on the Train page." in shown(at.success)


@pytest.mark.slow
def test_stored_data_section_shows_variables_logs_and_example(app_sample_ws):
    """The selected reservoir's variables, cleaning summary, upload log and the example download are on the page."""
    at = open_page("data")
    variables = next(df.value for df in at.dataframe if "readings" in df.value.columns)
    assert variables["variable"].tolist() == ["level", "storage", "inflow", "outflow", "rainfall"]
    assert variables["readings"].tolist() == [4383] * 5
    page = texts(at)
    assert "Stored data: Sample Reservoir" in page
    assert "gaps of up to 3 days are filled" in page
    assert [e.label for e in at.expander][-2:] == ["Upload log (1)", "Changed values (0)"]
    assert [b.label for b in at.download_button] == ["Download an example CSV"]


def test_trend_delta_text_and_arrow():
    """The card's arrow follows the sign of the weekly change, and a flat week has no arrow."""
    from pages.overview import _trend_arrow, _trend_delta

    assert _trend_delta(-1.0, "mcft", 7) == "-1 mcft in 7 days"
    assert _trend_delta(25501533.4, "m³", 7) == "+25.5 M m³ in 7 days"  # short enough for a card
    assert _trend_delta(0.0, "m", 7) == "no change in 7 days"
    assert [_trend_arrow(c) for c in (0.5, -0.5, 0.0, None)] == ["up", "down", "off", "off"]


def test_overview_card_shows_the_alert_in_words(app_trained_ws):
    """A level just under the current forecast puts a flood alert with its reason on the card."""
    from core.app.pipeline import forecast_reservoir, update_levels
    from core.data.levels import OperatingLevel

    fc = forecast_reservoir(app_trained_ws, SAMPLE_NAME)
    near = round(min(p.value for p in fc.points) - 0.01, 3)
    update_levels(
        app_trained_ws,
        SAMPLE_NAME,
        [OperatingLevel("Spill alarm", near, "m", "flood", "danger")],
        remove=["Full supply", "Flood warning", "Dam crest"],
    )
    at = start_app()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("Danger alert" in e and "Spill alarm" in e for e in errors), errors
