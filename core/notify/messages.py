"""The words and fields of a notification: subject, plain-text body, webhook payload, and the dashboard link.

Written for the engineer on duty reading a phone: what changed first, then why (the alert rule's reason), the
numbers, and the link that opens the reservoir's forecast. Everything here is pure (no network, no store).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from core.display import entered
from core.forecast.risk import SideAlert

DEFAULT_BASE_URL = "http://localhost:8501"
FORECAST_PATH = "forecast"  # the Forecast page's URL path (st.Page("pages/forecast.py"))
RESERVOIR_PARAM = "reservoir"  # pages/common.reservoir_picker opens the reservoir named by ?reservoir=NAME
APP = "Reservoir Sentinel"
PAYLOAD_FIELDS = (
    "reservoir",
    "side",
    "state",
    "previous",
    "change",
    "level",
    "value",
    "probability",
    "date",
    "days_until_likely",
    "reason",
    "issued",
    "subject",
    "message",
    "link",
)


class NotifyError(ValueError):
    """A notification setting or channel that cannot be used as given; the message says what to enter instead."""


def check_base_url(url: str) -> str:
    """The dashboard's address as operators open it (http/https with a host), without a trailing slash."""
    url = str(url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise NotifyError(
            f"'{url}' is not a dashboard address; enter it as operators open it, e.g. {DEFAULT_BASE_URL} or "
            "https://sentinel.example.org."
        )
    return url


def forecast_link(base_url: str, reservoir: str) -> str:
    """<base URL>/forecast?reservoir=<name, URL-encoded>: opens the Forecast page on that reservoir."""
    return f"{check_base_url(base_url)}/{FORECAST_PATH}?{RESERVOIR_PARAM}={quote(reservoir, safe='')}"


def headline(reservoir: str, alert: SideAlert, change: str, previous: str) -> str:
    """One line saying what changed: 'Poondi: flood WARNING (escalated from watch)'."""
    side = alert.side
    if change == "cleared":
        return f"{reservoir}: {side} alert cleared (was {previous})"
    if change == "unjudged":
        return f"{reservoir}: {side} alert cannot be judged ({alert.state})"
    what = f"{side} {alert.state.upper()}"
    if change == "new":
        return f"{reservoir}: {what} (new alert)"
    return f"{reservoir}: {what} ({change} from {previous})"


def _numbers(alert: SideAlert) -> list[str]:
    """The figures behind a raised alert, one per line."""
    lines = []
    if alert.level is not None:
        value = f" ({entered(alert.value)})" if alert.value is not None else ""
        lines.append(f"Operating level:  {alert.level}{value}")
    lines.append(f"Chance:           {alert.probability:.0%} of crossing it within the forecast horizon")
    if alert.date:
        lines.append(f"First day at or above the trigger: {alert.date}")
    if alert.days_until_likely is not None:
        lines.append(f"More likely than not crossed in:   {alert.days_until_likely} day(s)")
    return lines


def body(reservoir: str, alert: SideAlert, change: str, previous: str, *, issued: str, link: str) -> str:
    """The plain-text message: headline, the reason in words, the numbers, the link, and what happens next."""
    lines = [f"{APP}: {headline(reservoir, alert, change, previous)}", ""]
    if change == "cleared":
        lines.append(f"The {alert.side} side is back to normal. {alert.reason}")
    else:
        lines.append(f"Why: {alert.reason}")
        lines += ["", *_numbers(alert)]
    lines += [f"Forecast issued:  {issued}", "", f"Open the forecast: {link}", ""]
    lines.append(
        "You get another message only when this side's alert changes again (raised, escalated, eased or cleared). "
        "Acknowledge it on the dashboard's Alerts page so colleagues see it is in hand."
    )
    return "\n".join(lines)


def payload(reservoir: str, alert: SideAlert, change: str, previous: str, *, issued: str, link: str) -> dict[str, Any]:
    """The webhook's JSON body (also what an email is built from): every field in PAYLOAD_FIELDS."""
    return {
        "reservoir": reservoir,
        "side": alert.side,
        "state": alert.state,
        "previous": previous,
        "change": change,
        "level": alert.level,
        "value": alert.value,
        "probability": alert.probability,
        "date": alert.date,
        "days_until_likely": alert.days_until_likely,
        "reason": alert.reason,
        "issued": issued,
        "subject": f"[{APP}] {headline(reservoir, alert, change, previous)}",
        "message": body(reservoir, alert, change, previous, issued=issued, link=link),
        "link": link,
    }


def test_payload(channel: str, base_url: str) -> dict[str, Any]:
    """A test message for a channel: same fields, change 'test', so a receiver's parsing is exercised too."""
    text = (
        f"{APP}: test message to channel '{channel}'.\n\n"
        "If you read this, alert changes will reach you here. Nothing is wrong with any reservoir.\n\n"
        f"Dashboard: {check_base_url(base_url)}"
    )
    fields: dict[str, Any] = dict.fromkeys(PAYLOAD_FIELDS)
    fields.update(
        side="test",
        state="test",
        previous="test",
        change="test",
        probability=0.0,
        subject=f"[{APP}] test message ({channel})",
        message=text,
        link=check_base_url(base_url),
    )
    return fields
