"""Workspace-wide notification settings: the dashboard's base URL (for links) and how often a delivery is tried."""

from __future__ import annotations

from dataclasses import dataclass

from core.jsonio import AsDict
from core.notify.messages import DEFAULT_BASE_URL, NotifyError, check_base_url
from core.store.workspace import Workspace

DEFAULT_MAX_ATTEMPTS = 5  # one attempt per deliver_pending (the daily cycle): a receiver down for 4 days still gets it
MAX_ATTEMPTS_RANGE = (1, 50)
BASE_URL_KEY = "base_url"
MAX_ATTEMPTS_KEY = "max_attempts"


@dataclass(frozen=True)
class NotifySettings(AsDict):
    """The settings in effect: base_url (links in messages) and max_attempts (then a delivery is given up, logged)."""

    base_url: str = DEFAULT_BASE_URL
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


def notify_settings(ws: Workspace) -> NotifySettings:
    """The stored settings, defaults where never set."""
    return NotifySettings(
        base_url=str(ws.notify_setting(BASE_URL_KEY, DEFAULT_BASE_URL)),
        max_attempts=int(ws.notify_setting(MAX_ATTEMPTS_KEY, DEFAULT_MAX_ATTEMPTS)),
    )


def check_max_attempts(value: int) -> int:
    """A whole number of attempts within MAX_ATTEMPTS_RANGE."""
    lo, hi = MAX_ATTEMPTS_RANGE
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise NotifyError(f"'{value}' is not a number of attempts; give a whole number from {lo} to {hi}.") from exc
    if not lo <= number <= hi:
        raise NotifyError(f"{number} attempts is out of range; give a whole number from {lo} to {hi}.")
    return number


def save_notify_settings(
    ws: Workspace, *, base_url: str | None = None, max_attempts: int | None = None
) -> NotifySettings:
    """Check and store the settings given (None leaves one as it is); returns the settings now in effect."""
    if base_url is not None:
        ws.set_notify_setting(BASE_URL_KEY, check_base_url(base_url))
    if max_attempts is not None:
        ws.set_notify_setting(MAX_ATTEMPTS_KEY, check_max_attempts(max_attempts))
    return notify_settings(ws)
