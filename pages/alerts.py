"""Alerts page: every reservoir's alert per side now, acknowledging a raised one, and the notification log.

Thin: core.store.notices (alert_states, alert_events, acknowledge) and core.notify.deliver_pending -> tables. The
row builders at the top are plain functions so tests check exactly what the tables show; the page body runs only
under st.navigation.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from core import notify
from core.data.levels import SEVERITIES
from core.store.notices import AlertChange, Delivery, SideState
from pages import access
from pages import common as ui

K = "alerts_"  # widget key prefix: stable keys that tests set by name
LOG_LIMIT = 200
ALL = "All reservoirs"
SEVERITY_ORDER = {s: i for i, s in enumerate(reversed(SEVERITIES))}  # danger first
CHANGE_WORDS = {
    "new": "raised",
    "escalated": "escalated",
    "eased": "eased",
    "cleared": "cleared",
    "unjudged": "cannot be judged (not sent)",
    "test": "channel test",
}
ABOUT = (
    "The alert on each side of every reservoir, judged from its active model's latest forecast (by the daily "
    "cycle, or when that forecast is issued on the Forecast page, the Overview or in a bulletin: every view of a "
    "forecast says the same state), and what was sent about it. An alert *change* "
    "(raised, escalated, eased, cleared) is sent once to every channel set on the Settings page; while a state "
    "stays the same nothing is re-sent, and a message that did not get through is retried on the next cycle. "
    "Acknowledge a raised alert so colleagues see it is in hand: who and when are recorded, and a later change "
    "is still sent."
)


# Widths that keep every short cell whole ('drought', '2023-01-07'); the reason gets what is left and wraps on hover.
STATE_COLUMNS = {
    "Reservoir": st.column_config.TextColumn(pinned=True),
    "Side": st.column_config.TextColumn(width=80),
    "Alert": st.column_config.TextColumn(help="The state now; capitals for a raised one."),
    "Level": st.column_config.TextColumn(help="The operating level behind a raised alert."),
    "Chance": st.column_config.TextColumn(width=70, help="Chance of crossing that level within the horizon."),
    "First day": st.column_config.TextColumn(width=100, help="First forecast day at or above the trigger."),
    "Forecast issued": st.column_config.TextColumn(width=120, help="The day the judged forecast starts from."),
    "Recorded": st.column_config.TextColumn(width=150, help="When this state was recorded (UTC)."),
    "Why": st.column_config.TextColumn(width="large"),
}
LOG_COLUMNS = {
    "Recorded": st.column_config.TextColumn(width=150),
    "Side": st.column_config.TextColumn(width=80),
    "Why": st.column_config.TextColumn(width="large"),
}


# ----------------------------------------------------------------------------- pure helpers (tested directly)


def state_words(state: str) -> str:
    """'WARNING' for a raised state (capitals stand out in a long table), 'normal' / 'unknown' as they are."""
    return state.upper() if state in SEVERITIES else state


def by_urgency(states: Sequence[SideState]) -> list[SideState]:
    """Raised sides first (danger, warning, watch), then the rest; by reservoir within each."""
    return sorted(states, key=lambda s: (SEVERITY_ORDER.get(s.judged, len(SEVERITIES)), s.reservoir.lower()))


def raised(states: Sequence[SideState]) -> list[SideState]:
    """The sides whose judged state is raised (what can be acknowledged)."""
    return [s for s in states if s.judged in SEVERITIES and s.event_id is not None]


def states_frame(states: Sequence[SideState]) -> pd.DataFrame:
    """One row per reservoir and side: the state now, its level and chance, and who acknowledged it."""
    rows = []
    for s in by_urgency(states):
        rows.append(
            {
                "Reservoir": s.reservoir,
                "Side": s.side,
                "Alert": state_words(s.judged) + ("" if s.state == s.judged else f" · latest forecast: {s.state}"),
                "Level": s.level or "-",
                "Chance": f"{s.probability:.0%}" if s.judged in SEVERITIES else "-",
                "First day": s.date or "-",
                "Forecast issued": s.issued or "-",
                "Recorded": ui.fmt_time(s.time),
                "Acknowledged": f"{s.acked_by}, {ui.fmt_time(s.acked_at)}" if s.acked_by else "-",
                "Why": s.reason,
            }
        )
    return pd.DataFrame(rows)


def delivery_words(d: Delivery) -> str:
    """'ops-email ✓', 'hook ✗ failed 2× (HTTP 500), retried next cycle'."""
    if d.status == "delivered":
        return f"{d.channel} ✓"
    if d.status == "failed":
        return f"{d.channel} ✗ failed {d.attempts}× ({d.error}), retried on the next cycle"
    if d.status == "gave_up":
        return f"{d.channel} ✗ given up after {d.attempts}× ({d.error})"
    if d.status == "dropped":
        return f"{d.channel}: dropped ({d.error})"
    return f"{d.channel}: {d.status}"


def events_frame(events: Sequence[AlertChange]) -> pd.DataFrame:
    """The log: one row per change (or channel test), its deliveries and acknowledgements in words."""
    rows = []
    for e in events:
        if not e.sent:
            sent = "not sent (cannot be judged)"
        elif e.deliveries:
            sent = "; ".join(delivery_words(d) for d in e.deliveries)
        else:
            sent = "no channel set: nothing sent"
        rows.append(
            {
                "Recorded": ui.fmt_time(e.time),
                "Reservoir": e.reservoir or "-",
                "Side": e.side if e.change != "test" else "-",
                "Change": CHANGE_WORDS.get(e.change, e.change),
                "From → to": f"{e.previous} → {e.state}" if e.change != "test" else "-",
                "Sent to": sent,
                "Acknowledged": "; ".join(f"{a.user}, {ui.fmt_time(a.time)}" for a in e.acks) or "-",
                "Why": e.reason if e.change != "test" else e.message.splitlines()[0],
            }
        )
    return pd.DataFrame(rows)


def waiting(events: Sequence[AlertChange]) -> int:
    """Deliveries still to be sent or retried (queued or failed) among the events shown."""
    return sum(d.status in ("queued", "failed") for e in events for d in e.deliveries)


# ----------------------------------------------------------------------------- actions (button callbacks)


def acknowledge(reservoir: str, side: str, user: str) -> None:
    """Button callback: record the acknowledgement; the outcome is flashed."""
    try:
        ack = ui.workspace().acknowledge(reservoir, side, user)
    except ValueError as exc:
        ui.flash(f"{K}flash", exc)
    else:
        ui.flash(
            f"{K}flash",
            f"Acknowledged: {reservoir} {side} alert, by {ack.user} at {ui.fmt_time(ack.time)}. "
            "A later change of this alert is still sent.",
        )


def send_waiting() -> None:
    """Button callback: try the queued and failed deliveries now, as the cycle does at its end."""
    try:
        done = notify.deliver_pending(ui.workspace())
    except ValueError as exc:
        ui.flash(f"{K}flash", exc)
        return
    ok = sum(d.status == "delivered" for d in done)
    ui.flash(f"{K}flash", f"{len(done)} message(s) tried: {ok} delivered, {len(done) - ok} still failing.")


# ----------------------------------------------------------------------------- page


def _who() -> str:
    """Who acknowledges: the signed-in user's name, or what the operator types (no sign-in configured)."""
    if access.auth_configured():
        actor = access.current_actor(ui.base_workspace())
        return actor.name if actor else ""
    return st.text_input(
        "Your name",
        key=f"{K}user",
        placeholder="name or initials",
        help="Recorded with the acknowledgement so colleagues know who is on it.",
    ).strip()


def _ack_form(states: Sequence[SideState]) -> None:
    """Pick a raised alert, say who you are, acknowledge."""
    open_ = by_urgency(raised(states))
    st.subheader("Acknowledge an alert")
    if not open_:
        st.caption("No raised alert to acknowledge.")
        return
    if not ui.allowed("acknowledge", "Acknowledging an alert"):
        return
    labels = {f"{s.reservoir} · {s.side} · {s.judged.upper()}": s for s in open_}
    choice = st.selectbox("Alert", list(labels), key=f"{K}pick", help="Raised alerts, newest state first.")
    user = _who()
    target = labels[choice]
    st.button(
        "Acknowledge",
        key=f"{K}ack",
        type="primary",
        disabled=not user,
        on_click=acknowledge,
        args=(target.reservoir, target.side, user),
        help="Records who and when. It does not stop a later change from being sent." if user else "Enter your name.",
    )


def _log() -> None:
    """The notification log, filtered to one reservoir or all, with the 'send waiting now' button."""
    st.subheader("Notification log")
    names = [ALL, *ui.reservoir_names()]
    scope = st.selectbox(
        "Show",
        names,
        key=f"{K}scope",
        bind="query-params",  # ?alerts_scope=NAME: a shared link opens one reservoir's log
        help="Every reservoir's changes, or one reservoir's.",
    )
    events = ui.workspace().alert_events(None if scope == ALL else scope, limit=LOG_LIMIT)
    if not events:
        st.caption("No alert change recorded yet: the daily cycle records one when a side's alert changes.")
        return
    ui.show_table(events_frame(events), column_config=LOG_COLUMNS)
    st.caption(f"Newest first, at most {LOG_LIMIT} entries. `python -m core events` prints the same log.")
    pending = waiting(events)
    if pending and ui.can("cycle"):
        st.button(f"Send the {pending} waiting message(s) now", key=f"{K}send", on_click=send_waiting)


def render() -> None:
    """The page body."""
    ui.page_header("Alerts", ABOUT)
    ui.show_flash(f"{K}flash")
    ws = ui.workspace()
    if not ws.channels():
        st.info(
            "No notification channel is set, so alert changes are only recorded here. Add a webhook or an email "
            "recipient on the Settings page.",
            icon=":material/notifications_off:",
        )
        st.page_link("pages/settings.py", label="Go to the Settings page", icon=":material/settings:")
    states = ws.alert_states()
    st.subheader("Alerts now")
    if states:
        ui.show_table(states_frame(states), column_config=STATE_COLUMNS)
    else:
        st.caption(
            "No alert state recorded yet: the daily cycle (`python -m core cycle`) records one per side, and so "
            "does the active model's forecast when it is issued on the Forecast page, the Overview or in a bulletin."
        )
    _ack_form(states)
    _log()


if __name__ == "__main__":  # run by st.navigation (module name __main__), not on import by tests
    ui.run_page(render)
