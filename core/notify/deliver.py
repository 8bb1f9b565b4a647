"""Sending what is queued: one attempt per delivery per call, each attempt logged, failures retried next time.

`deliver_pending` claims every queued or failed delivery (marking it 'sending', so two senders never send the same
one), sends it through its channel and records the outcome: delivered; failed (retried on the next call, i.e. the
next daily cycle); or gave_up once it failed max_attempts times (NotifySettings.max_attempts, default 5). A sender
that died mid-send leaves 'sending' rows, which are retried after core.store.notices.STALE_SENDING_S.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from core.notify.channels import SendError, send
from core.notify.messages import test_payload
from core.notify.settings import notify_settings
from core.store.notices import Delivery, PendingDelivery
from core.store.workspace import Workspace

log = logging.getLogger(__name__)


def attempt(pending: PendingDelivery) -> str | None:
    """Send one claimed delivery; None when it got through, else the reason in words (never raises)."""
    try:
        send(pending.channel, pending.payload, pending.chart)
    except SendError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a bug in one channel must not stop the others; logged with the row
        log.exception("Reservoir Sentinel: delivery #%s failed unexpectedly", pending.delivery.id)
        return f"unexpected {type(exc).__name__}: {exc}"
    return None


def deliver_pending(ws: Workspace, *, now: str | None = None, only: Sequence[int] | None = None) -> list[Delivery]:
    """Send every queued or previously failed delivery (retried on each call until it succeeds or max attempts),
    log each attempt with its status/error; returns what was attempted."""
    limit = notify_settings(ws).max_attempts
    out = []
    for pending in ws.claim_deliveries(now, only=only):
        error = attempt(pending)
        out.append(ws.finish_delivery(pending.delivery.id, error, limit, now))
    return out


def send_test(ws: Workspace, name: str, chart: bytes | None = None) -> Delivery:
    """Send a test message through one channel now (logged as a 'test' event); its delivery with status/error."""
    channel = ws.channel(name)
    payload = test_payload(channel.name, notify_settings(ws).base_url)
    delivery_id = ws.record_test(channel, payload["message"], payload, chart)
    pending = ws.claim_deliveries(only=[delivery_id])
    if not pending:  # another sender took it at this very moment: report what it recorded
        return next(d for e in ws.alert_events(limit=20) for d in e.deliveries if d.id == delivery_id)
    return ws.finish_delivery(delivery_id, attempt(pending[0]), 1)
