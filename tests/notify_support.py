"""A local webhook receiver for the notification tests (the `receiver` fixture in conftest.py), the faulty receivers
of tests/test_notify_faults.py, and the one-reservoir workspace both notification modules start from."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Receiver:
    """A local webhook receiver: records each POSTed JSON body; answers `status` (200 unless a test sets 500)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if receiver.status == 200:
                    receiver.bodies.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Close the port: the receiver is 'down' from now on."""
        self.server.shutdown()
        self.server.server_close()


class Trickle:
    """A TCP server for the faults a webhook can have: `mode` "slow" answers one byte every `gap` seconds (for
    `limit` seconds at most), "redirect" answers 302 to `location`, "mute" accepts and closes without a word."""

    def __init__(self, mode: str, gap: float = 1.0, limit: float = 60.0, location: str = "") -> None:
        import socket

        self.mode, self.gap, self.limit, self.location = mode, gap, limit, location
        self.requests = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn) -> None:  # noqa: ANN001 - a socket
        import time

        with conn:
            try:
                conn.settimeout(self.limit)
                conn.recv(65536)
                if self.mode == "redirect":
                    head = f"HTTP/1.1 302 Found\r\nLocation: {self.location}\r\nContent-Length: 0\r\n\r\n"
                    conn.sendall(head.encode())
                elif self.mode == "slow":
                    end = time.monotonic() + self.limit
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                        if time.monotonic() > end or self.stopped.wait(self.gap):
                            return
                        conn.sendall(bytes([byte]))
            except OSError:
                return

    def stop(self) -> None:
        """Close the port and end the answers under way."""
        self.stopped.set()
        self.sock.close()


NAME = "Lake Alpha"
CSV = b"date,level\n2024-01-01,300.0\n2024-01-02,300.5\n2024-01-03,301.0\n"


def lake_alpha(root: Path):  # noqa: ANN201 - a Workspace (imported lazily: this module is imported by conftest)
    """A workspace at root holding three days of Lake Alpha's level."""
    from core.app.pipeline import import_csv
    from core.store.workspace import Workspace

    ws = Workspace(root)
    import_csv(ws, CSV, reservoir=NAME, filename="alpha.csv")
    return ws
