"""A workspace that shows every screen at its fullest, for the layout browser tests and the README screenshots.

Built in-process with the same core calls the CLI makes: the sample reservoir (level in m, trained), and a real
record with storage *and* level (the Palisades storage in m³, nine-digit numbers, with an elevation in ft from a
storage-elevation curve, a long name, readings that end years ago), trained, compared against the fast members,
with operating levels on both sides and one raised alert, judged by one serial daily cycle. Tiny configs keep it
to a few tens of seconds on two cores.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from core.app.compare import compare_models
from core.app.curves import import_curve
from core.app.pipeline import add_sample, forecast_reservoir, train_reservoir, update_levels
from core.data.levels import OperatingLevel
from core.data.sample import SAMPLE_NAME
from core.fleet.cycle import CycleOptions, run_cycle
from core.fleet.engines import EngineSettings
from core.store.readings import UploadInfo
from core.store.workspace import Workspace
from tests.conftest import SHARED, tiny_config

TWO_VARIABLE = "Palisades Reservoir near Irwin, Idaho"  # long on purpose: headings and cards must wrap, not cut
STORAGE_UNIT, LEVEL_UNIT = "m³", "ft"
FAST = ("persistence", "climatology", "ridge")  # one-shot members: a comparison in seconds
BED_FT, RISE_FT, FULL_M3 = 5_400.0, 220.0, 1.7e9  # the made-up curve: level = bed + rise * (storage / full) ** 0.55


def level_of(storage: np.ndarray) -> np.ndarray:
    """Elevation (ft) of a storage (m³) on the made-up curve of the two-variable reservoir."""
    return BED_FT + RISE_FT * (np.clip(storage, 0, None) / FULL_M3) ** 0.55


def palisades_frame(days: int = 3 * 365) -> pd.DataFrame:
    """The real Palisades record (storage, inflow, release) when ../shared is there, else a made-up one like it;
    plus its elevation read from the curve, to two decimals, as a gauge reports it."""
    source = SHARED / "snake_river" / "Palisades.csv"
    if source.exists():
        raw = pd.read_csv(source)
        index = pd.to_datetime(raw["DateTime"], format="%m/%d/%Y")
        frame = pd.DataFrame(
            {"storage": raw["Storage_m3"].to_numpy(), "inflow": raw["Q_in_m3d"], "outflow": raw["Q_out_m3d"]}
        ).set_index(index)
        frame = frame.iloc[-days:]
    else:
        index = pd.date_range("2014-01-01", periods=days, freq="D")
        t = np.arange(days)
        inflow = 4e6 + 3e6 * np.clip(np.sin(2 * np.pi * t / 365.25), 0, None)
        outflow = 3.5e6 + 1e6 * np.cos(2 * np.pi * t / 365.25)
        storage = 8e8 + np.cumsum(inflow - outflow) * 0.5
        frame = pd.DataFrame({"storage": storage, "inflow": inflow, "outflow": outflow}, index=index)
    frame.index.name = "date"
    frame["level"] = np.round(level_of(frame["storage"].to_numpy(dtype=float)), 2)
    return frame.astype("float64")


def curve_csv() -> bytes:
    """The storage-elevation table of the made-up curve, in the reservoir's own units."""
    storage = np.linspace(0, 2.0e9, 41)
    rows = "\n".join(f"{lv:.3f},{s:.0f}" for lv, s in zip(level_of(storage), storage, strict=True))
    return f"elevation_ft,storage_m3\n{rows}\n".encode()


def add_two_variable(ws: Workspace) -> None:
    """The storage-and-level reservoir, its curve, a trained model, a comparison and levels with a raised alert."""
    frame = palisades_frame()
    ws.merge(
        {TWO_VARIABLE: frame},
        {TWO_VARIABLE: {"storage": STORAGE_UNIT, "inflow": "m³/d", "outflow": "m³/d", "level": LEVEL_UNIT}},
        UploadInfo(filename="Palisades.csv", sha256="screen-test"),
    )
    import_curve(ws, TWO_VARIABLE, curve_csv(), filename="palisades_curve.csv", partial=True)
    config = tiny_config(target="storage", features=("inflow", "outflow"))
    job = ws.create_job(TWO_VARIABLE, "compare", {"config": config.to_dict(), "models": list(FAST)})
    board = compare_models(ws, TWO_VARIABLE, config, FAST, activate_best=False)
    ws.update_job(job, status="done", message="3 models compared", result=json.loads(json.dumps(board)))
    train_reservoir(ws, TWO_VARIABLE, config, activate=True)
    median = forecast_reservoir(ws, TWO_VARIABLE).points[-1].value
    update_levels(
        ws,
        TWO_VARIABLE,
        [
            OperatingLevel("Dead pool", round(median * 0.3, -5), STORAGE_UNIT, "drought", "danger", "storage"),
            OperatingLevel("Drought watch", round(median * 1.02, -5), STORAGE_UNIT, "drought", "watch", "storage"),
            OperatingLevel("Full pool", round(median * 1.6, -5), STORAGE_UNIT, "flood", "watch", "storage"),
            OperatingLevel("Flood warning", round(median * 1.8, -5), STORAGE_UNIT, "flood", "warning", "storage"),
        ],
    )


def build(root: Path, trained_sample: Path | None = None) -> Workspace:
    """The whole state: both reservoirs trained, levels set, one daily cycle run (serial, no retraining).

    `trained_sample`: a workspace folder holding the sample with a tiny trained version (the test session's
    conftest fixture), copied instead of training the sample again.
    """
    if trained_sample is not None:
        shutil.copytree(trained_sample, root)
        ws = Workspace(root)
    else:
        ws = Workspace(root)
        add_sample(ws)
        train_reservoir(ws, SAMPLE_NAME, tiny_config(), activate=True)
    add_two_variable(ws)
    run_cycle(ws, CycleOptions(retrain="none", engine=EngineSettings(name="serial")))
    return ws


if __name__ == "__main__":  # python -m tests.screen_support FOLDER: build it for a manual look
    import sys
    import time

    t0 = time.monotonic()
    build(Path(sys.argv[1]))
    print(f"built in {time.monotonic() - t0:.1f} s")
