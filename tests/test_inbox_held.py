"""The inbox never imports on a guess (issue 23, item 6): a file the Data page would ask to confirm goes to held/
with its reason, and is reported in the cycle's JSON, its summary and the Overview; inbox.toml can declare the
columns so a feed runs unattended once set up. Agency files are taken as they come."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from core.app.fleet import cycle_history
from core.fleet.inbox import HELD, REASON_SUFFIX, InboxError, load_rules, process_inbox
from core.store.workspace import Workspace

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "agency"
GAUGE = "date,cs,c_elev\n" + "".join(f"2024-01-{d:02d},{900 + d},{650 + d * 0.1:.1f}\n" for d in range(1, 29))


def _inbox(tmp_path: Path, files: dict[str, str | bytes], toml: str | None = None) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, content in files.items():
        (inbox / name).write_bytes(content.encode() if isinstance(content, str) else content)
    if toml is not None:
        (inbox / "inbox.toml").write_text(toml)
    return inbox


def test_a_file_with_an_unconfirmed_guess_is_held_with_its_reason_and_not_imported(workspace, tmp_path):
    inbox = _inbox(tmp_path, {"gauge.csv": GAUGE})
    outcome = process_inbox(workspace, inbox)
    assert outcome.imported == () and outcome.failed == ()
    (held,) = outcome.held
    assert held["file"] == "gauge.csv" and (inbox / HELD / "gauge.csv").exists()
    assert len(held["questions"]) == 1 and "Column 'c_elev'" in held["questions"][0]  # 'cs' is unknown, not weak
    reason = (inbox / HELD / f"gauge.csv{REASON_SUFFIX}").read_text()
    assert "gauge.csv was held, not imported" in reason and "c_elev" in reason and "[[file.column]]" in reason
    assert workspace.reservoirs() == []  # nothing imported on a guess
    assert outcome.to_dict()["held"][0]["file"] == "gauge.csv"


def test_inbox_toml_declares_the_columns_and_the_feed_runs_unattended(workspace, tmp_path):
    toml = (
        '[[file]]\npattern = "gauge*.csv"\nreservoir = "North"\nskip = ["cs"]\n'
        '[[file.column]]\ncolumn = "c_elev"\nvariable = "level"\nunit = "ft"\n'
    )
    inbox = _inbox(tmp_path, {"gauge_2024.csv": GAUGE}, toml)
    outcome = process_inbox(workspace, inbox)
    assert [i["file"] for i in outcome.imported] == ["gauge_2024.csv"] and outcome.held == ()
    info = workspace.reservoir("North")
    assert [(v.name, v.unit) for v in info.variables] == [("level", "ft")]


def test_a_broken_column_table_is_named(tmp_path):
    inbox = _inbox(tmp_path, {}, '[[file]]\npattern = "*.csv"\n[[file.column]]\ncolumn = "x"\n')
    with pytest.raises(InboxError, match="column 1: needs both column and variable"):
        load_rules(inbox)


def test_agency_files_in_the_inbox_go_to_their_stations(workspace, tmp_path):
    """A CDEC file becomes a reservoir per station; an RDB file whose discharge could be inflow or release is held
    until inbox.toml says which."""
    files = {
        "cdec_today.csv": (FIXTURES / "cdec_two_stations.csv").read_bytes(),
        "usgs_today.rdb": (FIXTURES / "usgs_dv_example_lake.rdb").read_bytes(),
    }
    inbox = _inbox(tmp_path, files)
    outcome = process_inbox(workspace, inbox)
    assert [i["file"] for i in outcome.imported] == ["cdec_today.csv"]
    assert sorted(outcome.imported[0]["reservoirs"]) == ["ORO", "SHA"]
    (held,) = outcome.held
    assert held["file"] == "usgs_today.rdb" and "160476_00060_00003" in held["questions"][0]
    shutil.move(inbox / HELD / "usgs_today.rdb", inbox / "usgs_today.rdb")
    (inbox / "inbox.toml").write_text(
        '[[file]]\npattern = "usgs_*.rdb"\ncolumns = ["160476_00060_00003=outflow:cfs"]\n'
    )
    again = process_inbox(workspace, inbox)
    assert [i["file"] for i in again.imported] == ["usgs_today.rdb"] and again.imported[0]["reservoirs"] == ["08999900"]
    assert workspace.reservoir("08999900").variable("outflow").unit == "cfs"


def test_the_cycle_reports_held_files_in_json_summary_and_history(tmp_path):
    from core.cli.main import main

    ws = Workspace(tmp_path / "ws")
    inbox = _inbox(tmp_path, {"gauge.csv": GAUGE})
    args = ["--workspace", str(ws.root), "cycle", "--engine", "serial", "--retrain", "none", "--inbox", str(inbox)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main([*args, "--json"])
    data = json.loads(out.getvalue())
    assert [h["file"] for h in data["inbox"]["held"]] == ["gauge.csv"]
    shutil.move(inbox / HELD / "gauge.csv", inbox / "gauge.csv")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(args)
    text = out.getvalue()
    assert "0 file(s) imported, 0 refused, 1 held" in text and "held gauge.csv" in text and "c_elev" in text
    latest = cycle_history(ws, limit=1)[0]
    assert [h["file"] for h in latest.inbox_held] == ["gauge.csv"]


@pytest.mark.slow
@pytest.mark.usefixtures("fresh_caches")
def test_the_overview_cycle_section_names_the_held_file_and_its_question(tmp_path, monkeypatch):
    from core.app.pipeline import add_sample
    from core.fleet.cycle import CycleOptions, run_cycle
    from core.fleet.engines import EngineSettings
    from tests.apptest_support import open_page, texts, use_workspace

    ws = use_workspace(tmp_path / "ws", monkeypatch)
    add_sample(ws)
    inbox = _inbox(tmp_path, {"gauge.csv": GAUGE})
    run_cycle(ws, CycleOptions(inbox=str(inbox), retrain="none", engine=EngineSettings(name="serial")))
    at = open_page("overview")
    warning = texts(at, ("warning",))
    assert "The last cycle held 1 inbox file(s) instead of importing them on a guess" in warning
    assert "gauge.csv" in warning and "Column 'c_elev': weak guess, confirm" in warning
