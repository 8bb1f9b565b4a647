"""Screenshot of the Overview's fleet view with 60 generated reservoirs (python -m tests.shoot_fleet [PNG]).

Not a test (pytest does not collect it): it writes a fleet with tests/fleet_support.make_fleet, trains a quick
ridge model for the reservoirs whose cards show by default (so their cards draw a real forecast, with an operating
level set on the side the table raises), starts the app headless, and saves a full-page PNG from Debian's
Chromium (default assets/screenshots/overview_fleet.png).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright import sync_api

from core.app.fleet import default_cards, fleet_status
from core.app.pipeline import forecast_reservoir, train_reservoir, update_levels
from core.data.levels import OperatingLevel
from core.model.config import ModelConfig, TrainConfig
from core.store.workspace import Workspace
from tests.e2e_helpers import (
    CHROMIUM_ARGS,
    ROOT,
    chromium_path,
    free_port,
    full_page_shot,
    start_app,
    stop_process_group,
    wait_for_app,
    wait_for_charts,
    wait_healthy,
)
from tests.fleet_support import make_fleet

COUNT = 60
DEFAULT_PNG = ROOT / "assets" / "screenshots" / "overview_fleet.png"


def _real_cards(ws: Workspace) -> None:
    """Ridge models and one level per default card, so those cards show a forecast and the alert the table has."""
    rows = {r.reservoir: r for r in fleet_status(ws)}
    for name in default_cards(list(rows.values())):
        row = rows[name]
        train_reservoir(
            ws, name, TrainConfig(target="level", features=(), model=ModelConfig(name="ridge")), activate=True
        )
        points = [p.value for p in forecast_reservoir(ws, name).points]
        side = "flood" if row.flood in ("watch", "warning", "danger") else "drought"
        state = row.flood if side == "flood" else row.drought
        value = min(points) - 0.01 if side == "flood" else max(points) + 0.01
        label = "Flood warning" if side == "flood" else "Low supply"
        update_levels(ws, name, [OperatingLevel(label, round(value, 2), "m", side, state)])


def main(out: Path = DEFAULT_PNG) -> None:
    """Build the fleet, start the app, take the shot."""
    executable = chromium_path()
    if executable is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium).")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        ws = Workspace(root)
        make_fleet(ws, COUNT, days=400)
        _real_cards(ws)
        port, log = free_port(), Path(tmp) / "streamlit.log"
        proc = start_app(port, root, log)
        try:
            wait_healthy(proc, port, log)
            with sync_api.sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_context(viewport={"width": 1500, "height": 900}).new_page()
                page.set_default_timeout(120_000)
                page.goto(f"http://127.0.0.1:{port}/")
                wait_for_app(page)
                wait_for_charts(page)
                full_page_shot(page, [out])
                browser.close()
        finally:
            stop_process_group(proc)
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PNG)
