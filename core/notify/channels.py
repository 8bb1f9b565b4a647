"""Notification channels: checking what an operator enters, and sending one message through a webhook or email.

Every attempt is bounded as a whole (connect + send + answer, core.notify.timebox): `seconds`, default
SEND_SECONDS, the workspace's `send_seconds` setting.

* Webhook: the payload (core.notify.messages.payload) as a JSON POST; any 2xx answer is delivered. Redirects are
  not followed (a 3xx is not delivered), a URL carrying a user name or password (user:pass@host) is refused, and
  a failure says "no acceptable answer" with the HTTP status when there was one, never the socket's error (refused,
  reset, timed out...), so a webhook test cannot map which ports answer. Webhooks to private addresses are allowed
  on purpose: incident systems usually live inside the utility's network; adding a channel needs an admin.
* Email: a plain-text message (the payload's message) with the forecast chart attached as PNG, sent through the
  channel's SMTP server (smtplib). No login by default (a relay inside the utility's network); for a server that
  needs it, add the channel with STARTTLS on (``--starttls``) and set SENTINEL_SMTP_USER and SENTINEL_SMTP_PASSWORD
  in the environment of whoever sends (the cycle, the dashboard): passwords are never stored in the workspace.

A failed send raises SendError with the reason in words; core.notify.deliver logs it and retries later.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from core.notify.messages import NotifyError
from core.notify.timebox import Expired, Line, post_json, run_within
from core.store.notices import Channel

SEND_SECONDS = 20.0  # one attempt as a whole (connect + send + answer), unless the workspace sets send_seconds
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
    """An http(s) URL with a host and no user name or password in it, as the receiver gave it."""
    url = str(url or "").strip()
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, brackets that do not close
        host, parts = None, urlsplit("")
    if parts.scheme not in ("http", "https") or not host:
        raise NotifyError(
            f"'{url}' is not a webhook URL; give the full address, e.g. https://hooks.example.org/alerts."
        )
    if "@" in parts.netloc:
        raise NotifyError(
            "A webhook URL must not carry a user name or password (user:password@host): they would be stored and "
            "shown in the log. Use the token the receiver gives in the path or query instead."
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


def send(channel: Channel, payload: dict[str, Any], chart: bytes | None, seconds: float = SEND_SECONDS) -> str:
    """Send one message through a channel within `seconds`; a short receipt ('HTTP 200', 'accepted by host:port')
    or SendError."""
    if channel.kind == "webhook":
        return send_webhook(channel.target, payload, seconds)
    if channel.kind == "email":
        return send_email(channel, payload, chart, seconds)
    raise SendError(f"unknown channel kind '{channel.kind}'")


def send_webhook(url: str, payload: dict[str, Any], seconds: float = SEND_SECONDS) -> str:
    """POST the payload as JSON within `seconds`; 2xx is delivered, anything else (or no answer) is a SendError."""
    try:
        check_webhook_url(url)
    except NotifyError as exc:
        raise SendError(f"not sent: {exc}") from exc
    data = json.dumps(payload, allow_nan=False, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "ReservoirSentinel"}
    try:
        status = post_json(url, data, seconds, headers)
    except (Expired, OSError, ValueError, http.client.HTTPException) as exc:  # never the socket's own words
        why = f"nothing answered 2xx within {seconds:g} s"
        raise SendError(f"no acceptable answer from the webhook ({why})") from exc
    if 300 <= status < 400:
        raise SendError(f"no acceptable answer from the webhook (HTTP {status}: redirects are not followed)")
    if not 200 <= status < 300:
        raise SendError(f"no acceptable answer from the webhook (HTTP {status})")
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


def send_email(channel: Channel, payload: dict[str, Any], chart: bytes | None, seconds: float = SEND_SECONDS) -> str:
    """Hand the email to the channel's SMTP server within `seconds` (STARTTLS and login when configured); SendError
    when refused or not answered."""
    host, port = parse_smtp(channel.options.get("smtp", ""))
    msg = email_message(channel, payload, chart)

    def exchange(line: Line) -> dict[str, Any]:
        smtp = smtplib.SMTP(timeout=max(0.1, seconds))
        line.conn = smtp
        with smtp:
            smtp.connect(host, port)
            if channel.options.get("starttls"):
                smtp.starttls()
            user = os.environ.get(ENV_SMTP_USER, "").strip()
            if user:
                smtp.login(user, os.environ.get(ENV_SMTP_PASSWORD, ""))
            return smtp.send_message(msg)

    try:
        refused = run_within(seconds, exchange)
    except smtplib.SMTPServerDisconnected as exc:
        raise SendError(f"the mail server {host}:{port} ended the connection without an acceptable answer") from exc
    except smtplib.SMTPException as exc:
        raise SendError(f"the mail server {host}:{port} refused the message ({exc})") from exc
    except (Expired, OSError) as exc:  # never the socket's own words
        raise SendError(f"the mail server {host}:{port} gave no acceptable answer within {seconds:g} s") from exc
    if refused:
        raise SendError(f"the mail server {host}:{port} refused {', '.join(refused)}")
    return f"accepted by {host}:{port}"
