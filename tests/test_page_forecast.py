"""Forecast page driven through the real app with AppTest (latest forecast, hindcast, empty and error states, the
low-skill warning) and its exports checked byte by byte through the same functions the page calls."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
from dataclasses import replace

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from core import display
from core.app.pipeline import band_coverage, forecast_history, forecast_reservoir, import_csv
from core.data.sample import SAMPLE_NAME
from core.export import files, report
from pages import forecast as page
from tests.apptest_support import open_page, run, texts

pytestmark = [pytest.mark.usefixtures("fresh_caches"), pytest.mark.slow]  # AppTest runs over the trained sample

ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HINDCAST_DAY = dt.date(2020, 6, 1)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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


def table(at: AppTest) -> pd.DataFrame:
    """The forecast table as the page shows it (first; the exceedance table, days x levels, follows it)."""
    assert 1 <= len(at.dataframe) <= 2
    if len(at.dataframe) == 2:
        assert list(at.dataframe[1].value.columns[:2]) == [files.DATE_COLUMN, files.LEAD_COLUMN]
    return at.dataframe[0].value


def chart_files(at: AppTest) -> dict[str, dict]:
    """The plotly figures the page sent to the browser, by the file name their camera button saves."""
    out = {}
    for chart in at.get("plotly_chart"):
        out[json.loads(chart.proto.config)["toImageButtonOptions"]["filename"]] = json.loads(chart.proto.spec)
    return out


def chart_spec(at: AppTest) -> dict:
    """The forecast figure the page sent to the browser (the bands' record below it is a separate chart)."""
    charts = [spec for name, spec in chart_files(at).items() if not name.endswith("band-coverage")]
    assert len(charts) == 1, "the page should draw exactly one forecast chart"
    return charts[0]


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
    """Header lines name reservoir, variable with unit, version and issue date; then a column row and 7 days."""
    comments, rows = csv_rows(data)
    assert f"# reservoir: {SAMPLE_NAME}" in comments
    assert "# variable: level (m)" in comments
    assert any(c.startswith(f"# model version: {version} (") for c in comments), comments
    assert any(c.startswith(f"# issued: {forecast_issued} (last observed ") for c in comments), comments
    header, body = rows[0], rows[1:]
    assert header[:3] == ["date", "lead_days", "level (m)"]
    assert len(body) == 7
    assert all(ISO_DAY.match(r[0]) for r in body)
    assert [int(r[1]) for r in body] == list(range(1, 8))
    return rows


# ------------------------------------------------------------------------------------------------ page


def test_latest_forecast_shows_chart_metrics_table_and_downloads(app_trained_ws, downloads):
    """The default view: the active version's forecast from the latest readings, with units, ISO dates and exports."""
    at = open_page("forecast")
    last_day = app_trained_ws.reservoir(SAMPLE_NAME).last
    expected = forecast_reservoir(app_trained_ws, SAMPLE_NAME)
    assert expected.issued == last_day

    spec = chart_spec(at)
    title = spec["layout"]["title"]["text"] + " " + spec["layout"]["title"]["subtitle"]["text"]  # two short lines
    assert SAMPLE_NAME in title and "v1" in title and last_day in title and "(m)" in title
    assert {"observed", "forecast"} <= {t.get("name") for t in spec["data"]}
    observed = next(t for t in spec["data"] if t.get("name") == "observed")
    assert str(observed["x"][-1]).startswith(last_day)  # history runs up to the issue date
    assert 80 <= len(observed["x"]) <= 91  # 90 days before the issue date and the issue day, not the whole record
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"]["filename"] == f"Sample-Reservoir_v1_{last_day}"

    shown = metrics(at)  # short labels, the unit on the value, the age of the reading under it
    value, age = shown[f"Level on {last_day}"]
    assert value == f"{expected.last_observed['value']:.2f} m" and age.startswith("last reading, ")
    day7 = expected.points[-1]
    value, delta = shown[f"Day 7: {day7.date}"]
    assert value == f"{day7.value:.2f} m"
    change = day7.value - expected.last_observed["value"]
    assert delta == f"{display.signed_change(change, 'm', short=True)} vs last reading"  # shared rule (core.display)
    assert delta[0] in "+-"
    assert shown["Model (active)"][0] == "version 1"
    assert shown["Model (active)"][1].startswith("skill ") and "MAE" in shown["Model (active)"][1]

    frame = table(at)
    assert len(frame) == 7
    assert all(ISO_DAY.match(d) for d in frame["date"])
    assert list(frame["date"]) == [p.date for p in expected.points]
    assert list(frame["lead_days"]) == list(range(1, 8))
    assert frame["level (m)"].tolist() == pytest.approx([p.value for p in expected.points])
    assert not any(c.startswith("observed") for c in frame.columns)  # nothing observed after the latest day yet
    columns = json.loads(next(df for df in at.dataframe if "lead_days" in df.value.columns).proto.columns)
    formats = {c["type_config"]["format"] for c in columns.values() if "format" in c.get("type_config", {})}
    assert formats == {"%,.2f"} and "%,.2f" in columns["level (m)"]["type_config"]["format"]  # one format, by size
    assert "What this forecast is" in texts(at)

    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Interactive chart (HTML)", "Forecast table (CSV)", "Bulletin (PDF)"]  # the bulletin: on click
    assert at.button(key="forecast_prepare").label == "Prepare PNG, SVG and PDF"
    stem = f"Sample-Reservoir_v1_{last_day}"
    mime, html = downloads[f"{stem}.html"]
    assert mime == "text/html" and b"<html" in html[:200] and b'<script src="http' not in html
    mime, data = downloads[f"{stem}.csv"]
    assert mime == "text/csv"
    check_csv(data, last_day, 1)


def test_hindcast_overlays_what_happened(app_trained_ws):
    """An earlier as-of date issues the forecast as if on that day and shows the stored truth beside it."""
    at = open_page("forecast")
    at.date_input(key="forecast_as_of").set_value(HINDCAST_DAY)
    run(at)

    frame = table(at)
    days = pd.date_range(HINDCAST_DAY + dt.timedelta(days=1), periods=7)
    assert list(frame["date"]) == [d.date().isoformat() for d in days]
    truth = app_trained_ws.readings(SAMPLE_NAME, ["level"])["level"].reindex(days)
    assert frame["observed level (m)"].tolist() == pytest.approx(truth.tolist())
    assert f"Hindcast issued as of {HINDCAST_DAY.isoformat()}" in texts(at)
    assert f"Level on {HINDCAST_DAY.isoformat()}" in metrics(at)
    names = {t.get("name") for t in chart_spec(at)["data"]}
    assert "observed (after issue)" in names

    at.button(key="forecast_latest").click()
    run(at)
    last_day = app_trained_ws.reservoir(SAMPLE_NAME).last
    assert at.date_input(key="forecast_as_of").value.isoformat() == last_day
    assert f"Level on {last_day}" in metrics(at)


def test_bands_recent_record_is_shown_under_the_forecast(app_trained_ws):
    """For a hindcast day: the 50/80/95% bands' share of the last 90 days' known outcomes, as core counts them."""
    at = open_page("forecast")
    at.date_input(key="forecast_as_of").set_value(HINDCAST_DAY)
    run(at)
    expected = band_coverage(app_trained_ws, forecast_reservoir(app_trained_ws, SAMPLE_NAME, as_of=str(HINDCAST_DAY)))
    assert expected is not None and expected.outcomes > 0 and expected.end == HINDCAST_DAY.isoformat()

    shown = texts(at)
    assert "How the bands have held lately" in shown
    assert f"Of the {expected.outcomes} forecast days" in shown and f"to {HINDCAST_DAY.isoformat()}" in shown
    spec = chart_files(at)[f"Sample-Reservoir_v1_{HINDCAST_DAY.isoformat()}_band-coverage"]
    bars = next(t for t in spec["data"] if t.get("name") == "inside the band")
    assert bars["y"] == ["50% band", "80% band", "95% band"]
    assert bars["x"] == pytest.approx([100 * b.share for b in expected.bands])
    promised = next(t for t in spec["data"] if t.get("name") == "promised share")
    assert promised["x"] == pytest.approx([50, 80, 95])


def test_missing_recent_readings_explain_and_suggest_earlier_date(app_trained_ws):
    """Level-only days after the record: the latest forecast falls back to the last complete day; a date in the
    gap shows the ForecastError message with what to do, and no chart."""
    late = pd.date_range("2024-01-01", periods=30)
    body = "date,level\n" + "".join(f"{d.date()},306.9\n" for d in late)
    import_csv(app_trained_ws, body.encode(), reservoir=SAMPLE_NAME, filename="late.csv")
    assert app_trained_ws.reservoir(SAMPLE_NAME).last == "2024-01-30"

    at = open_page("forecast")
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
    at = open_page("forecast")
    assert "There is no trained model for Sample Reservoir yet" in texts(at)
    assert "Train one on the Train page" in texts(at)
    links = at.get("page_link")
    assert [link.proto.page for link in links] == ["train"]  # the page_link target, as Streamlit resolves it
    assert not at.get("plotly_chart") and not at.dataframe and not at.metric


def test_model_that_does_not_beat_persistence_is_flagged(app_trained_ws):
    """Skill <= 0 on the test period: a clear caution next to the forecast, not just a number."""
    with sqlite3.connect(app_trained_ws.db_path) as conn:
        meta = json.loads(conn.execute("SELECT meta FROM model_versions WHERE id = 1").fetchone()[0])
        meta["metrics"]["skill_vs_persistence"] = -0.05
        conn.execute("UPDATE model_versions SET meta = ? WHERE id = 1", (json.dumps(meta),))
    at = open_page("forecast")
    assert page.CAUTION in [w.value for w in at.warning]  # beside the 'old readings' warning of the sample
    assert shown_skill(at).startswith("skill -5% MAE")
    options = at.selectbox(key="forecast_version").options
    assert any(o.startswith("Active model (version 1) · skill -5% MAE, ") for o in options), options


def shown_skill(at: AppTest) -> str:
    """The skill line under the model metric."""
    return metrics(at)["Model (active)"][1]


# ------------------------------------------------------------------------------------------------ exports


def test_page_files_are_the_cli_files(app_trained_ws, downloads):
    """The page offers the very files `python -m core export` writes: the same CSV bytes and the same chart."""
    at = open_page("forecast")
    fc = forecast_reservoir(app_trained_ws, SAMPLE_NAME)
    mime, data = downloads[report.filename(fc, "csv")]
    assert data == files.csv_bytes(report.csv_text(fc))
    cli_chart = report.chart(forecast_history(app_trained_ws, fc), fc, app_trained_ws.levels(SAMPLE_NAME))
    assert chart_spec(at)["data"] == json.loads(cli_chart.to_json())["data"]  # same readings, forecast, bands


@pytest.fixture
def hindcast(app_trained_ws):
    """A hindcast with the readings and levels its chart draws, as the page and `python -m core export` get them."""
    fc = forecast_reservoir(app_trained_ws, SAMPLE_NAME, as_of=HINDCAST_DAY.isoformat())
    return fc, forecast_history(app_trained_ws, fc), app_trained_ws.levels(SAMPLE_NAME)


def test_html_and_csv_exports(hindcast):
    """HTML works offline (plotly.js inlined, no CDN); CSV has the header lines, 7 days, observed and bands."""
    fc, history, levels = hindcast
    html = report.render(history, fc, levels, "html")
    assert html.lstrip().startswith(b"<!DOCTYPE html>") and b"<html" in html[:200]
    assert b"<script src=" not in html and len(html) > 1_000_000  # plotly.js is inside the file, not on a CDN
    assert SAMPLE_NAME.encode() in html and b"2020-06-01" in html  # the title travels with the file

    header, *body = check_csv(report.render(history, fc, levels, "csv"), fc.issued, fc.version)
    observed = header.index("observed level (m)")
    assert all(row[observed] for row in body)  # a hindcast: every day has its observed value
    assert {"lower 80% (m)", "upper 80% (m)", "lower 95% (m)", "upper 95% (m)"} <= set(header)
    assert report.filename(fc, "csv") == "Sample-Reservoir_v1_2020-06-01.csv"


def test_on_screen_table_is_the_export_table_cut_to_the_80_band(hindcast):
    """The page's table holds the exported values (rounded as in the CSV), only fewer columns."""
    fc = hindcast[0]
    shown, full = page.screen_table(fc), report.table(fc)
    band = ["lower 80% (m)", "upper 80% (m)"]
    assert list(shown.columns) == ["date", "lead_days", "level (m)", "observed level (m)", *band]
    pd.testing.assert_frame_equal(shown, full[shown.columns])


def test_csv_cannot_carry_a_spreadsheet_formula(hindcast):
    """User text in reservoir and variable names never reaches a spreadsheet as a formula."""
    fc = replace(hindcast[0], reservoir='=HYPERLINK("http://x","y")', target="@SUM(A1)")
    text = report.csv_text(fc)
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "@", "\t", "\r")) or cell.startswith("#"), cell
    assert "'@SUM(A1) (m)" in text


def chromium_or_skip() -> None:
    """Static export needs Chromium; without it the page shows export's ExportError (checked here too)."""
    try:
        files.find_chromium()
    except files.ExportError as exc:
        assert "Chromium" in str(exc)
        pytest.skip(f"no Chromium for static export: {exc}")


def test_png_svg_pdf_exports(hindcast):
    """Report images of the same figure: right file signatures, titled, non-trivial size."""
    chromium_or_skip()
    fc, history, levels = hindcast
    png, svg, pdf = (report.render(history, fc, levels, fmt) for fmt in ("png", "svg", "pdf"))
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    assert b"<svg" in svg[:500] and SAMPLE_NAME.encode() in svg
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    assert report.filename(fc, "png") == "Sample-Reservoir_v1_2020-06-01.png"


def test_prepare_button_offers_image_downloads(app_trained_ws, downloads):
    """In the page: 'Prepare' draws PNG/SVG/PDF once, then offers them as downloads with the right bytes."""
    chromium_or_skip()
    at = open_page("forecast")
    at.button(key="forecast_prepare").click()
    run(at)
    labels = [b.label for b in at.get("download_button")]
    assert labels[2:] == ["Chart as PNG", "Chart as SVG", "Chart as PDF", "Bulletin (PDF)"]
    stem = f"Sample-Reservoir_v1_{app_trained_ws.reservoir(SAMPLE_NAME).last}"
    assert downloads[f"{stem}.png"][0] == "image/png" and downloads[f"{stem}.png"][1].startswith(PNG_MAGIC)
    assert downloads[f"{stem}.svg"][0] == "image/svg+xml" and b"<svg" in downloads[f"{stem}.svg"][1][:500]
    assert downloads[f"{stem}.pdf"][0] == "application/pdf" and downloads[f"{stem}.pdf"][1].startswith(b"%PDF")


def test_both_sides_alert_banner_and_exceedance_table(app_trained_ws):
    """A flood line just above and a drought line just below the forecast, a 5 % trigger: the banner names both
    sides, and the exceedance table gives each level's chance per forecast day in %."""
    from core.app.pipeline import set_alert_trigger, update_levels
    from core.data.levels import OperatingLevel

    fc = forecast_reservoir(app_trained_ws, SAMPLE_NAME)
    last = fc.points[-1]
    flood = last.value + 0.3 * (last.upper_80 - last.value)
    drought = last.value - 0.3 * (last.value - last.lower_80)
    stored = [lv.name for lv in app_trained_ws.levels(SAMPLE_NAME)]
    update_levels(
        app_trained_ws,
        SAMPLE_NAME,
        [
            OperatingLevel("Spill watch", round(flood, 3), "m", "flood", "watch"),
            OperatingLevel("Low watch", round(drought, 3), "m", "drought", "watch"),
        ],
        remove=stored,
    )
    set_alert_trigger(app_trained_ws, SAMPLE_NAME, 0.05)
    fc = forecast_reservoir(app_trained_ws, SAMPLE_NAME)
    assert fc.alerts["flood"].raised and fc.alerts["drought"].raised

    at = open_page("forecast")
    shown = [str(w.value).replace("\\", "") for w in (*at.warning, *at.info, *at.error)]
    both = [t for t in shown if "Alerts on both sides: " in t and "flood WATCH" in t and "drought WATCH" in t]
    assert both and "Spill watch" in both[0] and "Low watch" in both[0], shown
    exceed = at.dataframe[1].value
    assert len(exceed) == len(fc.points)
    assert any(c.startswith("Spill watch (above") for c in exceed.columns)
    assert any(c.startswith("Low watch (below") for c in exceed.columns)
    assert "Chance of crossing each level" in [h.value for h in at.subheader]


def test_storage_view_draws_the_recorded_storage_and_explains_the_conversion(app_trained_ws, tmp_path):
    """Walkthrough bug: in the storage view the observed line was the level history converted, and the text said
    the model read storage. The recorded storage is drawn, and the page says the level forecast was converted."""
    import numpy as np

    from core.app.curves import import_curve
    from core.data.sample import level_to_storage
    from tests.test_units_curves import curve_file

    levels = np.linspace(285, 320, 36)  # twice the sample's own storage: a converted level would read double
    rows = [(f"{lv:.2f}", f"{2 * float(level_to_storage(lv)):.4f}") for lv in levels]
    import_curve(app_trained_ws, SAMPLE_NAME, curve_file(tmp_path, rows, header="Elevation (m),Storage (hm3)"))
    at = open_page("forecast")
    at.radio(key="forecast_show_as").set_value("storage")
    run(at, SAMPLE_NAME)
    spec = chart_spec(at)
    observed = next(t for t in spec["data"] if t.get("name") == "observed")
    stored = app_trained_ws.readings(SAMPLE_NAME, ["storage"])["storage"]
    ys = observed["y"]
    if isinstance(ys, dict):  # plotly sends numpy arrays as base64 typed arrays
        import base64

        ys = np.frombuffer(base64.b64decode(ys["bdata"]), dtype=ys["dtype"]).tolist()
    last = pd.Timestamp(str(observed["x"][-1])[:10])
    assert ys[-1] == pytest.approx(float(stored.loc[last]))  # the recorded storage, not converted level
    assert "storage (hm³)" in spec["layout"]["yaxis"]["title"]["text"]
    about = " ".join(m.value for m in at.markdown)
    assert "Shown as storage" in about and "the model forecasts level" in about
    assert "the recorded storage readings" in about
    assert "readings (level, " in about  # the model's inputs, not the view's variable


def test_show_as_converts_the_history_only_without_readings_of_the_shown_variable(hindcast):
    from core.data.curves import Curve
    from core.forecast.convert import attach

    curve = Curve((250.0, 330.0), (0.0, 800.0), "m", "hm³", source="c.csv")
    fc = attach(hindcast[0], curve)
    history = pd.Series([300.0, 310.0], index=pd.to_datetime([fc.issued] * 2) - pd.to_timedelta([2, 1], unit="D"))
    view, drawn, _, name = page.show_as(fc, history, [], curve, "storage", None)
    assert view.target == "storage" and name == "observed level as storage (via the curve)"
    assert drawn.iloc[-1] == pytest.approx(600.0)
    stored = pd.Series([123.0], index=pd.to_datetime([fc.issued]))
    _, drawn, _, name = page.show_as(fc, history, [], curve, "storage", stored)
    assert name == "observed" and drawn.tolist() == [123.0]
    assert page.show_as(fc, history, [], curve, "level", stored)[3] == "observed"
