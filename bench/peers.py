"""Peer forecasters for the benchmark, so our model's skill is read against published methods, not only persistence.

Run `python -m bench.peers [--only NAME,NAME] [--peers NAME,NAME] [--check]` with the benchmark venv
(`.venv-bench`, see bench/requirements.txt): the Nixtla libraries are benchmark-only dependencies, imported
inside the functions that use them so `drift`/`robust_drift` need only numpy and pandas.
"""

from __future__ import annotations

import os

# Before numpy/torch load: at most 2 threads, CPU only, no progress bars (the benchmark machine has 2 cores).
for _key, _value in {
    "OMP_NUM_THREADS": "2",
    "OPENBLAS_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
    "NUMBA_NUM_THREADS": "2",
    "CUDA_VISIBLE_DEVICES": "",
    "TQDM_DISABLE": "1",
    "NIXTLA_ID_AS_COL": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}.items():
    os.environ.setdefault(_key, _value)

import argparse  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

PEERS: tuple[str, ...] = ("drift", "robust_drift", "auto_ets", "auto_arima", "nhits")
SEASON_LENGTH = 1  # daily storage: no weekly cycle worth modelling; a 365-day season is too long for ETS/ARIMA
# NHITS settings besides h/input_size/seed; patience counts validation checks (early stopping only with val_end).
# Smaller than NHITS's defaults (3 x [512, 512] units, 1024 windows a step: ~0.3 s a step on 2 busy cores)
# so that training takes well under 2 minutes per reservoir; the inputs are only 14 numbers.
NHITS_SETTINGS: dict[str, object] = {
    "max_steps": 1000,
    "val_check_steps": 50,
    "early_stop_patience_steps": 5,
    "mlp_units": 3 * [[256, 256]],
    "windows_batch_size": 256,
    "scaler_type": "robust",  # per-window median/MAD scaling: one set of settings serves mcft and m3 alike
}
THREADS = 2

DAY = pd.Timedelta(days=1)


def peer_forecasts(
    series: pd.Series,
    train_end: pd.Timestamp,
    issued: pd.DatetimeIndex,
    n_steps: int = 14,
    horizon: int = 7,
    which: Sequence[str] = PEERS,
    seed: int = 42,
    *,
    val_end: pd.Timestamp | None = None,
) -> dict[str, np.ndarray]:
    """Forecasts (len(issued), horizon) per peer for days issued+1..issued+horizon, in the series' units.

    Learned peers fit on data up to train_end only (NHITS also early-stops on (train_end, val_end] when
    val_end is given); test-period data enter only as inputs up to each issue date.
    """
    unknown = [w for w in which if w not in PEERS]
    if unknown:
        raise ValueError(f"Unknown peer(s) {', '.join(unknown)}; choose from {', '.join(PEERS)}.")
    raw = _daily(series)
    issued = pd.DatetimeIndex(issued).normalize().astype("datetime64[ns]")
    if len(issued) == 0:
        return {name: np.zeros((0, horizon)) for name in which}
    pos = raw.index.get_indexer(issued)
    if (pos < 0).any():
        raise ValueError(f"Issue date {issued[pos < 0][0].date()} is outside the series ({_span(raw)}).")
    if (pos < n_steps - 1).any():
        raise ValueError(f"Issue date {issued[pos < n_steps - 1][0].date()} has fewer than {n_steps} days before it.")
    if not raw.notna().to_numpy()[pos].all():
        raise ValueError(f"The series has no value on issue date {issued[raw.isna().to_numpy()[pos]][0].date()}.")
    train_end = pd.Timestamp(train_end).normalize()
    if not raw.index[0] <= train_end < raw.index[-1]:
        raise ValueError(f"train_end {train_end.date()} must fall inside the series ({_span(raw)}).")
    out: dict[str, np.ndarray] = {}
    for name in which:
        if name in ("drift", "robust_drift"):
            stat = np.mean if name == "drift" else np.median
            out[name] = _drift(raw.to_numpy(dtype=float), pos, n_steps, horizon, stat)
        elif name in ("auto_ets", "auto_arima"):
            out[name] = _statsforecast(name, raw, train_end, pos, horizon)
        else:
            out[name] = _nhits(raw, train_end, val_end, pos, n_steps, horizon, seed)
    return out


def _daily(series: pd.Series) -> pd.Series:
    """Float series on a gap-free daily calendar (missing days as NaN), leading/trailing NaN days dropped."""
    s = pd.Series(series, dtype=float).copy()
    s.index = pd.DatetimeIndex(s.index).normalize().astype("datetime64[ns]")
    s = s[~s.index.duplicated(keep="last")].sort_index()
    valid = s.dropna()
    if valid.empty:
        raise ValueError("The series has no values.")
    return s.loc[valid.index[0] : valid.index[-1]].asfreq("D")


def _span(s: pd.Series) -> str:
    """'first to last day' of a series, for error messages."""
    return f"{s.index[0].date()} to {s.index[-1].date()}"


def _filled(s: pd.Series) -> np.ndarray:
    """NaN gaps filled by time interpolation (for the learned peers only; the benchmark windows have none)."""
    return s.interpolate(method="time", limit_area="inside").ffill().bfill().to_numpy(dtype=float)


def _drift(
    values: np.ndarray, pos: np.ndarray, n_steps: int, horizon: int, stat: Callable[..., np.ndarray]
) -> np.ndarray:
    """Last value plus k times the mean (or median) daily change of the n_steps-day input window."""
    window = values[pos[:, None] + np.arange(1 - n_steps, 1)]  # (n, n_steps), last column = issue day
    rate = stat(np.diff(window, axis=1), axis=1)
    return window[:, -1:] + rate[:, None] * np.arange(1, horizon + 1)


def _statsforecast(name: str, raw: pd.Series, train_end: pd.Timestamp, pos: np.ndarray, horizon: int) -> np.ndarray:
    """AutoETS/AutoARIMA fitted once up to train_end, then rolled forward over each issue date without refitting.

    `forward` re-runs the fitted model (same parameters and initial states) over y[:issue+1], exactly what
    StatsForecast.cross_validation(refit=False) does per window, but only at the dates asked for.
    """
    from statsforecast.models import AutoARIMA, AutoETS

    model = AutoETS(season_length=SEASON_LENGTH) if name == "auto_ets" else AutoARIMA(season_length=SEASON_LENGTH)
    n_fit = raw.index.get_loc(train_end) + 1
    model.fit(_filled(raw.iloc[:n_fit]))  # filled on its own, so no value after train_end leaks into a gap
    y = _filled(raw)  # every issue day is observed, so y[:p+1] depends on data up to day p only
    out = np.empty((len(pos), horizon))
    with np.errstate(all="ignore"):
        for i, p in enumerate(pos):
            out[i] = model.forward(y=y[: p + 1], h=horizon)["mean"]
    return out


def _quiet_torch(seed: int) -> None:
    """CPU torch on at most THREADS threads, fixed seed, and Lightning's banners silenced."""
    import neuralforecast  # noqa: F401 (Lightning sets its loggers to INFO on import: silence them after)
    import torch

    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric", "neuralforecast"):
        logging.getLogger(name).setLevel(logging.ERROR)
        for child in list(logging.root.manager.loggerDict):
            if child.startswith(name + "."):
                logging.getLogger(child).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="val_check_steps is greater than max_steps")
    warnings.filterwarnings("ignore", module=r"(pytorch_lightning|lightning_fabric|neuralforecast|utilsforecast)")


def _nhits(
    raw: pd.Series,
    train_end: pd.Timestamp,
    val_end: pd.Timestamp | None,
    pos: np.ndarray,
    n_steps: int,
    horizon: int,
    seed: int,
) -> np.ndarray:
    """NHITS trained on the training period, then applied to each issue date's own n_steps-day window."""
    nf, df = _nhits_fit(raw, train_end, val_end, int(pos.min()), n_steps, horizon, seed)
    return _nhits_roll(nf, df, pos, horizon)


def _nhits_roll(nf: Any, df: pd.DataFrame, pos: np.ndarray, horizon: int) -> np.ndarray:
    """Forecasts of a fitted NHITS from every issue day, in one cross_validation pass without retraining."""
    last = int(pos.max()) + horizon
    cv = nf.cross_validation(
        df=df.iloc[: last + 1],
        use_fitted=True,
        n_windows=None,
        test_size=last - int(pos.min()),
        step_size=1,
        refit=False,
    )
    return _by_cutoff(cv, "NHITS", pd.DatetimeIndex(df["ds"].iloc[pos]), horizon)


def _nhits_fit(
    raw: pd.Series,
    train_end: pd.Timestamp,
    val_end: pd.Timestamp | None,
    first: int,
    n_steps: int,
    horizon: int,
    seed: int,
) -> tuple[Any, pd.DataFrame]:
    """A fitted NeuralForecast(NHITS) and the frame (filled series plus availability mask) it works on."""
    _quiet_torch(seed)
    from neuralforecast import NeuralForecast
    from neuralforecast.models import NHITS

    val_size = 0
    fit_end = train_end
    if val_end is not None:  # early-stopping data must end before the first test window's inputs start
        val_end = min(pd.Timestamp(val_end).normalize(), raw.index[first] - n_steps * DAY)
        if (val_end - train_end).days >= horizon:
            val_size, fit_end = (val_end - train_end).days, val_end
    # days after the series end as masked placeholders, so windows issued near its end still have a horizon
    dates = pd.date_range(raw.index[0], raw.index[-1] + horizon * DAY, freq="D")
    filled = _filled(raw)
    df = pd.DataFrame(
        {
            "unique_id": "s",
            "ds": dates,
            "y": np.concatenate([filled, np.full(horizon, filled[-1])]).astype(np.float32),
            # interpolated days never count in the loss or in the window scaling
            "available_mask": raw.reindex(dates).notna().to_numpy(dtype=np.float32),
        }
    )
    model = NHITS(
        h=horizon,
        input_size=n_steps,
        **{
            **NHITS_SETTINGS,
            "early_stop_patience_steps": NHITS_SETTINGS["early_stop_patience_steps"] if val_size else -1,
        },
        random_seed=seed,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    nf = NeuralForecast(models=[model], freq="D")
    nf.fit(df=df.iloc[: dates.get_loc(fit_end) + 1], val_size=val_size)
    return nf, df


def _by_cutoff(cv: pd.DataFrame, column: str, issued: pd.DatetimeIndex, horizon: int) -> np.ndarray:
    """Rows of a cross-validation frame reshaped to (issue date, lead), checking each lead's date."""
    cv = cv.assign(cutoff=pd.to_datetime(cv["cutoff"]), ds=pd.to_datetime(cv["ds"]))
    cv = cv[cv["cutoff"].isin(issued)].sort_values(["cutoff", "ds"])
    lead = (cv["ds"] - cv["cutoff"]).dt.days.to_numpy()
    n = len(issued.unique())
    if len(cv) != n * horizon or not np.array_equal(lead, np.tile(np.arange(1, horizon + 1), n)):
        raise RuntimeError("Cross-validation output does not line up with the issue dates (one row per lead day).")
    values = cv[column].to_numpy(dtype=float).reshape(-1, horizon)
    order = pd.DatetimeIndex(cv["cutoff"].to_numpy()[::horizon]).get_indexer(issued)
    return values[order]


# ---------------------------------------------------------------------------------------------- self-check


def self_check(seed: int = 0) -> list[str]:
    """Alignment checks on a synthetic series: each peer's row i must be the forecast issued on issued[i]."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS

    rng = np.random.default_rng(seed)
    days = pd.date_range("2020-01-01", periods=400, freq="D")
    t = np.arange(len(days), dtype=float)
    values = 100 + 0.5 * t + 10 * np.sin(t / 20) + rng.normal(0, 0.5, len(days))
    series = pd.Series(values, index=days)
    series.iloc[100:110] = np.nan  # a gap inside training
    train_end = days[279]
    issued = pd.DatetimeIndex([days[393], days[300], days[350], days[301]])  # unsorted, last one near the end
    lines = []

    ramp = pd.Series(3.0 * t, index=days)
    got = peer_forecasts(ramp, train_end, issued, which=("drift", "robust_drift"))
    want = 3.0 * (days.get_indexer(issued)[:, None] + np.arange(1, 8))
    assert np.allclose(got["drift"], want) and np.allclose(got["robust_drift"], want), "drift misaligned"
    lines.append("drift/robust_drift: a 3-per-day ramp is continued exactly from each issue date")

    observed = issued[issued <= days[-8]]  # StatsForecast's cross-validation needs the 7 days after each
    got = peer_forecasts(series, train_end, observed, which=("auto_ets", "auto_arima"))
    df = pd.DataFrame({"unique_id": "s", "ds": days, "y": _filled(_daily(series))})
    end = days.get_loc(observed.max()) + 7  # series cut so that StatsForecast's first cutoff is train_end
    sf = StatsForecast(models=[AutoETS(season_length=1), AutoARIMA(season_length=1)], freq="D", n_jobs=1)
    cv = sf.cross_validation(df=df.iloc[: end + 1], h=7, test_size=end - days.get_loc(train_end), refit=False)
    for name, column in (("auto_ets", "AutoETS"), ("auto_arima", "AutoARIMA")):
        ref = _by_cutoff(cv, column, observed, 7)
        assert np.allclose(got[name], ref, rtol=1e-6, atol=1e-6), f"{name} differs from cross_validation"
        lines.append(f"{name}: equals StatsForecast.cross_validation(refit=False) rows at the issue dates")

    saved = dict(NHITS_SETTINGS)
    NHITS_SETTINGS["max_steps"] = 30
    try:
        pos = days.get_indexer(issued)
        raw = _daily(series)
        nf, frame = _nhits_fit(raw, train_end, days[339], int(pos.min()), 14, 7, seed)
    finally:
        NHITS_SETTINGS.update(saved)
    rolled = _nhits_roll(nf, frame, pos, 7)
    # the same weights asked directly from each issue date's own history
    direct = np.stack([nf.predict(df=frame.iloc[: p + 1])["NHITS"].to_numpy() for p in pos])
    assert rolled.shape == (len(issued), 7) and np.isfinite(rolled).all()
    assert np.allclose(rolled, direct, rtol=1e-5), "nhits rolling forecasts differ from predict()"
    lines.append("nhits: rolling cross_validation(use_fitted) rows equal predict() from each issue date's history")
    return lines


# ---------------------------------------------------------------------------------------------- benchmark


def main(argv: list[str] | None = None) -> int:
    """Score every peer on the test windows of the shared reservoirs and print a markdown table."""
    from bench.data import load_all, select
    from core.app.pipeline import load_clean
    from core.model.config import TrainConfig
    from core.model.evaluate import compare
    from core.model.train import prepare
    from core.store.workspace import Workspace

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated reservoir names")
    parser.add_argument("--peers", help=f"comma-separated peers (default: all of {','.join(PEERS)})")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--check", action="store_true", help="run the alignment self-check and exit")
    args = parser.parse_args(argv)
    if args.check:
        for line in self_check():
            print("ok:", line)
        return 0
    peers = tuple(p.strip() for p in args.peers.split(",")) if args.peers else PEERS

    rows = []
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        tasks = select(load_all(ws), args.only)
        print(_header(peers), flush=True)
        for task in tasks:
            cfg = TrainConfig(target=task.target, features=task.features)
            values = load_clean(ws, task.reservoir, [cfg.target, *cfg.features], cfg.clean).values
            _, bounds, sets = prepare(values, cfg)
            test = sets["test"]
            series = values[cfg.target]
            _check_truth(series, test.issued, test.base, test.truth)
            row = {"group": task.group, "reservoir": task.reservoir, "skill": {}, "seconds": {}}
            for peer in peers:
                t0 = time.perf_counter()
                pred = peer_forecasts(
                    series,
                    bounds.val_start - DAY,
                    test.issued,
                    cfg.n_steps,
                    cfg.horizon,
                    which=(peer,),
                    seed=args.seed,
                    val_end=bounds.test_start - DAY,
                )[peer]
                row["seconds"][peer] = time.perf_counter() - t0
                row["skill"][peer] = float(compare(test.truth, pred, test.base)["skill_vs_persistence"])
            rows.append(row)
            print(_row(row, peers), flush=True)
    print()
    print(_report(rows, peers, time.perf_counter() - t_all))
    return 0


def _check_truth(series: pd.Series, issued: pd.DatetimeIndex, base: np.ndarray, truth: np.ndarray) -> None:
    """The windows' base and truth must be the series on issue day and the horizon days after it."""
    s = _daily(series)
    pos = s.index.get_indexer(pd.DatetimeIndex(issued).astype("datetime64[ns]"))
    v = s.to_numpy()
    if not (np.array_equal(v[pos], base) and np.array_equal(v[pos[:, None] + np.arange(1, truth.shape[1] + 1)], truth)):
        raise RuntimeError("Test windows do not line up with the series (issue date = last input day).")


def _header(peers: Sequence[str]) -> str:
    """Markdown table header: skill per peer, then seconds per peer."""
    cols = ["group", "reservoir", *(f"{p} skill" for p in peers), *(f"{p} s" for p in peers)]
    return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)


def _row(r: dict, peers: Sequence[str]) -> str:
    """One markdown table row."""
    cells = [r["group"], r["reservoir"], *(f"{r['skill'][p]:+.3f}" for p in peers)]
    cells += [f"{r['seconds'][p]:.1f}" for p in peers]
    return "| " + " | ".join(cells) + " |"


def _report(rows: list[dict], peers: Sequence[str], total_s: float) -> str:
    """The table, the group means and the total run time."""
    lines = [
        "Peer forecasters on the test windows (skill = 1 - MAE/MAE_persistence, mean over 7 lead days).",
        "",
        _header(peers),
        *[_row(r, peers) for r in rows],
    ]
    for group in sorted({r["group"] for r in rows}):
        g = [r for r in rows if r["group"] == group]
        mean = {
            "group": group,
            "reservoir": f"**mean ({len(g)})**",
            "skill": {p: statistics.mean(r["skill"][p] for r in g) for p in peers},
            "seconds": {p: statistics.mean(r["seconds"][p] for r in g) for p in peers},
        }
        lines.append(_row(mean, peers))
    lines += ["", f"Total run time {total_s:.0f} s."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
