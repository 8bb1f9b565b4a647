"""Calibrated bands, exceedance probabilities, the alert rule and its verification."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.levels import SEVERITIES, LevelError, OperatingLevel, check_levels, parse_level
from core.forecast.issue import Forecast, ForecastPoint
from core.forecast.risk import alert_state, assess, exceedance, verify, within_horizon
from core.model.uncertainty import BANDS, Calibration, calibrate, conformal_quantiles, coverage

RNG = np.random.default_rng(3)


def _calibration(n: int = 2000, horizon: int = 7, method: str = "absolute") -> Calibration:
    # residual spread grows with lead day, like real forecast errors
    residuals = RNG.normal(size=(n, horizon)) * np.linspace(1, 3, horizon)
    return Calibration(method=method, residuals=residuals, floor=0.1)


def _forecast(values, samples=None, unit="m") -> Forecast:
    points = tuple(ForecastPoint(date=f"2026-11-{24 + i}", value=float(v), lead=i + 1) for i, v in enumerate(values))
    return Forecast(
        "Dam",
        1,
        "conv_lstm",
        "level",
        unit,
        "2026-11-23",
        {"date": "2026-11-23", "value": 0.0},
        points,
        samples=samples,
    )


def _level(name="Flood warning", value=312.0, side="flood", severity="warning") -> OperatingLevel:
    return OperatingLevel(name, value, "m", side, severity)


def test_conformal_bands_cover_their_nominal_share_and_nest():
    cal = _calibration()
    forecast = np.zeros((4000, 7))
    bands = cal.bands(forecast, np.zeros(4000))
    truth = RNG.normal(size=(4000, 7)) * np.linspace(1, 3, 7)  # same error law as the calibration
    cov = coverage(truth, bands)
    for band in BANDS:
        assert cov[str(band)]["mean"] == pytest.approx(band / 100, abs=0.03)
    lo50, hi50 = bands[50]
    lo80, hi80 = bands[80]
    lo95, hi95 = bands[95]
    assert (lo95 <= lo80).all() and (lo80 <= lo50).all() and (hi50 <= hi80).all() and (hi80 <= hi95).all()
    width = hi95[0] - lo95[0]
    assert (np.diff(width) > 0).all(), "bands widen with lead time when the errors do"


def test_coverage_arithmetic_on_a_hand_example():
    truth = np.array([[1.0], [2.0], [3.0], [10.0]])
    bands = {80: (np.zeros((4, 1)), np.full((4, 1), 3.0))}
    assert coverage(truth, bands)["80"]["mean"] == pytest.approx(0.75)


def test_finite_sample_correction_is_conservative():
    residuals = np.arange(1, 20, dtype=float)[:, None]  # n = 19
    lo, hi = conformal_quantiles(residuals, 80)
    inside = ((residuals >= lo) & (residuals <= hi)).mean()
    assert inside >= 0.8


def test_scaled_bands_widen_with_recent_variability():
    cal = Calibration("scaled", RNG.normal(size=(500, 7)), floor=0.1)
    calm = cal.bands(np.zeros((1, 7)), np.array([0.0]))[80]
    busy = cal.bands(np.zeros((1, 7)), np.array([2.0]))[80]
    assert (busy[1] - busy[0] > calm[1] - calm[0]).all()


def test_nonnegative_targets_never_get_negative_bands():
    cal = calibrate(
        np.full((100, 3), 1.0),
        np.full((100, 3), 1.0) + RNG.normal(size=(100, 3)),
        np.ones(100),
        delta_scale=1.0,
        method="absolute",
        nonnegative=True,
    )
    lower, _ = cal.bands(np.array([[0.1, 0.1, 0.1]]), np.array([1.0]))[95]
    assert (lower >= 0).all()
    assert (cal.samples(np.array([[0.1, 0.1, 0.1]]), np.array([1.0])) >= 0).all()


def test_exceedance_is_monotone_in_the_level_value():
    samples = RNG.normal(310, 2, size=(1000, 7))
    probs = [exceedance(samples, [_level(value=v)])["Flood warning"][3] for v in np.linspace(300, 320, 21)]
    assert all(a >= b for a, b in zip(probs, probs[1:], strict=False))
    drought = [
        exceedance(samples, [_level(value=v, side="drought")])["Flood warning"][3] for v in np.linspace(300, 320, 21)
    ]
    assert all(a <= b for a, b in zip(drought, drought[1:], strict=False))


def test_within_horizon_is_at_least_the_largest_daily_probability():
    samples = RNG.normal(310, 2, size=(1000, 7))
    level = _level(value=312.0)
    daily = exceedance(samples, [level])["Flood warning"]
    assert within_horizon(samples, level) >= max(daily)


def _samples_with_crossing_share(share: float, level: float = 312.0) -> np.ndarray:
    """1000 scenarios of 7 days; `share` of them pass the level on day 4 only."""
    samples = np.full((1000, 7), level - 1.0)
    samples[: int(round(share * 1000)), 3] = level + 0.5
    return samples


@pytest.mark.parametrize("share, expected", [(0.199, "normal"), (0.20, "warning"), (0.21, "warning")])
def test_alert_rule_just_below_and_above_the_trigger(share, expected):
    fc = _forecast([311.0] * 7, samples=_samples_with_crossing_share(share))
    alert = alert_state(fc, [_level()], trigger=0.2)
    assert alert["state"] == expected
    if expected == "warning":
        assert alert["level"] == "Flood warning" and alert["date"] == "2026-11-27"
        assert "passing Flood warning (312 m)" in alert["reason"]


def test_alert_takes_the_most_severe_level_that_triggers():
    samples = _samples_with_crossing_share(0.5, level=312.0)
    levels = [_level("Full supply", 311.0, severity="watch"), _level(), _level("Crest", 330.0, severity="danger")]
    alert = alert_state(_forecast([311.0] * 7, samples=samples), levels, trigger=0.2)
    assert alert["state"] == "warning" and alert["level"] == "Flood warning"


def test_assess_ignores_levels_on_another_variable():
    level = OperatingLevel("Storage cap", 1.0, "hm³", "flood", "danger", variable="storage")
    fc = assess(_forecast([311.0] * 7, samples=_samples_with_crossing_share(0.9)), [level])
    assert fc.exceedance == {} and fc.alert["state"] == "no levels"


def test_verification_counts_and_scores():
    prob = np.array([0.9, 0.1, 0.5, 0.0, 0.3])
    crossed = np.array([True, True, False, False, True])
    v = verify(prob, crossed, trigger=0.2)
    assert (v["hits"], v["misses"], v["false_alarms"]) == (2, 1, 1)
    assert v["pod"] == pytest.approx(2 / 3) and v["far"] == pytest.approx(1 / 3) and v["csi"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "levels, message",
    [
        ([_level("Low", 300, "drought", "watch"), _level("High", 299, "flood", "watch")], "must lie below"),
        ([_level("A", 312, "flood", "warning"), _level("B", 311, "flood", "danger")], "further out"),
        ([_level("A", 290, "drought", "watch"), _level("B", 295, "drought", "danger")], "further out"),
        ([_level("Same", 1, "flood", "watch"), _level("same", 2, "flood", "warning")], "share the name"),
    ],
)
def test_level_set_validation(levels, message):
    with pytest.raises(LevelError, match=message):
        check_levels(levels)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("Flood 313", "NAME=VALUE"),
        ("Flood=abc:flood:watch", "not a number"),
        ("Flood=3:up:watch", "side"),
        ("Flood=3:flood:panic", "severity"),
    ],
)
def test_level_spec_errors(spec, message):
    with pytest.raises(LevelError, match=message):
        parse_level(spec, "m", "level")


def test_levels_far_outside_the_data_are_refused(sample_workspace):
    from core.app.pipeline import update_levels
    from core.data.sample import SAMPLE_NAME

    with pytest.raises(LevelError, match="far outside"):
        update_levels(sample_workspace, SAMPLE_NAME, [parse_level("Typo=312000:flood:danger", "m", "level")])
    assert len(sample_workspace.levels(SAMPLE_NAME)) == 5, "a refused edit leaves the stored levels alone"


def test_trained_version_stores_coverage_and_forecast_carries_bands(trained_sample):
    from core.app.pipeline import forecast_reservoir
    from core.data.sample import SAMPLE_NAME

    ws, outcome = trained_sample
    cov = ws.version(SAMPLE_NAME).metrics["coverage"]
    assert set(cov) == {"50", "80", "95"} and len(cov["80"]["by_horizon"]) == 7
    fc = forecast_reservoir(ws, SAMPLE_NAME)
    for p in fc.points:
        assert p.lower_95 <= p.lower_80 <= p.lower_50 <= p.upper_50 <= p.upper_80 <= p.upper_95
    data = fc.to_dict()
    assert {"lower_50", "upper_95"} <= set(data["forecast"][0]) and "samples" not in data
    assert set(data["exceedance"]) == {
        "Minimum operating",
        "Drought watch",
        "Full supply",
        "Flood warning",
        "Dam crest",
    }
    # The alert is the most severe level at least `trigger` likely to be crossed within the week, read from the
    # forecast's own samples ("normal", with the highest chance, when none is).
    alert, samples = data["alert"], fc.samples
    chance = {
        lv.name: float(((samples > lv.value) if lv.side == "flood" else (samples < lv.value)).any(axis=1).mean())
        for lv in ws.levels(SAMPLE_NAME)
    }
    severity = {lv.name: lv.severity for lv in ws.levels(SAMPLE_NAME)}
    likely = [name for name, p in chance.items() if p >= alert["trigger"]]
    expected = max((severity[n] for n in likely), key=SEVERITIES.index, default="normal")
    assert alert["state"] == expected, (alert, chance)
    assert alert["probability"] == pytest.approx(chance[alert["level"]] if likely else max(chance.values()))


def test_page_and_cli_put_new_levels_on_the_same_variable():
    """One rule (core.data.levels.default_level_variable). The CLI's `levels --set` took the active model's target
    even when the reservoir no longer records it (refused, "has no variable 'level'", without a curve to convert
    it); the page passed it over."""
    from types import SimpleNamespace

    from core.cli.main import _default_level_variable
    from core.data.levels import default_level_variable
    from pages import levels as levels_page

    # A storage-only record (e.g. re-imported after `repair`) whose active version was trained on level.
    info = SimpleNamespace(name="Dam", variable_names=("storage", "inflow"))
    info.variables = [SimpleNamespace(name=n) for n in info.variable_names]
    ws = SimpleNamespace(active_version=lambda name: SimpleNamespace(target="level"))
    assert levels_page.default_variable(ws, info) == _default_level_variable(ws, info) == "storage"
    ws = SimpleNamespace(active_version=lambda name: None)
    assert levels_page.default_variable(ws, info) == _default_level_variable(ws, info) == "storage"
    assert default_level_variable(("level", "storage"), "storage") == "storage"  # the model's target first
    assert default_level_variable(("inflow", "rainfall"), None) == "inflow"  # no level or storage: the first
    assert default_level_variable((), None) == "level"  # before any readings
