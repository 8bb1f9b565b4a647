"""`python -m core channels`, `events` and `ack`: where alert changes are sent, what was sent, who saw it.

Kept apart from core.cli.main (one module per concern); the parser hooks in through `add_notify_commands`. The rules
live in core.notify; this module reads the options, calls it, and prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from core import notify
from core.app.pipeline import forecast_history, forecast_levels, forecast_reservoir
from core.app.revise import current_user
from core.cli.parts import Emit, WorkspaceOf
from core.data.levels import SIDES
from core.export import report
from core.notify import notify_settings

EXIT_NOT_DELIVERED = 1
DEFAULT_EVENTS = 50
CHANNELS_HELP = "notification channels (webhook, email): add, list, remove, test; the dashboard link in messages"
CHANNELS_DESCRIPTION = (
    "An alert change (new, escalated, eased, cleared; per reservoir and side) is sent once to every channel, "
    "with the reason in words and a link to the reservoir's forecast; nothing is re-sent while the state stays "
    "the same, and a failed delivery is retried on the next cycle. Webhook: a JSON POST. Email: plain text with "
    "the forecast chart as PNG, through your SMTP server (STARTTLS with --starttls; login with the "
    "SENTINEL_SMTP_USER and SENTINEL_SMTP_PASSWORD environment variables). Without an action: --list."
)
EVENTS_HELP = "the notification log: every alert change and every delivery with its status"
ACK_HELP = "acknowledge a reservoir's raised alert on one side (who and when are recorded)"


# ---------------------------------------------------------------------- channels


def _channel_line(ch: Any) -> str:
    """One channel as a list row."""
    if ch.kind == "email":
        tls = ", STARTTLS" if ch.options.get("starttls") else ""
        detail = f"via {ch.options.get('smtp')} from {ch.options.get('sender')}{tls}"
    else:
        detail = "JSON POST"
    return f"  {ch.name:<24} {ch.kind:<8} {ch.target}  ({detail})"


def _list(args: argparse.Namespace, emit: Emit, ws: Any) -> int:
    """Configured channels and the settings in effect."""
    channels, settings = ws.channels(), notify_settings(ws)
    lines = [_channel_line(c) for c in channels] or ["  no channels yet: add one with --add-webhook URL or --add-email"]
    lines = ["notification channels:", *lines]
    lines.append(f"dashboard link in messages: {settings.base_url}  (change with --base-url URL)")
    lines.append(f"a failed delivery is retried on each cycle, {settings.max_attempts} attempts at most")
    lines.append(
        f"one attempt may take {settings.send_seconds:g} s (connect, send, answer), all sending of a cycle "
        f"{settings.delivery_seconds:g} s (--send-seconds, --delivery-seconds)"
    )
    emit(args, {"channels": [c.to_dict() for c in channels], "settings": settings.to_dict()}, lines)
    return 0


def _add(args: argparse.Namespace, emit: Emit, ws: Any) -> int:
    """Check and store a webhook or email channel."""
    if args.add_webhook is not None:
        spec = notify.webhook_spec(args.add_webhook, args.name)
    else:
        if not args.smtp:
            raise notify.NotifyError("An email channel needs its mail server: add --smtp HOST:PORT.")
        spec = notify.email_spec(args.add_email, args.smtp, sender=args.sender, name=args.name, starttls=args.starttls)
    channel = notify.add_channel(ws, spec)
    lines = [
        f"channel '{channel.name}' added: {channel.words()}",
        f"send a test message: channels --test {channel.name}",
    ]
    emit(args, {"channel": channel.to_dict()}, lines)
    return 0


def _test(args: argparse.Namespace, emit: Emit, ws: Any) -> int:
    """Send a test message now (with a reservoir's forecast chart when --reservoir is given); 1 when it failed."""
    chart = forecast_chart_png(ws, args.reservoir)() if args.reservoir else None
    delivery = notify.send_test(ws, args.test, chart)
    ok = delivery.status == "delivered"
    what = f"test message to '{delivery.channel}' ({delivery.kind} {delivery.target})"
    line = f"{what}: delivered" if ok else f"{what}: NOT delivered - {delivery.error}"
    emit(args, {"delivery": delivery.to_dict(), "delivered": ok}, [line])
    return 0 if ok else EXIT_NOT_DELIVERED


def _send_pending(args: argparse.Namespace, emit: Emit, ws: Any) -> int:
    """Try every queued or failed delivery now (what the daily cycle does at its end)."""
    done = notify.deliver_pending(ws)
    lines = [f"  #{d.id} {d.reservoir} {d.side} {d.change} -> {d.channel}: {_status_words(d)}" for d in done]
    emit(args, {"deliveries": [d.to_dict() for d in done]}, lines or ["nothing waiting to be sent"])
    return 0


def cmd_channels(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """Add, list, remove or test a channel, set the dashboard link or the retry limit, or send what waits."""
    ws = workspace(args)
    if args.add_webhook is not None or args.add_email is not None:
        return _add(args, emit, ws)
    if args.remove is not None:
        channel = ws.remove_channel(args.remove)
        lines = [f"channel '{channel.name}' removed ({channel.words()}); its unsent deliveries are dropped"]
        emit(args, {"removed": channel.to_dict()}, lines)
        return 0
    if args.test is not None:
        return _test(args, emit, ws)
    if args.send_pending:
        return _send_pending(args, emit, ws)
    wanted = {
        "base_url": args.base_url,
        "max_attempts": args.max_attempts,
        "send_seconds": args.send_seconds,
        "delivery_seconds": args.delivery_seconds,
    }
    if any(v is not None for v in wanted.values()):
        notify.save_notify_settings(ws, **wanted)
    return _list(args, emit, ws)


def forecast_chart_png(ws: Any, reservoir: str) -> Callable[[], bytes | None]:
    """A function drawing the reservoir's current forecast chart as PNG (kaleido), for publish or a test email."""

    def draw() -> bytes | None:
        fc = forecast_reservoir(ws, reservoir)
        return report.render(forecast_history(ws, fc), fc, forecast_levels(ws, fc.reservoir, fc.target), "png")

    return draw


# ---------------------------------------------------------------------- events and acknowledgements


def _status_words(d: Any) -> str:
    """'delivered', 'failed after 2 attempts (reason), retried next cycle', ..."""
    tries = f"{d.attempts} attempt{'s' if d.attempts != 1 else ''}"
    if d.status == "delivered":
        return f"delivered ({tries})"
    if d.status == "failed":
        return f"failed after {tries} ({d.error}); retried on the next cycle"
    if d.status == "gave_up" and d.change == "test":
        return f"failed ({d.error}); a test message is not retried"
    if d.status == "gave_up":
        return f"GAVE UP after {tries} ({d.error})"
    if d.status == "dropped":
        return f"dropped ({d.error})"
    return d.status


def _event_lines(e: Any) -> list[str]:
    """One event with its deliveries and acknowledgements."""
    where = e.reservoir or "(channel test)"
    if e.change == "test":
        head = f"#{e.id} {e.time} {where}"
    else:
        head = f"#{e.id} {e.time} {where} {e.side} {e.change.upper()}: {e.previous} -> {e.state} (issued {e.issued})"
    out = [head]
    if e.change != "test":
        out.append(f"    {e.reason}")
    if not e.sent:
        out.append("    not sent: this state cannot be judged, so no alert goes out")
    elif not e.deliveries:
        out.append("    no channel was configured: nothing sent (add one with: channels --add-webhook / --add-email)")
    out += [f"    -> {d.channel} ({d.kind}): {_status_words(d)}" for d in e.deliveries]
    out += [f"    acknowledged by {a.user} at {a.time}" for a in e.acks]
    return out


def cmd_events(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """The notification log, newest first."""
    ws = workspace(args)
    name = ws.reservoir(args.reservoir).name if args.reservoir else None
    events = ws.alert_events(name, limit=args.limit)
    lines = [line for e in events for line in _event_lines(e)] or ["no alert changes recorded yet"]
    emit(args, {"reservoir": name, "events": [e.to_dict() for e in events]}, lines)
    return 0


def cmd_ack(args: argparse.Namespace, emit: Emit, workspace: WorkspaceOf) -> int:
    """Acknowledge the raised alert of one side."""
    ws = workspace(args)
    name = ws.reservoir(args.reservoir).name
    ack = ws.acknowledge(name, args.side, args.by or current_user(), args.note or "")
    state = next(s for s in ws.alert_states(name) if s.side == args.side)
    line = (
        f"{name} {args.side} {state.judged.upper()} acknowledged by {ack.user} at {ack.time} "
        "(a later change of this alert is still sent)"
    )
    emit(args, {"reservoir": name, "side": args.side, "state": state.judged, "ack": ack.to_dict()}, [line])
    return 0


def add_notify_commands(sub: Any, common: argparse.ArgumentParser, emit: Emit, workspace: WorkspaceOf) -> None:
    """The `channels`, `events` and `ack` subcommands on the main parser."""
    p = sub.add_parser("channels", parents=[common], help=CHANNELS_HELP, description=CHANNELS_DESCRIPTION)
    act = p.add_mutually_exclusive_group()
    act.add_argument("--add-webhook", metavar="URL", help="add a webhook: alert changes are POSTed to URL as JSON")
    act.add_argument("--add-email", metavar="ADDRESS", help="add an email recipient (needs --smtp HOST:PORT)")
    act.add_argument("--list", action="store_true", help="list the channels and settings (the default)")
    act.add_argument("--remove", metavar="NAME", help="remove a channel (its unsent deliveries are dropped)")
    act.add_argument("--test", metavar="NAME", help="send a test message through a channel now")
    act.add_argument("--send-pending", action="store_true", help="send queued and failed deliveries now")
    p.add_argument("--name", help="name of the new channel (default: the URL's host or the address)")
    p.add_argument("--smtp", metavar="HOST:PORT", help="mail server of an email channel, e.g. smtp.example.org:25")
    p.add_argument("--sender", metavar="ADDR", help="From address of an email channel")
    p.add_argument("--starttls", action="store_true", help="email: switch to TLS (STARTTLS) before sending")
    p.add_argument("--reservoir", help="with --test: attach this reservoir's forecast chart to a test email")
    p.add_argument("--base-url", metavar="URL", help="the dashboard address used in links (default localhost:8501)")
    p.add_argument("--max-attempts", type=int, metavar="N", help="give a failed delivery up after N attempts")
    p.add_argument(
        "--send-seconds", type=float, metavar="S", help="one attempt as a whole: connect, send, answer (default 20)"
    )
    p.add_argument(
        "--delivery-seconds",
        type=float,
        metavar="S",
        help="all sending of one cycle (default 120); what is left waits for the next cycle",
    )
    p.set_defaults(func=lambda args: cmd_channels(args, emit, workspace))

    p = sub.add_parser("events", parents=[common], help=EVENTS_HELP, description=EVENTS_HELP)
    p.add_argument("--reservoir", help="only this reservoir's changes (default: all, and channel tests)")
    p.add_argument("--limit", type=int, default=DEFAULT_EVENTS, help=f"newest N events (default {DEFAULT_EVENTS})")
    p.set_defaults(func=lambda args: cmd_events(args, emit, workspace))

    p = sub.add_parser("ack", parents=[common], help=ACK_HELP, description=ACK_HELP)
    p.add_argument("--reservoir", required=True)
    p.add_argument("--side", required=True, choices=SIDES)
    p.add_argument("--by", metavar="USER", help="who acknowledges (default: the login name)")
    p.add_argument("--note", help="a short note shown with the acknowledgement")
    p.set_defaults(func=lambda args: cmd_ack(args, emit, workspace))
