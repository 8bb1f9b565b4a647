"""Notifications under faults: a channel removed mid-delivery, slow and hostile receivers (issue 19, items 2, 3, 11).

What operators rely on: a stuck delivery of a removed channel never reaches another channel; every attempt, and the
whole delivery phase of a cycle, ends within its budget however slowly the receiver answers (a slow endpoint is a
failed attempt retried later, and the cycle finishes and prints its JSON); redirects are not followed, user-info
URLs are refused, and a failed test never tells which ports answer.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import time

import pytest

from core import notify
from core.cli.main import main
from core.data.levels import OperatingLevel
from core.forecast.risk import SideAlert
from core.store.workspace import Workspace
from tests.e2e_helpers import free_port
from tests.notify_support import NAME, Receiver, Trickle, lake_alpha

WARNING = SideAlert("flood", "warning", "34% chance of passing Flood warning.", "Flood warning", 313.5, 0.34)
NORMAL = SideAlert("drought", "normal", "No level is 20% likely to be crossed in the next 7 days.", probability=0.0)


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return lake_alpha(tmp_path / "ws")


@pytest.fixture
def trickle():
    servers: list[Trickle] = []

    def make(mode: str, **kw) -> Trickle:
        servers.append(Trickle(mode, **kw))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


def publish_warning(ws: Workspace, issued: str = "2024-01-03") -> None:
    """A new flood warning: one queued delivery per configured channel."""
    notify.publish(ws, NAME, {"flood": WARNING, "drought": NORMAL}, issued=issued)


# ---------------------------------------------------------------------- item 2: a delivery never goes elsewhere


def test_a_stuck_delivery_of_a_removed_channel_never_reaches_the_next_channel(ws, receiver):
    """The cycle was killed mid-delivery ('sending'); the channel is removed and a new one added: nothing reaches
    the new channel, its id is new, and the log says what happened to the old delivery."""
    notify.add_channel(ws, notify.webhook_spec(f"http://127.0.0.1:{free_port()}/hang", name="hang"))
    publish_warning(ws)
    (stuck,) = ws.claim_deliveries(now="2024-01-03T06:00:00Z")  # then the sender was killed
    ws.remove_channel("hang")
    notify.add_channel(ws, notify.webhook_spec(receiver.url, name="fresh"))
    late = notify.deliver_pending(ws, now="2024-01-03T07:00:00Z")  # far past the stale window
    assert late == [] and receiver.bodies == []
    (event,) = ws.alert_events(NAME)
    (delivery,) = event.deliveries
    assert (delivery.id, delivery.channel, delivery.status) == (stuck.delivery.id, "hang", "dropped")
    conn = sqlite3.connect(ws.db_path)
    ids = dict(conn.execute("SELECT name, id FROM notify_channels").fetchall())
    conn.close()
    assert ids["fresh"] != stuck.delivery.id and ids["fresh"] > 1  # id 1 (hang's) is never handed out again


def test_an_upgraded_workspace_never_reuses_a_channel_id_a_delivery_named(tmp_path):
    """A version-3 database (plain INTEGER PRIMARY KEY) is migrated: the next id is past every id ever used."""
    ws = Workspace(tmp_path / "ws")
    conn = sqlite3.connect(ws.db_path)
    conn.executescript(
        "DROP TABLE notify_channels; CREATE TABLE notify_channels (id INTEGER PRIMARY KEY, name TEXT NOT NULL "
        "UNIQUE COLLATE NOCASE, kind TEXT NOT NULL, target TEXT NOT NULL, options TEXT NOT NULL DEFAULT '{}', "
        "created TEXT NOT NULL); INSERT INTO alert_events(id, side, change, state, previous, alert, message, sent, "
        "time) VALUES (1, 'flood', 'new', 'warning', 'normal', '{}', 'm', 1, 't'); INSERT INTO deliveries(event_id, "
        "channel_id, channel, kind, target, status, created, updated) VALUES (1, 7, 'gone', 'webhook', 'http://x', "
        "'sending', 't', 't'); UPDATE schema_version SET version = 3;"
    )
    conn.commit()
    conn.close()
    upgraded = Workspace(ws.root)
    upgraded.add_channel("new", "webhook", "http://127.0.0.1:9/new", {})
    conn = sqlite3.connect(ws.db_path)
    assert conn.execute("SELECT id FROM notify_channels WHERE name = 'new'").fetchone()[0] == 8
    conn.close()
    assert upgraded.claim_deliveries(now="2099-01-01T00:00:00Z") == []  # channel 7 is gone: dropped, not sent


# ---------------------------------------------------------------------- item 3: every delivery is time-boxed


@pytest.mark.slow
def test_a_slow_webhook_is_a_failed_attempt_within_its_budget(ws, trickle):
    """One byte every second never holds a test or a delivery past its budget; the delivery is retried later."""
    slow = trickle("slow", gap=1.0)
    notify.add_channel(ws, notify.webhook_spec(slow.url, name="slow"))
    notify.save_notify_settings(ws, send_seconds=2, delivery_seconds=10)
    t0 = time.monotonic()
    tested = notify.send_test(ws, "slow")
    assert time.monotonic() - t0 < 6 and tested.status == "gave_up" and "no acceptable answer" in tested.error
    publish_warning(ws)
    t0 = time.monotonic()
    (done,) = notify.deliver_pending(ws)
    assert time.monotonic() - t0 < 6 and done.status == "failed" and done.attempts == 1  # retried next cycle


@pytest.mark.slow
def test_the_delivery_phase_has_one_budget_and_leaves_nothing_sending(ws, trickle):
    """Three slow channels and a 3 s phase: the phase ends in time, what it could not try waits (not 'sending',
    no attempt counted), and the next call tries it."""
    for i in range(3):
        notify.add_channel(ws, notify.webhook_spec(trickle("slow", gap=1.0).url, name=f"slow{i}"))
    notify.save_notify_settings(ws, send_seconds=2, delivery_seconds=3)
    publish_warning(ws)
    t0 = time.monotonic()
    tried = notify.deliver_pending(ws)
    assert time.monotonic() - t0 < 8
    (event,) = ws.alert_events(NAME)
    statuses = {d.channel: (d.status, d.attempts) for d in event.deliveries}
    assert 1 <= len(tried) < 3 and all(d.status == "failed" for d in tried)
    assert "sending" not in {s for s, _ in statuses.values()}
    waiting = [c for c, (s, n) in statuses.items() if s == "queued"]
    assert waiting and all(statuses[c][1] == 0 for c in waiting)
    assert {d.channel for d in notify.deliver_pending(ws)} & set(waiting)  # tried on the next call


@pytest.mark.slow
def test_a_cycle_with_a_slow_webhook_finishes_and_prints_its_json(tmp_path, trickle):
    """The whole cycle (serial engine) with a slow receiver: exit code, JSON on stdout, the run row finished, the
    delivery failed (to be retried), in about the delivery budget."""
    from tests.test_cycle import add_reservoir, sample_frame

    ws = Workspace(tmp_path / "ws")
    add_reservoir(ws, "Alpha", sample_frame(), tmp_path)
    low = float(sample_frame()["level"].min()) - 1.0
    ws.set_levels("Alpha", [OperatingLevel("Flood watch", low, "m", "flood", "watch", "level")])
    notify.add_channel(ws, notify.webhook_spec(trickle("slow", gap=1.0).url, name="slow"))
    notify.save_notify_settings(ws, send_seconds=2, delivery_seconds=4)
    out = io.StringIO()
    t0 = time.monotonic()
    with contextlib.redirect_stdout(out):
        code = main(["--workspace", str(ws.root), "cycle", "--engine", "serial", "--retrain", "none", "--json"])
    assert time.monotonic() - t0 < 60
    data = json.loads(out.getvalue())
    assert code == 0 and data["reservoirs"][0]["status"] == "ok"
    (sent,) = [n for n in data["notifications"] if n["kind"] == "delivery"]
    assert sent["status"] == "failed" and "no acceptable answer" in sent["error"]
    assert ws.cycle_runs(1)[0].status == "ok"


# ---------------------------------------------------------------------- item 11: no port scanner


def test_redirects_are_not_followed(ws, trickle, receiver):
    """A 302 to another (internal) address is an answer, not an invitation: nothing reaches the new address."""
    redirect = trickle("redirect", location=receiver.url)
    notify.add_channel(ws, notify.webhook_spec(redirect.url, name="moved"))
    tested = notify.send_test(ws, "moved")
    assert tested.status != "delivered" and "redirects are not followed" in tested.error
    assert receiver.bodies == [] and redirect.requests == 1


def test_a_url_with_user_info_is_refused():
    with pytest.raises(notify.NotifyError, match="must not carry a user name or password"):
        notify.webhook_spec("http://admin:secret@127.0.0.1:8080/hook")
    with pytest.raises(notify.NotifyError, match="not a webhook URL"):
        notify.webhook_spec("http://127.0.0.1:notaport/hook")


def test_a_failed_test_does_not_tell_which_ports_answer(ws, trickle):
    """A closed port, a port that accepts and hangs up, and one that never answers read the same."""
    mute = trickle("mute")
    notify.save_notify_settings(ws, send_seconds=1)
    errors = []
    for name, url in (("closed", f"http://127.0.0.1:{free_port()}/x"), ("mute", mute.url)):
        notify.add_channel(ws, notify.webhook_spec(url, name=name))
        errors.append(notify.send_test(ws, name).error)
    assert errors[0] == errors[1] and "no acceptable answer" in errors[0]
    for word in ("refused", "Errno", "reset", "timed out", "closed connection"):
        assert word not in errors[0]


def test_http_errors_still_name_their_status(ws):
    """A real receiver's HTTP error is kept in the log: the operator sees 500 and fixes the receiver."""
    bad = Receiver()
    bad.status = 500
    try:
        notify.add_channel(ws, notify.webhook_spec(bad.url, name="bad"))
        assert "(HTTP 500)" in notify.send_test(ws, "bad").error
    finally:
        bad.stop()
