"""The screen an operator reads at a glance, in a real browser: nothing cut at 1280, 800 and 390 px on any page, and
the view (reservoir, hindcast date) kept in the address through refresh, back and links.

One server over one prepared workspace (tests/screen_support.py: the trained sample, and a reservoir with storage
in m³ *and* level in ft, a curve, a comparison, levels with a raised alert, one daily cycle), shared by the tests
of this module. With SAVE_SCREENSHOTS=1 the Overview and the Forecast at the three widths replace the README's
assets/screenshots/{overview,forecast}_{1280,800,390}.png.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

import pytest
from e2e_helpers import (
    ROOT,
    by_key,
    full_page_shot,
    headless_chromium,
    log_tail,
    open_page,
    running_app,
    select_option,
    selected,
    truncated,
    wait_for_app,
    wait_for_charts,
)

from core.data.sample import SAMPLE_NAME
from core.notify.messages import forecast_link
from tests.screen_support import TWO_VARIABLE, build

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make dev installs it)")

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

WIDTHS = (1280, 800, 390)
PAGES = ("", "data", "train", "forecast", "levels", "models", "alerts", "settings", "admin")  # '' is the Overview
MIN_ALERT_WIDTH = 240  # px: narrower, an alert wraps a word or less per line ("Drough / t watch")
ASSETS = ROOT / "assets" / "screenshots"
SHOTS_FOR_README = ("", "forecast")


@pytest.fixture(scope="module")
def screen_app(trained_sample, tmp_path_factory):
    """The app on the prepared workspace (built once for the module); always stopped."""
    folder = tmp_path_factory.mktemp("screen")
    workspace = folder / "ws"
    build(workspace, trained_sample[0].root)
    log = folder / "streamlit.log"
    with running_app(workspace, log) as url:
        yield url, log


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium; skips when it is not installed."""
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    """A fresh 1280x800 tab (its own session)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(90_000)
    yield tab
    context.close()


def narrow_alerts(page) -> list[tuple[str, int]]:
    """Alerts shown narrower than MIN_ALERT_WIDTH: (their text, width)."""
    return page.evaluate(
        """(least) => [...document.querySelectorAll('[data-testid="stAlertContainer"]')]
            .filter(el => el.getClientRects().length && el.clientWidth < least)
            .map(el => [el.innerText.trim().slice(0, 60), el.clientWidth])""",
        MIN_ALERT_WIDTH,
    )


def check_widths(page, where: str, shots, save: bool) -> list[str]:
    """At each width: nothing read first is cut, no alert squeezed (the Overview and Forecast also get a full-page
    screenshot, kept with the test's files). The problems found."""
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(300)  # Streamlit re-lays out the columns and containers
        cut = truncated(page)
        problems += [f"{where} at {width} px: {kind} cut: {text!r} ({s} > {c} px)" for kind, text, s, c in cut]
        problems += [f"{where} at {width} px: alert {w} px wide: {text!r}" for text, w in narrow_alerts(page)]
        if where in SHOTS_FOR_README:
            name = f"{where or 'overview'}_{width}.png"
            full_page_shot(page, [shots / name] + ([ASSETS / name] if save else []))
    page.set_viewport_size({"width": 1280, "height": 800})
    return problems


def test_nothing_an_operator_reads_first_is_cut_on_any_page_at_three_widths(screen_app, page, tmp_path):
    """Every page (and both Train tabs) at 1280, 800 and 390 px: no metric value or label, heading or alert text cut
    (scrollWidth beyond clientWidth under hidden overflow), no alert squeezed to a word per line."""
    url, log = screen_app
    save = os.environ.get("SAVE_SCREENSHOTS") == "1"
    problems: list[str] = []
    page.goto(f"{url}/?reservoir={quote(TWO_VARIABLE)}")
    wait_for_app(page, timeout=120_000)
    try:
        for path in PAGES:
            if path:
                open_page(page, path)
            wait_for_charts(page)
            assert page.locator('[data-testid="stException"]').count() == 0, f"/{path}: a traceback"
            if path == "train":
                for tab in ("Train one model", "Compare models"):
                    page.get_by_role("tab", name=tab).click()
                    wait_for_app(page)
                    problems += check_widths(page, f"train-{tab.split()[0].lower()}", tmp_path, save)
                continue
            problems += check_widths(page, path, tmp_path, save)
    except BaseException:
        print(f"server log:\n{log_tail(log)}")
        raise
    assert problems == [], "\n".join(problems)


def test_the_address_keeps_the_reservoir_and_the_hindcast_date(screen_app, page):
    """Refresh, a page switch, back, an alert e-mail's link and a bookmarked hindcast all open the same view."""
    url, _ = screen_app
    page.goto(forecast_link(url, SAMPLE_NAME))  # the link an alert e-mail carries
    wait_for_app(page, timeout=120_000)
    assert selected(page, "reservoir") == SAMPLE_NAME
    page.reload()
    wait_for_app(page)
    assert selected(page, "reservoir") == SAMPLE_NAME  # a refresh no longer jumps to the first reservoir

    open_page(page, "models")
    assert re.search(r"[?&]reservoir=Sample(\+|%20)Reservoir", page.url), page.url
    select_option(page, "reservoir", TWO_VARIABLE)
    assert "reservoir=" not in page.url  # the first reservoir is the picker's default: left out of the address
    page.go_back()
    wait_for_app(page)
    assert selected(page, "reservoir") == SAMPLE_NAME and "/forecast" in page.url

    page.goto(f"{url}/forecast?reservoir={quote(TWO_VARIABLE)}&forecast_as_of=2016-10-01")  # a bookmarked hindcast
    wait_for_app(page)
    assert selected(page, "reservoir") == TWO_VARIABLE
    assert by_key(page, "forecast_as_of").locator("input").input_value() == "2016-10-01"
    page.get_by_text("Hindcast issued as of 2016-10-01").wait_for()
    page.reload()
    wait_for_app(page)
    assert by_key(page, "forecast_as_of").locator("input").input_value() == "2016-10-01"
    by_key(page, "forecast_latest").get_by_role("button").click()
    wait_for_app(page)
    assert "forecast_as_of" not in page.url  # the latest forecast is the default: a bookmark of it stays the latest

    page.goto(f"{url}/forecast?reservoir=sample%20reservoir")  # a slip of case still finds it
    wait_for_app(page)
    assert selected(page, "reservoir") == SAMPLE_NAME
    page.goto(f"{url}/forecast?reservoir=Nowhere")
    wait_for_app(page)
    page.get_by_text("The link names a reservoir 'Nowhere' that is not in this workspace.").wait_for()
