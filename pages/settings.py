"""Settings page: where alert messages go (webhooks, email recipients), a test message, and the dashboard address.

Thin: widgets -> core.notify (webhook_spec / email_spec + add_channel, send_test, save_notify_settings) and the
workspace's channel rows -> render. Button callbacks flash their outcome; the page body runs only under st.navigation.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from core import notify
from core.notify.channels import ENV_SMTP_PASSWORD, ENV_SMTP_USER
from core.notify.settings import MAX_ATTEMPTS_RANGE, SECONDS_RANGE
from core.store.notices import Channel
from pages import common as ui

K = "settings_"  # widget key prefix: stable keys that tests set by name
ABOUT = (
    "Where Reservoir Sentinel sends alert changes. Each change of a reservoir's flood or drought alert (raised, "
    "escalated, eased, cleared) goes once to every channel below, with the reason in words and a link that opens "
    "the reservoir's forecast on this dashboard. A webhook receives a JSON POST (chat tools, paging systems, your "
    "own scripts); an email recipient gets plain text with the forecast chart attached."
)


# ----------------------------------------------------------------------------- pure helpers (tested directly)


def channels_frame(channels: Sequence[Channel]) -> pd.DataFrame:
    """One row per channel: name, kind, where it sends, how."""
    rows = []
    for c in channels:
        if c.kind == "email":
            how = f"via {c.options.get('smtp')} from {c.options.get('sender')}"
            how += " (STARTTLS)" if c.options.get("starttls") else ""
        else:
            how = "JSON POST"
        rows.append({"Name": c.name, "Kind": c.kind, "Sends to": c.target, "How": how, "Added": ui.fmt_time(c.created)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- actions (button callbacks)


def _flash(outcome: str | BaseException) -> None:
    """Keep a callback's outcome for the next run."""
    ui.flash(f"{K}flash", outcome)


def add_webhook() -> None:
    """Button callback: check and store the webhook typed in the form."""
    state = st.session_state
    try:
        spec = notify.webhook_spec(state.get(f"{K}hook_url", ""), state.get(f"{K}hook_name") or None)
        channel = notify.add_channel(ui.workspace(), spec)
    except ValueError as exc:
        _flash(exc)
        return
    _flash(f"Channel '{channel.name}' added ({channel.words()}). Send it a test message below.")
    for key in ("hook_url", "hook_name"):
        state[f"{K}{key}"] = ""


def add_email() -> None:
    """Button callback: check and store the email recipient typed in the form."""
    state = st.session_state
    try:
        spec = notify.email_spec(
            state.get(f"{K}mail_to", ""),
            state.get(f"{K}mail_smtp", ""),
            sender=state.get(f"{K}mail_from") or None,
            name=state.get(f"{K}mail_name") or None,
            starttls=bool(state.get(f"{K}mail_tls")),
        )
        channel = notify.add_channel(ui.workspace(), spec)
    except ValueError as exc:
        _flash(exc)
        return
    _flash(f"Channel '{channel.name}' added ({channel.words()}). Send it a test message below.")
    for key in ("mail_to", "mail_name"):
        state[f"{K}{key}"] = ""


def test_channel(name: str) -> None:
    """Button callback: send a test message now and say whether it got through."""
    try:
        delivery = notify.send_test(ui.workspace(), name)
    except ValueError as exc:
        _flash(exc)
        return
    if delivery.status == "delivered":
        _flash(f"Test message to '{name}' delivered. Check that it arrived at {delivery.target}.")
    else:
        _flash(notify.NotifyError(f"The test message to '{name}' did not get through: {delivery.error}."))


def remove_channel(name: str) -> None:
    """Button callback: remove a channel (its unsent messages are dropped, the log keeps them)."""
    try:
        ui.workspace().remove_channel(name)
    except ValueError as exc:
        _flash(exc)
        return
    _flash(f"Channel '{name}' removed; messages still waiting for it are dropped (the log keeps them).")


def save_settings() -> None:
    """Button callback: store the dashboard address and the retry limit."""
    state = st.session_state
    try:
        saved = notify.save_notify_settings(
            ui.workspace(),
            base_url=state.get(f"{K}base_url", ""),
            max_attempts=state.get(f"{K}attempts"),
            send_seconds=state.get(f"{K}send_s"),
            delivery_seconds=state.get(f"{K}delivery_s"),
        )
    except ValueError as exc:
        _flash(exc)
        return
    _flash(
        f"Saved: links in messages open {saved.base_url}; a failed message is tried {saved.max_attempts} times; one "
        f"attempt may take {saved.send_seconds:g} s, a run's deliveries {saved.delivery_seconds:g} s in all."
    )


# ----------------------------------------------------------------------------- page


def _channels(editable: bool) -> None:
    """The configured channels, with test and remove."""
    st.subheader("Channels")
    channels = ui.workspace().channels()
    if not channels:
        st.info("No channel yet: alert changes are only recorded on the Alerts page. Add one below.")
        return
    ui.show_table(channels_frame(channels))
    if not editable:
        return
    names = [c.name for c in channels]
    pick = st.selectbox("Channel", names, key=f"{K}pick")
    with st.container(horizontal=True, wrap=True, gap="small"):  # buttons as wide as their labels, never cut
        st.button("Send test message", key=f"{K}test", on_click=test_channel, args=(pick,))
        st.button("Remove", key=f"{K}remove", on_click=remove_channel, args=(pick,))


def _add_forms() -> None:
    """Two small forms: a webhook, an email recipient."""
    hook, mail = st.columns(2)
    with hook:
        st.subheader("Add a webhook")
        st.text_input("URL", key=f"{K}hook_url", placeholder="https://hooks.example.org/reservoirs")
        st.text_input("Name (optional)", key=f"{K}hook_name", help="Default: the URL's host name.")
        st.button("Add webhook", key=f"{K}add_hook", on_click=add_webhook)
    with mail:
        st.subheader("Add an email recipient")
        st.text_input("Send to", key=f"{K}mail_to", placeholder="duty-engineer@example.org")
        st.text_input("Mail server (host:port)", key=f"{K}mail_smtp", placeholder="smtp.example.org:25")
        st.text_input("From (optional)", key=f"{K}mail_from", placeholder="reservoir-sentinel@example.org")
        st.text_input("Name (optional)", key=f"{K}mail_name", help="Default: the address.")
        st.checkbox(
            "Use STARTTLS",
            key=f"{K}mail_tls",
            help=f"Switch to TLS before sending. A server that needs a login reads it from the {ENV_SMTP_USER} and "
            f"{ENV_SMTP_PASSWORD} environment variables of the process that sends (passwords are never stored).",
        )
        st.button("Add email recipient", key=f"{K}add_mail", on_click=add_email)


def _settings(editable: bool) -> None:
    """The dashboard address used in links, the retry limit and the time limits of a delivery."""
    st.subheader("Links, retries and time limits")
    current = notify.notify_settings(ui.workspace())
    st.session_state.setdefault(f"{K}base_url", current.base_url)
    st.session_state.setdefault(f"{K}attempts", current.max_attempts)
    st.session_state.setdefault(f"{K}send_s", current.send_seconds)
    st.session_state.setdefault(f"{K}delivery_s", current.delivery_seconds)
    st.text_input(
        "Dashboard address",
        key=f"{K}base_url",
        disabled=not editable,
        help="How operators open this dashboard, e.g. https://sentinel.example.org. Messages link to "
        "<address>/forecast?reservoir=NAME.",
    )
    lo, hi = MAX_ATTEMPTS_RANGE
    st.number_input(
        "Attempts per message",
        min_value=lo,
        max_value=hi,
        step=1,
        key=f"{K}attempts",
        disabled=not editable,
        help="A message that does not get through is retried on each daily cycle, this many times in all; then it "
        "is given up and the Alerts page says so.",
    )
    _time_limits(editable)
    if editable:
        st.button("Save", key=f"{K}save", on_click=save_settings)


TIME_LIMITS = (  # (session key, label, step, help): one attempt, and all of a run's deliveries
    (
        "send_s",
        "Seconds per attempt",
        5.0,
        "One attempt as a whole: connecting, sending and the receiver's answer. A receiver slower than this counts "
        "as a failed attempt and is tried again on the next cycle (it may then see the message twice).",
    ),
    (
        "delivery_s",
        "Seconds for a run's deliveries",
        10.0,
        "Every attempt of one daily cycle together. What is not sent by then waits for the next cycle, so the "
        "morning run always finishes.",
    ),
)


def _time_limits(editable: bool) -> None:
    """How long one attempt and a run's whole delivery phase may take: a slow receiver never holds the cycle."""
    lo, hi = SECONDS_RANGE
    for column, (key, label, step, help_text) in zip(st.columns(2), TIME_LIMITS, strict=True):
        column.number_input(
            label,
            min_value=lo,
            max_value=hi,
            step=step,
            format="%.0f",
            key=f"{K}{key}",
            disabled=not editable,
            help=help_text,
        )


def render() -> None:
    """The page body."""
    ui.page_header("Settings", ABOUT)
    ui.show_flash(f"{K}flash")
    editable = ui.allowed("channels", "Changing notification channels")
    _channels(editable)
    if editable:
        _add_forms()
    _settings(editable)
    st.caption("The same from a terminal: `python -m core channels --help`.")


if __name__ == "__main__":  # run by st.navigation (module name __main__), not on import by tests
    ui.run_page(render)
