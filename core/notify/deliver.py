"""Sending what is queued: one attempt per delivery per call, each attempt logged, failures retried next time.

`deliver_pending` claims every queued or failed delivery (marking it 'sending', so two senders never send the same
one), sends it through its channel and records the outcome: delivered; failed (retried on the next call, i.e. the
next daily cycle); or gave_up once it failed max_attempts times (NotifySettings.max_attempts, default 5). Each
attempt is bounded as a whole (NotifySettings.send_seconds) and the call as a whole too (delivery_seconds): what
the budget leaves unsent is handed back unattempted and waits for the next call, so a slow receiver can never hold
the cycle. A sender that died mid-send leaves 'sending' rows, which are retried after
core.store.notices.STALE_SENDING_S.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from core.notify.channels import SendError, send
from core.notify.messages import test_payload
from core.notify.settings import notify_settings
from core.store.notices import Delivery, PendingDelivery
from core.store.workspace import Workspace

log = logging.getLogger(__name__)


def attempt(pending: PendingDelivery, seconds: float) -> str | None:
    """Send one claimed delivery within `seconds`; None when it got through, else the reason in words (never raises)."""
    try:
        send(pending.channel, pending.payload, pending.chart, seconds)
    except SendError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a bug in one channel must not stop the others; logged with the row
        log.exception("Reservoir Sentinel: delivery #%s failed unexpectedly", pending.delivery.id)
        return f"unexpected {type(exc).__name__}: {exc}"
    return None


def deliver_pending(ws: Workspace, *, now: str | None = None, only: Sequence[int] | None = None) -> list[Delivery]:
    """Send every queued or previously failed delivery (retried on each call until it succeeds or max attempts),
    within the delivery budget; log each attempt with its status/error; returns what was attempted."""
    settings = notify_settings(ws)
    deadline = time.monotonic() + settings.delivery_seconds
    claimed = ws.claim_deliveries(now, only=only)
    out: list[Delivery] = []
    try:
        while claimed:
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("Reservoir Sentinel: delivery budget spent; %d message(s) wait.", len(claimed))
                break
            pending = claimed.pop(0)
            error = attempt(pending, min(settings.send_seconds, left))
            out.append(ws.finish_delivery(pending.delivery.id, error, settings.max_attempts, now))
    finally:
        if claimed:  # not attempted (budget spent, or this run stopped): back to waiting, no attempt counted
            ws.release_deliveries([p.delivery.id for p in claimed])
    return out


def send_test(ws: Workspace, name: str, chart: bytes | None = None) -> Delivery:
    """Send a test message through one channel now (logged as a 'test' event); its delivery with status/error."""
    channel = ws.channel(name)
    settings = notify_settings(ws)
    payload = test_payload(channel.name, settings.base_url)
    delivery_id = ws.record_test(channel, payload["message"], payload, chart)
    pending = ws.claim_deliveries(only=[delivery_id])
    if not pending:  # another sender took it at this very moment: report what it recorded
        return next(d for e in ws.alert_events(limit=20) for d in e.deliveries if d.id == delivery_id)
    return ws.finish_delivery(delivery_id, attempt(pending[0], settings.send_seconds), 1)
