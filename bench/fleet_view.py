"""How fast the Overview's fleet table is read: `fleet_status` on generated fleets (python -m bench.fleet_view).

Not a test: it builds workspaces of 30/120/500 reservoirs with years of daily readings, model rows and one cycle
run (tests/fleet_support.make_fleet: written directly, no training), then times `core.app.fleet.fleet_status`
(what every Overview load runs) against the naive read it replaces (`reservoirs()`, which counts every reading,
plus one `active_version()` per reservoir), and prints a table. Median of a few repeats, on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core.app.fleet import fleet_status
from core.store.workspace import Workspace
from tests.fleet_support import make_fleet


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    """Median wall time of `call` in milliseconds (one warm-up call first)."""
    call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _naive(ws: Workspace) -> None:
    """What a per-reservoir page load would do: the full summary and one version query per reservoir."""
    for info in ws.reservoirs():
        ws.active_version(info.name)
    ws.latest_cycle_results()


def measure(count: int, days: int, repeats: int) -> dict[str, float]:
    """Build one fleet in a temporary folder and time both reads."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        t0 = time.perf_counter()
        make_fleet(ws, count, days=days)
        build = time.perf_counter() - t0
        readings = sum(v.count for r in ws.reservoirs() for v in r.variables)
        return {
            "reservoirs": count,
            "readings": readings,
            "build_s": build,
            "fleet_ms": _median_ms(lambda: fleet_status(ws), repeats),
            "naive_ms": _median_ms(lambda: _naive(ws), repeats),
        }


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,120,500", help="fleet sizes, comma-separated")
    parser.add_argument("--days", type=int, default=3650, help="days of readings per reservoir")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| reservoirs | readings | build (s) | fleet_status (ms) | naive read (ms) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, args.days, args.repeats)
        print(
            f"| {row['reservoirs']} | {row['readings']:,} | {row['build_s']:.1f} | {row['fleet_ms']:.1f} "
            f"| {row['naive_ms']:.1f} |"
        )


if __name__ == "__main__":
    main()
