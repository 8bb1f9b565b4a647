"""Forecast skill metrics: MAE, RMSE, NSE, KGE per lead day, always next to persistence."""

from __future__ import annotations

import numpy as np


def _check(obs: np.ndarray, sim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair up finite observations and simulations of equal shape."""
    obs = np.asarray(obs, dtype=float).ravel()
    sim = np.asarray(sim, dtype=float).ravel()
    if obs.shape != sim.shape:
        raise ValueError(f"observed and simulated differ in shape: {obs.shape} vs {sim.shape}")
    ok = np.isfinite(obs) & np.isfinite(sim)
    return obs[ok], sim[ok]


def mae(obs: np.ndarray, sim: np.ndarray) -> float:
    """Mean absolute error, in the target's unit."""
    from sklearn.metrics import mean_absolute_error  # lazy: sklearn costs ~2 s at import; importing data needs none

    o, s = _check(obs, sim)
    return float(mean_absolute_error(o, s)) if o.size else float("nan")


def rmse(obs: np.ndarray, sim: np.ndarray) -> float:
    """Root mean squared error, in the target's unit; punishes large misses."""
    from sklearn.metrics import mean_squared_error  # lazy: see mae

    o, s = _check(obs, sim)
    return float(np.sqrt(mean_squared_error(o, s))) if o.size else float("nan")


def nse(obs: np.ndarray, sim: np.ndarray) -> float:
    """Nash-Sutcliffe efficiency (Nash & Sutcliffe 1970): 1 is perfect, 0 is no better than the mean."""
    o, s = _check(obs, sim)
    denom = np.sum((o - o.mean()) ** 2) if o.size else 0.0
    if denom == 0:
        return float("nan")
    return float(1 - np.sum((o - s) ** 2) / denom)


def kge(obs: np.ndarray, sim: np.ndarray) -> float:
    """Kling-Gupta efficiency (Gupta et al. 2009): correlation, variability and bias in one score."""
    o, s = _check(obs, sim)
    if o.size < 2 or o.std() == 0 or o.mean() == 0:
        return float("nan")
    r = 1.0 if s.std() == 0 else float(np.corrcoef(o, s)[0, 1])
    alpha = s.std() / o.std()
    beta = s.mean() / o.mean()
    return float(1 - np.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2))


METRICS = {"mae": mae, "rmse": rmse, "nse": nse, "kge": kge}


def score(truth: np.ndarray, pred: np.ndarray) -> dict[str, object]:
    """Each metric per lead day (columns) and averaged over the horizon."""
    truth = np.asarray(truth, dtype=float)
    pred = np.asarray(pred, dtype=float)
    out: dict[str, object] = {}
    for name, fn in METRICS.items():
        per_lead = [fn(truth[:, k], pred[:, k]) for k in range(truth.shape[1])]
        out[name] = _mean(per_lead)
        out[f"{name}_by_horizon"] = [_round(v) for v in per_lead]
    return out


def skill(model_mae: float, reference_mae: float) -> float:
    """1 - MAE_model / MAE_reference: above 0 means the model beats the reference."""
    if not np.isfinite(reference_mae) or reference_mae == 0:
        return float("nan")
    return float(1 - model_mae / reference_mae)


def compare(truth: np.ndarray, pred: np.ndarray, base: np.ndarray) -> dict[str, object]:
    """Model and persistence ('tomorrow = today') scored on the same windows, with skill."""
    persistence = np.repeat(np.asarray(base, dtype=float)[:, None], truth.shape[1], axis=1)
    model = score(truth, pred)
    ref = score(truth, persistence)
    by_lead = [_round(skill(m, p)) for m, p in zip(model["mae_by_horizon"], ref["mae_by_horizon"], strict=True)]
    return {
        "model": model,
        "persistence": ref,
        "skill_vs_persistence": _round(skill(model["mae"], ref["mae"])),
        "skill_by_horizon": by_lead,
        "n_windows": int(truth.shape[0]),
    }


def _mean(values: list[float]) -> float:
    """Mean that ignores undefined (NaN) entries and stays NaN if all are."""
    arr = np.asarray(values, dtype=float)
    return _round(float(np.nanmean(arr))) if np.isfinite(arr).any() else float("nan")


def _round(value: float) -> float:
    """Keep JSON short without losing meaningful precision."""
    return float(f"{value:.6g}") if np.isfinite(value) else float("nan")
