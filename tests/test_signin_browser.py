"""Sign-in in a real browser: Streamlit's st.login against a local OpenID Connect provider on 127.0.0.1.

The provider is oidc-provider-mock (pinned 0.3.4): its authorize form takes any subject, so the test signs in as
the viewer and then as the operator an administrator added with `python -m core users`, and checks what each may do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.data.sample import SAMPLE_NAME
from core.store.workspace import Workspace
from tests.e2e_helpers import (
    CHROMIUM_ARGS,
    VIEWPORT,
    chromium_path,
    free_port,
    kill_jobs,
    open_page,
    start_app,
    stop_process_group,
    wait_for_app,
    wait_healthy,
)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed by make test")
oidc = pytest.importorskip("oidc_provider_mock", reason="oidc-provider-mock is installed by make test")

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "screenshots"


def _secrets(path: Path, app_port: int, provider_port: int) -> Path:
    """The [auth] section an operator writes in .streamlit/secrets.toml, pointing at the local provider."""
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        'cookie_secret = "a-long-random-secret-for-the-test-only"\n'
        'client_id = "reservoir-sentinel"\n'
        'client_secret = "test-client-secret"\n'
        f'server_metadata_url = "http://127.0.0.1:{provider_port}/.well-known/openid-configuration"\n'
    )
    return path


@pytest.fixture
def signed_in_server(trained_sample, tmp_path):
    """The app with sign-in configured, a viewer and an operator in its workspace, and the provider running."""
    root = tmp_path / "ws"
    shutil.copytree(trained_sample[0].root, root)
    ws = Workspace(root)
    ws.set_user("vera", "viewer", "vera@utility.example")
    ws.set_user("otto", "operator", "otto@utility.example")
    port = free_port()
    with oidc.run_server_in_thread(port=free_port()) as provider:
        secrets = _secrets(tmp_path / "secrets.toml", port, provider.server_port)
        log = tmp_path / "streamlit.log"
        proc = start_app(port, root, log, ["--secrets.files", str(secrets)])
        try:
            wait_healthy(proc, port, log)
            yield f"http://127.0.0.1:{port}", ws
        finally:
            stop_process_group(proc)
            kill_jobs(root)


@pytest.fixture
def browser():
    """Headless Debian Chromium; skips when it is not installed."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (make test installs Debian's chromium package)")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _sign_in(browser, url: str, subject: str):
    """A fresh browser session that signs in as `subject` through the provider's form; returns the page."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    wait_for_app(page)
    assert page.get_by_text(SAMPLE_NAME).count() == 0  # anonymous: nothing but the sign-in
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector('input[name="sub"]')
    page.fill('input[name="sub"]', subject)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**")
    wait_for_app(page)
    return page


def test_viewer_and_operator_sign_in(signed_in_server, browser):
    """A viewer reads but cannot change the levels; an operator can; neither sees the users page."""
    url, _ = signed_in_server
    viewer = _sign_in(browser, url, "vera")
    sidebar = viewer.locator('[data-testid="stSidebar"]')
    assert "Signed in as" in sidebar.inner_text() and "viewer" in sidebar.inner_text()
    open_page(viewer, "levels")
    assert viewer.get_by_role("button", name="Save levels").count() == 0
    assert "needs the operator role" in viewer.locator('[data-testid="stMain"]').inner_text()
    assert viewer.locator('[data-testid="stSidebarNavLink"][href$="/admin"]').count() == 0
    ASSETS.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(path=str(ASSETS / "signin_viewer_levels.png"))

    operator = _sign_in(browser, url, "otto")
    open_page(operator, "levels")
    assert operator.get_by_role("button", name="Save levels").count() == 1
    assert "operator" in operator.locator('[data-testid="stSidebar"]').inner_text()


def test_unknown_subject_is_told_to_ask(signed_in_server, browser):
    """Someone the provider knows but the workspace does not: the 'ask an administrator' page, no data."""
    url, _ = signed_in_server
    page = _sign_in(browser, url, "stranger")
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Ask an administrator" in text and "users --add stranger --role viewer" in text
    assert page.get_by_text(SAMPLE_NAME).count() == 0
