"""Helpers for the real-browser test: start the app on a free port, find Debian's Chromium, wait for Streamlit.

Plain functions (no fixtures) so the browser test reads as the steps an operator takes. Elements are found by
Streamlit's test ids and by the `st-key-<key>` class Streamlit puts on every widget given a `key=`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
MAX_SHOT_HEIGHT = 8000  # px; a runaway layout must not make a gigantic PNG


def chromium_path() -> str | None:
    """Debian's Chromium (never a downloaded one); None when it is not installed."""
    for candidate in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright; the test skips when either is missing."""
    import pytest

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make dev installs it)")
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (make test installs Debian's chromium package)")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it), so parallel runs never collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(port: int, workspace: Path, log_path: Path, extra: Sequence[str] = ()) -> subprocess.Popen:
    """`streamlit run app.py` headless in its own process group, on `port`, with its own workspace (and `extra`
    server options, e.g. a secrets file)."""
    env = {
        **os.environ,
        "SENTINEL_WORKSPACE": str(workspace),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",  # other work in the checkout must not prompt a rerun mid-test
        "--browser.gatherUsageStats",
        "false",
        *extra,
    ]
    log = open(log_path, "wb")  # noqa: SIM115 - handed to the child process
    try:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()


@contextlib.contextmanager
def running_app(workspace: Path, log_path: Path, port: int | None = None, extra: Sequence[str] = ()) -> Iterator[str]:
    """The app serving `workspace` until the block ends (its URL); the server and the workspace's training
    processes (each in its own session) are always stopped, so a failed test leaves nothing running."""
    port = port or free_port()
    proc = start_app(port, workspace, log_path, extra)
    try:
        wait_healthy(proc, port, log_path)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process_group(proc)
        kill_jobs(workspace)


def wait_healthy(proc: subprocess.Popen, port: int, log_path: Path, timeout: float = 90.0) -> None:
    """Block until /_stcore/health says ok; fail with the server log when it dies or never answers."""
    url = f"http://127.0.0.1:{port}/_stcore/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                if response.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"streamlit did not answer on {url} within {timeout:.0f} s:\n{log_tail(log_path)}")


def stop_process_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the server's process group, SIGKILL what is left after `grace` seconds."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=grace)


def job_pids(workspace: Path) -> list[int]:
    """`python -m core --workspace <workspace> run-job N` processes (training jobs run in their own session)."""
    pids = []
    target = str(workspace)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if "run-job" in args and "--workspace" in args:
            i = args.index("--workspace")
            if i + 1 < len(args) and args[i + 1] == target:
                pids.append(int(entry.name))
    return pids


def kill_jobs(workspace: Path) -> list[int]:
    """End this workspace's training processes (each leads its own process group); returns the pids hit."""
    pids = job_pids(workspace)
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return pids


def log_tail(path: Path, chars: int = 4000) -> str:
    """The end of a log file, for failure messages."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


# ----------------------------------------------------------------------------- in the browser


def wait_for_app(page: Any, timeout: float = 60_000, settle_ms: int = 300) -> None:
    """Connected and no script run in progress (the 'Running...' status widget gone)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout)
    page.wait_for_timeout(settle_ms)  # a click's rerun may take a moment to start
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout)
    # Widgets and charts load their code lazily and show a skeleton until then (slow on a busy machine).
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout)
    tracebacks = page.locator('[data-testid="stException"]')
    if tracebacks.count():  # fail now with the message, not later on a missing element
        raise AssertionError(f"the app shows an exception on {page.url}:\n{tracebacks.first.inner_text()[:2000]}")


def wait_for_charts(page: Any, timeout: float = 60_000) -> None:
    """Every plotly chart on the page has drawn its SVG (plotly renders after the element appears)."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                   .every(el => el.querySelector('.main-svg'))""",
        timeout=timeout,
    )


def open_page(page: Any, url_path: str) -> None:
    """Click the sidebar link to a page (same browser session, so the reservoir choice is kept)."""
    link = page.locator(f'[data-testid="stSidebarNavLink"][href$="/{url_path}"]')
    link.click()
    page.wait_for_url(re.compile(rf"/{re.escape(url_path)}(\?.*)?$"))  # the address keeps ?reservoir=NAME
    wait_for_app(page)


def nav_links(page: Any) -> dict[str, str]:
    """The sidebar navigation as URL path -> link text ('' for the default page at /)."""
    links = page.locator('[data-testid="stSidebarNavLink"]')
    pairs = links.evaluate_all("els => els.map(e => [new URL(e.href).pathname, e.innerText])")
    return {path.rstrip("/").rsplit("/", 1)[-1]: text.strip() for path, text in pairs}


def by_key(page: Any, key: str) -> Any:
    """The element container of the widget with `key=` (Streamlit adds the class st-key-<key>)."""
    return page.locator(f".st-key-{key}")


def select_option(page: Any, key: str, option: str) -> None:
    """Choose `option` in the selectbox with `key`."""
    by_key(page, key).get_by_role("button", name="Open").click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def selected(page: Any, key: str) -> str:
    """The text shown in the selectbox with `key` (its combobox input)."""
    return by_key(page, key).get_by_role("combobox").input_value()


def full_page_shot(page: Any, paths: list[Path]) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main block, so grow the viewport to fit."""
    height = page.evaluate(
        """() => Math.max(...['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]',
                               '[data-testid="stMainBlockContainer"]']
            .map(s => document.querySelector(s)).filter(Boolean).map(e => e.scrollHeight),
            document.documentElement.scrollHeight)"""
    )
    size = page.viewport_size or VIEWPORT
    page.set_viewport_size({"width": size["width"], "height": min(max(int(height), size["height"]), MAX_SHOT_HEIGHT)})
    try:
        page.wait_for_timeout(700)  # charts re-layout after the resize
        data = page.screenshot(full_page=True, animations="disabled")
    finally:
        page.set_viewport_size(size)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# What an operator reads first: a cut-off value, label, heading or alert is a bug (issue 20).
READ_FIRST = {
    "metric value": '[data-testid="stMetricValue"]',
    "metric label": '[data-testid="stMetricLabel"]',
    "metric delta": '[data-testid="stMetricDelta"]',
    "heading": '[data-testid="stHeading"], [data-testid="stHeadingWithActionElements"]',
    "alert": '[data-testid="stAlertContainer"]',
}
_TRUNCATED_JS = """(groups) => {
  const cut = (el) => {
    const s = getComputedStyle(el);
    const hides = ['hidden', 'clip'].includes(s.overflowX) || s.textOverflow === 'ellipsis';
    return hides && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0;
  };
  const out = [];
  for (const [kind, selector] of Object.entries(groups)) {
    for (const root of document.querySelectorAll(selector)) {
      if (!root.offsetParent && root.getClientRects().length === 0) continue;  // not shown
      const hit = [root, ...root.querySelectorAll('*')].find(cut);
      if (hit) out.push([kind, root.innerText.trim().slice(0, 80), hit.scrollWidth, hit.clientWidth]);
    }
  }
  return out;
}"""


def truncated(page: Any) -> list[tuple[str, str, int, int]]:
    """Every value, label, heading or alert shown cut off: (kind, its text, scrollWidth, clientWidth)."""
    return [tuple(hit) for hit in page.evaluate(_TRUNCATED_JS, READ_FIRST)]


_CONTROLS_JS = """() => {
  const skip = '[data-testid="stPlotlyChart"], [data-testid="stElementToolbar"], [data-testid="stSidebarNav"], '
    + '[data-testid="stSidebarCollapseButton"], [data-testid="stHeader"], [data-testid="stToolbar"]';
  const controls = 'button[data-testid^="stBaseButton"], input, textarea, [contenteditable="true"]';
  const live = [...document.querySelectorAll(controls)].filter(el =>
    !el.disabled && !el.readOnly && el.getAttribute('aria-disabled') !== 'true' && el.type !== 'hidden'
    && el.getClientRects().length && !el.closest(skip));
  const keys = new Set(live.map(el => {
    const holder = el.closest('[class*="st-key-"]');
    return holder ? holder.className.match(/st-key-([^ ]+)/)[1] : '(no key) ' + (el.innerText || el.type).slice(0, 40);
  }));
  return [...keys].sort();
}"""


def enabled_controls(page: Any) -> list[str]:
    """The widget keys of every enabled button, input or editable cell shown (chart and table toolbars left out)."""
    return page.evaluate(_CONTROLS_JS)

