"""The water-balance check: does the change in storage match inflow minus release, day by day and over weeks?

A reservoir's books must close: storage today = storage yesterday + inflow - release - losses. We fit
dS = a*inflow - b*release - c on the record itself (robustly, so bad days do not steer the fit; a and b absorb
the flow-to-storage unit factor, c the evaporation and seepage), and judge the residuals by their own robust
spread (median absolute deviation). Single days far outside it are flagged, and so are periods whose residuals
drift the same way for weeks (a 30-day running sum far outside its usual spread): the clue that a gauge drifted
or a record is missing. Pure numpy/pandas; the Data page, `inspect` and bench/balance.py all call `check_balance`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.data.variables import canonical_name
from core.display import significant

NEEDED = ("storage", "inflow", "outflow")
DAY_K = 6.0  # a single day is flagged beyond this many robust standard deviations of the daily residual
DRIFT_WINDOW = 30  # days in the running sum that detects a drift
DRIFT_K = 4.0  # a period is flagged where the running sum is beyond this many robust spreads of the running sums
MIN_DAYS = 60  # fewer usable days than this: the record is too short to learn a tolerance from
MAD_TO_SD = 1.4826  # a normal distribution's standard deviation per median absolute deviation
GOOD_R2 = 0.9  # closure verdicts: R^2 of the fit at or above this and most days within tolerance = closes well
POOR_R2 = 0.6  # below this the records close the balance poorly
GOOD_SHARE = 0.95
HUBER_C = 1.345  # the usual Huber tuning constant (95 % efficiency on normal errors)
CLUES = {
    "drift": "a gauge may have drifted or a record is missing",
    "day": "a reading may be wrong, or a release or inflow went unrecorded",
}
MAX_FINDINGS = 20  # findings of each kind kept, largest first
# Floors on the learned tolerances, as shares of the water passing through (median of a*inflow + b*release per
# day): where inflow is computed from the storage change itself the residuals are rounding noise, and flagging
# a tenth of a percent of a day's flow would drown the operator in findings no gauge is accurate enough for.
DAY_FLOOR = 0.02
CUSUM_SLACK = 0.5  # per-day allowance (in robust sd) a drift must beat, so a period's ends are not stretched by noise
SPIKE_DAYS = 3  # a run of days beyond tolerance this short is a day finding; longer runs are judged as periods
DRIFT_FLOOR = 0.01


@dataclass(frozen=True)
class BalanceFit:
    """dS = a*inflow - b*release - c, with the alignment of flows to storage days that closed best."""

    a: float
    b: float
    c: float  # loss per day (evaporation, seepage, unmeasured diversions), in the storage unit
    r2: float  # share of the day-to-day storage change the flows explain
    alignment: str  # "same day" (storage read at the end of the day) or "two-day mean" (a daily mean storage)
    days: int  # days used in the fit


@dataclass(frozen=True)
class BalanceFinding:
    """A day or a period where storage and the flows disagree, with the size and the words an operator reads."""

    kind: str  # "day" (one day beyond tolerance) or "drift" (a period whose residuals add up)
    first: str  # ISO dates
    last: str
    days: int
    size: float  # storage change minus what the flows explain, summed over the days, in the storage unit
    text: str

    @property
    def clue(self) -> str:
        """What to suspect, in a few words."""
        return CLUES[self.kind]


@dataclass(frozen=True)
class BalanceCheck:
    """The check on one record: whether it could run, the fit, the tolerance, the closure score and the findings."""

    available: bool
    reason: str  # why not, or a one-line verdict
    unit: str | None = None
    fit: BalanceFit | None = None
    day_tolerance: float | None = None  # storage unit, one day
    drift_tolerance: float | None = None  # storage unit, over DRIFT_WINDOW days
    within_share: float | None = None  # share of days whose residual is within the day tolerance
    verdict: str | None = None  # "closes well" | "closes fairly" | "closes poorly"
    findings: tuple[BalanceFinding, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON form for `inspect --json` and the Data page."""
        data = asdict(self)
        data["findings"] = [asdict(f) for f in self.findings]
        return data

    @property
    def drifts(self) -> tuple[BalanceFinding, ...]:
        """The periods where the balance drifts."""
        return tuple(f for f in self.findings if f.kind == "drift")

    @property
    def days(self) -> tuple[BalanceFinding, ...]:
        """The single days beyond tolerance."""
        return tuple(f for f in self.findings if f.kind == "day")

    def summary_lines(self, limit: int = 5) -> list[str]:
        """Human lines for the CLI: the verdict with its score, then the largest findings."""
        if not self.available or self.fit is None:
            return [f"water balance: not checked - {self.reason}"]
        fit = self.fit
        out = [
            f"water balance: the records {self.verdict} (R^2 {fit.r2:.2f}, {self.within_share:.0%} of {fit.days} days "
            f"within ±{amount(self.day_tolerance or 0.0, self.unit)}; fit dS = {significant(fit.a)}·inflow - "
            f"{significant(fit.b)}·release {'-' if fit.c >= 0 else '+'} {amount(abs(fit.c), self.unit)}/day, "
            f"{fit.alignment})",
        ]
        if self.verdict == "close the balance poorly":
            out.append(
                "  the flows explain little of the storage change: check that inflow and release belong to this "
                "reservoir and are flows; the findings below are judged against that weak fit"
            )
        shown = [*self.drifts[:limit], *self.days[:limit]]
        out += [f"  {f.text}" for f in shown]
        hidden = len(self.findings) - len(shown)
        if hidden > 0:
            out.append(f"  ... and {hidden} more (see --json)")
        return out


def amount(value: float, unit: str | None) -> str:
    """A storage amount as an operator writes it: three significant figures, thousands separated, unit."""
    return significant(value, unit)


def balance_columns(columns: Any) -> dict[str, str] | None:
    """{storage|inflow|outflow: column} when the frame holds all three (by canonical name), else None."""
    found: dict[str, str] = {}
    for column in columns:
        name = canonical_name(str(column))
        if name in NEEDED and name not in found:
            found[name] = str(column)
    return found if len(found) == len(NEEDED) else None


def check_balance(
    frame: pd.DataFrame, units: dict[str, str | None] | None = None, *, day_k: float = DAY_K, drift_k: float = DRIFT_K
) -> BalanceCheck:
    """Run the check on a daily frame with storage, inflow and release columns (any other columns are ignored)."""
    columns = balance_columns(frame.columns)
    if columns is None:
        missing = [v for v in NEEDED if v not in {canonical_name(str(c)) for c in frame.columns}]
        return BalanceCheck(False, f"needs storage, inflow and release (outflow); this record has no {_and(missing)}")
    unit = (units or {}).get(columns["storage"])
    daily = _daily(frame, columns)
    best = _best_fit(daily)
    if best is None:
        return BalanceCheck(False, f"fewer than {MIN_DAYS} days with storage, inflow and release on consecutive days")
    fit, resid = best
    sigma = _robust_sd(resid.dropna().to_numpy())
    if not sigma > 0:
        return BalanceCheck(False, "the storage changes match the flows exactly: nothing to learn a tolerance from")
    throughput = _throughput(daily, fit)
    day_tol = max(day_k * sigma, DAY_FLOOR * throughput)
    valid = resid.dropna()
    within = float((valid.abs() <= day_tol).mean())
    spikes = _spike_runs(valid, day_tol)
    day_findings = _day_findings(valid, spikes, unit)
    drift_floor = DRIFT_FLOOR * throughput * DRIFT_WINDOW
    without_spikes = resid.copy()
    for days in spikes:
        without_spikes[days] = 0.0  # counted as balanced: a spike is reported once, as a day, not again as a drift
    drift_findings, drift_tol = _drift_findings(without_spikes, drift_k, unit, drift_floor, CUSUM_SLACK * sigma)
    verdict = _verdict(fit.r2, within, len(drift_findings))
    return BalanceCheck(
        available=True,
        reason=f"the records {verdict}",
        unit=unit,
        fit=fit,
        day_tolerance=day_tol,
        drift_tolerance=drift_tol,
        within_share=within,
        verdict=verdict,
        findings=(*drift_findings, *day_findings),
    )


def _throughput(daily: pd.DataFrame, fit: BalanceFit) -> float:
    """The water a typical day moves through the reservoir, in the storage unit (median of a*inflow + b*release)."""
    moved = (fit.a * daily["inflow"].abs() + fit.b * daily["outflow"].abs()).dropna()
    return float(moved.median()) if len(moved) else 0.0


def _and(words: list[str]) -> str:
    """'inflow and outflow' from a list of words."""
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def _daily(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Storage, inflow and release on a gap-free daily index (missing days NaN), numeric."""
    data = frame[[columns[v] for v in NEEDED]].apply(pd.to_numeric, errors="coerce")
    data.columns = list(NEEDED)
    data.index = pd.DatetimeIndex(data.index).normalize()
    data = data[~data.index.duplicated()].sort_index()
    if data.empty:
        return data
    return data.reindex(pd.date_range(data.index[0], data.index[-1], freq="D"))


def _design(daily: pd.DataFrame, alignment: str) -> tuple[pd.Series, pd.DataFrame]:
    """The storage change per day and the flows it is fitted on, in one of the two alignments."""
    change = daily["storage"].diff()
    flows = daily[["inflow", "outflow"]]
    if alignment == "two-day mean":
        flows = (flows + flows.shift(1)) / 2  # a daily-mean storage changes by the flows of half of each day
    return change, flows


def _best_fit(daily: pd.DataFrame) -> tuple[BalanceFit, pd.Series] | None:
    """The robust fit in the alignment that explains the storage changes best, with its residuals per day."""
    fits = [f for f in (_fit(daily, a) for a in ("same day", "two-day mean")) if f is not None]
    return max(fits, key=lambda f: f[0].r2) if fits else None


def _fit(daily: pd.DataFrame, alignment: str) -> tuple[BalanceFit, pd.Series] | None:
    """Huber-weighted least squares of dS on inflow and release (scaled columns), and the residual series."""
    change, flows = _design(daily, alignment)
    ok = change.notna() & flows.notna().all(axis=1)
    if int(ok.sum()) < MIN_DAYS:
        return None
    y = change[ok].to_numpy(float)
    x = flows[ok].to_numpy(float)
    scale = np.where(np.abs(x).max(axis=0) > 0, np.abs(x).max(axis=0), 1.0)
    design = np.column_stack([x / scale, -np.ones(len(y))])
    coef = _huber(design, y)
    fitted = design @ coef
    resid = y - fitted
    r2 = _robust_r2(y, resid)
    a, minus_b, c = coef[0] / scale[0], coef[1] / scale[1], coef[2]
    series = pd.Series(np.nan, index=daily.index)
    series[ok.to_numpy()] = resid
    return BalanceFit(float(a), float(-minus_b), float(c), r2, alignment, len(y)), series


def _huber(design: np.ndarray, y: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Iteratively reweighted least squares with Huber weights: large residuals count linearly, not squared."""
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    for _ in range(iterations):
        resid = y - design @ coef
        s = _robust_sd(resid)
        if not s > 0:
            break
        u = np.abs(resid) / (HUBER_C * s)
        w = np.where(u <= 1, 1.0, 1.0 / np.maximum(u, 1e-12))
        sw = np.sqrt(w)
        new = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)[0]
        if np.allclose(new, coef, rtol=1e-9, atol=0):
            coef = new
            break
        coef = new
    return coef


def _robust_sd(values: np.ndarray) -> float:
    """Standard deviation read off the median absolute deviation: a handful of wild days cannot inflate it."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan")
    return float(MAD_TO_SD * np.median(np.abs(values - np.median(values))))


def _robust_r2(y: np.ndarray, resid: np.ndarray) -> float:
    """1 - SS_res/SS_tot after trimming the worst 1 % of days, so a few broken days do not decide the score."""
    keep = np.abs(resid) <= np.quantile(np.abs(resid), 0.99)
    total = float(((y[keep] - y[keep].mean()) ** 2).sum())
    return float(1 - (resid[keep] ** 2).sum() / total) if total > 0 else float("nan")


def _spike_runs(resid: pd.Series, tolerance: float) -> list[list[pd.Timestamp]]:
    """Runs of at most SPIKE_DAYS consecutive days beyond the tolerance, all of one sign."""
    beyond = resid[resid.abs() > tolerance]
    groups: list[list[pd.Timestamp]] = []
    for day in beyond.index:
        last = groups[-1][-1] if groups else None
        same_run = last is not None and (day - last).days == 1 and np.sign(beyond[day]) == np.sign(beyond[last])
        if same_run:
            groups[-1].append(day)
        else:
            groups.append([day])
    return [g for g in groups if len(g) <= SPIKE_DAYS]


def _day_findings(resid: pd.Series, spikes: list[list[pd.Timestamp]], unit: str | None) -> list[BalanceFinding]:
    """The spike runs as findings, largest first."""
    out = []
    for days in spikes:
        size = float(resid[days].sum())
        first, last = days[0].date().isoformat(), days[-1].date().isoformat()
        out.append(BalanceFinding("day", first, last, len(days), size, _words(size, first, last, unit, single=True)))
    out.sort(key=lambda f: -abs(f.size))
    return out[:MAX_FINDINGS]


def _drift_findings(
    resid: pd.Series, k: float, unit: str | None, floor: float = 0.0, slack: float = 0.0
) -> tuple[list[BalanceFinding], float | None]:
    """Periods whose residuals add up beyond the usual spread of DRIFT_WINDOW-day sums, and that limit (spikes
    already taken out by the caller)."""
    clipped = resid
    counted = clipped.notna().astype(float).rolling(DRIFT_WINDOW).sum()
    running = clipped.fillna(0.0).rolling(DRIFT_WINDOW).sum()
    running = running.where(counted >= DRIFT_WINDOW * 2 / 3)
    spread = _robust_sd((running - running.median()).dropna().to_numpy())
    if not spread > 0 and not floor > 0:
        return [], None
    centre = float(running.median())
    tolerance = max(k * spread, floor)
    flagged = (running - centre).abs() > tolerance
    out = []
    for start, end in _window_unions(flagged, DRIFT_WINDOW):
        piece = clipped.loc[start:end].fillna(0.0)
        first, last, size = _strongest_span(piece, slack)
        if abs(size) <= tolerance:
            continue
        iso_first, iso_last = first.date().isoformat(), last.date().isoformat()
        days = int((last - first).days) + 1
        out.append(BalanceFinding("drift", iso_first, iso_last, days, size, _words(size, iso_first, iso_last, unit)))
    out.sort(key=lambda f: -abs(f.size))
    return out[:MAX_FINDINGS], tolerance + abs(centre)


def _window_unions(flagged: pd.Series, window: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Spans covered by flagged windows (each window ends on its flagged day and starts window-1 days before)."""
    spans: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    for day in flagged.index[flagged.to_numpy(bool)]:
        start = day - pd.Timedelta(days=window - 1)
        if spans and start <= spans[-1][1] + pd.Timedelta(days=1):
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((start, day))
    return spans


def _strongest_span(piece: pd.Series, slack: float) -> tuple[pd.Timestamp, pd.Timestamp, float]:
    """The run of days inside a flagged span whose residuals add up most (either sign): where the drift is.

    As in a CUSUM test, each day must beat `slack` to extend the run, so ordinary noise does not stretch it.
    """
    values = piece.to_numpy(float)
    best = (0, 0, 0.0)
    for sign in (1.0, -1.0):
        lo, hi, score = _max_run(sign * values - slack)
        if score > best[2]:
            best = (lo, hi, score)
    lo, hi, _ = best
    return piece.index[lo], piece.index[hi], float(values[lo : hi + 1].sum())


def _max_run(values: np.ndarray) -> tuple[int, int, float]:
    """Kadane: first index, last index and sum of the consecutive values with the largest sum."""
    best, best_lo, best_hi = -np.inf, 0, 0
    current, lo = 0.0, 0
    for i, v in enumerate(values):
        if current <= 0:
            current, lo = v, i
        else:
            current += v
        if current > best:
            best, best_lo, best_hi = current, lo, i
    return best_lo, best_hi, float(best)


def _words(size: float, first: str, last: str, unit: str | None, single: bool = False) -> str:
    """The finding as an operator reads it, with what to suspect (day findings: a reading; drifts: a gauge)."""
    how = "more" if size > 0 else "less"
    when = f"on {first}" if first == last else f"over {first}..{last}"
    clue = CLUES["day" if single else "drift"]
    return f"storage rose {amount(abs(size), unit)} {how} than inflow minus release {when}: {clue}"


def _verdict(r2: float, within: float, drifts: int) -> str:
    """Closes well / fairly / poorly, from the fit's R^2, the share of days within tolerance and the drifts found."""
    if not np.isfinite(r2) or r2 < POOR_R2:
        return "close the balance poorly"
    if r2 >= GOOD_R2 and within >= GOOD_SHARE and drifts == 0:
        return "close the balance well"
    return "close the balance fairly"
