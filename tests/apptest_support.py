"""Helpers the AppTest page tests share: name a workspace to the app, start it, open a page, read what it shows.

AppTest 1.67 resolves a switched-to page like an old-style multipage app (the app has a pages/ folder) and runs that
page file first; pages/common.run_page then runs app.py in its place, as for a bookmarked URL in a browser, so the
sidebar and its picker are there. `run` still sets the picked reservoir, so each test says which one it means.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.sample import SAMPLE_NAME
from core.store.workspace import Job, Workspace

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TEXT_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success")


def use_workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Name a workspace folder to the app (SENTINEL_WORKSPACE), as an operator's start script does."""
    monkeypatch.setenv("SENTINEL_WORKSPACE", str(root))
    return Workspace(root)


def private_copy(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A copy of a prepared workspace that one test may change, named to the app."""
    root = tmp_path / "ws"
    shutil.copytree(source, root)
    return use_workspace(root, monkeypatch)


def start_app() -> AppTest:
    """The real app on its default page (Overview)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def run(at: AppTest, reservoir: str = SAMPLE_NAME) -> AppTest:
    """Rerun with a reservoir picked; the page must not fail."""
    at.session_state["reservoir"] = reservoir
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(page: str, reservoir: str = SAMPLE_NAME) -> AppTest:
    """Start the real app and switch to pages/<page>.py."""
    at = start_app()
    at.switch_page(f"pages/{page}.py")
    return run(at, reservoir)


def texts(at: AppTest, kinds: tuple[str, ...] = TEXT_KINDS) -> str:
    """Everything of some kinds written on the page, as read on screen (markdown escapes removed)."""
    return "\n".join(str(e.value) for kind in kinds for e in at.get(kind)).replace("\\", "")


JOB_TIMEOUT_S = 60


def wait_for(ws: Workspace, job_id: int) -> Job:
    """Poll the store the way the page does until the job process finishes."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job = ws.job(job_id)
        if not job.active:
            return job
        time.sleep(0.5)
    pytest.fail(f"{ws.job(job_id).kind} job {job_id} did not finish in {JOB_TIMEOUT_S} s: {ws.job(job_id)}")
