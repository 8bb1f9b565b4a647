"""What-if bench (python -m bench.whatif): do storage forecasts told the recorded releases beat the plain ones?

On the five Snake River reservoirs (storage, inflow, release): train the product's default model with the
pipeline (as bench/run.py does; --workspace keeps and reuses the trained models), fit every variant of the
release effect (VARIANTS, core.forecast.effect) on the version's validation split and score each told the
recorded releases over the test split (batched forecasts), plus an in-sample ceiling fitted on the test split
itself. Then, for the product's default effect, issue the plain forecast and the 'recorded' scenario on every
test day through core.app.whatif.scenarios_on (the CLI's and page's own path) with inflow persistence as an
alternative and releases +10 % / +50 % for the monotonicity check (a larger release never raises any day's
median or band edge), the coverage of the scenario bands, and add a dated "What-if" section at the top of
bench/RESULTS.md unless --no-write (--natural also trains the release-free Conv1D alternative).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.data import SHARED, SNAKE
from core.app.pipeline import import_csv, load_clean, train_reservoir
from core.app.whatif import INFLOW, RELEASE, learned_balance, learned_effect, scenarios_on
from core.forecast.effect import DEFAULT_EFFECT, EffectSettings, from_balance
from core.forecast.issue import ForecastError, issue, version_forecasts
from core.forecast.scenario import ReleasePlan, ScenarioError, fit_release_effect, told_recorded
from core.model.config import TrainConfig
from core.store.workspace import StoreError, Workspace

RESULTS = Path(__file__).with_name("RESULTS.md")
BAND_KEYS = ("value", *(f"{s}_{b}" for b in (50, 80, 95) for s in ("lower", "upper")))
TOL = 1e-6  # relative: float noise, not a physics violation
CEILING = "ceiling: lagged fitted on the TEST split (in-sample)"


VARIANTS: dict[str, EffectSettings | None] = {  # None: the water balance's -b (the previous product model)
    "balance -b (before)": None,
    "sum per lead, c<=0": EffectSettings(ridge="none"),
    "lagged, c<=0": EffectSettings(lagged=True, ridge="none"),
    "lagged + intercept": EffectSettings(lagged=True, ridge="none", intercept="always"),
    "lagged + intercept if CV helps": EffectSettings(lagged=True, ridge="none", intercept="if it helps"),
    "lagged + ridge to 0 (CV)": EffectSettings(lagged=True, ridge="toward zero"),
    "lagged + ridge to -b (CV)": EffectSettings(lagged=True, ridge="toward balance"),
    "lagged, 3-day reference": EffectSettings(lagged=True, ridge="none", reference_days=3),
    "sum, 3-day reference": EffectSettings(ridge="none", reference_days=3),
    "sum + intercept if CV helps": EffectSettings(ridge="none", intercept="if it helps"),
    "sum + ridge to -b (CV)": EffectSettings(),
    "sum + ridge to -b (CV), 3-day reference": EffectSettings(reference_days=3),
}

DEFAULT_LABEL = next(k for k, v in VARIANTS.items() if v == DEFAULT_EFFECT)  # the product's own


@dataclass(frozen=True)
class ReservoirResult:
    """One reservoir's test-period figures."""

    name: str
    explained: float
    release_coef: float
    days: int
    plain_mae: np.ndarray  # (horizon,) product path (issue + scenarios_on), default release effect
    told_mae: np.ndarray
    persist_mae: np.ndarray
    variants: dict[str, float]  # variant -> mean MAE told the recorded releases (batched over the test split)
    batch_plain: float  # the plain MAE over the same batched forecasts
    per_unit: np.ndarray  # the default effect's storage change per lead of 1 unit more release every day
    chosen: str  # the default effect's CV choices (ridge, intercept) in words
    coverage80: float
    plain_cov80: float
    follow: float  # correlation of the week's release change with its inflow change (operators pass inflow on)
    fit_plain: float | None  # MAE of the plain model on the training run's test windows (--natural only)
    fit_natural: float | None  # the same for a Conv1D trained on release-free storage S + b*cumsum(R)
    checked: int
    violations: int


def _edges(fc: object) -> np.ndarray:
    """Median and every band edge per lead day, (7 x horizon)."""
    return np.array([[getattr(p, k) for p in fc.points] for k in BAND_KEYS], float)


def _inside80(fc: object) -> tuple[int, int]:
    """Outcomes inside the 80 % band and outcomes known."""
    pts = [p for p in fc.points if p.observed is not None and p.lower_80 is not None]
    return sum(p.lower_80 <= p.observed <= p.upper_80 for p in pts), len(pts)


def _trained(ws: Workspace, name: str, epochs: int) -> None:
    """Train the default model unless the (kept) workspace already has an active version for the reservoir."""
    try:
        ws.load_version(name)
    except (StoreError, ValueError):
        train_reservoir(ws, name, TrainConfig(target="storage", features=(INFLOW, RELEASE), epochs=epochs))


def _variant_maes(
    ws: Workspace, name: str, loaded: object, values: pd.DataFrame, balance: object
) -> tuple[dict[str, float], float]:
    """Every variant fitted on the validation split, scored told the recorded releases over the test split."""
    start, end = (pd.Timestamp(d) for d in loaded.record.splits["test"])
    test = version_forecasts(loaded, values, start, end)
    horizon = loaded.config.horizon
    out = {}
    for label, settings in VARIANTS.items():
        effect = (
            from_balance(balance.release_coef, horizon)
            if settings is None
            else learned_effect(ws, name, loaded, balance, settings)
        )
        told = told_recorded(test, effect, values[RELEASE]).forecast
        keep = np.isfinite(test.truth).all(axis=1) & np.isfinite(told).all(axis=1)
        out[label] = float(np.mean(np.abs(test.truth - told)[keep]))
    in_sample = EffectSettings(lagged=True, ridge="none")  # fitted on the test split itself: a bound, not a product
    ceiling = fit_release_effect(test, values[RELEASE], balance, in_sample)
    told = told_recorded(test, ceiling, values[RELEASE]).forecast
    out[CEILING] = float(np.mean(np.abs(test.truth - told)[keep]))
    plain = float(np.mean(np.abs(test.truth - test.forecast)[keep]))  # keep of the last variant: same rows
    return out, plain


def run_reservoir(ws: Workspace, name: str, epochs: int, natural: bool) -> ReservoirResult:
    """Train the default model, fit every variant, then issue plain and scenario forecasts on every test day."""
    _trained(ws, name, epochs)
    loaded = ws.load_version(name)
    values = load_clean(ws, name, ["storage", INFLOW, RELEASE], loaded.config.clean).values
    raw_release = ws.readings(name, [RELEASE])[RELEASE]
    balance = learned_balance(ws, name, loaded)
    variants, batch_plain = _variant_maes(ws, name, loaded, values, balance)
    effect = learned_effect(ws, name, loaded, balance)
    start, end = loaded.record.splits["test"]
    plain_err, told_err, pers_err, checked, bad = [], [], [], 0, 0
    d_release, d_inflow = [], []
    cov = np.zeros(4, int)
    horizon = loaded.config.horizon
    for day in pd.date_range(start, end, freq="D"):
        try:
            plain = issue(loaded, values, as_of=day)
        except ForecastError:
            continue
        truth = np.array([np.nan if p.observed is None else p.observed for p in plain.points])
        recorded = raw_release.loc[day + pd.Timedelta(days=1) : day + pd.Timedelta(days=horizon)]
        if len(recorded.dropna()) < horizon or not np.isfinite(truth).all():
            continue
        plans = [
            ReleasePlan("recorded"),
            ReleasePlan("+10 %", tuple(recorded * 1.1)),
            ReleasePlan("+50 %", tuple(recorded * 1.5)),
        ]
        try:
            _, scen = scenarios_on(loaded, values.loc[:day], plain, plans, effect, raw_release)
        except ScenarioError:
            continue
        plain_err.append(np.abs(truth - [p.value for p in plain.points]))
        told_err.append(np.abs(truth - [p.value for p in scen[0].forecast.points]))
        inflow = values[INFLOW].loc[:day].iloc[-3:].mean()
        cum = np.cumsum(balance.inflow_coef * inflow - balance.release_coef * recorded.to_numpy(float) - balance.loss)
        pers_err.append(np.abs(truth - (values.at[day, "storage"] + cum)))
        week = values.loc[day + pd.Timedelta(days=1) : day + pd.Timedelta(days=horizon)]
        d_release.append(week[RELEASE].sum() - horizon * values.at[day, RELEASE])
        d_inflow.append(week[INFLOW].sum() - horizon * values.at[day, INFLOW])
        told = [_edges(s.forecast) for s in scen]
        scale = np.nanmax(np.abs(told[0])) or 1.0
        for lo, hi in ((0, 1), (1, 2), (0, 2)):
            checked += 1
            bad += int((told[hi] > told[lo] + TOL * scale).any())
        cov += [*_inside80(scen[0].forecast), *_inside80(plain)]
    chosen = f"ridge {effect.ridge:g}, intercept {'yes' if any(effect.intercept) else 'no'}, {effect.source}"
    fit_plain, fit_natural = (
        (loaded.record.metrics["model"]["mae"], _natural_mae(values, balance, epochs)) if natural else (None, None)
    )
    return ReservoirResult(
        name, balance.explained, balance.release_coef, len(plain_err),
        np.mean(plain_err, axis=0), np.mean(told_err, axis=0), np.mean(pers_err, axis=0), variants, batch_plain,
        effect.per_unit(), chosen, cov[0] / cov[1], cov[2] / cov[3], float(np.corrcoef(d_release, d_inflow)[0, 1]),
        fit_plain, fit_natural, checked, bad,
    )  # fmt: skip


def _natural_mae(values: pd.DataFrame, balance: object, epochs: int) -> float:
    """Test MAE of the alternative: the default model on release-free storage, then the recorded release added.

    Its storage error told the recorded releases equals its error on S + b*cumsum(R), so fit's own test score
    (same split and windows as the plain model's) is the scenario's.
    """
    from core.model.train import fit

    release = values[RELEASE]
    natural = values["storage"] + balance.release_coef * release.fillna(0.0).cumsum()
    frame = pd.DataFrame({"natural_storage": natural.where(release.notna()), INFLOW: values[INFLOW], RELEASE: release})
    cfg = TrainConfig(target="natural_storage", features=(INFLOW, RELEASE), epochs=epochs)
    return float(fit(frame, cfg).metrics["model"]["mae"])


def _pct(new: float, old: float) -> str:
    """Reduction of new vs old in percent (positive = lower MAE)."""
    return f"{(1 - new / old) * 100:+.1f} %"


def report(results: list[ReservoirResult], epochs: int, seconds: float) -> str:
    """The markdown section: variants, MAE and reduction per reservoir and lead day, coverage, monotonicity."""
    horizon = len(results[0].plain_mae)
    leads = " | ".join(f"day {h}" for h in range(1, horizon + 1))
    lines = [
        f"## {dt.date.today().isoformat()}: What-if release scenarios with the release effect learned on validation",
        "",
        f"Run with `nice -n 5 python -m bench.whatif` ({seconds / 60:.0f} min on 2 shared CPU cores; default model "
        f"`conv1d`, {epochs} epochs max, the pipeline's 70/15/15 split). Each variant of the release effect is "
        "fitted on the version's validation-split forecasts only (core.forecast.effect), then scored over every "
        "test-period issue day with a complete week: MAE told the recorded releases vs the plain forecast "
        "(batched forecasts, core.model.history; reduction = 1 - told / plain, mean over the reservoirs).",
        "",
        "| variant | " + " | ".join(r.name for r in results) + " | mean |",
        "|---|" + "---|" * (len(results) + 1),
    ]
    for label in (*VARIANTS, CEILING):
        red = [1 - r.variants[label] / r.batch_plain for r in results]
        cells = " | ".join(f"{x * 100:+.1f} %" for x in red)
        lines.append(f"| {label} | {cells} | {np.mean(red) * 100:+.1f} % |")
    lines += [
        "",
        f"The product's path (core.app.whatif.scenarios_on with the default effect `{DEFAULT_LABEL}`, issue() per "
        "day, bands from the scenario hindcasts):",
        "",
        "| reservoir | balance R² | b | effect of +1 every day at day 7 (7b) | CV choice | issue days | plain MAE | "
        "told-releases MAE | reduction | inflow-persistence MAE | 80 % band coverage (scenario / plain) | "
        "release follows inflow (corr) | monotone checks (violations) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p, t, q = r.plain_mae.mean(), r.told_mae.mean(), r.persist_mae.mean()
        lines.append(
            f"| {r.name} | {r.explained:.3f} | {r.release_coef:.3f} | {r.per_unit[-1]:.3g} "
            f"({-horizon * r.release_coef:.3g}) | {r.chosen} | {r.days} | {p:.4g} | {t:.4g} | {_pct(t, p)} | "
            f"{q:.4g} ({_pct(q, p)}) | {r.coverage80:.1%} / {r.plain_cov80:.1%} | {r.follow:+.2f} | "
            f"{r.checked} ({r.violations}) |"
        )
    mean_red = np.mean([1 - r.told_mae.mean() / r.plain_mae.mean() for r in results]) * 100
    lines += ["", f"Mean MAE reduction, told the recorded releases: {mean_red:+.1f} % (target: at least +20 %).", ""]
    lines += [
        "MAE per lead day, plain / told the recorded releases (reduction = 1 - told / plain):",
        "",
        f"| reservoir | {leads} |",
        "|---|" + "---|" * horizon,
    ]
    for r in results:
        lines.append(
            f"| {r.name} | "
            + " | ".join(f"{p:.3g} / {t:.3g} ({_pct(t, p)})" for t, p in zip(r.told_mae, r.plain_mae, strict=True))
            + " |"
        )
    if results[0].fit_natural is not None:
        lines += ["", "Alternative inflow forecast, measured on the training run's test windows: a second `conv1d` "
                  "trained on the release-free storage S + b*cumsum(R), told the recorded releases:", "",
                  "| reservoir | plain MAE | release-free Conv1D MAE | reduction |", "|---|---|---|---|"]  # fmt: skip
        for r in results:
            lines.append(f"| {r.name} | {r.fit_plain:.4g} | {r.fit_natural:.4g} | {_pct(r.fit_natural, r.fit_plain)} |")
    total, bad = sum(r.checked for r in results), sum(r.violations for r in results)
    lines += ["", f"Monotonicity (release +10 % / +50 % of recorded, every issue day, median and all band edges): "
              f"{total - bad}/{total} comparisons hold.", ""]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the bench on the Snake River reservoirs and print (and save) the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--only", help="comma-separated reservoir names")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--workspace", type=Path, help="keep (and reuse) the trained models in this folder")
    parser.add_argument("--natural", action="store_true", help="also train the release-free Conv1D alternative")
    args = parser.parse_args(argv)
    names = [n for n in SNAKE if not args.only or n.lower() in args.only.lower().split(",")]
    results = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(args.workspace or Path(tmp) / "ws")
        for name in names:
            if name not in {r.name for r in ws.reservoirs()}:
                import_csv(ws, SHARED / "snake_river" / f"{name}.csv", reservoir=name)
            results.append(run_reservoir(ws, name, args.epochs, args.natural))
            r = results[-1]
            print(f"{name}: plain {r.plain_mae.mean():.4g} told {r.told_mae.mean():.4g} {r.variants}", flush=True)
    text = report(results, args.epochs, time.monotonic() - began)
    print(text)
    if not args.no_write and not args.only:
        current = RESULTS.read_text()
        at = current.find("\n## ") + 1  # newest dated section first, under the file's header
        RESULTS.write_text(current[:at] + text + "\n" + current[at:] if at else current + "\n" + text)
        print(f"added to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
