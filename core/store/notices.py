"""Notifications in the workspace: channels, the last alert state per side, change events, deliveries, acks.

The rules (what counts as a change, what is sent, how often a delivery is retried) live in core.notify; this store
only keeps the rows, each write in one short transaction, and hands them back as frozen dataclasses:

* ``notify_channels``: where messages go (a webhook URL, or an email address with its SMTP server);
* ``notify_settings``: workspace-wide values (the dashboard base URL used in links, the retry limit);
* ``alert_states``: per reservoir and side, the state last seen and the last *judged* one (see core.notify);
* ``alert_events``: every change (and every test message), with the message and payload as sent;
* ``deliveries`` + ``delivery_attempts``: one delivery per event and channel, and every attempt with its error;
* ``alert_acks``: who acknowledged which raised alert, and when.

`Notices` is the contract; core.store.sqlite.notices implements it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from core.jsonio import AsDict
from core.store.errors import StoreError

CHANNEL_KINDS = ("webhook", "email")
# queued: waiting for its first attempt; failed: an attempt failed, retried on the next deliver_pending;
# sending: claimed by a sender right now; delivered; gave_up: failed max attempts; dropped: its channel was removed.
DELIVERY_STATUSES = ("queued", "failed", "sending", "delivered", "gave_up", "dropped")
RETRYABLE = ("queued", "failed")
UNSENT = (*RETRYABLE, "sending")  # a removed channel's deliveries in these states are dropped
STALE_SENDING_S = 600  # a claim older than this belongs to a sender that died; the delivery is retried
TEST_CHANGE = "test"

class StateMoved(StoreError):
    """Another process recorded an alert state for this reservoir since it was read; read again and redo."""


@dataclass(frozen=True)
class Channel(AsDict):
    """Where notifications go: kind webhook (target = URL) or email (target = address, options: smtp, sender)."""

    name: str
    kind: str
    target: str
    options: dict[str, Any]
    created: str

    def words(self) -> str:
        """'webhook https://...' or 'email ops@x via smtp.x:25', for lists and logs."""
        if self.kind == "email":
            return f"email {self.target} via {self.options.get('smtp', '?')}"
        return f"webhook {self.target}"


@dataclass(frozen=True)
class Delivery(AsDict):
    """One message to one channel: its status, how many attempts it took, and the last error in words."""

    id: int
    event_id: int
    reservoir: str | None
    side: str
    change: str
    channel: str
    kind: str
    target: str
    status: str
    attempts: int
    error: str | None
    created: str
    updated: str


@dataclass(frozen=True)
class Ack(AsDict):
    """An operator saying 'seen, we are on it' for the alert an event raised; it stops nothing from being sent."""

    id: int
    event_id: int
    user: str
    time: str
    note: str = ""


@dataclass(frozen=True)
class AlertChange(AsDict):
    """One recorded change of a side's alert (new, escalated, eased, cleared, unjudged) or a channel test."""

    id: int
    reservoir: str | None
    side: str
    change: str
    state: str
    previous: str
    level: str | None
    value: float | None
    probability: float
    date: str | None
    reason: str
    message: str
    link: str | None
    issued: str | None
    time: str
    sent: bool  # False for states that cannot be judged: recorded, never sent
    deliveries: tuple[Delivery, ...] = ()
    acks: tuple[Ack, ...] = ()


@dataclass(frozen=True)
class SideState(AsDict):
    """The alert last seen on one side of a reservoir, the last judged one, and who acknowledged it."""

    reservoir: str
    side: str
    state: str
    judged: str  # the last state that could be judged (normal/watch/warning/danger); "unknown" does not clear it
    level: str | None
    probability: float
    date: str | None
    reason: str
    issued: str | None
    time: str
    event_id: int | None  # the change event that raised the judged state (None while normal)
    acked_by: str | None = None
    acked_at: str | None = None


@dataclass(frozen=True)
class PlannedChange:
    """What core.notify decided for one side: the state to store and, when it changed, the event to record."""

    side: str
    state: str
    judged: str
    alert: dict[str, Any]
    change: str | None  # None: unchanged, only the state row is refreshed
    previous: str
    sent: bool
    message: str = ""
    payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class PendingDelivery:
    """A claimed delivery with what its sender needs: the channel, the payload and the chart (if any)."""

    delivery: Delivery
    channel: Channel
    payload: dict[str, Any]
    chart: bytes | None


@runtime_checkable
class Notices(Protocol):
    """Notification channels and settings, alert states per side, change events, deliveries, acknowledgements."""

    def notify_setting(self, key: str, default: Any = None) -> Any:
        """A workspace-wide notification setting (e.g. base_url), or default when never set."""
        ...

    def set_notify_setting(self, key: str, value: Any) -> None:
        """Store one setting; None removes it (back to the default)."""
        ...

    def channels(self) -> list[Channel]:
        """Configured channels in the order they were added."""
        ...

    def channel(self, name: str) -> Channel:
        """One channel by case-insensitive name; the error lists the configured ones."""
        ...

    def add_channel(self, name: str, kind: str, target: str, options: Mapping[str, Any]) -> Channel:
        """Store a checked channel (core.notify.channels checks it); a taken name is refused."""
        ...

    def remove_channel(self, name: str) -> Channel:
        """Remove a channel; its deliveries not yet delivered are marked dropped and kept (ids are never reused)."""
        ...

    def alert_states(self, reservoir: str | None = None) -> list[SideState]:
        """The last alert seen per reservoir and side (all reservoirs, or one), with the latest acknowledgement."""
        ...

    def seen_states(self, reservoir: str) -> dict[str, tuple[str, str]]:
        """Side -> (state, judged) as stored now: what record_alert_changes expects to find unchanged."""
        ...

    def record_alert_changes(self, reservoir: str, planned: Sequence[PlannedChange],
                             expected: Mapping[str, tuple[str, str]], *, issued: str, channels: Sequence[Channel],
                             chart: bytes | None, now: str | None = None) -> list[AlertChange]:
        """In one transaction: refresh each side's state, record its change and queue one delivery per channel;
        StateMoved (nothing written) when another process moved a state since `expected` was read."""
        ...

    def record_test(self, channel: Channel, message: str, payload: Mapping[str, Any], chart: bytes | None) -> int:
        """A channel test as an event with one queued delivery to that channel only; the delivery id."""
        ...

    def claim_deliveries(self, now: str | None = None, only: Sequence[int] | None = None) -> list[PendingDelivery]:
        """Mark every queued/failed delivery (and stale 'sending' ones) as sending and return them to send now."""
        ...

    def release_deliveries(self, delivery_ids: Sequence[int], now: str | None = None) -> None:
        """Hand claimed deliveries that were never attempted back to waiting."""
        ...

    def finish_delivery(self, delivery_id: int, error: str | None, max_attempts: int,
                        now: str | None = None) -> Delivery:
        """Log one attempt: delivered, failed (retried later) or gave_up at max_attempts."""
        ...

    def alert_events(self, reservoir: str | None = None, limit: int | None = 100) -> list[AlertChange]:
        """Recorded changes (and channel tests), newest first, each with its deliveries and acknowledgements."""
        ...

    def acknowledge(self, reservoir: str, side: str, user: str, note: str = "", now: str | None = None) -> Ack:
        """Record who acknowledged the side's raised alert; refused when that side has no raised alert."""
        ...
