"""core.model.leaderboard's honest verdicts: MAE and RMSE skill side by side, and a challenger recommended only
beyond noise (Diebold-Mariano on the validation errors, or a minimum relative margin) by a stated rule."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.leaderboard import ALPHA, MIN_MARGIN, UNPAIRED_MARGIN, Skill, dm_test, judge, judge_rows, verdict


def metrics(mae: float, rmse: float, p_mae: float, p_rmse: float) -> dict:
    """A version's stored test metrics: the model's and persistence's scores and the MAE skill."""
    return {
        "model": {"mae": mae, "rmse": rmse},
        "persistence": {"mae": p_mae, "rmse": p_rmse},
        "skill_vs_persistence": 1 - mae / p_mae,
    }


def test_skill_on_average_but_not_on_large_misses_is_said():
    """The walkthrough's case: MAE 62.87 vs 84.98 (+26 %) while RMSE 223.06 vs 220.35 is worse."""
    skill = Skill.of(metrics(62.87, 223.06, 84.98, 220.35))
    assert round(skill.mae, 2) == 0.26 and skill.rmse < 0
    assert skill.large_misses_worse and skill.colour() == "orange"
    assert skill.short() == "skill +26% MAE, -1% RMSE"
    assert "but not on large misses" in skill.words()
    assert "weighs large misses more, was 1% larger" in skill.sentence() and "not better when large" in skill.sentence()
    plain = Skill.of(metrics(50.0, 80.0, 100.0, 120.0))
    assert not plain.large_misses_worse and plain.colour() == "green"
    assert plain.words() == "beats 'tomorrow = today' by 50%"
    assert Skill.of({}).short() == "skill not measured" and Skill.of({}).colour() == "gray"
    assert Skill.of(metrics(120.0, 130.0, 100.0, 120.0)).colour() == "red"


def test_diebold_mariano_tells_a_real_gain_from_noise():
    rng = np.random.default_rng(3)
    base = np.abs(rng.normal(50, 10, 400))
    noise = base + rng.normal(0, 5, 400)  # the same errors, shuffled a little: no real difference
    better = base * 0.8 + rng.normal(0, 2, 400)  # 20 % smaller errors
    _, p_noise = dm_test(base, noise, horizon=7)
    _, p_better = dm_test(base, better, horizon=7)
    assert p_noise > ALPHA and p_better < 0.001
    assert dm_test(base, better[:-1], horizon=7) is None  # not the same days: no paired test
    assert dm_test(base[:5], better[:5], horizon=7) is None  # too few forecasts


def test_a_challenger_is_recommended_only_beyond_noise():
    """55.06 against 55.148 (0.2 %) was recommended; now it is 'no meaningful difference'."""
    tiny = judge(55.148, 55.06)
    assert not tiny.meaningful and tiny.p_value is None
    assert tiny.words("m³").startswith("no meaningful difference (validation MAE 55.06 vs 55.148 m³: 0.2% smaller")
    assert judge(100.0, 100.0 * (1 - UNPAIRED_MARGIN) - 0.01).meaningful  # different days: the 5 % margin rule
    assert not judge(100.0, 100.0 * (1 - UNPAIRED_MARGIN) + 0.01).meaningful
    rng = np.random.default_rng(5)
    errors = np.abs(rng.normal(50, 10, 300))
    paired_noise = judge(50.0, 48.0, errors, errors + rng.normal(0, 6, 300), horizon=7)  # 4 % said, noise measured
    assert paired_noise.p_value is not None and not paired_noise.meaningful
    real = judge(50.0, 40.0, errors, errors * 0.8, horizon=7)
    assert real.meaningful and real.p_value < ALPHA and real.margin >= MIN_MARGIN
    assert real.words().startswith("a meaningful difference") and real.words().endswith("Diebold-Mariano p < 0.01)")


def row(model: str, label: str, val_mae: float, errors: list[float], test: dict) -> dict:
    """A leaderboard row as core.app.compare stores it."""
    return {
        "model": model,
        "label": label,
        "version": 1,
        "val_mae": val_mae,
        "val_skill": 1 - val_mae / 100.0,
        "val_errors": errors,
        "metrics": {**test, "skill_by_horizon": [0.0] * 7},
    }


def test_the_verdict_shows_both_skills_the_runner_up_and_who_wins_large_misses():
    rng = np.random.default_rng(9)
    errors = list(np.abs(rng.normal(55, 8, 200)))
    rows = [
        row("ridge", "Ridge regression", 55.06, errors, metrics(62.87, 223.06, 84.98, 220.35)),
        row("mlp", "MLP", 55.148, list(np.array(errors) + rng.normal(0, 3, 200)), metrics(63.0, 221.0, 84.98, 220.35)),
        row("persistence", "Persistence", 80.0, errors, metrics(84.98, 220.35, 84.98, 220.35)),
    ]
    text = verdict(rows, "m³")
    assert "Ridge regression is best on the validation period (MAE 55.06 m³" in text
    assert "+26% MAE, -1% RMSE" in text and "not on large misses" in text
    assert "Against the runner-up, MLP: no meaningful difference" in text and "either will do" in text
    assert "On test RMSE, where large misses weigh more, Persistence is best (220.35 against 223.06 m³)" in text
    assert judge_rows(rows[1], rows[0]).p_value is not None  # same validation days: the paired test ran


@pytest.mark.parametrize("skills", [[-0.1, -0.2], [0.0, -0.01]])
def test_no_model_beating_persistence_is_said_plainly(skills):
    rows = [row(f"m{i}", f"M{i}", 100 - 100 * s, [], metrics(1, 1, 1, 1)) for i, s in enumerate(skills)]
    for r, s in zip(rows, skills, strict=True):
        r["val_skill"] = s
    assert verdict(rows).startswith("No model beats persistence")
