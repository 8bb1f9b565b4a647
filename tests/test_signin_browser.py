"""Sign-in in a real browser: Streamlit's st.login against a local OpenID Connect provider on 127.0.0.1.

The provider is oidc-provider-mock (pinned 0.3.4): its authorize form takes any subject, so the test signs in as
the viewer and then as the operator an administrator added with `python -m core users`, and checks what each may do.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from core.app.compare import compare_models
from core.data.sample import SAMPLE_NAME
from core.store.workspace import Workspace
from tests.conftest import tiny_config
from tests.e2e_helpers import (
    VIEWPORT,
    enabled_controls,
    free_port,
    headless_chromium,
    nav_links,
    open_page,
    running_app,
    wait_for_app,
)

pytest.importorskip("playwright.sync_api", reason="playwright is installed by make test")
oidc = pytest.importorskip("oidc_provider_mock", reason="oidc-provider-mock is installed by make test")

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "screenshots"
FAST = ("persistence", "climatology", "ridge")
TRAIN_TABS = {  # tab -> the lock line a viewer sees there instead of the write control
    "Train one model": "Training a model needs the operator role",
    "Compare models": "Activating a compared version needs the operator role",  # was a live Activate button
}
INTERNAL_NAMES = ("access", "common", "data balance", "train jobs", "train form", "overview fleet", "bulletin button")
# What a viewer may use: reading controls (pickers, dates, chart options, what-if inputs that store nothing), the
# exports, navigation and signing out. Any other enabled control on any page is a write control left live.
VIEWER_MAY_USE = re.compile(
    r"^(reservoir|sign_out|overview_open_\d+|\w+_bulletin|data_example|data_stored_\w+|train_mode"
    r"|train_compare_(lead|shown|metric)|forecast_(as_of|latest|show_as|version|prepare|dl_\w+|whatif_\w+)"
    r"|levels_(trigger|version)|models_version|alerts_scope)$"
)


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


def _with_comparison(ws: Workspace) -> None:
    """A finished comparison of the fast members as the Compare tab shows it (its activate control included)."""
    config = tiny_config()
    job = ws.create_job(SAMPLE_NAME, "compare", {"config": config.to_dict(), "models": list(FAST)})
    board = compare_models(ws, SAMPLE_NAME, config, FAST, activate_best=False)
    ws.update_job(job, status="done", message="compared", result=json.loads(json.dumps(board)))


@pytest.fixture
def signed_in_server(trained_sample, tmp_path, request):
    """The app with sign-in configured, a viewer and an operator in its workspace, and the provider running
    (a test marked `with_comparison` also gets a finished comparison)."""
    root = tmp_path / "ws"
    shutil.copytree(trained_sample[0].root, root)
    ws = Workspace(root)
    ws.set_user("vera", "viewer", "vera@utility.example")
    ws.set_user("otto", "operator", "otto@utility.example")
    if request.node.get_closest_marker("with_comparison"):
        _with_comparison(ws)
    port = free_port()
    with oidc.run_server_in_thread(port=free_port()) as provider:
        secrets = _secrets(tmp_path / "secrets.toml", port, provider.server_port)
        with running_app(root, tmp_path / "streamlit.log", port, ["--secrets.files", str(secrets)]) as url:
            yield url, ws


@pytest.fixture
def browser():
    """Headless Debian Chromium; skips when it is not installed."""
    with headless_chromium() as chromium:
        yield chromium


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


@pytest.mark.with_comparison
def test_first_deep_request_shows_no_internal_names_and_a_viewer_finds_no_live_write_control(signed_in_server, browser):
    """A fresh server with sign-in: the very first request is a deep URL to a module that is not a page (Streamlit's
    pages/ discovery would list every file there); then a viewer walks every page and both Train tabs and finds
    no enabled control that writes (each is hidden, or says which role it needs)."""
    url, _ = signed_in_server
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(60_000)
    page.goto(url + "/train_jobs")
    wait_for_app(page, timeout=90_000)
    assert nav_links(page) == {}  # no navigation before sign-in, and never the files in pages/
    shown = page.locator("body").inner_text().lower()
    assert not [name for name in INTERNAL_NAMES if name in shown], shown[:500]
    assert page.get_by_role("button", name="Sign in").count() == 1
    page.keyboard.press("Escape")  # Streamlit's "page not found" note: /train_jobs is no page of the app

    viewer = _sign_in(browser, url, "vera")
    live: dict[str, list[str]] = {}
    for path in nav_links(viewer):
        open_page(viewer, path)
        tabs = TRAIN_TABS if path == "train" else {None: None}
        for tab, lock in tabs.items():
            if tab:
                viewer.get_by_role("tab", name=tab).click()
                viewer.get_by_text(lock).wait_for()  # the tab has drawn: its write control says the role it needs
                wait_for_app(viewer)
            wrong = [key for key in enabled_controls(viewer) if not VIEWER_MAY_USE.match(key)]
            if wrong:
                live[f"/{path}" + (f" ({tab})" if tab else "")] = wrong
    assert live == {}, live

