"""The whole dashboard in a real browser: upload a reservoir, train it, forecast, download, check levels and models.

Drives `streamlit run app.py` with Debian's Chromium through Playwright (never a downloaded browser). Screenshots
are kept in the test's tmp folder; with SAVE_SCREENSHOTS=1 they also replace the README's assets/screenshots/*.png.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from e2e_helpers import (
    ROOT,
    VIEWPORT,
    by_key,
    full_page_shot,
    headless_chromium,
    log_tail,
    nav_links,
    open_page,
    running_app,
    select_option,
    selected,
    wait_for_app,
    wait_for_charts,
)

from core.app.importplan import LAYOUT_LABELS, RESERVOIR_LAYOUT
from core.data.sample import SAMPLE_NAME
from core.model.config import DEFAULT_MODEL
from core.model.zoo import ZOO
from pages.data import UPLOAD_KEY

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make dev installs it)")
PlaywrightTimeout = sync_api.TimeoutError

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

PALISADES = ROOT.parent / "shared" / "data" / "snake_river" / "Palisades.csv"
ASSETS = ROOT / "assets" / "screenshots"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TRAIN_TIMEOUT_S = 150
HORIZON = 7  # the default forecast horizon the Train page proposes
APP_NAVIGATION = {  # app.py's st.navigation: URL path -> title ('' is the default page, Overview)
    "": "Overview",
    "data": "Data",
    "train": "Train",
    "forecast": "Forecast",
    "levels": "Levels & alerts",
    "models": "Models",
    "alerts": "Alerts",
    "settings": "Settings",
    "admin": "Users & activity",  # without sign-in the local user is the administrator
}


@pytest.fixture
def app_server(tmp_path):
    """The app on a free port with an empty workspace (it loads the sample on first start); always stopped."""
    workspace = tmp_path / "ws"
    log = tmp_path / "streamlit.log"
    with running_app(workspace, log) as url:  # stops the server and the training it started, whatever happens
        yield url, workspace, log


@pytest.fixture
def browser_page(tmp_path):
    """A 1280x800 page in headless Debian Chromium; skips when Playwright or Chromium is missing."""
    with headless_chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        context.close()


def palisades_csv(tmp_path: Path) -> Path:
    """The real Palisades record beside the repo, else ~3 years of made-up readings under the same name."""
    if PALISADES.exists():
        return PALISADES
    days = pd.date_range("2020-01-01", periods=3 * 365, freq="D")
    t = np.arange(len(days))
    season = np.sin(2 * np.pi * t / 365.25)
    inflow = 4e6 + 3e6 * np.clip(season, 0, None) + np.random.default_rng(1).normal(0, 2e5, len(days))
    outflow = 3.5e6 + 1e6 * np.cos(2 * np.pi * t / 365.25)
    storage = 8e8 + np.cumsum(inflow - outflow) * 0.5
    path = tmp_path / "Palisades.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "storage": storage, "inflow": inflow, "outflow": outflow}).to_csv(
        path, index=False
    )
    return path


def no_errors(page, where: str) -> None:
    """No traceback and no red error box: everything the test does is meant to work."""
    assert page.locator('[data-testid="stException"]').count() == 0, f"{where}: a traceback is on the page"
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"{where}: error shown: {errors.all_inner_texts()}"


def test_operator_journey(app_server, browser_page, tmp_path):
    """Upload Palisades, train 2 epochs, forecast and download PNG + CSV, then see levels and models."""
    url, workspace, log = app_server
    page = browser_page
    shots = tmp_path / "screenshots"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    save_assets = os.environ.get("SAVE_SCREENSHOTS") == "1"
    timings: dict[str, float] = {}

    def shot(name: str) -> None:
        paths = [shots / f"{name}.png"]
        if save_assets and "-" not in name:  # only the README's six stable names go to assets/
            paths.append(ASSETS / f"{name}.png")
        full_page_shot(page, paths)

    def lap(step: str, started: float) -> float:
        timings[step] = time.monotonic() - started
        return time.monotonic()

    t = time.monotonic()
    try:
        # 1. Overview: the first start loaded the sample reservoir into the empty workspace.
        page.goto(url + "/")
        page.wait_for_selector('[data-testid="stApp"]')
        wait_for_app(page, timeout=90_000)
        page.get_by_role("heading", name="Overview").wait_for()
        page.get_by_role("heading", name="Sample Reservoir").wait_for()
        page.get_by_text("No model yet").wait_for()
        wait_for_charts(page)
        no_errors(page, "overview")
        shot("overview-first-start")  # the README's overview.png is taken at the end, with Palisades trained
        t = lap("overview", t)

        # 2. Data: upload the Palisades file, check how it was read, import it.
        source = palisades_csv(tmp_path)
        data = source.read_bytes()
        fk = f"data_f{hashlib.sha256(data).hexdigest()[:12]}_1_"  # pages/data.py file_keys(): one file, first copy
        open_page(page, "data")
        page.get_by_role("heading", name="Data", exact=True).wait_for()
        # the page's main uploader (the stored-data panel has its own, for a storage-elevation curve)
        by_key(page, UPLOAD_KEY).locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(source))
        page.get_by_role("heading", name="Palisades.csv").wait_for()
        wait_for_app(page)
        page.get_by_text(re.compile(r"days, \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d .*dates from")).wait_for()
        checked = by_key(page, f"{fk}layout").locator("label:has(input:checked)")
        assert LAYOUT_LABELS[RESERVOIR_LAYOUT] in checked.inner_text()
        assert by_key(page, f"{fk}name").locator("input").input_value() == "Palisades"
        wait_for_charts(page)
        no_errors(page, "data before import")
        import_button = by_key(page, f"{fk}import").get_by_role("button")
        assert import_button.is_enabled(), page.locator(".stCaption").all_inner_texts()
        import_button.click()
        result = page.get_by_text(re.compile(r"^Palisades: [\d,]+ readings added, 0 changed, 0 unchanged\.$"))
        result.wait_for()
        added = int(re.search(r"([\d,]+) readings added", result.inner_text()).group(1).replace(",", ""))
        assert added > 3000, result.inner_text()  # 3 variables x years of days
        wait_for_app(page)
        page.get_by_role("heading", name="Stored data: Palisades").wait_for()
        wait_for_charts(page)
        no_errors(page, "data after import")
        shot("data")
        t = lap("data", t)

        # 3. Train: Palisades, target storage, 2 epochs; follow the live view until the result shows.
        open_page(page, "train")
        select_option(page, "reservoir", "Palisades")
        assert selected(page, "reservoir") == "Palisades"
        page.get_by_role("heading", name="Train", exact=True).wait_for()
        assert selected(page, "train_target").startswith("storage")
        epochs = by_key(page, "train_epochs").locator("input")
        epochs.fill("2")
        epochs.press("Enter")
        wait_for_app(page)
        assert epochs.input_value() == "2"
        by_key(page, "train_start").get_by_role("button").click()
        page.get_by_text(re.compile(r"Training in progress|Result: version")).first.wait_for()
        result_heading = page.get_by_role("heading", name=re.compile(r"^Result: version \d+"))
        live_chart = page.locator(".st-key-train_loss_live .main-svg")
        failed = page.get_by_text(re.compile(r"The last training run .* (failed|was interrupted)"))
        caught_live = False
        deadline = time.monotonic() + TRAIN_TIMEOUT_S
        while not result_heading.is_visible():
            assert not failed.is_visible(), failed.inner_text() + "\n" + log_tail(workspace / "jobs" / "job-1.log")
            assert time.monotonic() < deadline, f"training did not finish in {TRAIN_TIMEOUT_S} s:\n" + log_tail(
                workspace / "jobs" / "job-1.log"
            )
            if not caught_live and live_chart.count() and page.get_by_text(re.compile(r"^Epoch [12] of 2$")).count():
                with contextlib.suppress(PlaywrightTimeout):  # between two polls: not greyed out as stale
                    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=2000)
                shot("train-live")  # the loss chart while training (an artifact only; timing-dependent)
                caught_live = True
            page.wait_for_timeout(500)
        wait_for_app(page)
        page.get_by_text("Version 1 is the active model: forecasts use it.").wait_for()
        page.get_by_text(re.compile(r"^Training finished: [12] epochs")).wait_for()
        wait_for_charts(page)
        no_errors(page, "train result")
        shot("train")
        t = lap("train", t)

        # 4. Forecast: the chart, then the CSV table and the PNG image downloads.
        open_page(page, "forecast")
        page.get_by_role("heading", name="Forecast", exact=True).wait_for()
        by_key(page, "forecast_chart").locator(".main-svg").first.wait_for()
        page.get_by_role("heading", name="Forecast days").wait_for()
        wait_for_charts(page)
        no_errors(page, "forecast")
        shot("forecast")

        with page.expect_download() as csv_download:
            by_key(page, "forecast_dl_csv").get_by_role("button").click()
        csv_path = downloads / csv_download.value.suggested_filename
        csv_download.value.save_as(csv_path)
        assert csv_path.name.startswith("Palisades_v1_") and csv_path.suffix == ".csv"
        text = csv_path.read_bytes().decode("utf-8-sig")
        lines = text.splitlines()
        comments = [line for line in lines if line.startswith("#")]
        assert lines[: len(comments)] == comments, "the '# ...' lines that say what the table is come first"
        said = dict(line[1:].strip().partition(": ")[::2] for line in comments)
        assert said["reservoir"] == "Palisades", comments
        assert said["variable"].startswith("storage"), comments
        assert re.match(r"1\b", said["model version"]), comments
        assert re.match(r"\d{4}-\d\d-\d\d\b", said["issued"]), comments
        lines = lines[len(comments) :]
        rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
        assert len(rows) == HORIZON, rows
        assert [int(r["lead_days"]) for r in rows] == list(range(1, HORIZON + 1))
        storage_column = next(c for c in rows[0] if c.startswith("storage"))
        assert all(float(r[storage_column]) > 0 for r in rows)

        by_key(page, "forecast_prepare").get_by_role("button").click()
        png_button = by_key(page, "forecast_dl_png").get_by_role("button")
        png_button.wait_for(timeout=120_000)  # kaleido drives Chromium on the server: a few seconds
        wait_for_app(page)
        no_errors(page, "forecast images")
        with page.expect_download() as png_download:
            png_button.click()
        png_path = downloads / png_download.value.suggested_filename
        png_download.value.save_as(png_path)
        png = png_path.read_bytes()
        assert png_path.suffix == ".png"
        assert png.startswith(PNG_SIGNATURE)
        assert len(png) > 10_000, len(png)
        t = lap("forecast", t)

        # 5. Levels & alerts and Models: the tables an operator checks.
        open_page(page, "levels")
        page.get_by_role("heading", name="Levels & alerts").wait_for()
        page.get_by_role("heading", name="Operating levels").wait_for()
        page.locator('[data-testid="stDataFrame"]').first.wait_for()
        page.get_by_role("heading", name="How trustworthy the bands are").wait_for()
        wait_for_app(page)
        no_errors(page, "levels")
        shot("levels")

        open_page(page, "models")
        page.get_by_role("heading", name="Models", exact=True).wait_for()
        page.locator('[data-testid="stDataFrame"]').first.wait_for()
        assert selected(page, "models_version") == f"version 1 · {ZOO[DEFAULT_MODEL].label} (active)"
        wait_for_charts(page)
        no_errors(page, "models")
        shot("models")
        t = lap("levels+models", t)

        # 6. Back to the Overview: Palisades now has a card with its model and forecast next to the sample.
        open_page(page, "")
        page.get_by_role("heading", name="Palisades").wait_for()
        page.get_by_text(re.compile(rf"Model v1 · {re.escape(ZOO[DEFAULT_MODEL].label)} \(storage\)")).wait_for()
        said = r"Forecast (issued \d{4}-\d\d-\d\d|from the last reading \([\d,]+ days ago\)): "  # Palisades ends 2016
        page.get_by_text(re.compile(said)).wait_for()
        wait_for_charts(page)
        no_errors(page, "overview after training")
        shot("overview")
        lap("overview again", t)
    except BaseException:
        try:
            full_page_shot(page, [shots / "failure.png"])
        except Exception as exc:  # noqa: BLE001 - keep the original failure
            print(f"no failure screenshot: {exc}")
        print(f"server log:\n{log_tail(log)}")
        raise
    finally:
        print("step seconds:", {k: round(v, 1) for k, v in timings.items()})


def test_bookmarked_page_url_opens_in_the_full_app(app_server, browser_page):
    """A fresh server whose FIRST request is a page URL (a bookmark): app.py's shell, not the bare page file.

    With a pages/ folder, Streamlit runs such a first request in its old multipage mode, which skips app.py:
    no start-up (the sample never loads), no reservoir picker, and a sidebar listing every file in pages/.
    pages/common.run_page runs app.py in its place (its st.navigation replaces that list).
    """
    url, _, log = app_server
    page = browser_page
    page.goto(url + "/levels")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_for_app(page, timeout=90_000)

    page.get_by_role("heading", name="Levels & alerts").wait_for()
    assert page.url.rstrip("/").endswith("/levels")
    links = nav_links(page)
    assert set(links) == set(APP_NAVIGATION), links  # app.py's six pages, not the files in pages/
    for path, title in APP_NAVIGATION.items():
        assert title in links[path], links
    assert selected(page, "reservoir") == SAMPLE_NAME  # app.py's start-up loaded the sample, its picker shows it
    assert by_key(page, "levels_save").count() == 1  # the page itself drew, with the sample's levels
    no_errors(page, "bookmarked /levels")
    assert "bookmarked page URL" not in log_tail(log, 100_000)  # the shell fix ran, not its fallback
