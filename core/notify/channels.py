"""Notification channels: checking what an operator enters, and sending one message through a webhook or email.

* Webhook: the payload (core.notify.messages.payload) as a JSON POST, 10 s timeout; any 2xx answer is delivered.
* Email: a plain-text message (the payload's message) with the forecast chart attached as PNG, sent through the
  channel's SMTP server (smtplib, 10 s timeout). No login by default (a relay inside the utility's network); for a
  server that needs it, add the channel with STARTTLS on (``--starttls``) and set SENTINEL_SMTP_USER and
  SENTINEL_SMTP_PASSWORD in the environment of whoever sends (the cycle, the dashboard): passwords are never
  stored in the workspace.

A failed send raises SendError with the reason in words; core.notify.deliver logs it and retries later.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from core.notify.messages import NotifyError
from core.store.notices import Channel

TIMEOUT_S = 10.0
ENV_SMTP_USER = "SENTINEL_SMTP_USER"
ENV_SMTP_PASSWORD = "SENTINEL_SMTP_PASSWORD"
DEFAULT_SENDER = "reservoir-sentinel@localhost"
CHART_NAME = "forecast.png"
_ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")
_NAME = re.compile(r"^[\w.@:+-]{1,64}$")


class SendError(Exception):
    """A message that did not get through: the receiver is down, refused it, or answered an error."""


@dataclass(frozen=True)
class ChannelSpec:
    """A checked channel before it is stored: name, kind, target and options (see core.store.notices.Channel)."""

    name: str
    kind: str
    target: str
    options: dict[str, Any]


# ---------------------------------------------------------------------- checking what is entered


def check_name(name: str) -> str:
    """A channel name: letters, digits and . _ - @ : + (no spaces), up to 64 characters."""
    name = str(name or "").strip()
    if not _NAME.match(name):
        raise NotifyError(
            f"'{name}' cannot name a channel; use up to 64 letters, digits or . _ - @ : + (no spaces), e.g. ops-email."
        )
    return name


def check_webhook_url(url: str) -> str:
    """An http(s) URL with a host, as the receiver gave it."""
    url = str(url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotifyError(
            f"'{url}' is not a webhook URL; give the full address, e.g. https://hooks.example.org/alerts."
        )
    return url


def check_address(address: str, what: str = "email address") -> str:
    """One email address (name@domain), no lists."""
    address = str(address or "").strip()
    if not _ADDRESS.match(address):
        raise NotifyError(f"'{address}' is not an {what}; give one address like ops@example.org.")
    return address


def parse_smtp(server: str) -> tuple[str, int]:
    """'HOST:PORT' (or HOST alone, port 25) as (host, port)."""
    text = str(server or "").strip()
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "25")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise NotifyError(f"'{server}' is not an SMTP server; give HOST:PORT, e.g. smtp.example.org:25.")
    return host, int(port)


def webhook_spec(url: str, name: str | None = None) -> ChannelSpec:
    """A checked webhook channel; the default name is the URL's host."""
    url = check_webhook_url(url)
    return ChannelSpec(check_name(name or urlsplit(url).hostname or "webhook"), "webhook", url, {})


def email_spec(
    address: str, smtp: str, *, sender: str | None = None, name: str | None = None, starttls: bool = False
) -> ChannelSpec:
    """A checked email channel; the default name is the address."""
    address = check_address(address)
    host, port = parse_smtp(smtp)
    options = {"smtp": f"{host}:{port}", "sender": check_address(sender or DEFAULT_SENDER, "sender address")}
    options["starttls"] = bool(starttls)
    return ChannelSpec(check_name(name or address), "email", address, options)


# ---------------------------------------------------------------------- sending


def send(channel: Channel, payload: dict[str, Any], chart: bytes | None) -> str:
    """Send one message through a channel; a short receipt ('HTTP 200', 'accepted by host:port') or SendError."""
    if channel.kind == "webhook":
        return send_webhook(channel.target, payload)
    if channel.kind == "email":
        return send_email(channel, payload, chart)
    raise SendError(f"unknown channel kind '{channel.kind}'")


def send_webhook(url: str, payload: dict[str, Any], timeout: float = TIMEOUT_S) -> str:
    """POST the payload as JSON; 2xx is delivered, anything else (or no answer) is a SendError."""
    data = json.dumps(payload, allow_nan=False, default=str).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - the operator's configured http(s) URL
        url, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": "ReservoirSentinel"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - checked http(s) URL
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise SendError(f"the webhook answered HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendError(f"the webhook could not be reached ({reason})") from exc
    if not 200 <= status < 300:
        raise SendError(f"the webhook answered HTTP {status}")
    return f"HTTP {status}"


def email_message(channel: Channel, payload: dict[str, Any], chart: bytes | None) -> EmailMessage:
    """The email: subject and plain-text body from the payload, the chart attached as forecast.png."""
    msg = EmailMessage()
    msg["Subject"] = payload.get("subject") or "Reservoir Sentinel"
    msg["From"] = channel.options.get("sender") or DEFAULT_SENDER
    msg["To"] = channel.target
    msg["Message-ID"] = make_msgid(domain="reservoir-sentinel")
    text = str(payload.get("message") or "")
    if chart is None and payload.get("change") not in ("test", "cleared"):
        text += "\n\n(The forecast chart could not be drawn for this message; open the link to see it.)"
    msg.set_content(text)
    if chart is not None:
        msg.add_attachment(chart, maintype="image", subtype="png", filename=CHART_NAME)
    return msg


def send_email(channel: Channel, payload: dict[str, Any], chart: bytes | None, timeout: float = TIMEOUT_S) -> str:
    """Hand the email to the channel's SMTP server (STARTTLS and login when configured); SendError when refused."""
    host, port = parse_smtp(channel.options.get("smtp", ""))
    msg = email_message(channel, payload, chart)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if channel.options.get("starttls"):
                smtp.starttls()
            user = os.environ.get(ENV_SMTP_USER, "").strip()
            if user:
                smtp.login(user, os.environ.get(ENV_SMTP_PASSWORD, ""))
            refused = smtp.send_message(msg)
    except smtplib.SMTPException as exc:
        raise SendError(f"the mail server {host}:{port} refused the message ({exc})") from exc
    except (TimeoutError, OSError) as exc:
        raise SendError(f"the mail server {host}:{port} could not be reached ({exc})") from exc
    if refused:
        raise SendError(f"the mail server {host}:{port} refused {', '.join(refused)}")
    return f"accepted by {host}:{port}"
