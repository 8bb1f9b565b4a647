"""Figures the dashboard and reports share, and the files an operator exports from them."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from core import charts
from core.charts.style import FORECAST, LEVEL_COLOURS
from core.data.levels import OperatingLevel
from core.export import files
from core.forecast.issue import Forecast, ForecastPoint

ISSUED = pd.Timestamp("2026-11-23")


def make_forecast(reservoir: str = "Sample Reservoir", observed: bool = False, unit: str | None = "m") -> Forecast:
    """A 7-day level forecast rising 0.2 m a day from 310 m."""
    points = tuple(
        ForecastPoint(
            date=(ISSUED + pd.Timedelta(days=i)).date().isoformat(),
            value=310.0 + 0.2 * i,
            lead=i,
            observed=310.0 + 0.1 * i if observed else None,
        )
        for i in range(1, 8)
    )
    return Forecast(
        reservoir=reservoir,
        version=3,
        model="conv_lstm",
        target="level",
        unit=unit,
        issued=ISSUED.date().isoformat(),
        last_observed={"date": ISSUED.date().isoformat(), "value": 310.0},
        points=points,
    )


def make_history(days: int = 90, after: int = 0) -> pd.Series:
    """Level readings ending at the issue date (plus `after` days of hindcast truth), 305 -> 310 m."""
    index = pd.date_range(ISSUED - pd.Timedelta(days=days - 1), ISSUED + pd.Timedelta(days=after), name="date")
    return pd.Series(np.linspace(305.0, 310.0 + 0.1 * after, len(index)), index=index)


def make_bands() -> dict[str, tuple[list[float], list[float]]]:
    """Made-up 50/80/95 % fans around the forecast, given in a scrambled order."""
    centre = [310.0 + 0.2 * i for i in range(1, 8)]
    return {
        key: ([c - w * i for i, c in enumerate(centre, 1)], [c + w * i for i, c in enumerate(centre, 1)])
        for key, w in (("80", 0.1), ("50", 0.05), ("95", 0.2))
    }


LEVELS = [
    OperatingLevel("Flood warning", 312.0, "m", "flood", "warning"),
    OperatingLevel("Drought watch", 304.0, "m", "drought", "watch"),
    OperatingLevel("Crest", 360.0, "m", "flood", "danger"),  # 50 m above: listed, not drawn
    OperatingLevel("Storage alarm", 900.0, "hm³", "flood", "danger", variable="storage"),  # another variable
]


def trace_names(fig) -> list[str]:
    return [t.name for t in fig.data]


# ---------------------------------------------------------------- forecast figure


def test_forecast_figure_draws_history_forecast_and_issue_line():
    """The operator sees observed days, the forecast days and when it was issued."""
    fig = charts.forecast_figure(make_history(), make_forecast())
    names = trace_names(fig)
    assert names == ["observed", "forecast"]
    forecast = fig.data[1]
    # The forecast line starts at the last observation and then runs through the 7 forecast days.
    assert len(forecast.x) == 8
    assert pd.Timestamp(forecast.x[0]) == ISSUED
    assert forecast.y[0] == pytest.approx(310.0)
    assert forecast.y[-1] == pytest.approx(311.4)
    assert "m" in forecast.hovertemplate
    issued = [s for s in fig.layout.shapes if s.name == "issued"]
    assert len(issued) == 1 and pd.Timestamp(issued[0].x0) == ISSUED and issued[0].line.dash == "dot"
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0


def test_forecast_title_and_axis_name_reservoir_version_issue_date_and_unit():
    """A chart pasted into a report says what it is on its own: the reservoir, then a short line under it (two
    lines, so a narrow chart does not cut the title)."""
    fig = charts.forecast_figure(make_history(), make_forecast())
    assert fig.layout.title.text == "Sample Reservoir"
    subtitle = fig.layout.title.subtitle.text
    assert "v3" in subtitle and "2026-11-23" in subtitle and "level (m)" in subtitle
    assert fig.layout.yaxis.title.text == "level (m)"
    custom = charts.forecast_figure(make_history(), make_forecast(), title="My title")
    assert custom.layout.title.text == "My title"


def test_hindcast_shows_what_happened_after_issue_in_its_own_style():
    """Observations after the issue date are a separate, distinct trace (from history or the points' truth)."""
    fig = charts.forecast_figure(make_history(after=7), make_forecast())
    after = next(t for t in fig.data if t.name == "observed (after issue)")
    observed = next(t for t in fig.data if t.name == "observed")
    assert len(after.x) == 7 and pd.Timestamp(after.x[0]) > ISSUED
    assert pd.Timestamp(observed.x[-1]) == ISSUED
    assert after.line.dash == "dot" and after.line.dash != observed.line.dash
    from_points = charts.forecast_figure(make_history(), make_forecast(observed=True))
    assert "observed (after issue)" in trace_names(from_points)


def test_levels_drawn_with_labels_far_ones_listed_other_variables_left_out():
    """Near levels are labelled lines; a crest 50 m up is named but does not squash the data."""
    fig = charts.forecast_figure(make_history(), make_forecast(), LEVELS)
    lines = {s.name: s for s in fig.layout.shapes if s.type == "line" and s.name and s.name != "issued"}
    assert set(lines) == {"Flood warning 312 m", "Drought watch 304 m"}
    zones = {s.name: s for s in fig.layout.shapes if s.type == "rect"}
    assert set(zones) == {"Flood warning zone", "Drought watch zone"}
    assert zones["Flood warning zone"].y0 == 312.0 and zones["Flood warning zone"].y1 > 312.0
    assert zones["Drought watch zone"].y0 == 304.0 and zones["Drought watch zone"].y1 < 304.0
    assert lines["Flood warning 312 m"].label.text == "Flood warning 312 m"
    assert lines["Flood warning 312 m"].line.color == LEVEL_COLOURS[("flood", "warning")]
    assert lines["Drought watch 304 m"].line.dash == "dash"
    notes = [a.text for a in fig.layout.annotations if a.name == "off-chart levels"]
    assert len(notes) == 1 and "Crest 360 m" in notes[0] and "Storage" not in notes[0]
    low, high = fig.layout.yaxis.range
    assert low < 304.0 and 312.0 < high < 320.0


def test_level_in_the_forecast_unit_is_drawn_even_if_named_for_another_variable():
    level = OperatingLevel("Spillway", 311.0, "m", "flood", "danger", variable="stage")
    fig = charts.forecast_figure(make_history(), make_forecast(), [level])
    assert any(s.name == "Spillway 311 m" for s in fig.layout.shapes)


def test_bands_are_nested_fans_widest_first_and_lightest():
    """Risk fans: 95 % under 80 % under 50 %, each starting at the last observation."""
    fig = charts.forecast_figure(make_history(), make_forecast(), bands=make_bands())
    fans = [t for t in fig.data if t.fill == "toself"]
    assert [t.name for t in fans] == ["95% band", "80% band", "50% band"]
    # Drawn before the lines so the forecast stays on top.
    assert trace_names(fig).index("50% band") < trace_names(fig).index("forecast")
    alphas = [float(re.findall(r"[\d.]+", t.fillcolor)[-1]) for t in fans]
    assert alphas == sorted(alphas) and alphas[0] < alphas[-1]
    widths = []
    for t in fans:
        ys = np.asarray(t.y, dtype=float)
        half = len(ys) // 2
        upper, lower = ys[:half], ys[half:][::-1]
        assert upper[0] == lower[0] == pytest.approx(310.0)  # fan opens from the last observation
        widths.append(upper - lower)
    assert np.all(widths[0] >= widths[1]) and np.all(widths[1] >= widths[2])
    forecast = next(t for t in fig.data if t.name == "forecast")
    assert "95%" in forecast.customdata[1][1]


def test_calibrated_bands_carried_by_the_forecast_are_drawn_by_default():
    fc = make_forecast()
    if "lower_95" not in ForecastPoint.__dataclass_fields__:
        pytest.skip("this Forecast has no band fields")
    lower, upper = make_bands()["95"]
    points = tuple(
        ForecastPoint(
            p.date,
            p.value,
            p.lead,
            lower_50=p.value - 0.1,
            upper_50=p.value + 0.1,
            lower_80=lo + 0.1,
            upper_80=up - 0.1,
            lower_95=lo,
            upper_95=up,
        )
        for p, lo, up in zip(fc.points, lower, upper, strict=True)
    )
    banded = Forecast(fc.reservoir, fc.version, fc.model, fc.target, fc.unit, fc.issued, fc.last_observed, points)
    fig = charts.forecast_figure(make_history(), banded)
    assert [t.name for t in fig.data if t.fill == "toself"] == ["95% band", "80% band", "50% band"]
    assert not [t for t in charts.forecast_figure(make_history(), banded, bands={}).data if t.fill == "toself"]
    assert not [t for t in charts.forecast_figure(make_history(), fc).data if t.fill == "toself"]


def test_bands_of_the_wrong_length_are_rejected():
    with pytest.raises(ValueError, match="Band '80' has 3 lower"):
        charts.forecast_figure(make_history(), make_forecast(), bands={"80": ([1, 2, 3], [4, 5, 6])})


# ---------------------------------------------------------------- history, loss, versions, lead error, sparkline


def test_history_figure_shows_gaps_and_one_legend_entry_per_qc_flag():
    index = pd.date_range("2024-01-01", periods=40, name="date")
    values = pd.DataFrame({"level": np.linspace(300, 304, 40)}, index=index)
    flags = pd.DataFrame({"level": np.zeros(40, dtype=np.int8)}, index=index)
    values.iloc[10:13, 0] = np.nan
    flags.iloc[10:13, 0] = 5  # missing span
    flags.iloc[20, 0] = 1  # interpolated
    flags.iloc[[25, 30], 0] = 2  # spikes masked
    values.iloc[[25, 30], 0] = np.nan
    raw_index = index.repeat(2) + pd.to_timedelta(np.tile([0, 12], 40), unit="h")  # twice-daily raw readings
    raw = pd.DataFrame({"level": np.repeat(values["level"].to_numpy(), 2)}, index=raw_index)
    raw.iloc[50:52, 0] = 999.0  # day 25's raw readings: the spike QC masked
    fig = charts.history_figure(values, flags, "level", "m", levels=LEVELS[:1], raw=raw)
    line = fig.data[0]
    assert line.connectgaps is False and np.isnan(np.asarray(line.y, dtype=float)[11])
    names = trace_names(fig)
    assert names.count("spike masked") == 1 and names.count("interpolated") == 1
    spikes = next(t for t in fig.data if t.name == "spike masked")
    assert len(spikes.x) == 2 and np.isfinite(np.asarray(spikes.y, dtype=float)).all()  # placed on the line
    assert spikes.y[0] < 310 and spikes.text[0] == "raw 999.00 m" and spikes.text[1] == "raw missing"
    missing = [s for s in fig.layout.shapes if s.name == "missing"]
    assert len(missing) == 1 and missing[0].showlegend
    assert fig.layout.xaxis.rangeslider.visible
    assert fig.layout.yaxis.title.text == "level (m)"


def test_loss_figure_placeholder_before_the_first_epoch():
    fig = charts.loss_figure([])
    assert len(fig.data) == 0
    assert "waiting for the first epoch" in fig.layout.annotations[0].text


def test_loss_figure_reads_store_epochs_marks_best_and_goes_log_for_wide_ranges():
    epochs = [
        {"epoch": i, "logs": {"loss": 10.0 / i**2, "val_loss": 12.0 / i**2 + 0.02 * i}, "seconds": 1.0}
        for i in range(1, 16)
    ]
    fig = charts.loss_figure(epochs)
    assert trace_names(fig)[:2] == ["training error", "validation error (held-back days)"]
    assert fig.layout.yaxis.title.text == "error, in typical daily changes (lower is better)"  # the axis has a unit
    assert "typical daily changes" in fig.data[0].hovertemplate
    assert fig.layout.xaxis.tickformat == "d" and fig.layout.xaxis.dtick is None  # 15 epochs: integer ticks
    best = next(t for t in fig.data if t.name.startswith("best epoch"))
    val = np.array([e["logs"]["val_loss"] for e in epochs])
    assert best.x[0] == int(np.argmin(val)) + 1
    assert fig.layout.yaxis.type == "log"
    flat = charts.loss_figure(
        [
            {"epoch": 1, "loss": 0.5, "val_loss": 0.6, "seconds": 2},
            {"epoch": 2, "loss": 0.4, "val_loss": 0.5, "seconds": 2},
        ],
        best_epoch=1,
    )
    assert flat.layout.yaxis.type == "linear"
    assert next(t for t in flat.data if t.name.startswith("best epoch")).x[0] == 1
    assert flat.layout.xaxis.dtick == 1  # few epochs: every whole epoch, never 1.5


def test_versions_figure_compares_model_and_persistence_and_marks_active():
    models = [
        {
            "version": v,
            "active": v == 2,
            "val_mae": 0.1,
            "meta": {
                "metrics": {"model": {"mae": 0.1 * v}, "persistence": {"mae": 0.5}, "skill_vs_persistence": 1 - 0.2 * v}
            },
        }
        for v in (1, 2)
    ]
    fig = charts.versions_figure(models, unit="m")
    assert trace_names(fig) == ["model", "persistence (tomorrow = today)"]
    assert list(fig.data[0].x) == ["v1", "v2 (active)"]
    assert list(fig.data[0].y) == pytest.approx([0.1, 0.2])
    assert fig.data[0].marker.color[1] == FORECAST != fig.data[0].marker.color[0]
    assert fig.data[0].customdata[0][0] == pytest.approx(0.8) and "skill" in fig.data[0].hovertemplate
    assert fig.layout.barmode == "group" and fig.layout.yaxis.title.text == "test MAE (m)"
    assert "no trained versions" in charts.versions_figure([]).layout.annotations[0].text
    assert fig.layout.margin.b >= 90 and fig.layout.legend.y < -0.25  # legend below the x-axis title, not on it


def test_lead_error_figure_by_lead_day():
    metrics = {"model": {"mae_by_horizon": [0.1, 0.2, 0.3]}, "persistence": {"mae_by_horizon": [0.2, 0.3, 0.6]}}
    fig = charts.lead_error_figure(metrics, unit="m")
    assert trace_names(fig) == ["model", "persistence (tomorrow = today)"]
    assert list(fig.data[0].x) == [1, 2, 3]
    assert list(fig.data[0].customdata) == pytest.approx([0.5, 1 / 3, 0.5])
    assert fig.layout.margin.b >= 90 and fig.layout.legend.y < -0.25  # legend below the x-axis title, not on it


def test_sparkline_is_bare_and_recent():
    fig = charts.sparkline_figure(make_history(days=200), make_forecast())
    assert fig.layout.showlegend is False and fig.layout.xaxis.visible is False and fig.layout.height == 80
    assert len(fig.data[0].x) == 30  # the last month, so the 7 forecast days get about a fifth of the width
    assert fig.data[1].line.dash == "dash" and len(fig.data[1].x) == 8
    low, high = fig.layout.yaxis.range
    shown = [*fig.data[0].y, *fig.data[1].y]
    assert low < min(shown) and high > max(shown)  # padded: the forecast's peak is never clipped
    assert pd.Timestamp(fig.layout.xaxis.range[1]) >= pd.Timestamp(fig.data[1].x[-1])


def test_plotly_config_saves_report_size_png():
    config = charts.plotly_config("forecast Sample/Reservoir v3")
    assert config["displaylogo"] is False
    button = config["toImageButtonOptions"]
    assert (button["format"], button["width"], button["height"], button["scale"]) == ("png", 1200, 600, 2)
    assert "/" not in button["filename"] and " " not in button["filename"]


def test_importing_charts_and_export_stays_cheap():
    """Pages and the CLI import these modules eagerly; plotly and the model code load on first use."""
    code = (
        "import sys, core.charts, core.export.files; "
        "print(sorted(m for m in ('plotly', 'kaleido', 'core.forecast.issue') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- static export


@pytest.fixture(scope="module")
def exporter():
    """One headless Chromium for the whole module (its start-up is the slow part)."""
    try:
        files.find_chromium()
    except files.ExportError as exc:
        pytest.skip(f"no Chromium for static export: {exc}")
    yield  # the first export starts it
    files.stop_exporter()


@pytest.fixture(scope="module")
def report_figure():
    return charts.forecast_figure(make_history(after=7), make_forecast(), LEVELS, bands=make_bands())


def test_png_export(exporter, report_figure):
    data = files.figure_bytes(report_figure, "png", width=600, height=300, scale=1)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (600, 300)


def test_svg_export_is_xml(exporter, report_figure):
    data = files.figure_bytes(report_figure, "svg")
    root = ET.fromstring(data)
    assert root.tag.endswith("svg") and b"<svg" in data[:200]
    assert b"Sample Reservoir" in data


def test_pdf_export(exporter, report_figure):
    assert files.figure_bytes(report_figure, "pdf").startswith(b"%PDF")


def test_unknown_static_format_is_refused():
    with pytest.raises(files.ExportError, match="not a static image format"):
        files.figure_bytes(charts.loss_figure([]), "html")


def test_missing_chromium_gives_the_install_hint(monkeypatch):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setattr(files.shutil, "which", lambda name: None)
    monkeypatch.setattr(files, "_TYPICAL_PATHS", ())
    monkeypatch.setattr(files, "_RENDERER", None)
    with pytest.raises(files.ExportError, match="install Debian's 'chromium' package"):
        files.figure_bytes(charts.loss_figure([]), "png")
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chrome")
    with pytest.raises(files.ExportError, match="BROWSER_PATH='/nonexistent/chrome'"):
        files.find_chromium()


def test_html_export_works_offline(report_figure):
    page = files.figure_html(report_figure)
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts and all("src=" not in s for s in scripts)  # nothing fetched: no CDN, no https script
    assert "cdn.plot.ly/plotly" not in page and "mathjax" not in "".join(scripts).lower()
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js itself is inlined
    assert "<title>Sample Reservoir — level (m) forecast" in page


# ---------------------------------------------------------------- tables and file names


def test_forecast_table_has_units_in_headers_and_extra_columns():
    table = files.forecast_table(make_forecast(observed=True), {"p(>312 m)": [0.1] * 7})
    assert list(table.columns) == ["date", "lead_days", "level (m)", "observed level (m)", "p(>312 m)"]
    assert table["date"].iloc[0] == "2026-11-24" and table["lead_days"].tolist() == list(range(1, 8))
    assert table["level (m)"].iloc[-1] == pytest.approx(311.4)
    assert "observed level (m)" not in files.forecast_table(make_forecast()).columns
    with pytest.raises(ValueError, match="Extra column 'x' has 2 values; the forecast has 7 days"):
        files.forecast_table(make_forecast(), {"x": [1, 2]})


def test_csv_guards_formulas_but_keeps_numbers_numeric():
    frame = pd.DataFrame(
        {
            "reservoir": ['=HYPERLINK("http://evil","x")', "-foo", "@SUM(A1)", "+1+1", "Plain"],
            "value": [-3.5, 1.0, 2.0, 3.0, 4.0],
            "=cmd": ["\tx", "\rx", "-2.5", "ok", "a-b"],
        }
    )
    text = files.table_csv(frame, header_lines=["reservoir: =HYPERLINK(1)", "version: 3, =evil()"])
    lines = text.splitlines()
    assert lines[0] == "# reservoir: =HYPERLINK(1)"  # a comment cell starts with '#', which is safe
    assert lines[1] == "# version: 3,' =evil()"
    back = pd.read_csv(io.StringIO(text), comment="#")
    assert list(back.columns) == ["reservoir", "value", "'=cmd"]
    assert back["reservoir"].tolist() == ["'" + frame["reservoir"][0], "'-foo", "'@SUM(A1)", "'+1+1", "Plain"]
    assert back["value"].dtype == float and back["value"].iloc[0] == -3.5
    assert "\n'-3.5" not in text and ",-3.5," in text  # the number itself is written bare
    assert back["'=cmd"].tolist() == ["'\tx", "'\rx", "-2.5", "ok", "a-b"]  # numeric text is harmless


def test_csv_header_comment_pieces_after_commas_are_guarded():
    text = files.table_csv(pd.DataFrame({"a": [1]}), header_lines=["note,=1+1"])
    assert text.splitlines()[0] == "# note,'=1+1"


def test_csv_writes_a_date_index_as_a_column():
    frame = pd.DataFrame({"level": [1.5, 2.5]}, index=pd.DatetimeIndex(["2024-01-01", "2024-01-02"], name="date"))
    assert files.table_csv(frame).splitlines() == ["date,level", "2024-01-01,1.5", "2024-01-02,2.5"]
    assert files.csv_bytes("hm³").startswith(b"\xef\xbb\xbf")


def test_safe_filename():
    name = files.safe_filename("Sample Reservoir", "v3", "2026-11-23", ext="png")
    assert name == "Sample-Reservoir_v3_2026-11-23.png"
    name = files.safe_filename("../../etc/passwd", "Réservoir d'Été", ext=".CSV")
    assert name == "etc-passwd_Reservoir-d-Ete.csv"
    assert "/" not in name and ".." not in name and name.isascii()
    assert files.safe_filename("///", "..", ext="pdf") == "export.pdf"


def test_user_text_in_titles_and_level_labels_is_not_html():
    """Reservoir and level names come from uploads and operators: plotly must show them, not render them."""
    from dataclasses import replace

    level = OperatingLevel("<b>Flood</b>", 312.0, "m", "flood", "warning")
    fc = replace(make_forecast(), reservoir="<i>Dam</i>")
    fig = charts.forecast_figure(make_history(), fc, [level])
    assert "<i>" not in fig.layout.title.text and "&lt;i&gt;Dam&lt;/i&gt;" in fig.layout.title.text
    labels = [s.label.text for s in fig.layout.shapes if s.type == "line" and s.label and s.label.text]
    assert labels and all("<b>" not in t and "&lt;b&gt;" in t for t in labels)


# ---------------------------------------------------------------- exports that cannot bite (issue 13, item 5)

EVIL_NAME = 'Dam,"=HYPERLINK(""http://evil.example"",""click"")"'


def _spreadsheet_cells(text: str) -> list[list[str]]:
    """The cells a spreadsheet sees: RFC 4180 parsing of every line, comment lines included."""
    import csv

    return list(csv.reader(io.StringIO(text)))


def test_csv_header_with_a_quoted_name_opens_no_formula_cell():
    from dataclasses import replace

    from core.export import report
    from tests.test_alert_sides import spread_forecast

    fc = replace(spread_forecast(), reservoir=EVIL_NAME)
    text = report.csv_text(fc)
    cells = [cell for row in _spreadsheet_cells(text) for cell in row]
    assert not [c for c in cells if c.lstrip(" ").startswith(("=", "+", "@"))]  # no live formula anywhere
    assert not [c for c in cells if c.startswith("-") and not files._PLAIN_NUMBER.match(c)]
    first = _spreadsheet_cells(text)[0]
    assert first[0] == "# reservoir: Dam" and first[1].startswith('"') and "HYPERLINK" in first[1]
    back = pd.read_csv(io.StringIO(text), comment="#")  # comment-aware readers still skip the header
    assert list(back.columns)[:3] == ["date", "lead_days", "level (m)"] and len(back) == 7


def test_comment_line_whose_first_piece_holds_quotes_keeps_its_hash_unquoted():
    text = files.table_csv(pd.DataFrame({"a": [1]}), header_lines=['reservoir: My "Dam", =1+1'])
    assert text.startswith("#,")
    assert _spreadsheet_cells(text)[0] == ["#", 'reservoir: My "Dam"', "' =1+1"]
    assert pd.read_csv(io.StringIO(text), comment="#")["a"].tolist() == [1]


def test_html_title_is_escaped_exactly_once_and_the_alert_is_said():
    from dataclasses import replace

    from core.export import report
    from tests.test_alert_sides import spread_forecast

    fc = replace(spread_forecast(), reservoir="A & B <Dam>")
    page = report.render(pd.Series(dtype=float), fc, [], "html").decode("utf-8")
    assert "<title>A &amp; B &lt;Dam&gt; — level (m) forecast, model v1, issued 2026-11-23</title>" in page
    assert "&amp;amp;" not in page.split("</title>")[0]
    notes = page.split('<div class="notes" role="note">', 1)[1].split("</div>", 1)[0]
    assert "alerts on both sides: flood WARNING and drought WATCH" in notes
    assert "<p>alert flood: WARNING - " in notes and "<p>alert drought: WATCH - " in notes
    fig = report.export_chart(pd.Series(dtype=float), fc, [])
    assert "Alerts on both sides: flood WARNING and drought WATCH" in fig.layout.title.text  # PNG/SVG/PDF too


def test_exported_file_gets_the_umask_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = files.write_export(tmp_path / "out" / "f.csv", b"a\r\n1\r\n")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o002)
        assert files.current_umask() == 0o002
        files.write_export(path, b"b\r\n")  # replacing a file: the new one gets them too
        assert stat.S_IMODE(path.stat().st_mode) == 0o664 and path.read_bytes() == b"b\r\n"
    finally:
        os.umask(old)
    assert not [p for p in path.parent.iterdir() if p.name != "f.csv"]  # no temp file left behind


def test_close_level_labels_move_along_their_lines_instead_of_overlapping():
    from core.charts.levels import LABEL_PX, label_slots
    from core.data.levels import OperatingLevel

    def lv(name: str, value: float, side: str = "flood") -> OperatingLevel:
        return OperatingLevel(name, value, "m", side, "watch" if side == "flood" else "warning")

    y_range, plot_px = [300.0, 325.0], 356.0  # 14 px per metre
    close = [lv("Full supply", 312.0), lv("Flood warning", 312.5), lv("Dam crest", 312.9)]
    assert label_slots(close, y_range, plot_px) == {
        "Full supply": "start",
        "Flood warning": "middle",
        "Dam crest": "end",
    }
    apart = [lv("Full supply", 312.0), lv("Flood warning", 312.0 + 1.2 * LABEL_PX / 14.24)]
    assert set(label_slots(apart, y_range, plot_px).values()) == {"start"}
    # a flood label sits above its line and a drought label below: a pair a hair apart does not collide
    pair = [lv("Flood watch", 306.99), lv("Drought watch", 306.95, "drought")]
    assert set(label_slots(pair, y_range, plot_px).values()) == {"start"}
    assert label_slots(close, y_range, plot_px, prefer=("end", "middle", "start"))["Full supply"] == "end"
    on_chart = [lv("Full", 311.0), lv("Warning", 311.03), lv("Crest", 311.06), lv("Top", 311.35)]  # 1 m ~ 230 px
    fig = charts.forecast_figure(pd.Series(dtype=float), make_forecast(), on_chart)
    placed = {s.label.text: s.label.textposition for s in fig.layout.shapes if s.label.text}
    # the three close labels (7 px apart) share no place; the one far above them is back at the start
    assert list(placed.values()) == ["start", "middle", "end", "start"], placed
