"""Workspace-wide notification settings: the dashboard's base URL (for links), how often a delivery is tried, and
how long one attempt and the cycle's whole delivery phase may take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.jsonio import AsDict
from core.notify.channels import SEND_SECONDS
from core.notify.messages import DEFAULT_BASE_URL, NotifyError, check_base_url
from core.store.workspace import Workspace

DEFAULT_MAX_ATTEMPTS = 5  # one attempt per deliver_pending (the daily cycle): a receiver down for 4 days still gets it
MAX_ATTEMPTS_RANGE = (1, 50)
DEFAULT_DELIVERY_SECONDS = 120.0  # all of one deliver_pending (the cycle's delivery phase); the rest waits a cycle
SECONDS_RANGE = (1.0, 3600.0)
BASE_URL_KEY = "base_url"
MAX_ATTEMPTS_KEY = "max_attempts"
SEND_SECONDS_KEY = "send_seconds"
DELIVERY_SECONDS_KEY = "delivery_seconds"


@dataclass(frozen=True)
class NotifySettings(AsDict):
    """The settings in effect: base_url (links in messages) and max_attempts (then a delivery is given up, logged)."""

    base_url: str = DEFAULT_BASE_URL
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    send_seconds: float = SEND_SECONDS  # one attempt as a whole: connect + send + answer
    delivery_seconds: float = DEFAULT_DELIVERY_SECONDS  # every attempt of one deliver_pending together


def notify_settings(ws: Workspace) -> NotifySettings:
    """The stored settings, defaults where never set."""
    return NotifySettings(
        base_url=str(ws.notify_setting(BASE_URL_KEY, DEFAULT_BASE_URL)),
        max_attempts=int(ws.notify_setting(MAX_ATTEMPTS_KEY, DEFAULT_MAX_ATTEMPTS)),
        send_seconds=float(ws.notify_setting(SEND_SECONDS_KEY, SEND_SECONDS)),
        delivery_seconds=float(ws.notify_setting(DELIVERY_SECONDS_KEY, DEFAULT_DELIVERY_SECONDS)),
    )


def _in_range(value: Any, kind: type, bounds: tuple[float, float], what: str) -> Any:
    """value as `kind` (int or float) within bounds; a NotifyError naming `what` and the range otherwise."""
    lo, hi = bounds
    whole = "a whole number" if kind is int else "a number"
    try:
        number = kind(value)
    except (TypeError, ValueError) as exc:
        raise NotifyError(f"'{value}' is not {whole} for {what}; give one from {lo:g} to {hi:g}.") from exc
    if not lo <= number <= hi:
        raise NotifyError(f"{number:g} is out of range for {what}; give {whole} from {lo:g} to {hi:g}.")
    return number


def check_max_attempts(value: int) -> int:
    """A whole number of attempts within MAX_ATTEMPTS_RANGE."""
    return _in_range(value, int, MAX_ATTEMPTS_RANGE, "the attempts per message")


def check_seconds(value: float, what: str) -> float:
    """A time budget in seconds within SECONDS_RANGE."""
    return _in_range(value, float, SECONDS_RANGE, f"the seconds of {what}")


def save_notify_settings(
    ws: Workspace,
    *,
    base_url: str | None = None,
    max_attempts: int | None = None,
    send_seconds: float | None = None,
    delivery_seconds: float | None = None,
) -> NotifySettings:
    """Check and store the settings given (None leaves one as it is); returns the settings now in effect."""
    if base_url is not None:
        ws.set_notify_setting(BASE_URL_KEY, check_base_url(base_url))
    if max_attempts is not None:
        ws.set_notify_setting(MAX_ATTEMPTS_KEY, check_max_attempts(max_attempts))
    if send_seconds is not None:
        ws.set_notify_setting(SEND_SECONDS_KEY, check_seconds(send_seconds, "one attempt"))
    if delivery_seconds is not None:
        ws.set_notify_setting(DELIVERY_SECONDS_KEY, check_seconds(delivery_seconds, "the delivery phase"))
    return notify_settings(ws)
