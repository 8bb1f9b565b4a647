"""The model zoo: every member fits, saves without pickle and loads back identical; the leaderboard ranks fairly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.data.sample import SAMPLE_NAME
from core.model.config import DEFAULT_MODEL, ModelConfig
from core.model.zoo import MODEL_NAMES
from tests.conftest import tiny_config

FAST = ("persistence", "climatology", "ridge")


@pytest.fixture(scope="module")
def sample_sets():
    """Windows of the sample reservoir, as the trainer cuts them."""
    from core.app.pipeline import add_sample, load_clean
    from core.model.train import prepare
    from core.store.workspace import Workspace

    ws = Workspace(__import__("tempfile").mkdtemp() + "/ws")
    add_sample(ws)
    cfg = tiny_config()
    values = load_clean(ws, SAMPLE_NAME, [cfg.target, *cfg.features], cfg.clean).values
    scaling, _, sets = prepare(values, cfg)
    return cfg, scaling, sets


@pytest.mark.parametrize("name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in MODEL_NAMES])
def test_every_member_fits_saves_as_keras_or_json_and_loads_identically(name, sample_sets, tmp_path):
    from core.model import zoo

    cfg, scaling, sets = sample_sets
    cfg = tiny_config(epochs=2, model=ModelConfig(name=name, filters=8, units=8))
    member = zoo.create(cfg.model, cfg.n_steps, scaling.n_features, cfg.horizon, cfg.seed)
    log = member.fit(sets["train"], sets["val"], cfg.fit_settings())
    assert log.history and np.isfinite(log.history[-1]["val_loss"])
    pred = member.predict(sets["test"].X)
    assert pred.shape == (len(sets["test"]), cfg.horizon) and np.isfinite(pred).all()

    filename = member.save(tmp_path)
    assert filename == zoo.ZOO[name].file  # the file the registry expects for this member (.keras or JSON)
    assert [p.name for p in tmp_path.iterdir()] == [filename], "one file, nothing pickled beside it"
    if filename == "model.json":
        json.loads((tmp_path / filename).read_text())  # plain JSON, readable by anything
    loaded = zoo.load(tmp_path, filename, name)
    np.testing.assert_allclose(loaded.predict(sets["test"].X), pred, rtol=1e-5, atol=1e-6)


def test_persistence_is_exactly_no_change_and_scores_zero_skill(trained_sample):
    from core.app.pipeline import train_reservoir

    ws, _ = trained_sample
    out = train_reservoir(ws, SAMPLE_NAME, tiny_config(model=ModelConfig(name="persistence")), activate=False)
    assert out.result.metrics["skill_vs_persistence"] == 0.0
    assert out.result.metrics["model"]["mae"] == out.result.metrics["persistence"]["mae"]


def test_climatology_follows_the_season_and_needs_seasonal_inputs(sample_sets):
    from core.model import zoo
    from core.model.config import TrainError
    from core.model.zoo.climatology import _day_of_year

    cfg, scaling, sets = sample_sets
    member = zoo.create(ModelConfig(name="climatology"), cfg.n_steps, scaling.n_features, cfg.horizon, 0)
    member.fit(sets["train"], sets["val"], cfg.fit_settings())
    issued = sets["train"].issued
    doy = _day_of_year(sets["train"].X)
    assert np.abs(doy - (issued.dayofyear.to_numpy() % 366)).max() <= 1, "issue day recovered from the sin/cos inputs"
    # the table's mean change over days 60-120 matches the training windows issued then
    spring = (doy >= 60) & (doy <= 120)
    assert np.sign(member.table[60:121].mean()) == np.sign(sets["train"].y[spring].mean())
    with pytest.raises(TrainError, match="seasonal"):
        member.fit(sets["train"], sets["val"], tiny_config(seasonal=False).fit_settings())


@pytest.mark.slow
def test_random_forest_json_walk_matches_scikit_learn(sample_sets):
    from sklearn.ensemble import RandomForestRegressor

    from core.model import zoo
    from core.model.zoo.base import flat

    cfg, scaling, sets = sample_sets
    member = zoo.create(ModelConfig(name="random_forest"), cfg.n_steps, scaling.n_features, cfg.horizon, cfg.seed)
    member.fit(sets["train"], sets["val"], cfg.fit_settings())
    forest = RandomForestRegressor(
        n_estimators=member.N_TREES, min_samples_leaf=member.MIN_LEAF, max_features=0.5, random_state=cfg.seed
    ).fit(flat(sets["train"].X), sets["train"].y)
    expected = forest.predict(flat(sets["test"].X))
    np.testing.assert_allclose(member.predict(sets["test"].X), expected, rtol=1e-4, atol=1e-5)


def test_ridge_penalty_is_chosen_on_validation(sample_sets):
    from sklearn.linear_model import Ridge

    from core.model import zoo
    from core.model.zoo.base import flat

    cfg, scaling, sets = sample_sets
    member = zoo.create(ModelConfig(name="ridge"), cfg.n_steps, scaling.n_features, cfg.horizon, 0)
    member.fit(sets["train"], sets["val"], cfg.fit_settings())
    # Each candidate refitted with scikit-learn and scored on the validation windows: the kept one scores lowest.
    X, Xv = flat(sets["train"].X).astype(float), flat(sets["val"].X).astype(float)
    fits = {a: Ridge(alpha=a).fit(X, sets["train"].y) for a in type(member).ALPHAS}
    val_mae = {a: float(np.abs(f.predict(Xv) - sets["val"].y).mean()) for a, f in fits.items()}
    assert member.alpha == min(val_mae, key=val_mae.get), val_mae
    best, second = sorted(val_mae.values())[:2]
    assert best < second, "one candidate is best: the choice is not a tie"
    np.testing.assert_allclose(member.coef, fits[member.alpha].coef_, rtol=1e-6, atol=1e-9)


@pytest.mark.slow
def test_attention_weights_are_one_per_input_day_and_sum_to_one(sample_sets, tmp_path):
    from core.model import zoo

    cfg, scaling, sets = sample_sets
    cfg = tiny_config(epochs=1, model=ModelConfig(name="conv_lstm_attention", filters=8, units=8))
    member = zoo.create(cfg.model, cfg.n_steps, scaling.n_features, cfg.horizon, cfg.seed)
    member.fit(sets["train"], sets["val"], cfg.fit_settings())
    weights = member.attention(sets["test"].X[:5])
    assert weights.shape == (5, cfg.n_steps)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    member.save(tmp_path)
    again = zoo.load(tmp_path, "model.keras", "conv_lstm_attention")  # custom layer loads with safe_mode=True
    np.testing.assert_allclose(again.attention(sets["test"].X[:5]), weights, rtol=1e-5)
    ridge = zoo.create(ModelConfig(name="ridge"), cfg.n_steps, scaling.n_features, cfg.horizon, 0)
    assert ridge.attention(sets["test"].X[:5]) is None


def test_forecast_of_an_attention_version_carries_dated_weights(trained_sample, tmp_path):
    import shutil

    from core.app.pipeline import forecast_reservoir, train_reservoir
    from core.store.workspace import Workspace

    ws, _ = trained_sample
    copy = Workspace(shutil.copytree(ws.root, tmp_path / "copy"))
    cfg = tiny_config(epochs=1, model=ModelConfig(name="conv_lstm_attention", filters=8, units=8))
    out = train_reservoir(copy, SAMPLE_NAME, cfg, activate=True)
    fc = forecast_reservoir(copy, SAMPLE_NAME)
    assert fc.model == "conv_lstm_attention" and out.record.active
    assert fc.attention["dates"][-1] == fc.issued and len(fc.attention["dates"]) == 14
    assert sum(fc.attention["weights"]) == pytest.approx(1.0, rel=1e-5)
    assert forecast_reservoir(ws, SAMPLE_NAME).attention is None


def test_unknown_model_is_a_clear_error(trained_sample):
    from core.app.pipeline import train_reservoir
    from core.model.config import TrainError

    ws, _ = trained_sample
    with pytest.raises(TrainError, match="Unknown model 'transformer'. Known models: persistence"):
        train_reservoir(ws, SAMPLE_NAME, tiny_config(model=ModelConfig(name="transformer")))


@pytest.mark.slow
def test_leaderboard_ranks_on_validation_stores_every_candidate_and_activates_by_rule(tmp_path):
    from core.app.compare import compare_models
    from core.app.pipeline import add_sample
    from core.store.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    add_sample(ws)
    seen = []
    board = compare_models(ws, SAMPLE_NAME, tiny_config(), FAST, on_model=lambda i, n, m, row: seen.append((i, m)))
    names = [r["model"] for r in board["models"]]
    assert sorted(names) == sorted(FAST)
    val = [r["val_mae"] for r in board["models"]]
    assert val == sorted(val), "ranked by validation MAE"
    assert [r["rank"] for r in board["models"]] == [1, 2, 3]
    assert board["best"] == names[0] and board["default"] == DEFAULT_MODEL
    versions = {m.version: m for m in ws.versions(SAMPLE_NAME)}
    assert {r["version"] for r in board["models"]} == set(versions), "every candidate is a stored version"
    assert board["activated"] == board["models"][0]["version"] and versions[board["activated"]].active
    assert seen == [
        (0, "persistence"),
        (0, "persistence"),
        (1, "climatology"),
        (1, "climatology"),
        (2, "ridge"),
        (2, "ridge"),
    ]
    for row in board["models"]:
        assert set(row["metrics"]) == {"model", "persistence", "skill_vs_persistence", "skill_by_horizon", "n_windows"}
        assert len(row["test_pred"]) == len(board["test"]["issued"]) == len(board["test"]["truth"])
    # a worse comparison later leaves the better active version alone
    again = compare_models(ws, SAMPLE_NAME, tiny_config(), ["persistence"])
    assert again["activated"] is None and ws.version(SAMPLE_NAME).version == board["activated"]


def test_leaderboard_says_plainly_when_no_model_beats_persistence():
    from core.model.leaderboard import verdict

    rows = [
        {"model": "persistence", "label": "Persistence", "val_mae": 1.0, "val_skill": 0.0},
        {"model": "ridge", "label": "Ridge", "val_mae": 1.2, "val_skill": -0.2},
    ]
    assert "No model beats persistence" in verdict(rows)


@pytest.mark.slow
def test_cli_compare_json_contract_and_train_model(tmp_path, capsys):
    from core.cli.main import main

    ws = str(tmp_path / "ws")
    assert main(["--workspace", ws, "sample"]) == 0
    capsys.readouterr()
    code = main(
        [
            "--workspace",
            ws,
            "--json",
            "compare",
            "--reservoir",
            SAMPLE_NAME,
            "--target",
            "level",
            "--models",
            "ridge,persistence",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["default"] == DEFAULT_MODEL
    maes = [m["val_mae"] for m in out["models"]]
    assert maes == sorted(maes) and out["best"] == out["models"][0]["model"]  # ranked by validation MAE, best first
    assert all({"model", "version", "train_seconds", "metrics"} <= set(m) for m in out["models"])
    assert {m["model"] for m in out["models"]} == {"ridge", "persistence"}
    assert "mae" in out["models"][0]["metrics"]["model"] and "skill_vs_persistence" in out["models"][0]["metrics"]

    code = main(
        [
            "--workspace",
            ws,
            "--json",
            "train",
            "--reservoir",
            SAMPLE_NAME,
            "--target",
            "level",
            "--model",
            "climatology",
        ]
    )
    trained = json.loads(capsys.readouterr().out)
    assert code == 0 and trained["model"] == "climatology"
    assert set(trained["metrics"]) == set(out["models"][0]["metrics"]), "compare uses train's metric keys"

    code = main(["--workspace", ws, "compare", "--reservoir", SAMPLE_NAME, "--target", "level", "--models", "nope"])
    err = capsys.readouterr().err
    assert code == 2 and "Unknown model 'nope'" in err and "Traceback" not in err


@pytest.mark.slow
def test_compare_job_reports_each_model_and_the_board(tmp_path):
    from core.app.jobs import COMPARE, run_job
    from core.app.pipeline import add_sample
    from core.store.workspace import JobProgress, Workspace

    ws = Workspace(tmp_path / "ws")
    add_sample(ws)
    job_id = ws.create_job(
        SAMPLE_NAME, COMPARE, {"config": tiny_config().to_dict(), "models": ["ridge", "climatology"]}
    )
    run_job(ws, job_id)
    job = ws.job(job_id)
    assert job.status == "done" and "2 models compared" in job.message
    assert {m["model"] for m in job.result["models"]} == {"ridge", "climatology"}
    assert [e.logs["model_index"] for e in job.epochs] == [0.0, 1.0]
    assert job.progress in (JobProgress(1, 2, "ridge"), JobProgress(1, 2, "climatology"))  # the last one at work


def test_every_member_is_declared_once_with_words_and_a_colour():
    from core.model.zoo import KERAS_FILE, ZOO

    assert all(m.label and m.description.endswith(".") for m in ZOO.values())
    assert len({m.colour for m in ZOO.values()}) == len(ZOO)  # told apart on every leaderboard chart
    assert [m.order for m in ZOO.values()] == sorted(m.order for m in ZOO.values())
    assert all((m.builder is not None) == (m.file == KERAS_FILE) for m in ZOO.values())
    assert ZOO["persistence"].trains_over_epochs is False and ZOO["conv1d"].trains_over_epochs is True


def test_a_new_member_is_one_file(tmp_path, monkeypatch):
    """Dropping a module that declares MEMBER into the zoo package is all it takes to register it."""
    import sys

    import core.model.zoo as zoo_pkg

    extra = tmp_path / "zoo_extra"
    extra.mkdir()
    (extra / "drift_member.py").write_text(
        "from core.model.zoo.persistence import Persistence\n"
        "from core.model.zoo.base import Member\n"
        "MEMBER = Member(name='drift_x', label='Drift X', description='A test member.', colour='#000001',"
        " forecaster=Persistence, order=5)\n"
    )
    monkeypatch.setattr(zoo_pkg, "__path__", [*zoo_pkg.__path__, str(extra)])
    try:
        found = zoo_pkg._discover()
    finally:
        sys.modules.pop("core.model.zoo.drift_member", None)
    assert list(found)[:2] == ["persistence", "drift_x"]
