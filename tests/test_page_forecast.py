"""Forecast page driven through the real app with AppTest (latest forecast, hindcast, empty and error states, the
low-skill warning) and its exports checked byte by byte through the same functions the page calls."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from core import export
from core.pipeline import forecast_reservoir, import_csv
from core.sample import SAMPLE_NAME
from core.store import Workspace
from pages import forecast as page

ROOT = Path(__file__).resolve().parents[1]
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HINDCAST_DAY = dt.date(2020, 6, 1)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Workspace objects, models and forecasts are cached per process; each test starts clean."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def trained_ws(trained_sample, tmp_path, monkeypatch) -> Workspace:
    """A private copy of the tiny trained sample workspace, named to the app through SENTINEL_WORKSPACE."""
    ws, _ = trained_sample
    root = tmp_path / "ws"
    shutil.copytree(ws.root, root)
    monkeypatch.setenv("SENTINEL_WORKSPACE", str(root))
    return Workspace(root)


@pytest.fixture
def downloads(monkeypatch) -> dict[str, tuple[str, bytes]]:
    """Bytes handed to st.download_button, by download file name (AppTest keeps them in a throwaway media store)."""
    seen: dict[str, tuple[str, bytes]] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):  # noqa: ANN001, ANN202 - streamlit's signature
        if filename and isinstance(path_or_data, bytes):
            seen[filename] = (mimetype, path_or_data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return seen


def run(at: AppTest) -> AppTest:
    """Rerun with the sample reservoir picked (AppTest runs a switched-to page without app.py's sidebar picker)."""
    at.session_state["reservoir"] = SAMPLE_NAME
    at.run()
    assert not at.exception, at.exception
    return at


def open_forecast() -> AppTest:
    """Start the real app and switch to the Forecast page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/forecast.py")
    return run(at)


def texts(at: AppTest) -> str:
    """Everything written on the page as one string (markdown escapes removed), for 'the user reads X' checks."""
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(e.value) for e in at.get(kind)]
    return "\n".join(parts).replace("\\", "")


def table(at: AppTest) -> pd.DataFrame:
    """The forecast table as the page shows it."""
    assert len(at.dataframe) == 1
    return at.dataframe[0].value


def chart_spec(at: AppTest) -> dict:
    """The plotly figure the page sent to the browser."""
    charts = at.get("plotly_chart")
    assert len(charts) == 1, "the page should draw exactly one forecast chart"
    return json.loads(charts[0].proto.spec)


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    """Metric label -> (value, delta)."""
    return {m.label: (m.value, m.delta) for m in at.metric}


def csv_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Comment header lines and the CSV rows of an exported table."""
    text = data.decode("utf-8-sig")
    lines = text.splitlines()
    comments = [line for line in lines if line.startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(line for line in lines if not line.startswith("#")))))
    return comments, rows


def check_csv(data: bytes, forecast_issued: str, version: int) -> list[list[str]]:
    """Header lines name reservoir/version/issue date/unit; then a column row and 7 forecast days."""
    comments, rows = csv_rows(data)
    assert f"# reservoir: {SAMPLE_NAME}" in comments
    assert f"# model version: {version}" in comments
    assert f"# issued: {forecast_issued}" in comments
    assert "# unit: m" in comments
    header, body = rows[0], rows[1:]
    assert header[:3] == ["date", "lead_days", "level (m)"]
    assert len(body) == 7
    assert all(ISO_DAY.match(r[0]) for r in body)
    assert [int(r[1]) for r in body] == list(range(1, 8))
    return rows


# ------------------------------------------------------------------------------------------------ page


def test_latest_forecast_shows_chart_metrics_table_and_downloads(trained_ws, downloads):
    """The default view: the active version's forecast from the latest readings, with units, ISO dates and exports."""
    at = open_forecast()
    last_day = trained_ws.reservoir(SAMPLE_NAME).last
    expected = forecast_reservoir(trained_ws, SAMPLE_NAME)
    assert expected.issued == last_day

    spec = chart_spec(at)
    title = spec["layout"]["title"]["text"]
    assert SAMPLE_NAME in title and "v1" in title and last_day in title and "(m)" in title
    assert {"observed", "forecast"} <= {t.get("name") for t in spec["data"]}
    observed = next(t for t in spec["data"] if t.get("name") == "observed")
    assert str(observed["x"][-1]).startswith(last_day)  # history runs up to the issue date
    assert 80 <= len(observed["x"]) <= 90  # about 90 days of observations, not the whole record
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"]["filename"] == f"Sample-Reservoir_v1_{last_day}"

    shown = metrics(at)
    value, _ = shown[f"Observed level on {last_day}"]
    assert value == f"{expected.last_observed['value']:.2f} m"
    day7 = expected.points[-1]
    value, delta = shown[f"Forecast for {day7.date} (day 7)"]
    assert value == f"{day7.value:.2f} m"
    assert delta.endswith(f"m vs {last_day}")
    assert shown["Model (the active version)"][0] == "version 1"
    assert "'tomorrow = today'" in shown["Model (the active version)"][1]

    frame = table(at)
    assert len(frame) == 7
    assert all(ISO_DAY.match(d) for d in frame["date"])
    assert list(frame["date"]) == [p.date for p in expected.points]
    assert list(frame["lead_days"]) == list(range(1, 8))
    assert frame["level (m)"].tolist() == pytest.approx([p.value for p in expected.points])
    assert not any(c.startswith("observed") for c in frame.columns)  # nothing observed after the latest day yet
    assert "What this forecast is" in texts(at)

    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Interactive chart (HTML)", "Forecast table (CSV)"]
    assert at.button(key="forecast_prepare").label == "Prepare PNG, SVG and PDF"
    stem = f"Sample-Reservoir_v1_{last_day}"
    mime, html = downloads[f"{stem}.html"]
    assert mime == "text/html" and b"<html" in html[:200] and b"<script src=\"http" not in html
    mime, data = downloads[f"{stem}.csv"]
    assert mime == "text/csv"
    check_csv(data, last_day, 1)


def test_hindcast_overlays_what_happened(trained_ws):
    """An earlier as-of date issues the forecast as if on that day and shows the stored truth beside it."""
    at = open_forecast()
    at.date_input(key="forecast_as_of").set_value(HINDCAST_DAY)
    run(at)

    frame = table(at)
    days = pd.date_range(HINDCAST_DAY + dt.timedelta(days=1), periods=7)
    assert list(frame["date"]) == [d.date().isoformat() for d in days]
    truth = trained_ws.readings(SAMPLE_NAME, ["level"])["level"].reindex(days)
    assert frame["observed level (m)"].tolist() == pytest.approx(truth.tolist())
    assert f"Hindcast issued as of {HINDCAST_DAY.isoformat()}" in texts(at)
    assert f"Observed level on {HINDCAST_DAY.isoformat()}" in metrics(at)
    names = {t.get("name") for t in chart_spec(at)["data"]}
    assert "observed (after issue)" in names

    at.button(key="forecast_latest").click()
    run(at)
    last_day = trained_ws.reservoir(SAMPLE_NAME).last
    assert at.date_input(key="forecast_as_of").value.isoformat() == last_day
    assert f"Observed level on {last_day}" in metrics(at)


def test_missing_recent_readings_explain_and_suggest_earlier_date(trained_ws):
    """Level-only days after the record: the latest forecast falls back to the last complete day; a date in the
    gap shows the ForecastError message with what to do, and no chart."""
    late = pd.date_range("2024-01-01", periods=30)
    body = "date,level\n" + "".join(f"{d.date()},306.9\n" for d in late)
    import_csv(trained_ws, body.encode(), reservoir=SAMPLE_NAME, filename="late.csv")
    assert trained_ws.reservoir(SAMPLE_NAME).last == "2024-01-30"

    at = open_forecast()
    assert "Issued as of 2023-12-31: the last day with all the readings the model needs" in texts(at)
    assert len(table(at)) == 7

    at.date_input(key="forecast_as_of").set_value(dt.date(2024, 1, 20))
    run(at)
    errors = [e.value for e in at.error]
    assert any("without usable readings" in e and "pick an earlier as-of date" in e for e in errors), errors
    assert "Pick another as-of date" in texts(at)
    assert not at.get("plotly_chart") and not at.dataframe


def test_without_a_model_the_page_points_to_training(tmp_path, monkeypatch):
    """A new workspace (the sample loads itself) has nothing to forecast with: say so and link to Train."""
    monkeypatch.setenv("SENTINEL_WORKSPACE", str(tmp_path / "fresh"))
    at = open_forecast()
    assert "There is no trained model for Sample Reservoir yet" in texts(at)
    assert "Train one on the Train page" in texts(at)
    links = at.get("page_link")
    assert [link.proto.page for link in links] == ["train"]  # the page_link target, as Streamlit resolves it
    assert not at.get("plotly_chart") and not at.dataframe and not at.metric


def test_model_that_does_not_beat_persistence_is_flagged(trained_ws):
    """Skill <= 0 on the test period: a clear caution next to the forecast, not just a number."""
    with sqlite3.connect(trained_ws.db_path) as conn:
        meta = json.loads(conn.execute("SELECT meta FROM models WHERE version = 1").fetchone()[0])
        meta["metrics"]["skill_vs_persistence"] = -0.05
        conn.execute("UPDATE models SET meta = ? WHERE version = 1", (json.dumps(meta),))
    at = open_forecast()
    assert [w.value for w in at.warning] == [page.CAUTION]
    assert shown_skill(at) == "skill -5% vs 'tomorrow = today'"
    assert "Active model (version 1) · skill -5%" in at.selectbox(key="forecast_version").options


def shown_skill(at: AppTest) -> str:
    """The skill line under the model metric."""
    return metrics(at)["Model (the active version)"][1]


# ------------------------------------------------------------------------------------------------ exports


@pytest.fixture
def hindcast(trained_ws):
    """A hindcast, its chart and what the page would export (built by the page's own functions)."""
    fc = forecast_reservoir(trained_ws, SAMPLE_NAME, as_of=HINDCAST_DAY.isoformat())
    history = page.chart_history(trained_ws.readings(SAMPLE_NAME, ["level"])["level"], fc)
    fig = page.forecast_chart(fc, history, trained_ws.levels(SAMPLE_NAME))
    return fc, fig


def test_html_and_csv_exports(hindcast):
    """HTML works offline (plotly.js inlined, no CDN); CSV has the header lines, 7 days, observed and bands."""
    fc, fig = hindcast
    html = page.chart_file(fig, "html", page.file_name(fc, ""))
    assert html.lstrip().startswith(b"<!DOCTYPE html>") and b"<html" in html[:200]
    assert b"<script src=" not in html and len(html) > 1_000_000  # plotly.js is inside the file, not on a CDN
    assert SAMPLE_NAME.encode() in html and b"2020-06-01" in html  # the title travels with the file

    header, *body = check_csv(page.table_file(fc), fc.issued, fc.version)
    observed = header.index("observed level (m)")
    assert all(row[observed] for row in body)  # a hindcast: every day has its observed value
    assert {"80% band low (m)", "80% band high (m)", "95% band low (m)", "95% band high (m)"} <= set(header)
    assert page.file_name(fc, "csv") == "Sample-Reservoir_v1_2020-06-01.csv"


def test_csv_cannot_carry_a_spreadsheet_formula(hindcast):
    """User text in reservoir and variable names never reaches a spreadsheet as a formula."""
    fc, _ = replace(hindcast[0], reservoir='=HYPERLINK("http://x","y")', target="@SUM(A1)"), None
    text = page.table_file(fc).decode("utf-8-sig")
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "@", "\t", "\r")) or cell.startswith("#"), cell
    assert "'@SUM(A1) (m)" in text


def chromium_or_skip() -> None:
    """Static export needs Chromium; without it the page shows export's ExportError (checked here too)."""
    try:
        export.find_chromium()
    except export.ExportError as exc:
        assert "Chromium" in str(exc)
        pytest.skip(f"no Chromium for static export: {exc}")


def test_png_svg_pdf_exports(hindcast):
    """Report images of the same figure: right file signatures, titled, non-trivial size."""
    chromium_or_skip()
    fc, fig = hindcast
    png = page.chart_file(fig, "png")
    svg = page.chart_file(fig, "svg")
    pdf = page.chart_file(fig, "pdf")
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    assert b"<svg" in svg[:500] and SAMPLE_NAME.encode() in svg
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    assert page.file_name(fc, "png") == "Sample-Reservoir_v1_2020-06-01.png"


def test_prepare_button_offers_image_downloads(trained_ws, downloads):
    """In the page: 'Prepare' draws PNG/SVG/PDF once, then offers them as downloads with the right bytes."""
    chromium_or_skip()
    at = open_forecast()
    at.button(key="forecast_prepare").click()
    run(at)
    labels = [b.label for b in at.get("download_button")]
    assert labels[2:] == ["Chart as PNG", "Chart as SVG", "Chart as PDF"]
    stem = f"Sample-Reservoir_v1_{trained_ws.reservoir(SAMPLE_NAME).last}"
    assert downloads[f"{stem}.png"][0] == "image/png" and downloads[f"{stem}.png"][1].startswith(PNG_MAGIC)
    assert downloads[f"{stem}.svg"][0] == "image/svg+xml" and b"<svg" in downloads[f"{stem}.svg"][1][:500]
    assert downloads[f"{stem}.pdf"][0] == "application/pdf" and downloads[f"{stem}.pdf"][1].startswith(b"%PDF")
