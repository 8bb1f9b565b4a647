"""The forecast bulletin: what an operator reads in the PDF (text read back), the --all summary, paper sizes,
escaping of hostile names, and the page a reservoir without a model gets."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace

import pandas as pd
import pytest

from core.app.bulletin import build_bulletin, reservoir_sheet
from core.data.levels import OperatingLevel
from core.data.sample import SAMPLE_NAME
from core.export.bulletin import (
    Bulletin,
    BulletinScenario,
    ReservoirSheet,
    bulletin_html,
    html_to_pdf,
)
from core.export.files import ExportError, find_chromium
from core.store.readings import UploadInfo
from core.store.workspace import Workspace

HOSTILE = '<script>alert("x")</script> & Dam'
A4 = (595.0, 842.0)
LETTER = (612.0, 792.0)


def _chromium() -> None:
    """Skip where no Chromium can print (the bulletin's PDF needs it, as the static chart exports do)."""
    try:
        find_chromium()
    except ExportError as exc:
        pytest.skip(str(exc))


def _pdf(data: bytes):  # noqa: ANN202
    """The PDF read back with pypdf."""
    pypdf = pytest.importorskip("pypdf")
    return pypdf.PdfReader(io.BytesIO(data))


def _text(reader) -> str:  # noqa: ANN001
    """All pages' text, whitespace collapsed (table cells wrap at any space)."""
    return " ".join(" ".join(p.extract_text().split()) for p in reader.pages)


def _add_unmodelled(ws: Workspace, name: str) -> None:
    """A reservoir with readings and no model."""
    days = pd.date_range("2024-01-01", periods=40, freq="D", name="date")
    frame = pd.DataFrame({"level": [300.0 + i / 10 for i in range(40)]}, index=days)
    ws.merge({name: frame}, {name: {"level": "m"}}, UploadInfo(filename="test.csv", sha256=name))


@pytest.fixture(scope="module")
def bulletin_ws(trained_sample, tmp_path_factory):
    """A copy of the tiny trained sample with a flood and a drought line near the forecast (non-zero chances)."""
    from core.app.pipeline import forecast_reservoir

    source, _ = trained_sample
    root = tmp_path_factory.mktemp("bulletin") / "ws"
    shutil.copytree(source.root, root)
    ws = Workspace(root)
    fc = forecast_reservoir(ws, SAMPLE_NAME)
    end = fc.points[-1]
    ws.set_levels(
        SAMPLE_NAME,
        [
            OperatingLevel(
                "High water line", round(end.value + (end.upper_80 - end.value) / 3, 3), "m", "flood", "watch"
            ),
            OperatingLevel(
                "Low water line", round(end.value - (end.value - end.lower_80) / 3, 3), "m", "drought", "watch"
            ),
        ],
    )
    return ws


@pytest.fixture(scope="module")
def sample_bulletin(bulletin_ws) -> Bulletin:
    """The one-reservoir bulletin, built once (the chart render and forecast are the slow part)."""
    return build_bulletin(bulletin_ws, [SAMPLE_NAME], paper="a4", made_at="2024-01-01 06:00 UTC")


def test_pdf_text_carries_reservoir_version_levels_and_percentages(sample_bulletin, bulletin_ws):
    _chromium()
    reader = _pdf(html_to_pdf(bulletin_html(sample_bulletin)))
    text = _text(reader)
    sheet = sample_bulletin.sheets[0]
    assert sheet.status == "forecast" and sheet.chart_svg is not None
    assert SAMPLE_NAME in text
    assert f"version {sheet.provenance.version}" in text and sheet.provenance.model in text
    for name in ("High water line", "Low water line"):
        assert name in text
    fc_percentages = {cell for row in sheet.exceedance.rows for cell in row[2:]}
    assert any(p not in ("0 %", "<1 %") for p in fc_percentages)  # the lines sit inside the band: real chances
    for cell in fc_percentages:
        assert cell in text
    assert "flood" in text and "drought" in text and "skill vs persistence" in text
    assert sheet.provenance.data_through in text
    width, height = (float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height))
    assert (width, height) == pytest.approx(A4, abs=2)
    assert _fonts_embedded(reader)


def _fonts_embedded(reader) -> bool:  # noqa: ANN001
    """Every font on every page carries its font file (so the PDF reads the same on any machine)."""
    seen = 0
    for page in reader.pages:
        fonts = (page["/Resources"].get("/Font") or {}).values()
        for ref in fonts:
            font = ref.get_object()
            desc = font.get("/FontDescriptor")
            if desc is None and "/DescendantFonts" in font:
                desc = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            if not any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                return False
            seen += 1
    return seen > 0


def test_letter_paper_size(sample_bulletin):
    _chromium()
    reader = _pdf(html_to_pdf(bulletin_html(replace(sample_bulletin, paper="letter"))))
    sizes = {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages}
    assert sizes == {(612, 792)}


def test_cli_all_has_summary_page_and_a_page_for_the_unmodelled(bulletin_ws, tmp_path, capsys):
    _chromium()
    from core.cli.main import main

    _add_unmodelled(bulletin_ws, "Lake Nomodel")
    out, page = tmp_path / "all.pdf", tmp_path / "all.html"
    code = main(
        ["bulletin", "--all", "--out", str(out), "--html", str(page), "--workspace", str(bulletin_ws.root), "--json"]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["reservoir"]: r["status"] for r in data["reservoirs"]} == {
        "Lake Nomodel": "no model",
        SAMPLE_NAME: "forecast",
    }
    reader = _pdf(out.read_bytes())
    first = " ".join(reader.pages[0].extract_text().split())
    assert "summary" in first and SAMPLE_NAME in first and "Lake Nomodel" in first
    rest = _text(reader)
    assert "Lake Nomodel has no trained model yet" in rest and "python -m core train" in rest
    assert len(reader.pages) >= 3  # summary + one page per reservoir
    assert "<title>" in page.read_text(encoding="utf-8")


def test_hostile_reservoir_name_is_escaped(workspace):
    _add_unmodelled(workspace, HOSTILE)
    document = bulletin_html(build_bulletin(workspace, None, chart=False))
    assert "<script>" not in document
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Dam" in document


def test_scenario_rows_appear_when_given():
    sheet = ReservoirSheet(
        "Dam",
        "forecast",
        target="storage",
        unit="acre-ft",
        headline="ok",
        scenarios=(
            BulletinScenario(
                "release 2,000 acre-ft/day",
                "2,000 acre-ft/day every day",
                41250.0,
                (40000.0, 42500.5),
                "flood WATCH, drought: normal",
            ),
        ),
    )
    document = bulletin_html(Bulletin("2024-01-01 06:00 UTC", "a4", (sheet,)))
    assert "Release scenarios" in document
    assert "41,250" in document and "40,000 to 42,500" in document and "flood WATCH, drought: normal" in document
    assert "Release scenarios" not in bulletin_html(
        Bulletin("2024-01-01 06:00 UTC", "a4", (replace(sheet, scenarios=()),))
    )


def test_no_model_sheet_is_a_page_not_a_crash(workspace):
    _add_unmodelled(workspace, "Quiet Lake")
    sheet = reservoir_sheet(workspace, "quiet lake")
    assert sheet.status == "no model" and "python -m core train" in sheet.message
    assert "No forecast in this bulletin" in bulletin_html(Bulletin("t", "a4", (sheet,)))


def test_unknown_paper_is_refused():
    with pytest.raises(ExportError, match="a4, letter"):
        bulletin_html(Bulletin("t", "a3", ()))


@pytest.mark.usefixtures("fresh_caches")
def test_overview_and_forecast_pages_offer_the_bulletin(app_trained_ws):
    from tests.apptest_support import open_page, run, start_app

    at = run(start_app())
    assert "Bulletin (PDF)" in [b.label for b in at.get("download_button")]
    at = open_page("forecast")
    assert "Bulletin (PDF)" in [b.label for b in at.get("download_button")]


@pytest.mark.usefixtures("fresh_caches")
def test_without_chromium_the_button_says_what_to_install(app_trained_ws, monkeypatch, tmp_path):
    from tests.apptest_support import open_page, texts

    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-browser"))
    at = open_page("forecast")
    assert "Bulletin (PDF)" not in [b.label for b in at.get("download_button")]
    button = next(b for b in at.button if b.label == "Bulletin (PDF)")
    assert button.disabled
    assert "The bulletin needs Chromium" in texts(at, ("caption",))


@pytest.mark.slow
def test_cli_what_if_puts_the_scenario_table_in_the_pdf(tmp_path, capsys):
    """`bulletin --what-if outflow=V` on a storage model: the plain forecast and the scenario in the PDF's table;
    a reservoir that cannot run scenarios is said in the report, and its page still comes out."""
    _chromium()
    from core.app.pipeline import add_sample, train_reservoir
    from core.cli.main import main
    from core.model.config import ModelConfig
    from tests.conftest import tiny_config

    ws = Workspace(tmp_path / "ws")
    add_sample(ws)
    train_reservoir(ws, SAMPLE_NAME, tiny_config("storage", ("inflow", "outflow"), model=ModelConfig(name="ridge")))
    _add_unmodelled(ws, "Lake Nomodel")
    out = tmp_path / "whatif.pdf"
    code = main(
        ["bulletin", "--all", "--out", str(out), "--what-if", "outflow=12", "--workspace", str(ws.root), "--json"]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [line.split(":")[0] for line in data["scenarios_skipped"]] == ["Lake Nomodel"]
    text = _text(_pdf(out.read_bytes()))
    assert "Release scenarios" in text and "plain forecast" in text and "12 " in text
