"""Revised series with audit: the raw readings kept, revisions with who/when/why, undo, and every reader revised.

A revision and its undo through the store, the CLI (`edit`, `edits`, `--json`) and the Data page; cleaning (and
so training) uses the revised value; a version-2 workspace gains the revisions table.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.app.pipeline import add_sample, load_clean
from core.app.revise import edit_readings, revised_days, revision_rows
from core.cli.main import main
from core.data.config import CleanConfig
from core.data.qc import QcFlag
from core.data.sample import SAMPLE_NAME
from core.store.workspace import SCHEMA_VERSION, StoreError, UploadInfo, Workspace
from tests.apptest_support import open_page, texts


def frame(start: str, **columns: list[float]) -> pd.DataFrame:
    """Daily readings from `start` in the project convention."""
    n = len(next(iter(columns.values())))
    return pd.DataFrame(
        {k: np.asarray(v, dtype="float64") for k, v in columns.items()},
        index=pd.DatetimeIndex(pd.date_range(start, periods=n), name="date"),
    )


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    """One reservoir with a level and a storage on ten days; day 5's level is a typo (3100 for 310)."""
    ws = Workspace(tmp_path / "ws")
    level = [310.0, 310.1, 310.2, 310.3, 3100.0, 310.5, 310.6, 310.7, 310.8, 310.9]
    ws.merge({"R": frame("2024-03-01", level=level, storage=[50.0 + i for i in range(10)])}, {}, UploadInfo("r", "r"))
    return ws


def test_revision_and_undo_keep_the_raw_readings(ws: Workspace) -> None:
    raw_before = ws.readings("R", raw=True)
    fix = ws.revise("R", "level", "2024-03-05", None, value=310.4, reason="typo in the logbook", user="ana")
    bad = ws.revise("R", "Level", "2024-03-08", "2024-03-09", value=None, reason="logger fault", user="ben")
    assert (fix.user, fix.reason, fix.start, fix.end, fix.action) == (
        "ana",
        "typo in the logbook",
        *["2024-03-05"] * 2,
        "value",
    )
    assert fix.time.endswith("Z") and bad.variable == "level" and bad.action == "missing" and bad.days == 2

    revised = ws.readings("R")
    assert revised.loc["2024-03-05", "level"] == 310.4
    assert revised.loc["2024-03-08":"2024-03-09", "level"].isna().all()
    assert revised.loc["2024-03-08", "storage"] == 57.0  # other variables of those days untouched
    pd.testing.assert_frame_equal(ws.readings("R", raw=True), raw_before)  # the raw readings are kept
    assert ws.readings("R", ["level"], start="2024-03-05", end="2024-03-05")["level"].tolist() == [310.4]

    undone = ws.undo_revision("R", fix.id, "carla")
    assert (undone.undone_by, undone.active) == ("carla", False) and undone.undone.endswith("Z")
    assert ws.readings("R").loc["2024-03-05", "level"] == 3100.0  # back to raw
    assert np.isnan(ws.readings("R").loc["2024-03-08", "level"])  # the other revision still applies
    history = ws.revisions("R")
    assert [(r.id, r.active) for r in history] == [(fix.id, False), (bad.id, True)]  # audit keeps the undone one
    with pytest.raises(StoreError, match=r"already undone by carla"):
        ws.undo_revision("R", fix.id, "carla")
    with pytest.raises(StoreError, match=r"no revision #99 \(its revisions: 1, 2\)"):
        ws.undo_revision("R", 99, "carla")


def test_later_revisions_win_and_undo_reveals_the_one_beneath(ws: Workspace) -> None:
    first = ws.revise("R", "level", "2024-03-05", "2024-03-06", value=None, reason="bad", user="a")
    second = ws.revise("R", "level", "2024-03-05", None, value=310.4, reason="read from the staff gauge", user="a")
    assert ws.readings("R").loc["2024-03-05", "level"] == 310.4
    assert np.isnan(ws.readings("R").loc["2024-03-06", "level"])
    ws.undo_revision("R", second.id, "a")
    assert np.isnan(ws.readings("R").loc["2024-03-05", "level"])  # the first one applies again
    ws.undo_revision("R", first.id, "a")
    pd.testing.assert_frame_equal(ws.readings("R"), ws.readings("R", raw=True))


def test_a_value_can_fill_a_day_with_no_reading(ws: Workspace) -> None:
    ws.revise("R", "storage", "2024-03-11", None, value=60.0, reason="from the operator's sheet", user="a")
    revised = ws.readings("R")
    assert revised.loc["2024-03-11", "storage"] == 60.0 and np.isnan(revised.loc["2024-03-11", "level"])
    assert "2024-03-11" not in ws.readings("R", raw=True).index.strftime("%Y-%m-%d")


def test_cleaning_uses_the_revised_series(ws: Workspace) -> None:
    """Without the revision 3100 is cleaned as a spike (masked); with it the day keeps the operator's value."""
    raw_clean = load_clean(ws, "R", ["level"], CleanConfig())
    assert raw_clean.flags.loc["2024-03-05", "level"] != QcFlag.OK
    ws.revise("R", "level", "2024-03-05", None, value=310.4, reason="typo", user="a")
    clean = load_clean(ws, "R", ["level"], CleanConfig())
    assert clean.values.loc["2024-03-05", "level"] == pytest.approx(310.4)
    assert clean.flags.loc["2024-03-05", "level"] == QcFlag.OK


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"start": "2024-03-05", "end": "2024-03-01"}, r"ends \(2024-03-01\) before it starts"),
        ({"start": "5th of March"}, r"'5th of March' is not a date"),
        ({"reason": "  "}, r"Say why"),
        ({"user": ""}, r"name of who"),
        ({"variable": "turbidity"}, r"no variable 'turbidity'"),
        ({"value": "398.000,5", "missing": False}, r"mixes '\.' and ','"),
        ({"value": "1,2e5x", "missing": False}, r"'1,2e5x' is not a number"),
        ({"value": None, "missing": False}, r"Choose one"),
        ({"value": "1", "missing": True}, r"Choose one"),
        ({"variable": "storage", "value": "-4", "missing": False}, r"storage cannot be negative"),
        ({"end": "2026-01-01", "value": "310", "missing": False}, r"would invent a flat record"),
    ],
)
def test_bad_revisions_are_refused_and_store_nothing(ws: Workspace, kwargs: dict, says: str) -> None:
    args = {"variable": "level", "start": "2024-03-05", "end": None, "missing": True, "value": None}
    args |= {"reason": "why", "user": "a"} | kwargs
    with pytest.raises(StoreError, match=says):
        edit_readings(ws, "R", args.pop("variable"), args.pop("start"), args.pop("end"), **args)
    assert ws.revisions("R") == []


def test_revised_days_and_rows(ws: Workspace) -> None:
    ws.revise("R", "level", "2024-03-05", None, value=310.4, reason="typo", user="a")
    ws.revise("R", "level", "2024-03-09", None, value=None, reason="bad", user="b")
    changed = revised_days(ws, "R", "level")
    assert changed.index.strftime("%Y-%m-%d").tolist() == ["2024-03-05", "2024-03-09"]
    assert changed["raw"].tolist() == [3100.0, 310.8] and changed["revised"].tolist()[0] == 310.4
    rows = revision_rows(ws.revisions("R"))
    assert [r["action"] for r in rows] == ["missing", "value"]  # newest first


def test_version_2_workspace_gains_the_revisions_table(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.merge({"B": frame("2020-01-01", level=[1.0])}, {}, UploadInfo("b", "b"))
    conn = sqlite3.connect(ws.db_path)
    conn.execute("DROP TABLE revisions")
    conn.execute("UPDATE schema_version SET version = 2")
    conn.commit()
    conn.close()
    upgraded = Workspace(ws.root)
    assert upgraded.db.schema_version() == SCHEMA_VERSION == 5
    assert upgraded.revisions("B") == []
    upgraded.revise("B", "level", "2020-01-01", None, value=None, reason="bad", user="a")
    assert upgraded.readings("B").empty and len(upgraded.readings("B", raw=True)) == 1


# ---------------------------------------------------------------- CLI


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_edit_list_and_undo(ws: Workspace, capsys) -> None:
    root = str(ws.root)
    code, out, _ = cli(
        capsys, "edit", "--workspace", root, "--reservoir", "r", "--variable", "level", "--from", "2024-03-05",
        "--value", "310.4", "--reason", "typo", "--user", "ana",
    )  # fmt: skip
    assert code == 0 and "#1 level 2024-03-05 set to 310.4 by ana" in out and "--undo 1" in out
    code, out, _ = cli(
        capsys, "edit", "--workspace", root, "--reservoir", "R", "--variable", "level", "--from", "2024-03-08",
        "--to", "2024-03-09", "--missing", "--reason", "logger fault", "--json",
    )  # fmt: skip
    data = json.loads(out)
    assert code == 0 and data["revision"]["value"] is None
    assert data["revision"]["user"] and data["undone"] is False and data["revision"]["end"] == "2024-03-09"
    assert ws.readings("R").loc["2024-03-05", "level"] == 310.4

    code, out, _ = cli(capsys, "edit", "--workspace", root, "--reservoir", "R", "--undo", "1", "--user", "ben")
    assert code == 0 and "undone by ben" in out
    code, out, _ = cli(capsys, "edits", "--workspace", root, "--reservoir", "R", "--json")
    rows = json.loads(out)["revisions"]
    assert [(r["id"], r["active"], r["undone_by"]) for r in rows] == [(2, True, None), (1, False, "ben")]
    code, out, _ = cli(capsys, "edits", "--workspace", root, "--reservoir", "R")
    assert "2 revisions (1 applied)" in out and "logger fault" in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--variable", "level", "--from", "2024-03-05", "--value", "398.000,5", "--reason", "x"], "mixes"),
        (["--variable", "level", "--from", "2024-03-05", "--missing"], "edit needs --reason"),
        (["--undo", "7"], "no revision #7"),
        (["--undo", "1", "--variable", "level"], "--undo ID takes back one revision"),
    ],
)
def test_cli_edit_refusals(ws: Workspace, capsys, argv: list[str], says: str) -> None:
    code, out, err = cli(capsys, "edit", "--workspace", str(ws.root), "--reservoir", "R", *argv)
    assert code == 2 and says in err and "Traceback" not in err and not out


# ---------------------------------------------------------------- Data page


@pytest.mark.slow
def test_data_page_revision_and_undo(app_empty_ws) -> None:
    """Mark the last sample day missing on the Data page: stored with who/why, the chart draws raw beside it,
    then undo from the same panel."""
    add_sample(app_empty_ws)
    last = app_empty_ws.reservoir(SAMPLE_NAME).variable("level").last
    at = open_page("data")
    at.text_input(key="data_rev_reason").input("gauge under maintenance")
    at.text_input(key="data_rev_user").input("ana")
    at.button(key="data_rev_save").click().run()
    [rev] = app_empty_ws.revisions(SAMPLE_NAME)
    assert (rev.variable, rev.start, rev.end, rev.value, rev.user) == ("level", last, last, None, "ana")
    assert not at.exception and not at.error
    assert any("Saved revision #1" in m.value for m in at.success)
    assert np.isnan(app_empty_ws.readings(SAMPLE_NAME).loc[last, "level"])
    assert at.toggle(key="data_rev_raw_level").value is True
    chart = [c for c in at.get("plotly_chart") if "raw (as imported)" in c.proto.spec]
    assert chart, "the stored chart draws the raw readings beside the revised ones"
    [audit] = [d.value for d in at.dataframe if "reason" in d.value.columns]
    assert audit["reason"].tolist() == ["gauge under maintenance"] and audit["user"].tolist() == ["ana"]

    at.button(key="data_rev_undo").click().run()
    assert not at.exception and not app_empty_ws.revisions(SAMPLE_NAME)[0].active
    assert "Undone revision #1" in texts(at, ("success",))


@pytest.mark.slow
def test_data_page_refuses_a_value_it_cannot_read(app_empty_ws) -> None:
    add_sample(app_empty_ws)
    at = open_page("data")
    at.radio(key="data_rev_action").set_value("Set a corrected value").run()
    at.text_input(key="data_rev_value").input("398.000,5")
    at.text_input(key="data_rev_reason").input("typo")
    at.button(key="data_rev_save").click().run()
    assert app_empty_ws.revisions(SAMPLE_NAME) == []
    assert any("mixes '.' and ','" in e.value for e in at.error)
