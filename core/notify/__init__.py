"""Notifications that reach people: alert changes recorded once, sent through webhooks and email, retried, logged.

The daily cycle calls, per reservoir, ``publish(ws, name, forecast.alerts, issued=...)`` and then, once,
``deliver_pending(ws)``. The rules of what is a change are in core.notify.changes, the words in
core.notify.messages, the sending in core.notify.channels, the retries in core.notify.deliver; the rows live in
core.store.notices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from core.forecast.risk import SideAlert
from core.notify.changes import CHANGE_KINDS, JUDGED, change_kind, plan
from core.notify.channels import ChannelSpec, SendError, email_spec, webhook_spec
from core.notify.deliver import deliver_pending, send_test
from core.notify.messages import NotifyError, forecast_link
from core.notify.settings import NotifySettings, notify_settings, save_notify_settings
from core.store.notices import AlertChange, Channel, Delivery, SideState, StateMoved
from core.store.workspace import Workspace

__all__ = [
    "CHANGE_KINDS",
    "JUDGED",
    "AlertChange",
    "Channel",
    "ChannelSpec",
    "Delivery",
    "NotifyError",
    "NotifySettings",
    "SendError",
    "SideState",
    "add_channel",
    "change_kind",
    "deliver_pending",
    "email_spec",
    "notify_settings",
    "publish",
    "save_notify_settings",
    "send_test",
    "webhook_spec",
]

log = logging.getLogger(__name__)
RECORD_TRIES = 3  # another process recording the same reservoir at the same moment: read again, up to this often


def add_channel(ws: Workspace, spec: ChannelSpec) -> Channel:
    """Store a channel checked by webhook_spec / email_spec."""
    return ws.add_channel(spec.name, spec.kind, spec.target, spec.options)


def _chart(chart_png: Callable[[], bytes | None] | None) -> bytes | None:
    """The chart for emails, or None when there is none or it could not be drawn (the email says so)."""
    if chart_png is None:
        return None
    try:
        return chart_png()
    except Exception as exc:  # noqa: BLE001 - a chart failure (kaleido, Chromium) must not lose the alert
        log.warning("Reservoir Sentinel: the forecast chart for an alert email could not be drawn (%s)", exc)
        return None


def publish(
    ws: Workspace,
    reservoir: str,
    alerts: Mapping[str, SideAlert],
    *,
    issued: str,
    chart_png: Callable[[], bytes | None] | None = None,
) -> list[AlertChange]:
    """Compare each side's alert with the last stored state; record a change event (new/escalated/eased/cleared)
    and queue one delivery per configured channel for each change; unchanged states queue nothing."""
    name = ws.reservoir(reservoir).name
    link = forecast_link(notify_settings(ws).base_url, name)
    chart: bytes | None = None
    drawn = False
    for _ in range(RECORD_TRIES):
        seen = ws.seen_states(name)
        planned = plan(name, alerts, seen, issued=issued, link=link)
        channels = ws.channels()
        if not drawn and any(p.sent for p in planned) and any(c.kind == "email" for c in channels):
            chart, drawn = _chart(chart_png), True  # lazily, outside the write, and only once
        try:
            return ws.record_alert_changes(name, planned, seen, issued=issued, channels=channels, chart=chart)
        except StateMoved:
            continue
    raise StateMoved(f"The alert state of '{name}' kept changing under this publish; run it again.")
