"""Benchmark the daily cycle over a fleet: serial vs local processes vs Ray on this machine (python -m bench.fleet).

Not a test. The fleet is the 9 shared reservoirs (bench/data.py, imported through the app's pipeline) plus
generated variants (scaled, shifted and noisy copies of their readings, seeded) up to --reservoirs. For each
engine a fresh copy of the fleet workspace runs the cycle twice: `--retrain all` (every reservoir trains its
first model, the default member) and then `--retrain none` (forecast only). It prints wall time, the in-task time
per reservoir, the per-task overhead (engine wall x width / reservoirs - in-task seconds), CPU seconds (driver +
tasks) and peak memory of the driver's whole process tree (sampled from /proc), then a projection of a
500-reservoir nightly run on a Ray cluster. `--write` puts the tables into bench/RESULTS.md ("Fleet cycle").
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data import load_all
from core.fleet.cycle import CycleOptions, CycleReport, run_cycle
from core.fleet.engines import EngineSettings
from core.model.train import fingerprint
from core.store.workspace import UploadInfo, Workspace

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "Fleet cycle"
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass(frozen=True)
class Run:
    """One measured cycle run."""

    engine: str
    retrain: str
    reservoirs: int
    failed: int
    wall: float
    task_mean: float
    task_median: float
    overhead: float
    cpu: float
    peak_mb: float
    task_peak_mb: float


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants (driver, spawned workers, raylet, Ray workers)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * PAGE_KB
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total / 1024


class PeakSampler:
    """Samples the process tree's memory twice a second while a run is going."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        """Keep the highest sum seen."""
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss_mb(os.getpid()))
            self._stop.wait(0.5)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def build_fleet(root: Path, size: int, seed: int = 7) -> Workspace:
    """The 9 shared reservoirs plus seeded variants (x0.8-1.2 scale, shift, 0.5 % noise) up to `size` reservoirs."""
    ws = Workspace(root)
    tasks = load_all(ws)
    rng = np.random.default_rng(seed)
    for i in range(max(0, size - len(tasks))):
        base = tasks[i % len(tasks)]
        info = ws.reservoir(base.reservoir)
        frame = ws.readings(base.reservoir, [base.target, *base.features])
        scale, shift = rng.uniform(0.8, 1.2), rng.uniform(-0.05, 0.05) * float(frame[base.target].mean())
        noisy = frame[base.target] * scale + shift
        frame[base.target] = noisy + rng.normal(0, 0.005 * float(noisy.std()), len(noisy))
        name = f"{base.reservoir} variant {i + 1}"
        units = {v.name: v.unit for v in info.variables if v.name in frame.columns}
        ws.merge({name: frame}, {name: units}, UploadInfo(filename=f"{name}.csv", sha256=fingerprint(frame)))
    return ws


def run_engine(fleet: Path, engine: str, workers: int, max_epochs: int, tmp: Path) -> list[Run]:
    """Both runs (retrain all, then none) on a fresh copy of the fleet workspace."""
    root = tmp / f"ws-{engine}"
    shutil.copytree(fleet, root)
    ws = Workspace(root)
    out = []
    for retrain in ("all", "none"):
        options = CycleOptions(
            retrain=retrain, engine=EngineSettings(name=engine, workers=workers), max_epochs=max_epochs, notify=False
        )
        c0 = time.process_time()
        with PeakSampler() as sampler:
            report = run_cycle(ws, options)
        driver_cpu = time.process_time() - c0
        width = 1 if engine == "serial" else workers
        out.append(_measure(report, engine, retrain, width, sampler.peak, driver_cpu))
        print(_row(out[-1]), flush=True)
        for failed in report.failed:  # say why, so a failure in the table is a finding, not a mystery
            print(f"  failed: {failed.reservoir}: {failed.error}", flush=True)
    return out


def _measure(report: CycleReport, engine: str, retrain: str, width: int, peak: float, driver_cpu: float) -> Run:
    """The run's figures from the report and the task timings."""
    seconds = [t["seconds"] for t in report.timings] or [0.0]
    task_cpu = sum(t["cpu_seconds"] for t in report.timings)
    n = max(1, len(report.reservoirs))
    in_task = statistics.mean(seconds)
    # serial tasks run inside the driver: their CPU is the driver's; local/ray tasks report their own (Ray workers
    # are not the driver's children, so os.times() would miss them)
    cpu = driver_cpu if engine == "serial" else driver_cpu + task_cpu
    return Run(
        engine=engine,
        retrain=retrain,
        reservoirs=len(report.reservoirs),
        failed=len(report.failed),
        wall=report.seconds,
        task_mean=in_task,
        task_median=statistics.median(seconds),
        overhead=report.seconds * width / n - in_task,
        cpu=cpu,
        peak_mb=peak,
        task_peak_mb=max((t["peak_rss_mb"] for t in report.timings), default=0.0),
    )


HEADER = (
    "| engine | retrain | reservoirs | failed | wall s | in-task s / reservoir (mean, median) | overhead s / task "
    "| CPU s | peak memory, whole tree | peak per task |\n|---|---|---|---|---|---|---|---|---|---|"
)


def _row(r: Run) -> str:
    """One table row."""
    return (
        f"| {r.engine} | {r.retrain} | {r.reservoirs} | {r.failed} | {r.wall:.0f} | {r.task_mean:.1f}, "
        f"{r.task_median:.1f} | {r.overhead:+.1f} | {r.cpu:.0f} | {r.peak_mb:,.0f} MB | {r.task_peak_mb:,.0f} MB |"
    )


def projection(runs: list[Run], nodes: tuple[int, ...] = (1, 4, 16), cpus_per_node: int = 16) -> list[str]:
    """A 500-reservoir nightly run on N Ray nodes, from the measured Ray per-reservoir cost (in-task + overhead)."""
    ray_runs = {r.retrain: r for r in runs if r.engine == "ray"}
    if not ray_runs:
        return ["(no Ray run measured: no projection)"]
    lines = [
        "| nodes (x16 CPUs) | retrain all: hours | forecast only: minutes |",
        "|---|---|---|",
    ]
    cost = {k: max(0.1, r.task_mean + max(0.0, r.overhead)) for k, r in ray_runs.items()}
    for n in nodes:
        slots = n * cpus_per_node
        train_h = 500 * cost.get("all", 0.0) / slots / 3600
        fc_min = 500 * cost.get("none", 0.0) / slots / 60
        lines.append(f"| {n} | {train_h:.2f} | {fc_min:.1f} |")
    return lines


def section(runs: list[Run], args: argparse.Namespace, minutes: float) -> str:
    """The RESULTS.md section: how it was run, the table, the projection and what it means."""
    ray = {r.retrain: r for r in runs if r.engine == "ray"}
    cost = {k: r.task_mean + max(0.0, r.overhead) for k, r in ray.items()}
    text = [
        f"## {dt.date.today().isoformat()}: {SECTION}",
        "",
        f"Run with `nice -n 5 python -m bench.fleet --reservoirs {args.reservoirs} --max-epochs {args.max_epochs} "
        f"--engines {args.engines}` on {platform.machine()}, {os.cpu_count()} CPU cores shared with other agents' "
        f"work (load average about {os.getloadavg()[0]:.0f}), Python {platform.python_version()}, {minutes:.0f} min. "
        f"The fleet: the 9 shared reservoirs plus seeded variants; every reservoir trains the default model "
        f"(first model, epochs capped at {args.max_epochs}), then a forecast-only run. Workers: {args.workers}. "
        "In-task seconds are measured inside the task; overhead = wall x workers / reservoirs - in-task "
        "(process start, imports, TensorFlow start-up, transfer); CPU = driver + every task.",
        "",
        HEADER,
        *(_row(r) for r in runs),
        "",
        "Projection of a 500-reservoir nightly run on a Ray cluster (16 CPUs per node, one CPU per task, "
        f"per-reservoir cost measured here with Ray: {cost.get('all', float('nan')):.1f} s training + forecast, "
        f"{cost.get('none', float('nan')):.1f} s forecast only; a quiet machine is faster, and full 200-epoch "
        "trainings with early stopping cost several times the capped ones):",
        "",
        *projection(runs),
        "",
    ]
    return "\n".join(text)


def write_section(text: str) -> None:
    """Put the section into RESULTS.md before the first dated section (replacing an earlier Fleet cycle one)."""
    body = RESULTS.read_text(encoding="utf-8")
    lines = body.split("\n")
    start = next((i for i, ln in enumerate(lines) if ln.startswith("## ") and SECTION in ln), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = text.rstrip("\n").split("\n") + [""]
    else:
        first = next((i for i, ln in enumerate(lines) if ln.startswith("## ")), len(lines))
        lines[first:first] = text.rstrip("\n").split("\n") + [""]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Build the fleet once, run every engine on its own copy, print (and optionally write) the tables."""
    p = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.split("\n")[0])
    p.add_argument("--reservoirs", type=int, default=50, help="fleet size (default 50: the 9 shared + variants)")
    p.add_argument("--engines", default="serial,local,ray", help="comma-separated engines (default all three)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="tasks at once (default: CPU count)")
    p.add_argument("--max-epochs", type=int, default=5, help="cap on each training's epochs (default 5)")
    p.add_argument("--write", action="store_true", help="write the tables into bench/RESULTS.md")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    t0 = time.perf_counter()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        fleet = Path(tmp) / "fleet"
        build_fleet(fleet, args.reservoirs)
        print(f"fleet of {args.reservoirs} reservoirs built in {time.perf_counter() - t0:.0f} s", flush=True)
        print(HEADER, flush=True)
        for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
            runs += run_engine(fleet, engine, args.workers, args.max_epochs, Path(tmp))
    minutes = (time.perf_counter() - t0) / 60
    text = section(runs, args, minutes)
    print("\n" + text)
    if args.write:
        write_section(text)
        print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
