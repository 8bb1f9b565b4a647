"""Metrics against hand-computed values, and skill against persistence."""

import numpy as np
import pytest

from core.model.evaluate import compare, kge, mae, nse, rmse, skill


def test_metrics_on_hand_computed_example():
    obs = np.array([1.0, 2.0, 3.0, 4.0])
    sim = np.array([1.0, 2.0, 4.0, 3.0])
    assert mae(obs, sim) == pytest.approx(0.5)
    assert rmse(obs, sim) == pytest.approx(np.sqrt(0.5))
    assert nse(obs, sim) == pytest.approx(1 - 2 / 5)


def test_perfect_forecast_scores_one_and_mean_scores_zero_nse():
    obs = np.array([3.0, 5.0, 2.0, 8.0])
    assert nse(obs, obs) == pytest.approx(1.0)
    assert kge(obs, obs) == pytest.approx(1.0)
    assert nse(obs, np.full(4, obs.mean())) == pytest.approx(0.0)


def test_kge_penalises_bias_per_gupta_2009():
    obs = np.array([1.0, 2.0, 3.0, 4.0])
    # a 10 % overestimate: r = 1, alpha = 1.1, beta = 1.1
    assert kge(obs, obs * 1.1) == pytest.approx(1 - np.sqrt(0.1**2 + 0.1**2))


def test_nan_pairs_are_ignored():
    assert mae(np.array([1.0, np.nan, 3.0]), np.array([2.0, 5.0, 3.0])) == pytest.approx(0.5)


def test_compare_reports_skill_against_persistence_per_lead():
    base = np.array([10.0, 10.0])
    truth = np.array([[11.0, 12.0], [9.0, 8.0]])
    perfect = compare(truth, truth, base)
    assert perfect["skill_vs_persistence"] == pytest.approx(1.0)
    assert perfect["persistence"]["mae_by_horizon"] == [1.0, 2.0]
    same = compare(truth, np.repeat(base[:, None], 2, axis=1), base)
    assert same["skill_vs_persistence"] == pytest.approx(0.0)
    assert skill(2.0, 1.0) == pytest.approx(-1.0)
