"""Benchmark the fleet model (issue 22) on the 9 shared reservoirs and print tables (python -m bench.fleet_model).

Not a test. Every number is on each reservoir's own test split, with the windows and scoring of bench/run.py
(core.model.train.prepare's windows, core.model.evaluate.compare): skill = 1 - MAE / persistence MAE.
1. Skill: each reservoir's own default (`conv_lstm_ensemble`, trained here in the same harness), the fleet model
   (core.model.fleet, one ensemble over the 9), the fleet fine-tuned per reservoir, and the champion by
   validation (fine-tuned or own, whichever has the lower validation MAE: the registry's activation rule).
2. Cold start, leave one reservoir out: the fleet trained on the other 8, the 9th described only by its last
   90 / 184 / 365 days before its test period, then scored over its test period.
3. Costs: fleet training seconds for the 9 and for 30 / 100 reservoirs (the 9 plus seeded variants: scaled,
   shifted, noisy copies), fine-tune seconds per reservoir, peak memory, and a 100-reservoir retrain (one fleet
   + 100 fine-tunes) against 100 own trainings.
Settings are FleetConfig's defaults (chosen on the validation splits; see bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.data import Task, load_all, select
from core.app.pipeline import load_clean
from core.data.config import CleanConfig
from core.model import zoo
from core.model.config import TrainConfig
from core.model.evaluate import compare
from core.model.fleet import (
    FineTuner,
    FleetConfig,
    FleetModel,
    add_reservoir,
    build_dataset,
    cold_start_calibration,
    fit_fleet,
    period_windows,
    scores,
)
from core.model.history import issued_forecasts
from core.model.splits import split_bounds
from core.model.train import prepare
from core.model.uncertainty import coverage, recent_change
from core.model.windows import WindowSet
from core.store.workspace import Workspace

COLD_DAYS = (90, 184, 365)
BAND_DAYS = 184  # the cold start whose band coverage is measured


@dataclass
class Own:
    """A reservoir's own default model, measured: test and validation skill, validation MAE, seconds."""

    test: float
    val: float
    val_mae: float
    seconds: float
    epochs: int


def peak_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_frames(only: str | None) -> tuple[list[Task], dict[str, pd.DataFrame]]:
    """The shared reservoirs through the app's import and cleaning (bench/data.py), as clean daily frames."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        tasks = select(load_all(ws), only)
        frames = {
            t.reservoir: load_clean(ws, t.reservoir, [t.target, *t.features], CleanConfig()).values for t in tasks
        }
    return tasks, frames


def own_default(task: Task, values: pd.DataFrame) -> Own:
    """The reservoir's own default trained as the pipeline trains it (core.model.train's steps, no bands)."""
    cfg = TrainConfig(target=task.target, features=task.features).checked()
    cfg = cfg.with_model_defaults(zoo.ZOO[cfg.model.name].learning_rate)
    scaling, _, sets = prepare(values, cfg)
    model = zoo.create(cfg.model, cfg.n_steps, scaling.n_features, cfg.horizon, cfg.seed)
    t0 = time.perf_counter()
    log = model.fit(sets["train"], sets["val"], cfg.fit_settings())
    seconds = time.perf_counter() - t0
    out = {}
    for split in ("val", "test"):
        ws = sets[split]
        out[split] = compare(ws.truth, ws.to_values(model.predict(ws.X), scaling.delta_scale), ws.base)
    return Own(
        test=out["test"]["skill_vs_persistence"],
        val=out["val"]["skill_vs_persistence"],
        val_mae=out["val"]["model"]["mae"],
        seconds=seconds,
        epochs=len(log.history),
    )


def skill_rows(tasks: list[Task], frames: dict[str, pd.DataFrame], own: dict[str, Own], config: FleetConfig) -> dict:
    """Fleet and fleet + fine-tune on every reservoir; the fleet's and each fine-tune's seconds."""
    dataset = build_dataset(frames, config)
    fit = fit_fleet(dataset)
    tuner = FineTuner(fit.model)
    rows = []
    for task in tasks:
        windows = dataset.reservoirs[task.reservoir]
        fleet = scores(fit.model, windows)
        t0 = time.perf_counter()
        tuned_model = tuner.tune(windows)
        tune_seconds = time.perf_counter() - t0
        tuned = scores(tuned_model, windows)
        mine = own[task.reservoir]
        champion = "fine-tuned" if tuned["val"]["model"]["mae"] <= mine.val_mae else "own"
        rows.append(
            {
                "group": task.group,
                "reservoir": task.reservoir,
                "own": mine.test,
                "fleet": fleet["test"]["skill_vs_persistence"],
                "tuned": tuned["test"]["skill_vs_persistence"],
                "champion": champion,
                "champion_skill": tuned["test"]["skill_vs_persistence"] if champion == "fine-tuned" else mine.test,
                "val": (mine.val, fleet["val"]["skill_vs_persistence"], tuned["val"]["skill_vs_persistence"]),
                "tune_s": tune_seconds,
                "tune_epochs": len(tuned_model.history),
            }
        )
        print(_skill_row(rows[-1]), flush=True)
    tunes = [r["tune_s"] for r in rows]
    cost = {
        "size": len(rows),
        "windows": sum(len(r.sets["train"]) for r in dataset.reservoirs.values()),
        "fleet_s": fit.model.train_seconds,
        "epochs": fit.epochs_run,
        "tune_first": tunes[0],
        "tune_median": statistics.median(tunes[1:]) if len(tunes) > 1 else tunes[0],
        "peak_mb": peak_mb(),
        "load": os.getloadavg()[0],
    }
    return {"rows": rows, "cost": cost}


def cold_start(tasks: list[Task], frames: dict[str, pd.DataFrame], own: dict[str, Own], config: FleetConfig) -> list:
    """Leave one out: the fleet on the others; the one left out described by its last N days before its test."""
    rows = []
    for task in tasks:
        others = {n: v for n, v in frames.items() if n != task.reservoir}
        model = fit_fleet(build_dataset(others, config)).model
        values = frames[task.reservoir]
        test_start = split_bounds(values.index, config.split).test_start  # the pipeline's own test period
        skills, bands = {}, {}
        for days in COLD_DAYS:
            history = values.loc[test_start - pd.Timedelta(days=days) : test_start - pd.Timedelta(days=1)]
            served = add_reservoir(model, task.reservoir, history)
            test = period_windows(served, task.reservoir, values, test_start)
            skills[days] = compare(test.truth, served.values(task.reservoir, test), test.base)["skill_vs_persistence"]
            if days == BAND_DAYS:
                bands = cold_bands(served, task.reservoir, values, history.index[0], test)
        rows.append(
            {"group": task.group, "reservoir": task.reservoir, "own": own[task.reservoir].test, **skills, **bands}
        )
        print(_cold_row(rows[-1]), flush=True)
    return rows


def cold_bands(model: FleetModel, name: str, values: pd.DataFrame, first: pd.Timestamp, test: WindowSet) -> dict:
    """Coverage of a cold start's issued bands over its test period: the fleet's pooled residuals in its scale as the
    prior, then its own residuals as their truths arrive (adaptive, core.model.uncertainty), each issue day using
    only what was known by then."""
    scaling, config = model.profile(name).scaling, model.config
    calib = cold_start_calibration(model, name)
    issued = issued_forecasts(
        model.forecaster(name), scaling, values, scaling.target, config.n_steps, config.horizon, first,
        values.index[-1],
    )  # fmt: skip
    change = recent_change(test.X, scaling.delta_scale, 0)  # column 0 of the fleet layout: the daily change
    bands = calib.bands_at(issued.residuals(calib), test.issued, model.values(name, test), change)
    return {f"cover{b}": c["mean"] for b, c in coverage(test.truth, bands).items()}


def variants(frames: dict[str, pd.DataFrame], size: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    """The shared reservoirs plus seeded variants up to `size`: x0.8-1.2 scale, +/-5 % shift, 0.5 % noise."""
    rng = np.random.default_rng(seed)
    out = dict(frames)
    names = list(frames)
    for i in range(max(0, size - len(frames))):
        base = frames[names[i % len(names)]].copy()
        target = base.columns[0]
        scale, shift = rng.uniform(0.8, 1.2), rng.uniform(-0.05, 0.05) * float(base[target].mean())
        noisy = base[target] * scale + shift
        base[target] = noisy + rng.normal(0, 0.005 * float(noisy.std()), len(noisy))
        out[f"{names[i % len(names)]} variant {i + 1}"] = base
    return out


def fleet_cost(frames: dict[str, pd.DataFrame], config: FleetConfig, size: int) -> dict:
    """Fleet training seconds (to early stop) and fine-tune seconds for a fleet of `size` reservoirs."""
    fleet_frames = variants(frames, size)
    t0 = time.perf_counter()
    dataset = build_dataset(fleet_frames, config)
    prepare_s = time.perf_counter() - t0
    fit = fit_fleet(dataset)
    tuner = FineTuner(fit.model)
    tune_s = []
    for name in list(dataset.reservoirs)[: min(size, 12)]:
        t0 = time.perf_counter()
        tuner.tune(dataset.reservoirs[name])
        tune_s.append(time.perf_counter() - t0)
    windows = sum(len(r.sets["train"]) for r in dataset.reservoirs.values())
    return {
        "size": size,
        "windows": windows,
        "prepare_s": prepare_s,
        "fleet_s": fit.model.train_seconds,
        "epochs": fit.epochs_run,
        "tune_first": tune_s[0],
        "tune_median": statistics.median(tune_s[1:]) if len(tune_s) > 1 else tune_s[0],
        "peak_mb": peak_mb(),
        "load": os.getloadavg()[0],
    }


def _skill_row(r: dict) -> str:
    """One row of the skill table."""
    return (
        f"| {r['group']} | {r['reservoir']} | {r['own']:+.3f} | {r['fleet']:+.3f} | {r['tuned']:+.3f} | "
        f"{r['tuned'] - r['own']:+.3f} | {r['champion']} {r['champion_skill']:+.3f} | "
        f"{r['val'][0]:+.3f} / {r['val'][1]:+.3f} / {r['val'][2]:+.3f} | {r['tune_s']:.1f} ({r['tune_epochs']}) |"
    )


def _cold_row(r: dict) -> str:
    """One row of the cold-start table: skill per history length, and whether 184 days meets the target."""
    ok = r[184] > 0 and r[184] >= 0.8 * r["own"]
    return (
        f"| {r['reservoir']} | {r['own']:+.3f} | {0.8 * r['own']:+.3f} | "
        + " | ".join(f"{r[d]:+.3f}" for d in COLD_DAYS)
        + f" | {'yes' if ok else 'no'} | "
        + " / ".join(f"{100 * r[f'cover{b}']:.1f}" for b in (50, 80, 95))
        + " |"
    )


def _worst_band(cold: list) -> float:
    """Largest distance of any reservoir's band coverage from its nominal level, in points."""
    return max(abs(100 * r[f"cover{b}"] - b) for r in cold for b in (50, 80, 95))


def report(skill: dict, cold: list, costs: list, own: dict[str, Own], own_load: float, started: float) -> str:
    """The markdown tables."""
    rows, cost = skill["rows"], skill["cost"]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (nproc), load average "
        f"{' / '.join(f'{v:.1f}' for v in os.getloadavg())} at the end, Python {platform.python_version()}; "
        f"{(time.perf_counter() - started) / 60:.0f} min in all.",
        "",
        "| group | reservoir | own default | fleet | fleet + fine-tune | fine-tune - own | champion (validation) | "
        "validation own / fleet / fine-tune | fine-tune s (epochs) |",
        "|---|---|---|---|---|---|---|---|---|",
        *[_skill_row(r) for r in rows],
    ]
    for group in sorted({r["group"] for r in rows}):
        part = [r for r in rows if r["group"] == group]
        mean = {k: statistics.mean(r[k] for r in part) for k in ("own", "fleet", "tuned", "champion_skill")}
        lines.append(
            f"| **{group} mean** | | {mean['own']:+.3f} | {mean['fleet']:+.3f} | {mean['tuned']:+.3f} | "
            f"{mean['tuned'] - mean['own']:+.3f} | {mean['champion_skill']:+.3f} | | |"
        )
    worst = min(rows, key=lambda r: r["tuned"] - r["own"])
    lines += [
        "",
        f"- fleet training ({cost['size']} reservoirs): {cost['fleet_s']:.1f} s, {cost['epochs']} epochs; worst "
        f"fine-tune vs own: {worst['reservoir']} {worst['tuned'] - worst['own']:+.3f}",
    ]
    if cold:
        lines += [
            "",
            "Cold start, leave one out (fleet on the other 8; skill on the test period):",
            "",
            "| reservoir | own, full record | 0.8 x own | "
            + " | ".join(f"{d} days" for d in COLD_DAYS)
            + f" | 184 days: > 0 and >= 0.8 x own | {BAND_DAYS} days: band coverage 50 / 80 / 95 % |",
            "|---|---|---|" + "---|" * len(COLD_DAYS) + "---|---|",
            *[_cold_row(r) for r in cold],
            "",
            f"- 184 days meets the target on {sum(r[184] > 0 and r[184] >= 0.8 * r['own'] for r in cold)} of "
            f"{len(cold)} (target: 7 of 9)",
            f"- cold-start bands ({BAND_DAYS} days): mean coverage "
            + " / ".join(f"{100 * statistics.mean(r[f'cover{b}'] for r in cold):.1f}" for b in (50, 80, 95))
            + f" % (nominal 50 / 80 / 95); the worst cell is {_worst_band(cold):.1f} points off nominal",
        ]
    if costs:
        own_s = statistics.median(o.seconds for o in own.values())
        costs = [cost, *costs]
        lines += [
            "",
            "Costs (machine shared):",
            "",
            "| reservoirs | training windows | fleet training s (epochs) | first fine-tune s (traces) | "
            "further fine-tunes s (median) | peak memory MB (process so far) | load average (1 min) after |",
            "|---|---|---|---|---|---|---|",
            *[
                f"| {c['size']} | {c['windows']:,} | {c['fleet_s']:.1f} ({c['epochs']}) | {c['tune_first']:.1f} | "
                f"{c['tune_median']:.2f} | {c['peak_mb']:,.0f} | {c['load']:.1f} |"
                for c in costs
            ],
        ]
        big = max(costs, key=lambda c: c["size"])
        retrain = big["fleet_s"] + big["size"] * big["tune_median"] + big["tune_first"]
        lines += [
            "",
            f"- own default: median {own_s:.1f} s per reservoir to early stop (the {len(own)} trainings at the start, "
            f"load average {own_load:.1f} after them); "
            f"{big['size']} own trainings = {big['size'] * own_s:.0f} s; one fleet + {big['size']} fine-tunes = "
            f"{retrain:.0f} s; ratio {retrain / (big['size'] * own_s):.2f}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.fleet_model", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated reservoir names (default: all 9)")
    parser.add_argument("--no-cold", action="store_true", help="skip the leave-one-out cold start (9 fleet trainings)")
    parser.add_argument("--sizes", default="30,100", help="fleet sizes for the cost table ('' to skip)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tasks, frames = load_frames(args.only)
    config = FleetConfig()
    own = {}
    for task in tasks:
        own[task.reservoir] = own_default(task, frames[task.reservoir])
        print(
            f"own {task.reservoir}: {own[task.reservoir].test:+.3f} ({own[task.reservoir].seconds:.1f} s)", flush=True
        )
    own_load = os.getloadavg()[0]
    skill = skill_rows(tasks, frames, own, config)
    cold = [] if args.no_cold else cold_start(tasks, frames, own, config)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    costs = [fleet_cost(frames, config, size) for size in sizes]
    print(report(skill, cold, costs, own, own_load, started))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
