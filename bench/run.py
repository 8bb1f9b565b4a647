"""Benchmark the model zoo and its peers on the 9 shared reservoirs and print tables (python -m bench.run).

Not a test: it measures accuracy (skill vs persistence) and speed on this machine's CPU cores, and
rewrites bench/RESULTS.md with the tables and the date. Zoo members run through the dashboard's own
leaderboard (core.app.compare.compare_models, every member stored as a version); peers (bench/peers.py,
needs bench/requirements.txt: `make bench` sets up .venv-bench) forecast the same test windows.
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

import numpy as np
import pandas as pd

from bench.data import load_all, select
from core.app.compare import compare_models
from core.app.pipeline import forecast_reservoir, load_clean
from core.model.config import DEFAULT_MODEL, TrainConfig
from core.model.evaluate import compare
from core.model.leaderboard import parse_models
from core.store.workspace import ModelVersion, Workspace

RESULTS = Path(__file__).with_name("RESULTS.md")
COVERAGE_METHODS = ("adaptive", "scaled", "absolute")  # columns of the coverage table; adaptive is what is issued
COVERAGE_TOLERANCE = 5.0  # points from nominal the issued bands may be off on any reservoir (issue 10)


def _help_seconds() -> float:
    """Wall time of `python -m core --help` in a fresh interpreter."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", "--help"], check=True, capture_output=True)
    return time.perf_counter() - t0


def _warm_forecast_ms(ws: Workspace, reservoir: str, repeats: int = 20) -> float:
    """Median time of a forecast with the model already loaded (the dashboard's cached case)."""
    loaded = ws.load_version(reservoir)
    forecast_reservoir(ws, reservoir, loaded=loaded)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        forecast_reservoir(ws, reservoir, loaded=loaded)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _alert_scores(ws: Workspace, task: object, record: ModelVersion) -> dict[str, dict]:
    """POD/FAR/CSI of the alert rule with levels at the 90th/10th percentile of the training series."""
    from core.app.pipeline import verify_alerts
    from core.data.levels import OperatingLevel

    train_start, train_end = record.splits["train"]
    series = ws.readings(task.reservoir, [task.target])[task.target].loc[train_start:train_end]
    levels = [
        OperatingLevel("p90 (flood)", float(series.quantile(0.9)), None, "flood", "warning", task.target),
        OperatingLevel("p10 (drought)", float(series.quantile(0.1)), None, "drought", "warning", task.target),
    ]
    result = verify_alerts(ws, task.reservoir, levels=levels)
    return {r["side"]: r for r in result["levels"]}


def _peer_skills(ws: Workspace, task: object, board: dict, peers: list[str]) -> tuple[dict, dict]:
    """Peers' forecasts of the board's test windows: skill vs persistence and seconds per peer."""
    from bench.peers import peer_forecasts

    record = ws.version(task.reservoir, board["models"][0]["version"])
    cfg = TrainConfig.from_dict(record.config)
    series = load_clean(ws, task.reservoir, [task.target, *task.features], cfg.clean).values[task.target]
    issued = pd.DatetimeIndex(board["test"]["issued"])
    truth = np.asarray(board["test"]["truth"], float)
    base = series.reindex(issued).to_numpy(float)
    splits = record.splits
    train_end, val_end = pd.Timestamp(splits["train"][1]), pd.Timestamp(splits["val"][1])
    skills, seconds = {}, {}
    for peer in peers:  # one at a time so each gets its own timing
        t0 = time.perf_counter()
        pred = peer_forecasts(
            series, train_end, issued, cfg.n_steps, cfg.horizon, which=[peer], seed=cfg.seed, val_end=val_end
        )[peer]
        seconds[peer] = time.perf_counter() - t0
        skills[peer] = compare(truth, pred, base)["skill_vs_persistence"]
    return skills, seconds


def _peers_available(requested: str) -> tuple[list[str], str | None]:
    """The peers to run, or none with the reason (bench deps not installed)."""
    if requested == "none":
        return [], "peers not run (--peers none)"
    try:
        from bench.peers import PEERS
    except ImportError as exc:
        return [], f"peers not run: {exc} (install bench/requirements.txt: `make bench`)"
    names = PEERS if requested == "all" else tuple(n.strip() for n in requested.split(",") if n.strip())
    unknown = set(names) - set(PEERS)
    if unknown:
        raise SystemExit(f"unknown peer(s) {', '.join(sorted(unknown))}; known: {', '.join(PEERS)}")
    return list(names), None


def main(argv: list[str] | None = None) -> int:
    """Run the zoo (and peers) on every shared reservoir and report the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--only", help="comma-separated reservoir names")
    parser.add_argument("--models", help="comma-separated zoo members (default: the whole zoo)")
    parser.add_argument("--peers", default="all", help="comma-separated peers, 'all' (default) or 'none'")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    models = list(parse_models(args.models))
    if DEFAULT_MODEL not in models:
        models.append(DEFAULT_MODEL)  # the coverage, alert and timing tables are about the default
    peers, peer_note = _peers_available(args.peers)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        tasks = select(load_all(ws), args.only)
        for task in tasks:
            cfg = TrainConfig(target=task.target, features=task.features, epochs=args.epochs)
            board = compare_models(ws, task.reservoir, cfg, models, activate_best=False)
            by_model = {r["model"]: r for r in board["models"]}
            default = by_model[DEFAULT_MODEL]
            ws.activate(task.reservoir, default["version"])
            record = ws.version(task.reservoir, default["version"])
            peer_skill, peer_seconds = _peer_skills(ws, task, board, peers) if peers else ({}, {})
            m = default["metrics"]
            rows.append(
                {
                    "group": task.group,
                    "reservoir": task.reservoir,
                    "mae": m["model"]["mae"],
                    "rmse": m["model"]["rmse"],
                    "nse": m["model"]["nse"],
                    "kge": m["model"]["kge"],
                    "p_mae": m["persistence"]["mae"],
                    "skill": m["skill_vs_persistence"],
                    "skill7": m["skill_by_horizon"][-1],
                    "epochs": default["epochs_run"],
                    "seconds": default["train_seconds"],
                    "best": board["best"],
                    "skills": {
                        **{r["model"]: r["metrics"]["skill_vs_persistence"] for r in board["models"]},
                        **peer_skill,
                    },
                    "val_skills": {r["model"]: r["val_skill"] for r in board["models"]},
                    "train_s": {**{r["model"]: r["train_seconds"] for r in board["models"]}, **peer_seconds},
                    "epochs_by": {r["model"]: r["epochs_run"] for r in board["models"]},
                    "coverage": {
                        method: {b: c[b]["mean"] for b in ("50", "80", "95")}
                        for method, c in record.metrics["coverage_by_method"].items()
                    },
                    "alerts": _alert_scores(ws, task, record),
                }
            )
            print(_row(rows[-1]), " ".join(f"{k}={v:+.3f}" for k, v in rows[-1]["skills"].items()), flush=True)
        warm = _warm_forecast_ms(ws, tasks[0].reservoir)
    help_s = _help_seconds()
    text = _report(rows, [*models, *peers], peer_note, warm, help_s)
    print(text)
    if not args.no_write and not args.only:
        RESULTS.write_text(text)
        print(f"written to {RESULTS}")
    return 0


HEADER = (
    "| group | reservoir | MAE | RMSE | NSE | KGE | persistence MAE | skill (mean) | skill (day 7) | epochs | train s |"
)


def _row(r: dict) -> str:
    """One markdown table row."""
    return (
        f"| {r['group']} | {r['reservoir']} | {r['mae']:.4g} | {r['rmse']:.4g} | {r['nse']:.3f} | {r['kge']:.3f} | "
        f"{r['p_mae']:.4g} | "
        f"{r['skill']:+.3f} | {r['skill7']:+.3f} | {r['epochs']} | {r['seconds']:.1f} |"
    )


def _leaderboard(rows: list[dict], entries: list[str], peer_note: str | None) -> list[str]:
    """Skill of every zoo member and peer per reservoir, group means, positives and the best entry per group."""
    groups = sorted({r["group"] for r in rows})
    lines = [
        "## Leaderboard: skill vs persistence on the test split, every entry",
        "",
        f"Zoo members are trained by the dashboard's leaderboard (same split, early stopping on validation); "
        f"peers (bench/peers.py) forecast the same test windows. `{DEFAULT_MODEL}` is the default.",
        "",
        "| reservoir | " + " | ".join(entries) + " |",
        "|---|" + "---|" * len(entries),
        *[f"| {r['reservoir']} | " + " | ".join(_skill(r["skills"].get(e)) for e in entries) + " |" for r in rows],
    ]
    means = {}
    for group in groups:
        g = [r for r in rows if r["group"] == group]
        means[group] = {e: _mean([r["skills"].get(e) for r in g]) for e in entries}
        lines.append(f"| **{group} mean** | " + " | ".join(_skill(means[group][e]) for e in entries) + " |")
    lines.append(
        "| **positive** | "
        + " | ".join(f"{sum((r['skills'].get(e) or 0) > 0 for r in rows)}/{len(rows)}" for e in entries)
        + " |"
    )
    lines.append(
        "| **median train s** | " + " | ".join(_seconds([r["train_s"].get(e) for r in rows]) for e in entries) + " |"
    )
    lines.append("")
    for group in groups:
        ranked = sorted(((v, e) for e, v in means[group].items() if v is not None), reverse=True)
        lines.append(
            f"- {group}: best mean skill {ranked[0][1]} ({ranked[0][0]:+.3f}); "
            + ", ".join(f"{e} {v:+.3f}" for v, e in ranked[1:4])
        )
    lines.append(
        "- best by validation per reservoir (the dashboard's recommendation): "
        + ", ".join(f"{r['reservoir']} {r['best']}" for r in rows)
    )
    if peer_note:
        lines.append(f"- {peer_note}")
    return [*lines, ""]


def _skill(value: float | None) -> str:
    """A skill cell."""
    return "-" if value is None or not np.isfinite(value) else f"{value:+.3f}"


def _mean(values: list[float | None]) -> float | None:
    """Mean of the entries that ran."""
    ok = [v for v in values if v is not None and np.isfinite(v)]
    return statistics.mean(ok) if ok else None


def _seconds(values: list[float | None]) -> str:
    """Median seconds of the entries that ran."""
    ok = [v for v in values if v is not None]
    return f"{statistics.median(ok):.1f}" if ok else "-"


def _report(rows: list[dict], entries: list[str], peer_note: str | None, warm_ms: float, help_s: float) -> str:
    """The whole RESULTS.md text: leaderboard, default model table, coverage, alerts, goals."""
    lines = [
        "# Benchmark: the model zoo and its peers on the shared reservoirs",
        "",
        f"Run {dt.date.today().isoformat()} with `python -m bench.run` on {platform.machine()}, "
        f"{_cores()} CPU cores, Python {platform.python_version()}.",
        "Task (shared/data/README.md): storage, 14 days in, 7 days out, chronological 70/15/15 split; "
        "metrics on the test split in the reservoir's unit, averaged over the 7 lead days.",
        "Skill = 1 - MAE_model / MAE_persistence (persistence: 'tomorrow = today').",
        "",
        *_leaderboard(rows, entries, peer_note),
        f"## The default model (`{DEFAULT_MODEL}`)",
        "",
        HEADER,
        "|" + "---|" * 11,
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
        *_coverage_section(rows),
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
        *_timing(rows),
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


def _coverage_section(rows: list[dict]) -> list[str]:
    """Coverage of the issued (adaptive) bands per reservoir beside the static ones, and whether all are in bounds."""
    bands = ("50", "80", "95")
    cells = [(m, b) for m in COVERAGE_METHODS for b in bands]

    def pct(r: dict, m: str, b: str) -> float | None:
        value = r["coverage"].get(m, {}).get(b)
        return None if value is None else 100 * value

    return [
        "## Calibrated bands: coverage on the test split",
        "",
        "Share of test observations inside each band (nominal 50 / 80 / 95 %), averaged over the 7 lead days. "
        "`adaptive` (the default: what forecasts, hindcasts and the dashboard issue) calibrates each issue day on "
        "the scaled residuals known by then (two years, weighted by exp(-age / 90 days)); `scaled` is the static "
        "validation calibration "
        "scaled by the recent variability at issue time; `absolute` uses validation residuals as they are.",
        "",
        "| reservoir | " + " | ".join(f"{m} {b}" for m, b in cells) + " |",
        "|---|" + "---|" * len(cells),
        *[f"| {r['reservoir']} | " + " | ".join(_points(pct(r, m, b)) for m, b in cells) + " |" for r in rows],
        "| **mean** | " + " | ".join(_points(_mean([pct(r, m, b) for r in rows])) for m, b in cells) + " |",
        "",
        _coverage_verdict(rows, "adaptive"),
        _coverage_verdict(rows, "scaled"),
        "",
    ]


def _coverage_verdict(rows: list[dict], method: str) -> str:
    """One line: is every band of `method` within the tolerance of nominal on every reservoir, and the worst cell."""
    off = [
        (abs(100 * r["coverage"][method][b] - int(b)), r["reservoir"], b)
        for r in rows
        if method in r["coverage"]
        for b in ("50", "80", "95")
    ]
    if not off:
        return f"- {method}: no coverage measured."
    worst, reservoir, band = max(off)
    outside = sum(d > COVERAGE_TOLERANCE for d, _, _ in off)
    tol = f"+/-{COVERAGE_TOLERANCE:.0f}"
    verdict = (
        f"every band within {tol} on every reservoir"
        if outside == 0
        else f"NOT every band within {tol} on every reservoir ({outside}/{len(off)} cells outside)"
    )
    return f"- {method}: {verdict}; worst {reservoir} {band} % off by {worst:.1f} points."


def _points(value: float | None) -> str:
    """A coverage in percent to one decimal, or '-' where the method was not measured."""
    return "-" if value is None else f"{value:.1f}"


def _timing(rows: list[dict]) -> list[str]:
    """Seconds per epoch, epochs and seconds to early stop per reservoir for every member trained over epochs."""
    from core.model.zoo import ZOO

    nets = [m for m in rows[0]["epochs_by"] if ZOO[m].trains_over_epochs] if rows else []
    lines = [
        "## Training time to early stop (fast loop: one compiled call per epoch)",
        "",
        "Per member: seconds per epoch / epochs / seconds to early stop (patience 10, best weights restored).",
        "",
        "| reservoir | " + " | ".join(nets) + " |",
        "|---|" + "---|" * len(nets),
    ]
    for r in rows:
        cells = []
        for m in nets:
            epochs, seconds = r["epochs_by"][m], r["train_s"][m]
            cells.append(f"{seconds / max(epochs, 1):.3f} / {epochs} / {seconds:.1f}")
        lines.append(f"| {r['reservoir']} | " + " | ".join(cells) + " |")
    medians = [_seconds([r["train_s"][m] for r in rows]) for m in nets]
    maxima = [f"{max(r['train_s'][m] for r in rows):.1f}" for m in nets]
    lines += ["| **median s** | " + " | ".join(medians) + " |", "| **max s** | " + " | ".join(maxima) + " |", ""]
    return lines


def _opt(value: float | None) -> str:
    """A score or '-' when undefined (no events and no alerts)."""
    return "-" if value is None else f"{value:.2f}"


def _cores() -> int:
    """CPU cores this process may use."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
