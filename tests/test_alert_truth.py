"""One alert truth: the active model's latest forecast gives the same state on the Forecast page, the Overview, the
Alerts page, the notification log and the bulletin, from the first forecast on (before any daily cycle), and a
forecast from old readings says how old they are everywhere it is shown (issue 20, items 3 and 4)."""

from __future__ import annotations

from datetime import date

import pytest

from core.app.bulletin import reservoir_sheet
from core.app.judgement import already_recorded, record_judgement, side_alerts_of
from core.app.pipeline import forecast_reservoir, update_levels
from core.app.summary import age_words, freshness, today_utc
from core.auth.roles import Actor, Role
from core.data.levels import OperatingLevel
from core.data.sample import SAMPLE_NAME
from tests.apptest_support import open_page, start_app, texts

pytestmark = [pytest.mark.usefixtures("fresh_caches"), pytest.mark.slow]  # AppTest runs over the trained sample


@pytest.fixture
def watched_ws(app_trained_ws):
    """The trained sample with a drought watch line just above its forecast: a raised WATCH, never judged yet."""
    ws = app_trained_ws
    median = forecast_reservoir(ws, SAMPLE_NAME).points[-1].value
    update_levels(ws, SAMPLE_NAME, [OperatingLevel("Drought watch", round(median + 0.5, 2), "m", "drought", "watch")])
    assert ws.alert_states(SAMPLE_NAME) == []  # no daily cycle has run
    return ws


def test_every_view_of_the_forecast_says_the_same_alert(watched_ws):
    """The walkthrough: the Forecast page said 'Watch: 57 %' while the Alerts page had nothing recorded."""
    expected = forecast_reservoir(watched_ws, SAMPLE_NAME).alerts["drought"]
    assert expected.state == "watch"

    forecast_page = open_page("forecast")
    assert f"**Watch**: {expected.reason}".replace("\\", "") in texts(forecast_page, ("info",))

    alerts_page = open_page("alerts")
    states, log = (df.value for df in alerts_page.dataframe)
    drought = states[(states["Reservoir"] == SAMPLE_NAME) & (states["Side"] == "drought")].iloc[0]
    assert drought["Alert"] == "WATCH" and drought["Chance"] == f"{expected.probability:.0%}"
    (row,) = log[log["Side"] == "drought"].to_dict("records")
    assert (row["Change"], row["From → to"]) == ("raised", "normal → watch")
    assert "No raised alert to acknowledge" not in texts(alerts_page)

    overview = start_app()
    assert "Watch" in texts(overview, ("info",))
    sheet = reservoir_sheet(watched_ws, SAMPLE_NAME, chart=False)
    assert {w.side: w.state for w in sheet.alerts}["drought"] == "watch"

    assert len(watched_ws.alert_events(SAMPLE_NAME)) == 1  # viewed four times, recorded once: no change, no event


def test_recording_follows_the_cycle_rule_and_the_role(watched_ws):
    """Only a role that may run the cycle records; a state already recorded for the same issue day is not
    rewritten; nothing is sent by a page (a queued delivery waits for the next delivery run)."""
    fc = forecast_reservoir(watched_ws, SAMPLE_NAME)
    viewer = watched_ws.acting_as(Actor("vera", "vera", Role.viewer))
    assert record_judgement(viewer, fc) == [] and watched_ws.alert_states(SAMPLE_NAME) == []
    changes = record_judgement(watched_ws, fc)
    assert [(c.side, c.change, c.state) for c in changes if c.sent] == [("drought", "new", "watch")]
    recorded = {s.side: s for s in watched_ws.alert_states(SAMPLE_NAME)}
    assert already_recorded(recorded, side_alerts_of(fc), fc.issued)
    assert record_judgement(watched_ws, fc) == []  # the same forecast again: nothing written


def test_old_readings_say_their_age_wherever_the_forecast_is_shown(app_trained_ws):
    """The sample's record ends 2023-12-31; shown later, the forecast is 'from the last reading (N days ago)'."""
    last = app_trained_ws.reservoir(SAMPLE_NAME).last
    age = freshness(last, "2024-01-07", today=date(2026, 12, 6))
    assert age.past and age.stale and age.days == 1071
    assert age.title() == "Forecast from the last reading (1,071 days ago)"
    assert "Every forecast day is already past" in age.words()
    fresh = freshness("2026-12-05", "2026-12-12", today=date(2026, 12, 6))
    assert (fresh.title(), fresh.age, fresh.stale) == ("Forecast", "yesterday", False)
    assert age_words(0) == "today" and age_words(None) == "no reading"

    days = (today_utc() - date.fromisoformat(last)).days  # the pages count to the real today (UTC)
    words = f"{days:,} days ago"
    forecast_page = open_page("forecast")
    assert any(m.delta == f"last reading, {words}" for m in forecast_page.metric)
    assert f"Forecast from the last reading ({words})" in texts(forecast_page, ("warning",))
    overview = texts(start_app())
    assert f"Last reading {last} ({words})" in overview and f"Forecast from the last reading ({words})" in overview
    sheet = reservoir_sheet(app_trained_ws, SAMPLE_NAME, chart=False)
    assert sheet.headline.startswith(f"Forecast from the last reading ({words}): ")
    assert sheet.provenance.data_through == f"{last} ({words})"
    assert any("Every forecast day is already past" in note for note in sheet.notes)
