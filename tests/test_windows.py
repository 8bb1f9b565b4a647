"""Splits, scaling and windows: chronological, leak-free, never across a split or a long gap."""

import numpy as np
import pandas as pd
import pytest

from core.model.config import SplitConfig
from core.model.preprocess import fit_scaling, robust_scale
from core.model.splits import SplitError, split_bounds
from core.model.windows import latest_window, make_windows


def _frame(n: int = 400, start: str = "2020-01-01") -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq="D", name="date")
    t = np.arange(n, dtype=float)
    return pd.DataFrame({"level": 100 + np.sin(t / 20) * 5 + t * 0.01, "rain": (t % 9 == 0) * 10.0}, index=idx)


def test_fraction_split_is_chronological_70_15_15():
    idx = _frame(1000).index
    b = split_bounds(idx, SplitConfig())
    labels = b.labels(idx)
    assert (labels == "train").sum() == 700 and (labels == "val").sum() == 150 and (labels == "test").sum() == 150
    order = {"train": 0, "val": 1, "test": 2}
    assert np.all(np.diff([order[x] for x in labels]) >= 0)


def test_test_from_puts_validation_just_before_it():
    idx = _frame(1000).index
    b = split_bounds(idx, SplitConfig(test_from="2022-01-01"))
    assert b.test_start == pd.Timestamp("2022-01-01")
    before = (b.test_start - idx[0]).days
    assert (b.test_start - b.val_start).days == round(before * 0.15)


@pytest.mark.parametrize("bad", ["2030-01-01", "not-a-date", "2019-01-01"])
def test_test_from_outside_data_is_a_clear_error(bad):
    with pytest.raises(SplitError, match="test-from"):
        split_bounds(_frame(400).index, SplitConfig(test_from=bad))


def test_too_short_record_is_refused_with_reason():
    with pytest.raises(SplitError, match="Not enough history"):
        split_bounds(_frame(60).index, SplitConfig(), min_days=21)


def test_scaling_uses_training_days_only():
    f = _frame(1000)
    f.iloc[900:, 0] += 1e6  # a huge shift in the test period must not move the scaler
    labels = split_bounds(f.index, SplitConfig()).labels(f.index)
    s1 = fit_scaling(f, "level", ("rain",), labels == "train")
    s2 = fit_scaling(_frame(1000), "level", ("rain",), labels == "train")
    assert s1.to_dict() == s2.to_dict()


def test_robust_scale_survives_zero_runs_and_outliers():
    x = np.zeros(1000)
    x[::50] = 3.0
    assert robust_scale(x) > 0
    y = np.random.default_rng(0).normal(size=1000)
    y_bad = y.copy()
    y_bad[0] = 1e9
    assert robust_scale(y_bad) == pytest.approx(robust_scale(y), rel=0.01)


def test_windows_never_straddle_a_split_or_a_gap():
    f = _frame(500)
    f.iloc[100:105, 0] = np.nan  # a gap: no window may include these days
    labels = split_bounds(f.index, SplitConfig()).labels(f.index)
    s = fit_scaling(f, "level", ("rain",), labels == "train")
    inputs = s.inputs(f)
    target = f["level"].to_numpy()
    n_steps, horizon = 14, 7
    for split in ("train", "val", "test"):
        w = make_windows(inputs, target, f.index, labels, split, n_steps, horizon, s.delta_scale)
        assert len(w) > 0
        for issued in w.issued:
            pos = f.index.get_loc(issued)
            span = slice(pos - n_steps + 1, pos + horizon + 1)
            assert set(labels[span]) == {split}
            assert np.isfinite(target[span]).all()


def test_window_targets_are_changes_that_rebuild_the_truth():
    f = _frame(300)
    labels = np.full(len(f), "train", dtype=object)
    s = fit_scaling(f, "level", (), labels == "train")
    w = make_windows(s.inputs(f), f["level"].to_numpy(), f.index, labels, "train", 14, 7, s.delta_scale)
    rebuilt = w.to_values(w.y, s.delta_scale)
    np.testing.assert_allclose(rebuilt, w.truth, rtol=1e-5)
    first = w.issued[0]
    assert first == f.index[14]  # day 0 has no daily change, so the first full window ends on day 14
    np.testing.assert_allclose(w.truth[0], f["level"].iloc[15:22].to_numpy())


def test_latest_window_names_missing_days():
    f = _frame(100)
    f.iloc[95, 1] = np.nan
    labels = np.full(len(f), "train", dtype=object)
    s = fit_scaling(f, "level", ("rain",), labels == "train")
    with pytest.raises(ValueError, match=str(f.index[95].date())):
        latest_window(s.inputs(f), f.index, 14, f.index[-1])
    assert latest_window(s.inputs(f), f.index, 14, f.index[90]).shape == (1, 14, s.n_features)
