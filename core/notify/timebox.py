"""One network exchange bounded as a whole: connecting, sending and every read together never outlast its budget.

A socket timeout limits each read, not the exchange: a receiver answering one byte every few seconds held a send
for minutes. Here the exchange runs in a daemon thread; at the deadline the connection's socket is shut down
(which makes a blocked connect, send or read return at once) and the caller stops waiting, so an attempt always
ends within its budget plus a moment, whatever the other end does (a name that never resolves included).

`post_json` is the webhook's POST on this: http.client, which never follows a redirect (a 3xx is an answer like
any other, and only 2xx counts as delivered).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
CUT_GRACE_S = 2.0  # after the cut, how long to wait for the exchange to notice before leaving it behind


class Expired(Exception):
    """The exchange did not finish within its budget; it was cut."""


@dataclass
class Line:
    """The exchange's connection object (http.client / smtplib), whose current `.sock` the deadline shuts down."""

    conn: Any = None


def _cut(line: Line) -> None:
    """Shut down the exchange's socket so a blocked call in its thread returns now."""
    sock = getattr(line.conn, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError):  # already closed: nothing to cut
        sock.shutdown(socket.SHUT_RDWR)


def run_within(seconds: float, work: Callable[[Line], T]) -> T:
    """work(line) in a daemon thread, cut at `seconds`; its result, its exception, or Expired."""
    line, box = Line(), {}

    def body() -> None:
        try:
            box["value"] = work(line)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=body, name="sentinel-send", daemon=True)
    thread.start()
    thread.join(max(0.0, seconds))
    if thread.is_alive():  # what it read after the cut is not an answer in time: a failed attempt, retried later
        _cut(line)
        thread.join(CUT_GRACE_S)
        raise Expired(f"no answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def post_json(url: str, data: bytes, seconds: float, headers: dict[str, str]) -> int:
    """POST `data` to an http(s) URL within `seconds` as a whole; the answer's status (redirects are not followed)."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def exchange(line: Line) -> int:
        kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
        conn = kind(parts.hostname or "", parts.port, timeout=max(0.1, seconds))
        line.conn = conn
        try:
            conn.request("POST", target, body=data, headers=headers)
            return int(conn.getresponse().status)  # the status line is the answer; its body is not waited for
        finally:
            conn.close()

    return run_within(seconds, exchange)
