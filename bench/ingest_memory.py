"""Time and peak memory of inspecting and importing a large logger file (python -m bench.ingest_memory).

Not a test: it writes a ~50 MB, 1M-row CSV of 15-minute readings (level, storage, inflow, outflow, rain), then
reads it in a fresh interpreter per step, so each step's peak resident memory (ru_maxrss) is its own.
Targets from issue 11: import <= 10 s and <= 600 MB peak. Wall time depends on the machine's load, so the table
also gives each step's CPU seconds (user + system of the whole interpreter, imports included) and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_SECONDS = 10.0
TARGET_MB = 600.0


def write_file(path: Path, rows: int = 1_000_000, seed: int = 0) -> Path:
    """A 15-minute logger export with plausible hydrology, written in chunks so the writer stays small."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("1995-01-01")
    chunk = 200_000
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("timestamp,level_ft,storage_af,inflow_cfs,outflow_cfs,rain_in\n")
        for first in range(0, rows, chunk):
            n = min(chunk, rows - first)
            step = np.arange(first, first + n)
            stamps = (start + pd.to_timedelta(step * 15, unit="min")).strftime("%Y-%m-%d %H:%M")
            season = np.sin(step / (96 * 365.25) * 2 * np.pi)
            level = 5200 + 20 * season + rng.normal(0, 0.05, n)
            storage = 1.2e6 + 4e5 * season + rng.normal(0, 500, n)
            inflow = np.abs(3000 + 2500 * season + rng.normal(0, 200, n))
            outflow = np.abs(2800 + 2000 * season + rng.normal(0, 150, n))
            rain = np.where(rng.random(n) < 0.02, rng.gamma(1.0, 0.05, n), 0.0)
            table = pd.DataFrame(
                {"t": stamps, "l": level.round(2), "s": storage.round(0), "i": inflow.round(1), "o": outflow.round(1)}
            )
            table["r"] = rain.round(2)
            table.to_csv(out, header=False, index=False)
    return path


def _child(step: str, path: str) -> None:
    """Run one step in this (fresh) interpreter and print its seconds and peak RSS as JSON."""
    t0 = time.perf_counter()
    if step == "inspect":
        from core.data.ingest import read_csv

        parsed = read_csv(Path(path))
        detail = {"ok": parsed.report.ok, "days": parsed.report.n_rows}
    elif step == "curve":  # a storage-elevation table (bench.agency_formats)
        from core.data.curves import read_curve

        curve = read_curve(Path(path).read_bytes(), Path(path).name)
        detail = {"rows": len(curve.elevation)}
    else:  # import, or import-stations: an agency file whose stations become reservoirs
        from core.app.pipeline import import_csv
        from core.store.workspace import Workspace

        reservoir = None if step == "import-stations" else "Big logger"
        with tempfile.TemporaryDirectory() as tmp:
            outcome = import_csv(Workspace(Path(tmp) / "ws"), Path(path), reservoir=reservoir)
            detail = {"added": sum(r.added for r in outcome.results), "reservoirs": len(outcome.results)}
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024  # Linux: kilobytes
    cpu = usage.ru_utime + usage.ru_stime  # the whole interpreter, imports included: what load cannot inflate
    out = {"step": step, "seconds": round(seconds, 2), "cpu_s": round(cpu, 2), "peak_mb": round(peak_mb, 1)}
    print(json.dumps({**out, **detail}))


def measure(step: str, path: Path) -> dict:
    """Seconds and peak RSS of one step, measured in a subprocess."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest_memory", "--child", step, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Write the file (or use --file), measure inspect and import, and say whether the targets hold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--file", help="measure this CSV instead of a generated one")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.file) if args.file else write_file(Path(tmp) / "big_logger.csv", args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"file: {path.name}, {size_mb:.1f} MB, {args.rows:,} rows" if not args.file else f"file: {path}")
        ok = True
        for step in ("inspect", "import"):
            result = measure(step, path)
            within = result["seconds"] <= TARGET_SECONDS and result["peak_mb"] <= TARGET_MB
            ok &= within or step == "inspect"
            verdict = "within" if within else "OVER"
            print(
                f"{step:8s} {result['seconds']:6.2f} s wall  {result['cpu_s']:6.2f} s CPU  "
                f"peak {result['peak_mb']:7.1f} MB  ({verdict} target {TARGET_SECONDS:.0f} s / {TARGET_MB:.0f} MB)"
            )
    print(f"load average while measuring: {' / '.join(f'{v:.1f}' for v in os.getloadavg())} (1 / 5 / 15 min)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
