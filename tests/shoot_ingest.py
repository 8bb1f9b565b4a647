"""Screenshots of agency files on the Data page and of a held inbox file on the Overview
(python -m tests.shoot_ingest [FOLDER] [WIDTH ...]).

Not a test (pytest does not collect it): it makes a workspace with the sample reservoir, runs one cycle over an inbox
holding a file with an unconfirmed column guess (held, not imported), starts the app headless, uploads the USGS RDB
and CDEC fixtures (tests/fixtures/agency/) on the Data page and saves each file's panel, then the Overview's cycle
section with the held-file notice, from Debian's Chromium at each width (default 1280). Default folder:
assets/screenshots (data_rdb.png, data_cdec.png, overview_held.png; other widths get a -<width> suffix).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright import sync_api

from core.app.pipeline import add_sample
from core.fleet.cycle import CycleOptions, run_cycle
from core.fleet.engines import EngineSettings
from core.store.workspace import Workspace
from tests.e2e_helpers import (
    CHROMIUM_ARGS,
    ROOT,
    chromium_path,
    free_port,
    start_app,
    stop_process_group,
    wait_for_app,
    wait_healthy,
)

FIXTURES = ROOT / "tests" / "fixtures" / "agency"
DEFAULT_DIR = ROOT / "assets" / "screenshots"
HELD_CSV = "date,c_elev\n" + "".join(f"2024-01-{d:02d},{650 + d * 0.1:.1f}\n" for d in range(1, 29))


def _workspace(root: Path) -> Workspace:
    """The sample reservoir, and one cycle run whose inbox file was held (c_elev: a weak guess)."""
    ws = Workspace(root / "ws")
    add_sample(ws)
    inbox = root / "inbox"
    inbox.mkdir()
    (inbox / "gauge_north.csv").write_text(HELD_CSV)
    run_cycle(ws, CycleOptions(inbox=str(inbox), retrain="none", engine=EngineSettings(name="serial")))
    return ws


def _upload(page: sync_api.Page, path: Path) -> sync_api.Locator:
    """Upload one file on the Data page and return its panel (the bordered container under the uploader)."""
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    wait_for_app(page, timeout=120_000)
    panel = page.locator('[class*="st-key-data_f"][class*="_panel"]').filter(has_text=path.name).first
    panel.wait_for(timeout=60_000)
    return panel


def shoot(folder: Path, widths: list[int]) -> list[Path]:
    """Every screenshot at every width; returns the files written."""
    executable = chromium_path()
    if executable is None:
        raise SystemExit("Debian's Chromium is needed (make chromium).")
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = _workspace(Path(tmp))
        port = free_port()
        log = Path(tmp) / "app.log"
        proc = start_app(port, ws.root, log)
        try:
            wait_healthy(proc, port, log)
            with sync_api.sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                for width in widths:
                    suffix = "" if width == 1280 else f"-{width}"
                    page = browser.new_page(viewport={"width": width, "height": 900})
                    page.goto(f"http://127.0.0.1:{port}/data", timeout=120_000)
                    wait_for_app(page, timeout=120_000)
                    for name, fixture in (
                        ("data_rdb", "usgs_dv_example_lake.rdb"),
                        ("data_cdec", "cdec_two_stations.csv"),
                    ):
                        panel = _upload(page, FIXTURES / fixture)
                        box = panel.bounding_box() or {"height": 900}
                        page.set_viewport_size({"width": width, "height": int(box["height"]) + 200})
                        wait_for_app(page)
                        target = folder / f"{name}{suffix}.png"
                        panel.screenshot(path=str(target))
                        written.append(target)
                        page.set_viewport_size({"width": width, "height": 900})
                        page.goto(f"http://127.0.0.1:{port}/data", timeout=120_000)  # a fresh uploader
                        wait_for_app(page, timeout=120_000)
                    page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
                    wait_for_app(page, timeout=120_000)
                    page.get_by_text("Daily cycle: run it now, see its history").click()
                    wait_for_app(page)
                    notice = page.locator('[data-testid="stAlertContainer"]').filter(has_text="held").first
                    notice.wait_for(timeout=60_000)
                    target = folder / f"overview_held{suffix}.png"
                    notice.locator("xpath=ancestor::*[@data-testid='stExpander'][1]").screenshot(path=str(target))
                    written.append(target)
                    page.close()
                browser.close()
        finally:
            stop_process_group(proc)
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    sizes = [int(w) for w in sys.argv[2:]] or [1280]
    out.mkdir(parents=True, exist_ok=True)
    for path in shoot(out, sizes):
        print(path)
