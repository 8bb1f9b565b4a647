"""Alerts and Settings pages driven through the real app with AppTest: the alert states and the notification log
listed, the acknowledge button recording who, channels added/tested/removed from Settings, and a message's link
(?reservoir=NAME) opening that reservoir."""

from __future__ import annotations

from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from core import notify
from core.app.pipeline import import_csv
from core.data.sample import SAMPLE_NAME
from core.forecast.risk import SideAlert
from tests.apptest_support import APP, open_page, run, texts

pytestmark = pytest.mark.usefixtures("fresh_caches")

WARNING = SideAlert(
    "flood",
    "warning",
    "34% chance of passing Flood warning (313.5 m) by 2024-05-08.",
    "Flood warning",
    313.5,
    0.34,
    "2024-05-03",
    3,
)
DROUGHT_OK = SideAlert("drought", "normal", "No level is 20% likely to be crossed in the next 7 days.")


@pytest.fixture
def alerted_ws(app_sample_ws, receiver):
    """The sample reservoir with a webhook channel and one delivered flood WARNING."""
    ws = app_sample_ws
    notify.add_channel(ws, notify.webhook_spec(receiver.url, name="hook"))
    notify.publish(ws, SAMPLE_NAME, {"flood": WARNING, "drought": DROUGHT_OK}, issued="2024-05-01")
    notify.deliver_pending(ws)
    return ws


def test_alerts_page_lists_states_and_the_log(alerted_ws):
    at = open_page("alerts")
    assert at.title[0].value == "Alerts"
    assert "sent once to every channel" in texts(at, ("caption",))
    states, log = (df.value for df in at.dataframe)
    flood = states[states["Side"] == "flood"].iloc[0]
    assert flood["Reservoir"] == SAMPLE_NAME and "WARNING" in flood["Alert"] and flood["Chance"] == "34%"
    assert flood["Acknowledged"] == "-"
    (row,) = log.to_dict("records")
    assert (row["Change"], row["From → to"], row["Sent to"]) == ("raised", "normal → warning", "hook ✓")
    assert not at.info  # a channel is set: no 'add one' pointer


@pytest.mark.slow
def test_acknowledge_button_records_who(alerted_ws):
    at = open_page("alerts")
    assert at.button(key="alerts_ack").disabled  # no name typed yet
    at.text_input(key="alerts_user").input("ann")
    run(at)
    at.button(key="alerts_ack").click()
    run(at)
    assert "Acknowledged: Sample Reservoir flood alert, by ann" in texts(at, ("success",))
    (state,) = [s for s in alerted_ws.alert_states(SAMPLE_NAME) if s.side == "flood"]
    assert state.acked_by == "ann" and state.acked_at
    states = at.dataframe[0].value
    assert states[states["Side"] == "flood"].iloc[0]["Acknowledged"].startswith("ann, ")


@pytest.mark.slow
def test_failed_deliveries_are_shown_and_can_be_sent_now(alerted_ws, receiver):
    receiver.status = 500
    notify.publish(alerted_ws, SAMPLE_NAME, {"flood": replace(WARNING, state="danger")}, issued="2024-05-02")
    notify.deliver_pending(alerted_ws)
    at = open_page("alerts")
    newest = at.dataframe[1].value.iloc[0]
    assert newest["Change"] == "escalated" and "failed 1×" in newest["Sent to"] and "HTTP 500" in newest["Sent to"]
    receiver.status = 200
    at.button(key="alerts_send").click()
    run(at)
    assert "1 message(s) tried: 1 delivered" in texts(at, ("success",))
    assert [b["state"] for b in receiver.bodies] == ["warning", "danger"]


def test_without_channels_the_page_points_to_settings(app_sample_ws):
    at = open_page("alerts")
    assert "No notification channel is set" in texts(at, ("info",))
    assert "No alert state recorded yet" in texts(at, ("caption",))


@pytest.mark.slow
def test_settings_adds_tests_and_removes_a_webhook(app_sample_ws, receiver):
    at = open_page("settings")
    assert at.title[0].value == "Settings"
    at.text_input(key="settings_hook_url").input("not a url")
    at.button(key="settings_add_hook").click()
    run(at)
    assert "not a webhook URL" in texts(at, ("error",)) and app_sample_ws.channels() == []

    at.text_input(key="settings_hook_url").input(receiver.url)
    at.text_input(key="settings_hook_name").input("control-room")
    at.button(key="settings_add_hook").click()
    run(at)
    assert [c.name for c in app_sample_ws.channels()] == ["control-room"]
    assert at.dataframe[0].value.iloc[0]["Sends to"] == receiver.url

    at.button(key="settings_test").click()
    run(at)
    assert "Test message to 'control-room' delivered" in texts(at, ("success",))
    assert receiver.bodies[-1]["change"] == "test"

    limits = (at.number_input(key="settings_send_s").value, at.number_input(key="settings_delivery_s").value)
    assert limits == (20.0, 120.0)  # the limits in effect are on the page, not only in the README
    at.text_input(key="settings_base_url").input("https://sentinel.example.org")
    at.number_input(key="settings_send_s").set_value(8.0)
    at.button(key="settings_save").click()
    run(at)
    saved = notify.notify_settings(app_sample_ws)
    assert (saved.base_url, saved.send_seconds, saved.delivery_seconds) == ("https://sentinel.example.org", 8.0, 120.0)
    assert "one attempt may take 8 s, a run's deliveries 120 s in all" in texts(at, ("success",))

    at.button(key="settings_remove").click()
    run(at)
    assert app_sample_ws.channels() == []


@pytest.mark.slow
def test_settings_adds_an_email_recipient(app_sample_ws):
    at = open_page("settings")
    at.text_input(key="settings_mail_to").input("duty@example.org")
    at.text_input(key="settings_mail_smtp").input("smtp.example.org:2525")
    at.checkbox(key="settings_mail_tls").check()
    at.button(key="settings_add_mail").click()
    run(at)
    (channel,) = app_sample_ws.channels()
    assert (channel.kind, channel.target, channel.options["smtp"], channel.options["starttls"]) == (
        "email",
        "duty@example.org",
        "smtp.example.org:2525",
        True,
    )


def test_a_message_link_opens_its_reservoir(app_sample_ws):
    import_csv(app_sample_ws, b"date,level\n2024-01-01,1.0\n2024-01-02,1.5\n", reservoir="Zeta Lake", filename="z.csv")
    link = notify.forecast_link("http://localhost:8501", "Zeta Lake")
    assert link == "http://localhost:8501/forecast?reservoir=Zeta%20Lake"
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["reservoir"] = "zeta lake"  # what the browser hands over, decoded (any case)
    at.run()
    assert not at.exception
    assert at.session_state["reservoir"] == "Zeta Lake"
    assert "reservoir" not in at.query_params  # removed: the sidebar choice rules from here on


def test_a_link_to_an_unknown_reservoir_says_so(app_sample_ws):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["reservoir"] = "Gone Lake"
    at.run()
    assert not at.exception
    assert "names a reservoir 'Gone Lake' that is not in this workspace" in texts(at, ("warning",))
    assert at.session_state["reservoir"] == SAMPLE_NAME
