"""Benchmark the default forecaster on the 9 shared reservoirs and print a table (python -m bench.run).

Not a test: it measures accuracy (skill vs persistence) and speed on 2 CPU cores, and rewrites
bench/RESULTS.md with the table and the date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.data import load_all
from core.pipeline import forecast_reservoir, train_reservoir
from core.store import Workspace
from core.train import TrainConfig

RESULTS = Path(__file__).with_name("RESULTS.md")


def _help_seconds() -> float:
    """Wall time of `python -m core --help` in a fresh interpreter."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", "--help"], check=True, capture_output=True)
    return time.perf_counter() - t0


def _warm_forecast_ms(ws: Workspace, reservoir: str, repeats: int = 20) -> float:
    """Median time of a forecast with the model already loaded (the dashboard's cached case)."""
    from core.registry import load_version

    loaded = load_version(ws, reservoir)
    forecast_reservoir(ws, reservoir, loaded=loaded)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        forecast_reservoir(ws, reservoir, loaded=loaded)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _alert_scores(ws: Workspace, task: object, outcome: object) -> dict[str, dict]:
    """POD/FAR/CSI of the alert rule with levels at the 90th/10th percentile of the training series."""
    from core.levels import OperatingLevel
    from core.pipeline import verify_alerts

    train_start, train_end = outcome.result.bounds.to_dict()["train"]
    series = ws.readings(task.reservoir, [task.target])[task.target].loc[train_start:train_end]
    levels = [
        OperatingLevel("p90 (flood)", float(series.quantile(0.9)), None, "flood", "warning", task.target),
        OperatingLevel("p10 (drought)", float(series.quantile(0.1)), None, "drought", "warning", task.target),
    ]
    result = verify_alerts(ws, task.reservoir, levels=levels)
    return {r["side"]: r for r in result["levels"]}


def main(argv: list[str] | None = None) -> int:
    """Train the default model on every shared reservoir and report the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--only", help="comma-separated reservoir names")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        tasks = load_all(ws)
        if args.only:
            keep = {n.strip().lower() for n in args.only.split(",")}
            tasks = [t for t in tasks if t.reservoir.lower() in keep]
        for task in tasks:
            cfg = TrainConfig(target=task.target, features=task.features, epochs=args.epochs)
            outcome = train_reservoir(ws, task.reservoir, cfg, activate=True)
            out = outcome.to_dict()
            m = out["metrics"]
            full = outcome.result.metrics
            alerts = _alert_scores(ws, task, outcome)
            rows.append(
                {
                    "group": task.group,
                    "reservoir": task.reservoir,
                    "mae": m["model"]["mae"],
                    "rmse": m["model"]["rmse"],
                    "nse": m["model"]["nse"],
                    "p_mae": m["persistence"]["mae"],
                    "skill": m["skill_vs_persistence"],
                    "skill7": m["skill_by_horizon"][-1],
                    "epochs": out["epochs_run"],
                    "seconds": out["train_seconds"],
                    "coverage": {
                        method: {b: c[b]["mean"] for b in ("50", "80", "95")}
                        for method, c in full["coverage_by_method"].items()
                    },
                    "alerts": alerts,
                }
            )
            print(_row(rows[-1]), flush=True)
        warm = _warm_forecast_ms(ws, tasks[0].reservoir)
    help_s = _help_seconds()
    text = _report(rows, warm, help_s)
    print(text)
    if not args.no_write and not args.only:
        RESULTS.write_text(text)
        print(f"written to {RESULTS}")
    return 0


HEADER = "| group | reservoir | MAE | RMSE | NSE | persistence MAE | skill (mean) | skill (day 7) | epochs | train s |"


def _row(r: dict) -> str:
    """One markdown table row."""
    return (
        f"| {r['group']} | {r['reservoir']} | {r['mae']:.4g} | {r['rmse']:.4g} | {r['nse']:.3f} | {r['p_mae']:.4g} | "
        f"{r['skill']:+.3f} | {r['skill7']:+.3f} | {r['epochs']} | {r['seconds']:.1f} |"
    )


def _report(rows: list[dict], warm_ms: float, help_s: float) -> str:
    """The whole RESULTS.md text: table, group means, goals."""
    lines = [
        "# Benchmark: default forecaster on the shared reservoirs",
        "",
        f"Run {dt.date.today().isoformat()} with `python -m bench.run` on {platform.machine()}, "
        f"{_cores()} CPU cores, Python {platform.python_version()}.",
        "Task (shared/data/README.md): storage, 14 days in, 7 days out, chronological 70/15/15 split; "
        "metrics on the test split in the reservoir's unit, averaged over the 7 lead days.",
        "Skill = 1 - MAE_model / MAE_persistence (persistence: 'tomorrow = today').",
        "",
        HEADER,
        "|" + "---|" * 10,
        *[_row(r) for r in rows],
        "",
    ]
    for group in sorted({r["group"] for r in rows}):
        g = [r for r in rows if r["group"] == group]
        lines.append(
            f"- {group}: mean skill {statistics.mean(r['skill'] for r in g):+.3f}, "
            f"day-7 skill {statistics.mean(r['skill7'] for r in g):+.3f}, "
            f"positive on {sum(r['skill'] > 0 for r in g)}/{len(g)}"
        )
    lines += [
        "",
        "## Calibrated bands: coverage on the test split",
        "",
        "Share of test observations inside each band (nominal 50 / 80 / 95 %), averaged over the 7 lead days. "
        "`scaled` (the default) multiplies validation residuals by the recent variability at issue time; "
        "`absolute` uses them as they are.",
        "",
        "| reservoir | scaled 50 | scaled 80 | scaled 95 | absolute 50 | absolute 80 | absolute 95 |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {r['reservoir']} | "
            + " | ".join(f"{100 * r['coverage'][m][b]:.1f}" for m in ("scaled", "absolute") for b in ("50", "80", "95"))
            + " |"
            for r in rows
        ],
        "| **mean** | "
        + " | ".join(
            f"{100 * statistics.mean(r['coverage'][m][b] for r in rows):.1f}"
            for m in ("scaled", "absolute")
            for b in ("50", "80", "95")
        )
        + " |",
        "",
        "## Alert rule on the test split (trigger 20 %)",
        "",
        "Levels at the 90th (flood side) and 10th (drought side) percentile of each training series; an event is "
        "the observed storage beyond the level on any of the 7 forecast days.",
        "",
        "| reservoir | side | events | alerts | hits | misses | false alarms | POD | FAR | CSI |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {r['reservoir']} | {side} | {a['events']} | {a['alerts']} | {a['hits']} | {a['misses']} | "
            f"{a['false_alarms']} | {_opt(a['pod'])} | {_opt(a['far'])} | {_opt(a['csi'])} |"
            for r in rows
            for side, a in r["alerts"].items()
        ],
        "",
        "## Goals",
        "",
        f"- positive skill on {sum(r['skill'] > 0 for r in rows)} of {len(rows)} reservoirs",
        f"- training to early stop: median {statistics.median(r['seconds'] for r in rows):.1f} s, "
        f"max {max(r['seconds'] for r in rows):.1f} s",
        f"- warm forecast (model loaded): {warm_ms:.1f} ms median",
        f"- `python -m core --help`: {help_s:.2f} s",
        "",
    ]
    return "\n".join(lines)


def _opt(value: float | None) -> str:
    """A score or '-' when undefined (no events and no alerts)."""
    return "-" if value is None else f"{value:.2f}"


def _cores() -> int:
    """CPU cores this process may use."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
