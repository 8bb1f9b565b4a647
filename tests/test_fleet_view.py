"""The fleet view: core.app.fleet's status rows and filters, and the Overview page on a 60-reservoir workspace.

What an operator relies on: each reservoir's alert per side as the latest daily cycle found it, how old its last
reading is, where the forecast heads (with its unit), which model forecasts it and how good it is, a reservoir
never cycled or whose cycle failed said so (with the error), filters that narrow the table, cards for the chosen
few, and a "Run the cycle now" button that starts the background cycle and follows it per reservoir.
No training here: tests/fleet_support.py writes readings, model rows and cycle results directly.
"""

from __future__ import annotations

import os
import time
from datetime import date, timedelta

import pytest

from core.app.fleet import (
    NO_FORECAST,
    NOT_RUN,
    FleetFilter,
    by_urgency,
    counts,
    cycle_history,
    cycle_progress,
    default_cards,
    filter_rows,
    fleet_status,
    latest_cycle_id,
)
from core.fleet import job as cycle_job
from core.store.workspace import CycleReservoir, Workspace
from tests.apptest_support import private_copy, start_app, texts
from tests.fleet_support import (
    NEVER_CYCLED,
    STALE_GAP,
    cycle_result,
    drought_state,
    fleet_name,
    flood_state,
    is_failed,
    is_stale,
    make_fleet,
)
from tests.store_support import add_version

END = date(2024, 6, 30)
TODAY = END + timedelta(days=2)
COUNT = 20


@pytest.fixture
def fleet_ws(tmp_path) -> Workspace:
    """Twenty generated reservoirs whose feeds end on END, one cycle run."""
    ws = Workspace(tmp_path / "ws")
    make_fleet(ws, COUNT, end=END)
    return ws


def rows_by_name(ws: Workspace) -> dict:
    """fleet_status as of TODAY, by reservoir name."""
    return {r.reservoir: r for r in fleet_status(ws, today=TODAY)}


# ---------------------------------------------------------------- core.app.fleet


def test_rows_carry_the_alert_per_side_with_its_reason(fleet_ws):
    """Reservoir 001 is at flood danger (drought normal); 004 has a flood warning; 005 a drought watch."""
    rows = rows_by_name(fleet_ws)
    assert len(rows) == COUNT
    danger = rows[fleet_name(0)]
    assert (danger.flood, danger.drought, danger.severity, danger.alert) == ("danger", "normal", 3, "flood DANGER")
    assert danger.reason.startswith("80% chance of passing Flood warning")
    warning = rows[fleet_name(3)]
    assert (warning.flood, warning.drought, warning.alert) == ("warning", "normal", "flood WARNING")
    watch = rows[fleet_name(4)]
    assert (watch.flood, watch.drought, watch.alert, watch.raised) == ("normal", "watch", "drought WATCH", True)
    assert rows[fleet_name(2)].drought == "no levels" and not rows[fleet_name(2)].raised
    for i in range(COUNT - NEVER_CYCLED):  # every cycled reservoir follows the generator's rule
        if not is_failed(i):
            assert (rows[fleet_name(i)].flood, rows[fleet_name(i)].drought) == (flood_state(i), drought_state(i))


def test_rows_give_the_last_reading_its_age_and_staleness(fleet_ws):
    """Ages count to today; a feed that stopped STALE_GAP days early is stale."""
    rows = rows_by_name(fleet_ws)
    fresh, stale = rows[fleet_name(0)], rows[fleet_name(8)]
    assert is_stale(8) and not is_stale(0)
    assert (fresh.variable, fresh.last_reading, fresh.age_days, fresh.stale) == ("level", "2024-06-30", 2, False)
    assert (stale.last_reading, stale.age_days, stale.stale) == ("2024-06-18", 2 + STALE_GAP, True)
    assert [r.reservoir for r in rows.values() if r.stale] == [fleet_name(8), fleet_name(17)]


def test_rows_give_the_forecast_change_with_its_unit_and_the_model(fleet_ws):
    """Change = last lead median - last reading, in the forecast's unit; model, version and skill of the active one."""
    rows = rows_by_name(fleet_ws)
    row = rows[fleet_name(3)]
    assert row.change == pytest.approx(-0.05) and row.unit == "m"
    assert (row.model, row.version, row.skill, row.coverage) == ("random_forest", 1, pytest.approx(0.25), 0.85)
    assert row.issued == "2024-06-30" and row.cycle_status == "ok" and row.error is None


def test_a_reservoir_never_cycled_says_not_run_yet(fleet_ws):
    """No cycle result: both sides 'not run yet', no change, but its model (stored metrics) is still named."""
    row = rows_by_name(fleet_ws)[fleet_name(COUNT - 1)]
    assert (row.flood, row.drought, row.alert, row.cycle_status) == (NOT_RUN, NOT_RUN, NOT_RUN, NOT_RUN)
    assert row.change is None and row.coverage is None and not row.raised
    assert row.version == 1 and row.age_days == 2  # data and model facts do not need a cycle


def test_a_failed_cycle_result_shows_its_error(fleet_ws):
    """The cycle failed for reservoir 006: no forecast on either side, the error is the row's reason."""
    assert is_failed(5)
    row = rows_by_name(fleet_ws)[fleet_name(5)]
    assert (row.flood, row.drought, row.alert, row.cycle_status) == (NO_FORECAST, NO_FORECAST, NO_FORECAST, "failed")
    assert row.error == row.reason == "no readings in the last 14 days: import recent data first"
    assert row.change is None


def test_rows_follow_the_newest_cycle_and_the_active_version(fleet_ws):
    """A later run that found reservoir 002 at drought danger, and a newly activated v2, show on its row."""
    name = fleet_name(1)
    frame = fleet_ws.readings(name, ["level"])
    later = cycle_result(1, name, frame)
    alerts = {
        **later.alerts,
        "drought": {**later.alerts["drought"], "state": "danger", "reason": "dry", "probability": 0.9},
    }
    run = fleet_ws.start_cycle("local", "none")
    fleet_ws.record_cycle_result(run, CycleReservoir(**{**later.to_dict(), "alerts": alerts}))
    fleet_ws.finish_cycle(run, "ok", 1.0)
    meta = {"config": {"target": "level", "model": {"name": "lstm"}}, "metrics": {"skill_vs_persistence": 0.5}}
    add_version(fleet_ws, name, meta, 0.1, activate=True)
    rows = rows_by_name(fleet_ws)
    assert (rows[name].drought, rows[name].alert, rows[name].reason) == ("danger", "drought DANGER", "dry")
    assert (rows[name].version, rows[name].model, rows[name].skill) == (2, "lstm", 0.5)
    assert rows[fleet_name(0)].alert == "flood DANGER"  # the others keep their latest (earlier) result


def test_fleet_status_reads_a_whole_fleet_in_a_few_transactions(tmp_path, monkeypatch):
    """Batched: the number of store transactions does not grow with the fleet (no N queries per reservoir)."""
    seen = []
    for count in (5, 40):
        ws = Workspace(tmp_path / f"ws{count}")
        make_fleet(ws, count, end=END)
        calls = []
        original = ws.db.tx
        monkeypatch.setattr(ws.db, "tx", lambda *a, c=calls, o=original, **kw: c.append(1) or o(*a, **kw))
        assert len(fleet_status(ws, today=TODAY)) == count
        seen.append(len(calls))
    assert seen[0] == seen[1] <= 3


def test_filters_narrow_the_rows(fleet_ws):
    """Search, state, side, 'only with alerts' and 'stale' each keep exactly the matching reservoirs."""
    rows = fleet_status(fleet_ws, today=TODAY)
    names = lambda kept: [r.reservoir for r in kept]  # noqa: E731
    raised = [r.reservoir for r in rows if r.raised]
    assert names(filter_rows(rows, FleetFilter(only_alerts=True))) == raised
    assert names(filter_rows(rows, FleetFilter(only_alerts=True, side="drought"))) == [fleet_name(4), fleet_name(15)]
    assert names(filter_rows(rows, FleetFilter(states=("danger",)))) == [fleet_name(0), fleet_name(13)]
    assert names(filter_rows(rows, FleetFilter(states=("danger",), side="drought"))) == []
    assert names(filter_rows(rows, FleetFilter(search="reservoir 01"))) == [fleet_name(i) for i in range(9, 19)]
    assert names(filter_rows(rows, FleetFilter(stale_only=True))) == [fleet_name(8), fleet_name(17)]
    assert names(filter_rows(rows, FleetFilter(states=(NOT_RUN,)))) == [fleet_name(i) for i in (17, 18, 19)]
    assert len(filter_rows(rows, FleetFilter())) == COUNT
    with pytest.raises(ValueError, match="Side must be flood, drought or either"):
        filter_rows(rows, FleetFilter(side="up"))


def test_urgency_order_counts_and_default_cards(fleet_ws):
    """Most severe first, then failed, then stale; cards default to the raised alerts, else the first few."""
    rows = fleet_status(fleet_ws, today=TODAY)
    ordered = [r.reservoir for r in by_urgency(rows)]
    assert ordered[:2] == [fleet_name(0), fleet_name(13)]  # the two at danger
    assert ordered.index(fleet_name(5)) < ordered.index(fleet_name(8)) < ordered.index(fleet_name(1))
    assert default_cards(rows) == ordered[:6]
    calm = [r for r in rows if not r.raised]
    assert default_cards(calm) == [r.reservoir for r in calm[:3]]
    assert counts(rows) == {"reservoirs": 20, "raised": 6, "danger": 2, "stale": 2, "failed": 1, "not_run": 3}


def test_cycle_history_and_progress(fleet_ws):
    """History counts per run; a running run's progress is its results so far over the fleet."""
    first = cycle_history(fleet_ws)[0]
    assert (first.status, first.ok, first.failed, first.imported, first.inbox_failed, first.notifications) == (
        "partial",
        16,
        1,
        1,
        1,
        1,
    )
    before = latest_cycle_id(fleet_ws)
    assert cycle_progress(fleet_ws, after=before) is None  # nothing newer started yet
    run = fleet_ws.start_cycle("local", "due")
    fleet_ws.record_cycle_result(run, CycleReservoir(fleet_name(0), "ok", alert="normal"))
    fleet_ws.record_cycle_result(run, CycleReservoir(fleet_name(1), "failed", error="boom"))
    progress = cycle_progress(fleet_ws, after=before)
    assert (progress.cycle_id, progress.status, progress.done, progress.failed, progress.total) == (
        run,
        "running",
        2,
        1,
        COUNT,
    )
    assert progress.fraction == pytest.approx(0.1)


# ---------------------------------------------------------------- the Overview page (AppTest)

PAGE_COUNT = 60


@pytest.fixture(scope="module")
def fleet_root(tmp_path_factory):
    """Sixty reservoirs with feeds up to yesterday, built once for the page tests."""
    ws = Workspace(tmp_path_factory.mktemp("fleet") / "ws")
    make_fleet(ws, PAGE_COUNT)
    return ws.root


@pytest.fixture
def app_fleet_ws(fleet_root, tmp_path, monkeypatch, fresh_caches) -> Workspace:
    """A private copy of the 60-reservoir fleet, named to the app."""
    return private_copy(fleet_root, tmp_path, monkeypatch)


@pytest.mark.slow
def test_the_fleet_table_lists_every_reservoir_and_filters_narrow_it(app_fleet_ws):
    """60 rows, most urgent first; 'only with alerts' keeps the raised ones; the search narrows by name."""
    at = start_app()
    assert "Fleet status" in [s.value for s in at.subheader]
    frame = at.dataframe[0].value
    assert len(frame) == PAGE_COUNT
    dangers = [fleet_name(i) for i in range(PAGE_COUNT) if flood_state(i) == "danger" and not is_failed(i)]
    assert sorted(frame["Reservoir"][: len(dangers)]) == dangers and set(frame["Flood"][: len(dangers)]) == {"Danger"}
    assert {"Flood", "Drought", "Age (days)", "Change (7 days)", "Unit", "Model", "Skill (%)", "Last cycle"} <= set(
        frame.columns
    )
    raised = [r.reservoir for r in fleet_status(app_fleet_ws) if r.raised]
    at.toggle(key="overview_only_alerts").set_value(True).run()
    assert not at.exception, at.exception
    narrowed = at.dataframe[0].value
    assert sorted(narrowed["Reservoir"]) == sorted(raised) and 0 < len(raised) < PAGE_COUNT
    assert f"{len(raised)} of {PAGE_COUNT} reservoirs shown." in texts(at)
    at.toggle(key="overview_only_alerts").set_value(False)
    at.text_input(key="overview_search").set_value("Reservoir 05").run()
    assert sorted(at.dataframe[0].value["Reservoir"]) == [fleet_name(i) for i in range(49, 59)]


@pytest.mark.slow
def test_cards_show_for_the_raised_alerts_then_for_the_chosen_few(app_fleet_ws):
    """Cards default to the most severe raised alerts; picking two reservoirs shows exactly their cards."""
    at = start_app()
    defaults = default_cards(fleet_status(app_fleet_ws))
    assert at.multiselect(key="overview_cards").value == defaults
    names = {fleet_name(i) for i in range(PAGE_COUNT)}
    cards = [s.value for s in at.subheader if s.value in names]
    assert cards == defaults and len(cards) == 6
    at.multiselect(key="overview_cards").set_value([fleet_name(10), fleet_name(20)]).run()
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader if s.value in names] == [fleet_name(10), fleet_name(20)]
    assert len([link for link in at.get("page_link") if link.proto.label == "Open forecast"]) == 2


@pytest.mark.slow
def test_run_the_cycle_now_starts_the_background_cycle_and_follows_it(app_fleet_ws, monkeypatch):
    """The button calls start_cycle_job with the chosen retraining; the page then shows progress per reservoir."""
    calls = []

    def fake_start(ws, retrain="due", engine="local", fleet=False):
        calls.append((str(ws.root), retrain, engine, fleet))
        run = ws.start_cycle(engine, retrain)  # what the background process does first
        ws.record_cycle_result(run, CycleReservoir(fleet_name(0), "ok", alert="flood DANGER", seconds=2.5))
        ws.record_cycle_result(run, CycleReservoir(fleet_name(1), "failed", error="no recent readings"))
        return 77

    monkeypatch.setattr(cycle_job, "start_cycle_job", fake_start)
    at = start_app()
    history = [d.value for d in at.dataframe if "Files imported" in d.value.columns]
    assert len(history) == 1 and list(history[0]["Status"]) == ["partial"]
    at.selectbox(key="overview_cycle_retrain").set_value("none")
    at.toggle(key="overview_cycle_fleet").set_value(True)  # 60 reservoirs: the fleet model is offered
    at.button(key="overview_cycle_run").click().run()
    assert not at.exception, at.exception
    assert calls == [(str(app_fleet_ws.root), "none", "local", True)]
    bars = [p for p in at.get("progress")]
    assert bars and "2 of 60 reservoirs done, 1 failed" in str(bars[0].proto.text)
    live = next(d.value for d in at.dataframe if "Retrained" in d.value.columns)
    assert list(live["Reservoir"]) == [fleet_name(0), fleet_name(1)] and list(live["Error"])[1] == "no recent readings"
    assert at.button(key="overview_cycle_run").disabled  # one run at a time


@pytest.mark.slow
def test_a_fleet_cycle_says_the_fleet_model_comes_first(app_fleet_ws, monkeypatch):
    """With "Fleet model too" a run opens on the fleet stage (minutes): the section says so before any reservoir."""
    from core.app import jobs
    from core.fleet.fleetstage import FLEET_TASK
    from core.store.workspace import JobProgress

    monkeypatch.setattr(jobs, "_launch", lambda ws, job_id: os.getpid())

    def fleet_stage_running(ws, retrain="due", engine="local", fleet=False):
        job = jobs.start_job(ws, fleet_name(0), jobs.CYCLE, {"retrain": retrain, "engine": engine, "fleet": fleet})
        ws.update_job(job, status="running", progress=JobProgress(0, 60, FLEET_TASK))  # what run_cycle_job says
        ws.start_cycle(engine, retrain)
        return job

    monkeypatch.setattr(cycle_job, "start_cycle_job", fleet_stage_running)
    at = start_app()
    at.toggle(key="overview_cycle_fleet").set_value(True)
    at.button(key="overview_cycle_run").click().run()
    assert not at.exception, at.exception
    assert "Judging the fleet model first" in texts(at)


@pytest.mark.slow
def test_the_button_runs_the_real_cycle_and_the_table_shows_its_results(tmp_path, monkeypatch, fresh_caches):
    """No stand-in: the real background cycle (retrain none; these model rows have no files, so every reservoir
    fails with its reason) runs to its end, the page says so and the table shows the new results."""
    from tests.apptest_support import use_workspace

    ws = use_workspace(tmp_path / "ws", monkeypatch)
    make_fleet(ws, 5)
    at = start_app()
    at.selectbox(key="overview_cycle_retrain").set_value("none")
    at.button(key="overview_cycle_run").click().run()
    deadline = time.monotonic() + 120
    while not at.success and time.monotonic() < deadline:
        time.sleep(2)
        at.run()
    assert not at.exception, at.exception
    run = ws.cycle_runs(limit=1, with_results=True)[0]
    assert (run.retrain, run.engine, len(run.reservoirs)) == ("none", "local", 5)
    assert [s.value for s in at.success] == [f"Cycle #{run.id} finished ({run.status}): the table shows its results."]
    frame = at.dataframe[0].value
    assert set(frame["Last cycle"]) == {"failed"} and all(frame["Why"])  # each with its reason
    history = next(d.value for d in at.dataframe if "Files imported" in d.value.columns)
    assert list(history["Run"])[:2] == [run.id, run.id - 1]
