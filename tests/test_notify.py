"""Notifications end to end against a REAL SMTP server (aiosmtpd on 127.0.0.1) and a local HTTP receiver.

What operators rely on: an alert change is sent once to every channel, an unchanged state is never re-sent, an
escalation is sent, a failed delivery (receiver down or HTTP 500) is retried on the next deliver_pending and every
attempt is logged, emails carry the words and the chart as PNG, webhooks carry the documented fields, and the CLI's
channels / events / ack round trip works with one-line errors.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from core import notify
from core.cli.main import main
from core.forecast.risk import SideAlert
from core.notify.messages import PAYLOAD_FIELDS
from core.store.workspace import StoreError, Workspace
from tests.e2e_helpers import free_port
from tests.notify_support import NAME, lake_alpha

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16  # a tiny stand-in for the kaleido chart (tests need no Chromium)


# ---------------------------------------------------------------------- receivers


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.address = f"127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return lake_alpha(tmp_path / "ws")


@pytest.fixture
def wired(ws, receiver, smtp) -> Workspace:
    """A workspace with a webhook and an email channel pointing at the local receivers."""
    notify.add_channel(ws, notify.webhook_spec(receiver.url, name="hook"))
    notify.add_channel(ws, notify.email_spec("duty@example.org", smtp.address, sender="sentinel@example.org"))
    return ws


def alert(side: str = "flood", state: str = "warning", p: float = 0.34) -> SideAlert:
    """A SideAlert as core.forecast.risk.side_alerts makes it."""
    if state == "normal":
        return SideAlert(side, "normal", "No level is 20% likely to be crossed in the next 7 days.", probability=p)
    if state in ("unknown", "no levels"):
        return SideAlert(side, state, "This model version has no calibrated bands; retrain it.")
    return SideAlert(
        side,
        state,
        f"{p:.0%} chance of passing Flood {state} (313.5 m) by 2024-01-10.",
        f"Flood {state}",
        313.5,
        p,
        "2024-01-05",
        3,
    )


def both(flood: str = "warning", drought: str = "normal") -> dict[str, SideAlert]:
    return {"flood": alert("flood", flood), "drought": alert("drought", drought)}


class ChartCalls:
    """A chart_png function counting its calls."""

    def __init__(self, result: bytes | None = PNG, fail: bool = False) -> None:
        self.calls, self.result, self.fail = 0, result, fail

    def __call__(self) -> bytes | None:
        self.calls += 1
        if self.fail:
            raise RuntimeError("kaleido could not start Chromium")
        return self.result


# ---------------------------------------------------------------------- the change rule


@pytest.mark.parametrize(
    ("previous", "state", "kind"),
    [
        ("normal", "watch", "new"),
        ("normal", "danger", "new"),
        ("watch", "warning", "escalated"),
        ("warning", "danger", "escalated"),
        ("danger", "warning", "eased"),
        ("warning", "normal", "cleared"),
        ("warning", "warning", None),
        ("normal", "normal", None),
    ],
)
def test_change_kinds(previous, state, kind):
    assert notify.change_kind(previous, state) == kind


# ---------------------------------------------------------------------- sent once, not re-sent, escalations


def test_a_new_alert_is_sent_once_to_every_channel_and_not_resent(wired, receiver, smtp):
    chart = ChartCalls()
    changes = notify.publish(wired, NAME, both("warning"), issued="2024-01-03", chart_png=chart)
    assert [(c.side, c.change, c.previous, c.state) for c in changes] == [("flood", "new", "normal", "warning")]
    assert len(changes[0].deliveries) == 2 and {d.status for d in changes[0].deliveries} == {"queued"}
    assert chart.calls == 1  # drawn once, for the email

    done = notify.deliver_pending(wired)
    assert sorted((d.channel, d.status, d.attempts) for d in done) == [
        ("duty@example.org", "delivered", 1),
        ("hook", "delivered", 1),
    ]
    assert len(receiver.bodies) == 1 and len(smtp.messages) == 1

    # the same state on the next days: nothing recorded, nothing queued, nothing sent
    for day in ("2024-01-04", "2024-01-05"):
        assert notify.publish(wired, NAME, both("warning"), issued=day, chart_png=chart) == []
        assert notify.deliver_pending(wired) == []
    assert len(receiver.bodies) == 1 and len(smtp.messages) == 1
    assert chart.calls == 1  # no change, no chart drawn
    assert len(wired.alert_events(NAME)) == 1


def test_escalation_easing_and_clearing_are_each_sent(wired, receiver):
    notify.publish(wired, NAME, both("watch"), issued="2024-01-03")
    steps = [("warning", "escalated", "watch"), ("danger", "escalated", "warning"), ("warning", "eased", "danger")]
    steps.append(("normal", "cleared", "warning"))
    for state, kind, previous in steps:
        (change,) = notify.publish(wired, NAME, both(state), issued="2024-01-04")
        assert (change.change, change.previous, change.state) == (kind, previous, state)
        notify.deliver_pending(wired)
    assert [(b["change"], b["state"]) for b in receiver.bodies] == [
        ("new", "watch"),
        ("escalated", "warning"),
        ("escalated", "danger"),
        ("eased", "warning"),
        ("cleared", "normal"),
    ]
    assert wired.alert_states(NAME)[0].judged == "normal"


def test_both_sides_are_judged_apart(wired, receiver):
    changes = notify.publish(wired, NAME, both("warning", "watch"), issued="2024-01-03")
    assert {(c.side, c.change) for c in changes} == {("flood", "new"), ("drought", "new")}
    notify.deliver_pending(wired)
    (change,) = notify.publish(wired, NAME, both("warning", "normal"), issued="2024-01-04")
    assert (change.side, change.change) == ("drought", "cleared")


def test_a_first_normal_state_is_a_silent_baseline(wired, receiver):
    assert notify.publish(wired, NAME, both("normal"), issued="2024-01-03") == []
    assert notify.deliver_pending(wired) == [] and receiver.bodies == []
    assert {s.side: s.judged for s in wired.alert_states(NAME)} == {"flood": "normal", "drought": "normal"}


def test_unjudged_states_are_logged_not_sent_and_do_not_clear_a_raised_alert(wired, receiver):
    notify.publish(wired, NAME, both("warning"), issued="2024-01-03")
    notify.deliver_pending(wired)
    (unjudged,) = notify.publish(wired, NAME, both("unknown"), issued="2024-01-04")
    assert (unjudged.change, unjudged.sent, unjudged.deliveries) == ("unjudged", False, ())
    assert notify.publish(wired, NAME, both("unknown"), issued="2024-01-05") == []  # logged once
    assert wired.alert_states(NAME)[0].judged == "warning"  # still the alert people were told about
    assert notify.publish(wired, NAME, both("warning"), issued="2024-01-06") == []  # nothing new to tell
    (cleared,) = notify.publish(wired, NAME, both("normal"), issued="2024-01-07")
    assert (cleared.change, cleared.previous) == ("cleared", "warning")
    notify.deliver_pending(wired)
    assert [b["change"] for b in receiver.bodies] == ["new", "cleared"]


def test_concurrent_publishes_record_a_change_once(wired):
    results: list = []
    threads = [
        threading.Thread(target=lambda: results.append(notify.publish(wired, NAME, both("danger"), issued="d")))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert len(wired.alert_events(NAME)) == 1


# ---------------------------------------------------------------------- what arrives


def test_webhook_payload_fields(wired, receiver):
    notify.save_notify_settings(wired, base_url="https://sentinel.example.org/")
    notify.publish(wired, NAME, both("warning"), issued="2024-01-03")
    notify.deliver_pending(wired)
    (body,) = receiver.bodies
    assert set(PAYLOAD_FIELDS) <= set(body)
    assert body["reservoir"] == NAME and body["side"] == "flood" and body["state"] == "warning"
    assert body["previous"] == "normal" and body["change"] == "new" and body["level"] == "Flood warning"
    assert body["probability"] == pytest.approx(0.34) and body["date"] == "2024-01-05"
    assert body["link"] == "https://sentinel.example.org/forecast?reservoir=Lake%20Alpha"
    assert "34% chance of passing Flood warning" in body["message"] and body["link"] in body["message"]


def test_email_has_the_words_the_numbers_the_link_and_the_chart(wired, smtp):
    notify.publish(wired, NAME, both("danger"), issued="2024-01-03", chart_png=ChartCalls())
    notify.deliver_pending(wired)
    (msg,) = smtp.messages
    assert msg["To"] == "duty@example.org" and msg["From"] == "sentinel@example.org"
    assert "Lake Alpha: flood DANGER (new alert)" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    assert "Why: 34% chance of passing Flood danger (313.5 m)" in text
    assert "Operating level:  Flood danger (313.5)" in text and "First day at or above the trigger: 2024-01-05" in text
    assert "http://localhost:8501/forecast?reservoir=Lake%20Alpha" in text
    (png,) = [p for p in msg.iter_attachments() if p.get_content_type() == "image/png"]
    assert png.get_filename() == "forecast.png" and png.get_content() == PNG


def test_a_chart_that_cannot_be_drawn_does_not_lose_the_alert(wired, smtp):
    chart = ChartCalls(fail=True)
    (change,) = notify.publish(wired, NAME, both("warning"), issued="2024-01-03", chart_png=chart)
    assert chart.calls == 1 and len(change.deliveries) == 2
    notify.deliver_pending(wired)
    (msg,) = smtp.messages
    assert list(msg.iter_attachments()) == []
    assert "chart could not be drawn" in msg.get_body(("plain",)).get_content()


# ---------------------------------------------------------------------- failures: retried, logged, given up


def test_a_failed_webhook_is_retried_on_the_next_call_and_every_attempt_logged(wired, receiver, smtp):
    receiver.status = 500
    notify.publish(wired, NAME, both("warning"), issued="2024-01-03")
    first = {d.channel: d for d in notify.deliver_pending(wired)}
    assert first["hook"].status == "failed" and "HTTP 500" in first["hook"].error
    assert first["duty@example.org"].status == "delivered"

    receiver.status = 200
    (second,) = notify.deliver_pending(wired)  # only the failed one is tried again
    assert (second.channel, second.status, second.attempts, second.error) == ("hook", "delivered", 2, None)
    assert len(receiver.bodies) == 1 and len(smtp.messages) == 1
    conn = sqlite3.connect(wired.db_path)  # the attempt log, kept for the audit
    log = conn.execute(
        "SELECT attempt, status, error FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt", (second.id,)
    ).fetchall()
    conn.close()
    assert [(a, status) for a, status, _ in log] == [(1, "failed"), (2, "delivered")]
    assert "HTTP 500" in log[0][2]
    assert notify.deliver_pending(wired) == []


def test_a_receiver_that_stays_down_is_given_up_after_max_attempts(wired, receiver):
    notify.save_notify_settings(wired, max_attempts=2)
    receiver.stop()
    notify.publish(wired, NAME, both("warning"), issued="2024-01-03")
    (one,) = [d for d in notify.deliver_pending(wired) if d.channel == "hook"]
    assert one.status == "failed" and "no acceptable answer" in one.error
    (two,) = notify.deliver_pending(wired)
    assert (two.status, two.attempts) == ("gave_up", 2)
    assert notify.deliver_pending(wired) == []
    (event,) = wired.alert_events(NAME)
    assert {d.channel: d.status for d in event.deliveries} == {"hook": "gave_up", "duty@example.org": "delivered"}


def test_a_sender_that_died_mid_send_is_retried_later_not_twice_at_once(wired, receiver):
    notify.publish(wired, NAME, both("warning"), issued="2024-01-03")
    claimed = wired.claim_deliveries(now="2024-01-03T06:00:00Z")  # a sender took them, then died
    assert len(claimed) == 2
    assert notify.deliver_pending(wired, now="2024-01-03T06:05:00Z") == []  # still someone else's
    late = notify.deliver_pending(wired, now="2024-01-03T06:11:00Z")  # past STALE_SENDING_S: retried
    assert sorted(d.status for d in late) == ["delivered", "delivered"] and len(receiver.bodies) == 1


def test_removing_a_channel_drops_what_waits_for_it(wired, receiver):
    receiver.status = 500
    notify.publish(wired, NAME, both("warning"), issued="2024-01-03")
    wired.remove_channel("hook")
    notify.deliver_pending(wired)
    (event,) = wired.alert_events(NAME)
    assert {d.channel: d.status for d in event.deliveries} == {"hook": "dropped", "duty@example.org": "delivered"}


def test_channel_entries_are_checked():
    with pytest.raises(notify.NotifyError, match="not a webhook URL"):
        notify.webhook_spec("ftp://example.org/x")
    with pytest.raises(notify.NotifyError, match="not an SMTP server"):
        notify.email_spec("a@example.org", "smtp.example.org:99999")
    with pytest.raises(notify.NotifyError, match="not an email address"):
        notify.email_spec("two@x.org, three@x.org", "smtp:25")
    assert notify.email_spec("a@example.org", "mail.example.org").options["smtp"] == "mail.example.org:25"


def test_acknowledging_records_who_and_does_not_stop_a_later_change(wired, receiver):
    with pytest.raises(StoreError, match="no raised flood alert"):
        wired.acknowledge(NAME, "flood", "ann")
    notify.publish(wired, NAME, both("warning"), issued="2024-01-03")
    ack = wired.acknowledge(NAME, "flood", "ann", now="2024-01-03T07:00:00Z")
    state = wired.alert_states(NAME)[0]
    assert (state.side, state.acked_by, state.acked_at) == ("flood", "ann", "2024-01-03T07:00:00Z")
    (change,) = notify.publish(wired, NAME, both("danger"), issued="2024-01-04")
    assert change.change == "escalated"
    notify.deliver_pending(wired)
    assert [b["state"] for b in receiver.bodies] == ["warning", "danger"]
    assert wired.alert_states(NAME)[0].acked_by is None  # the new state is not acknowledged yet
    assert wired.alert_events(NAME)[-1].acks[0].id == ack.id


# ---------------------------------------------------------------------- CLI round trip


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_channels_events_ack_round_trip(ws, receiver, smtp, capsys):
    root = str(ws.root)
    code, out, _ = cli(capsys, "--workspace", root, "channels", "--add-webhook", receiver.url, "--name", "hook")
    assert code == 0 and "channel 'hook' added" in out
    code, out, _ = cli(
        capsys, "--workspace", root, "channels", "--add-email", "duty@example.org", "--smtp", smtp.address, "--json"
    )
    assert code == 0 and json.loads(out)["channel"]["options"]["smtp"] == smtp.address
    code, out, err = cli(capsys, "--workspace", root, "channels", "--add-email", "x@example.org")
    assert code == 2 and err.startswith("error: An email channel needs its mail server") and "Traceback" not in err
    code, out, _ = cli(capsys, "--workspace", root, "channels", "--list", "--json")
    listed = json.loads(out)
    assert [c["name"] for c in listed["channels"]] == ["hook", "duty@example.org"]
    assert listed["settings"] == {
        "base_url": "http://localhost:8501",
        "max_attempts": 5,
        "send_seconds": 20.0,
        "delivery_seconds": 120.0,
    }

    code, out, _ = cli(capsys, "--workspace", root, "channels", "--test", "hook")
    assert code == 0 and "delivered" in out and receiver.bodies[-1]["change"] == "test"
    code, out, _ = cli(capsys, "--workspace", root, "channels", "--test", "duty@example.org", "--json")
    assert code == 0 and json.loads(out)["delivered"] and smtp.messages[-1]["Subject"].endswith("(duty@example.org)")

    notify.publish(ws, NAME, both("warning"), issued="2024-01-03")
    code, out, _ = cli(capsys, "--workspace", root, "channels", "--send-pending")
    assert code == 0 and out.count("delivered") == 2
    code, out, err = cli(capsys, "--workspace", root, "ack", "--reservoir", "lake alpha", "--side", "drought")
    assert code == 2 and "no raised drought alert" in err
    code, out, _ = cli(
        capsys, "--workspace", root, "ack", "--reservoir", "lake alpha", "--side", "flood", "--by", "ann"
    )
    assert code == 0 and "Lake Alpha flood WARNING acknowledged by ann" in out

    code, out, _ = cli(capsys, "--workspace", root, "events", "--reservoir", NAME, "--json")
    (event,) = json.loads(out)["events"]
    assert (event["change"], event["state"], event["acks"][0]["user"]) == ("new", "warning", "ann")
    assert sorted((d["channel"], d["status"]) for d in event["deliveries"]) == [
        ("duty@example.org", "delivered"),
        ("hook", "delivered"),
    ]
    code, out, _ = cli(capsys, "--workspace", root, "events", "--limit", "10")
    assert "Lake Alpha flood NEW: normal -> warning" in out and "acknowledged by ann" in out
    assert "(channel test)" in out  # tests are in the log too

    code, out, _ = cli(capsys, "--workspace", root, "channels", "--remove", "hook")
    assert code == 0 and "removed" in out
    code, out, err = cli(capsys, "--workspace", root, "channels", "--test", "hook")
    assert code == 2 and "No notification channel named 'hook'" in err and "duty@example.org" in err


def test_cli_test_of_an_unreachable_channel_exits_1(ws, capsys):
    root = str(ws.root)
    cli(capsys, "--workspace", root, "channels", "--add-webhook", f"http://127.0.0.1:{free_port()}/x", "--name", "dead")
    code, out, _ = cli(capsys, "--workspace", root, "channels", "--test", "dead")
    assert code == 1 and "NOT delivered" in out and "no acceptable answer" in out


# ---------------------------------------------------------------------- SMTP login and STARTTLS


def _login_server(inbox: Inbox) -> Controller:
    """An SMTP server that requires a login (over plain text here: a test has no certificate)."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"sentinel", b"s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 to a wrong password

    return Controller(
        inbox, hostname="127.0.0.1", port=free_port(), authenticator=check, auth_required=True, auth_require_tls=False
    )


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a test has no certificate
def test_email_logs_in_with_the_environment_credentials(ws, monkeypatch):
    inbox = Inbox()
    controller = _login_server(inbox)
    controller.start()
    try:
        notify.add_channel(ws, notify.email_spec("duty@example.org", f"127.0.0.1:{controller.port}", name="mail"))
        monkeypatch.delenv("SENTINEL_SMTP_USER", raising=False)
        refused = notify.send_test(ws, "mail")
        assert refused.status != "delivered" and "refused" in refused.error  # no login: the server says no

        monkeypatch.setenv("SENTINEL_SMTP_USER", "sentinel")
        monkeypatch.setenv("SENTINEL_SMTP_PASSWORD", "wrong")
        assert "refused" in notify.send_test(ws, "mail").error

        monkeypatch.setenv("SENTINEL_SMTP_PASSWORD", "s3cret")
        assert notify.send_test(ws, "mail").status == "delivered" and len(inbox.messages) == 1
    finally:
        controller.stop()


def test_starttls_against_a_server_without_tls_fails_in_words(ws, smtp):
    notify.add_channel(ws, notify.email_spec("duty@example.org", smtp.address, name="tls", starttls=True))
    delivery = notify.send_test(ws, "tls")
    assert delivery.status != "delivered" and "refused the message" in delivery.error and not smtp.messages


def test_roles_channels_need_an_admin_and_acknowledging_an_operator(wired):
    from core.auth.roles import Actor, PermissionDenied, Role

    viewer = wired.acting_as(Actor("v", "vera", Role.viewer))
    operator = wired.acting_as(Actor("o", "otto", Role.operator))
    notify.publish(wired, NAME, both("warning"), issued="2024-01-03")
    with pytest.raises(PermissionDenied, match="signed in as viewer"):
        viewer.acknowledge(NAME, "flood", "vera")
    with pytest.raises(PermissionDenied, match="signed in as viewer"):
        notify.deliver_pending(viewer)
    with pytest.raises(PermissionDenied, match="signed in as operator"):
        notify.add_channel(operator, notify.webhook_spec("https://hooks.example.org/x"))
    with pytest.raises(PermissionDenied, match="signed in as operator"):
        operator.remove_channel("hook")
    assert operator.acknowledge(NAME, "flood", "otto").user == "otto"
    assert [c.name for c in wired.channels()] == ["hook", "duty@example.org"]
