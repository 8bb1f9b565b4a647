"""Adaptive bands: only truths known by the issue day count, bands nest and widen with lead, and they adapt."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.model.uncertainty import (
    BANDS,
    AdaptiveConfig,
    Calibration,
    ResidualHistory,
    band_quantiles,
    recent_residuals,
)

RNG = np.random.default_rng(11)
H = 7


def _calib(n: int = 300, spread: float = 1.0, decay_days: float = 0.0) -> Calibration:
    residuals = RNG.normal(size=(n, H)) * np.linspace(1, 2, H) * spread
    adaptive = AdaptiveConfig(window_days=120, min_known=30, decay_days=decay_days)
    return Calibration("scaled", residuals, floor=0.1, adaptive=adaptive)


def _history(n: int = 600, spread: float = 3.0, start: str = "2020-01-01") -> ResidualHistory:
    issued = np.arange(np.datetime64(start, "D"), np.datetime64(start, "D") + n)
    return ResidualHistory(issued, RNG.normal(size=(n, H)) * np.linspace(1, 2, H) * spread)


def _nested_and_widening(q: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
    (lo50, hi50), (lo80, hi80), (lo95, hi95) = (q[b] for b in BANDS)
    assert (lo95 <= lo80).all() and (lo80 <= lo50).all() and (lo50 <= hi50).all()
    assert (hi50 <= hi80).all() and (hi80 <= hi95).all()
    for lo, hi in q.values():
        assert (np.diff(hi - lo, axis=-1) >= -1e-9).all(), "no band narrows with lead"


@pytest.mark.parametrize("decay_days", [0.0, AdaptiveConfig().decay_days])
@pytest.mark.parametrize("issue_offset", [0, 35, 200, 450])
def test_shuffled_future_truths_give_the_same_band(issue_offset, decay_days):
    calib, hist = _calib(decay_days=decay_days), _history()
    day = hist.issued[0] + issue_offset
    truth_days = hist.truth_days()
    before = band_quantiles(recent_residuals(hist.residuals, truth_days, day, calib))
    future = truth_days > day
    shuffled = hist.residuals.copy()
    shuffled[future] = RNG.permutation(shuffled[future]) * 50 + 7  # any later truth, even absurd
    after = band_quantiles(recent_residuals(shuffled, truth_days, day, calib))
    for band in BANDS:
        np.testing.assert_array_equal(before[band][0], after[band][0])
        np.testing.assert_array_equal(before[band][1], after[band][1])
    # the same through the Calibration used by forecasts, hindcasts and the coverage table
    a = calib.at(hist, day).bands(np.zeros((1, H)), np.array([1.0]))
    b = calib.at(ResidualHistory(hist.issued, shuffled), day).bands(np.zeros((1, H)), np.array([1.0]))
    for band in BANDS:
        np.testing.assert_array_equal(a[band][0], b[band][0])
        np.testing.assert_array_equal(a[band][1], b[band][1])


def test_a_lead_h_residual_counts_exactly_h_days_after_issue():
    calib = _calib()
    issued = np.arange(np.datetime64("2021-01-01"), np.datetime64("2021-03-01"))
    residuals = np.full((len(issued), H), np.nan)
    residuals[-10, :] = 1.0  # issued 10 days before the end: lead h truth known on that day + h
    truth_days = ResidualHistory(issued, residuals).truth_days()
    day = issued[-10] + 3
    known = (truth_days <= day) & np.isfinite(residuals)
    assert known[-10].tolist() == [True, True, True, False, False, False, False]
    # fewer than min_known known: the validation residuals are the prior, pooled with what is known
    recent = recent_residuals(residuals, truth_days, day, calib)
    assert recent.shape == (calib.residuals.shape[0], H)


def test_no_history_gives_the_static_bands():
    calib = _calib()
    empty = ResidualHistory(np.zeros(0, "datetime64[D]"), np.zeros((0, H)))
    static = band_quantiles(calib.residuals)
    adaptive = band_quantiles(recent_residuals(empty.residuals, empty.truth_days(), np.datetime64("2022-01-01"), calib))
    for band in BANDS:
        np.testing.assert_array_equal(static[band][0], adaptive[band][0])


def test_bands_follow_recent_errors_over_the_window():
    calib, hist = _calib(spread=1.0), _history(spread=3.0)
    day = hist.issued[-1] + 1
    recent = recent_residuals(hist.residuals, hist.truth_days(), day, calib)
    assert recent.shape[0] == calib.adaptive.window_days  # one per truth day in the window, every lead alike
    wide = calib.at(hist, day).bands(np.zeros((1, H)), np.array([1.0]))[80]
    narrow = calib.bands(np.zeros((1, H)), np.array([1.0]))[80]
    assert ((wide[1] - wide[0]) > 2 * (narrow[1] - narrow[0])).all()


def test_decayed_weights_follow_a_calmer_recent_spell_sooner_than_equal_weights():
    """Two years of large errors, then 120 days of small ones: the decayed band has mostly moved on."""
    issued = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + 790)
    residuals = RNG.normal(size=(len(issued), H)) * 5.0
    residuals[-120:] /= 5.0
    hist = ResidualHistory(issued, residuals)
    day = issued[-1] + H
    widths = {}
    for decay in (0.0, 90.0):
        calib = replace(_calib(), adaptive=AdaptiveConfig(window_days=730, min_known=30, decay_days=decay))
        recent = recent_residuals(hist.residuals, hist.truth_days(), day, calib)
        assert recent.shape[1] == H and np.isfinite(recent).all()
        lo, hi = calib.at(hist, day).bands(np.zeros((1, H)), np.array([1.0]))[80]
        widths[decay] = float(np.mean(hi - lo))
    assert widths[90.0] < 0.6 * widths[0.0]


def test_a_version_saved_before_decay_keeps_its_equal_weights():
    old = AdaptiveConfig.from_dict({"window_days": 365, "min_known": 30})
    assert old == AdaptiveConfig(window_days=365, min_known=30, decay_days=0.0)
    assert AdaptiveConfig.from_dict(AdaptiveConfig().to_dict()) == AdaptiveConfig()


def test_bands_nest_and_widen_with_lead_even_when_recent_errors_shrink_with_lead():
    calib = _calib()
    issued = np.arange(np.datetime64("2021-01-01"), np.datetime64("2021-12-31"))
    residuals = RNG.normal(size=(len(issued), H)) * np.linspace(3, 1, H)  # later leads look *more* certain
    hist = ResidualHistory(issued, residuals)
    q = band_quantiles(recent_residuals(hist.residuals, hist.truth_days(), issued[-1], calib))
    _nested_and_widening(q)
    bands = calib.at(hist, issued[-1]).bands(RNG.normal(size=(5, H)), RNG.uniform(0, 2, size=5))
    _nested_and_widening(bands)


def test_bands_at_calibrates_each_forecast_on_its_own_day():
    calib, hist = _calib(), _history()
    days = pd.DatetimeIndex(hist.issued[[100, 400]])
    forecast, change = np.zeros((2, H)), np.ones(2)
    together = calib.bands_at(hist, days, forecast, change)
    for i, day in enumerate(days):
        alone = calib.at(hist, day).bands(forecast[i : i + 1], change[i : i + 1])
        for band in BANDS:
            np.testing.assert_array_equal(together[band][0][i], alone[band][0][0])


def test_adaptive_config_round_trips_and_old_versions_stay_static():
    calib = _calib()
    again = Calibration.from_dict(calib.to_dict())
    assert again.adaptive == calib.adaptive
    old = calib.to_dict()
    old.pop("adaptive")
    static = Calibration.from_dict(old)
    assert static.adaptive is None and static.at(_history(), np.datetime64("2021-06-01")) is static


def test_forecast_bands_never_read_truths_after_the_issue_day(trained_sample):
    """Through issue(): rewriting every reading after the as-of day leaves that day's bands unchanged."""
    from core.app.pipeline import load_clean
    from core.data.sample import SAMPLE_NAME
    from core.forecast.issue import issue

    ws, _ = trained_sample
    loaded = ws.load_version(SAMPLE_NAME)
    assert loaded.calibration is not None and loaded.calibration.adaptive is not None
    cfg = loaded.config
    values = load_clean(ws, SAMPLE_NAME, [cfg.target, *cfg.features], cfg.clean).values
    day = pd.Timestamp(loaded.record.splits["test"][0]) + pd.Timedelta(days=40)
    later = values.index > day
    changed = values.copy()
    changed.loc[later, cfg.target] = RNG.permutation(changed.loc[later, cfg.target].to_numpy()) * 1.5
    a, b = issue(loaded, values, as_of=day), issue(loaded, changed, as_of=day)
    for band in BANDS:
        assert a.band(band) == b.band(band)
    assert a.band(95) != issue(loaded, values, as_of=day + pd.Timedelta(days=30)).band(95)


def test_the_stored_coverage_table_is_the_adaptive_bands(trained_sample):
    _, outcome = trained_sample
    metrics = outcome.result.metrics
    assert metrics["coverage"] == metrics["coverage_by_method"]["adaptive"]
    assert {"adaptive", "scaled", "absolute"} <= set(metrics["coverage_by_method"])
    assert outcome.result.calibration.adaptive == AdaptiveConfig()


def test_recent_coverage_counts_the_bands_issue_gave_and_no_later_truth(trained_sample):
    """The Forecast page's record: each outcome judged against the band issue() gave on its own day."""
    from core.app.pipeline import load_clean
    from core.data.sample import SAMPLE_NAME
    from core.forecast.coverage import recent_coverage
    from core.forecast.issue import issue

    ws, _ = trained_sample
    loaded = ws.load_version(SAMPLE_NAME)
    cfg = loaded.config
    values = load_clean(ws, SAMPLE_NAME, [cfg.target, *cfg.features], cfg.clean).values
    day = pd.Timestamp(loaded.record.splits["test"][0]) + pd.Timedelta(days=60)
    record = recent_coverage(loaded, values, day, days=10)
    first = day - pd.Timedelta(days=9)
    inside, outcomes = dict.fromkeys(BANDS, 0), 0
    for d in pd.date_range(first - pd.Timedelta(days=cfg.horizon), day - pd.Timedelta(days=1)):
        fc = issue(loaded, values, as_of=d)
        for i, p in enumerate(fc.points):
            if p.observed is None or not first <= pd.Timestamp(p.date) <= day:
                continue
            outcomes += 1
            for band in BANDS:
                lower, upper = fc.band(band)
                inside[band] += lower[i] <= p.observed <= upper[i]
    assert record is not None and record.outcomes == outcomes == 10 * cfg.horizon
    assert [b.inside for b in record.bands] == [inside[b] for b in BANDS]
    assert [b.band for b in record.bands] == list(BANDS) and record.end == day.date().isoformat()

    changed = values.copy()
    later = changed.index > day
    changed.loc[later, cfg.target] = changed.loc[later, cfg.target].to_numpy()[::-1] * 3
    assert recent_coverage(loaded, changed, day, days=10) == record
