"""Training, versioned models and forecasts: reproducible, atomic, loaded only when ours."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.app.pipeline import TrainSummary, forecast_reservoir, train_reservoir
from core.data.sample import SAMPLE_NAME
from core.model.config import TrainConfig, TrainError
from core.store.workspace import VersionError
from tests.conftest import tiny_config


def test_train_reports_metrics_next_to_persistence(trained_sample):
    ws, outcome = trained_sample
    out = outcome.to_dict()
    assert out["version"] == 1 and out["active"] is True
    for side in ("model", "persistence"):
        m = out["metrics"][side]
        assert set(m) >= {"mae", "rmse", "nse", "kge", "mae_by_horizon"}
        assert len(m["mae_by_horizon"]) == 7
    skill = 1 - out["metrics"]["model"]["mae"] / out["metrics"]["persistence"]["mae"]
    assert out["metrics"]["skill_vs_persistence"] == pytest.approx(skill, abs=1e-4)
    history = outcome.result.history  # each epoch timed on its own: the reported fit time covers them all
    assert 1 <= out["epochs_run"] == len(history) <= 3 and out["train_seconds"] == outcome.record.train_seconds
    assert sum(e["seconds"] for e in history) <= out["train_seconds"] + 0.001  # rounded to the millisecond
    summary = outcome.summary()
    assert summary.to_dict() == out and TrainSummary.from_dict(out) == summary
    assert summary.test_period == tuple(out["splits"]["test"]) and "comparison" not in out


def test_train_results_stored_by_earlier_versions_still_read():
    old = TrainSummary.from_dict({"version": 2, "target": "level", "features": ["storage"]})
    assert (old.version, old.target, old.features, old.active) == (2, "level", ("storage",), False)
    assert (old.metrics, old.splits, old.test_period, old.comparison, old.epochs_run) == ({}, {}, None, None, None)


def test_same_data_and_config_give_the_same_metrics(trained_sample, tmp_path):
    from core.app.pipeline import add_sample
    from core.store.workspace import Workspace

    ws, first = trained_sample
    other = Workspace(tmp_path / "again")
    add_sample(other)
    second = train_reservoir(other, SAMPLE_NAME, tiny_config())
    assert second.result.metrics["model"] == first.result.metrics["model"]
    assert second.result.fingerprint == first.result.fingerprint


def test_saved_version_has_json_with_config_scaling_and_data(trained_sample):
    ws, outcome = trained_sample
    record = ws.version(SAMPLE_NAME, 1)
    assert record == outcome.record and record.model_file == "model.keras"
    folder = ws.root / record.path
    assert (folder / "model.keras").is_file()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["config"]["n_steps"] == 14 and meta["config"]["horizon"] == 7
    assert meta["config"]["learning_rate"] == pytest.approx(3e-4)
    assert meta["scaling"]["target"] == "level"
    assert meta["data"]["fingerprint"] == outcome.result.fingerprint
    assert meta["data"]["splits"]["train"][0] <= meta["data"]["splits"]["test"][0]
    assert not list(folder.parent.glob(".tmp-*")), "no temp folder left behind"


def test_save_load_forecast_round_trip_is_identical(trained_sample):
    ws, outcome = trained_sample
    a = forecast_reservoir(ws, SAMPLE_NAME)
    b = forecast_reservoir(ws, SAMPLE_NAME, loaded=ws.load_version(SAMPLE_NAME, 1))
    assert [p.value for p in a.points] == [p.value for p in b.points]
    # the in-memory model from training gives the same numbers as the one loaded from disk
    loaded = ws.load_version(SAMPLE_NAME)
    assert (loaded.reservoir, loaded.version, loaded.sha256) == (SAMPLE_NAME, 1, outcome.record.sha256)
    x = np.random.default_rng(0).normal(size=(4, 14, loaded.scaling.n_features)).astype("float32")
    np.testing.assert_allclose(loaded.model.predict(x), outcome.result.model.predict(x), rtol=1e-6)


def test_forecast_has_real_dates_after_the_last_reading(trained_sample):
    ws, _ = trained_sample
    fc = forecast_reservoir(ws, SAMPLE_NAME)
    last = pd.Timestamp(ws.reservoir(SAMPLE_NAME).last)
    assert fc.last_observed["date"] == last.date().isoformat()
    assert [p.date for p in fc.points] == [(last + pd.Timedelta(days=k)).date().isoformat() for k in range(1, 8)]
    assert all(np.isfinite(p.value) for p in fc.points)
    assert fc.unit == "m"


def test_hindcast_as_of_a_past_date_carries_observations(trained_sample):
    ws, _ = trained_sample
    fc = forecast_reservoir(ws, SAMPLE_NAME, as_of="2016-03-01")
    assert fc.issued == "2016-03-01" and fc.points[0].date == "2016-03-02"
    truth = ws.readings(SAMPLE_NAME, ["level"]).loc["2016-03-02":"2016-03-08", "level"].to_numpy()
    np.testing.assert_allclose([p.observed for p in fc.points], truth)


def test_as_of_outside_the_data_is_a_clear_error(trained_sample):
    ws, _ = trained_sample
    with pytest.raises(ValueError, match="outside the stored readings"):
        forecast_reservoir(ws, SAMPLE_NAME, as_of="1990-01-01")


def test_tampered_model_file_is_refused(trained_sample, tmp_path):
    import shutil

    from core.store.workspace import Workspace

    ws, _ = trained_sample
    copy = Workspace(shutil.copytree(ws.root, tmp_path / "copy"))
    path = copy.root / copy.version(SAMPLE_NAME, 1).path / "model.keras"
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(VersionError, match="changed on disk"):
        copy.load_version(SAMPLE_NAME, 1)
    path.unlink()
    with pytest.raises(VersionError, match="missing"):
        copy.load_version(SAMPLE_NAME, 1)


@pytest.mark.slow
def test_later_version_activates_only_if_validation_improves(tmp_path):
    from core.app.pipeline import add_sample
    from core.store.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    add_sample(ws)
    first = train_reservoir(ws, SAMPLE_NAME, tiny_config(epochs=2))
    worse = train_reservoir(ws, SAMPLE_NAME, tiny_config(epochs=1, learning_rate=1e-6))
    assert first.record.active
    assert worse.result.val_mae >= first.result.val_mae
    assert not worse.record.active
    assert ws.version(SAMPLE_NAME).version == 1
    forced = train_reservoir(ws, SAMPLE_NAME, tiny_config(epochs=1, learning_rate=1e-6), activate=True)
    assert ws.version(SAMPLE_NAME).version == forced.record.version == 3


def test_bad_settings_are_refused_with_the_setting_named(sample_workspace):
    with pytest.raises(TrainError, match="horizon"):
        train_reservoir(sample_workspace, SAMPLE_NAME, tiny_config(horizon=0))
    with pytest.raises(ValueError, match="nosuch"):
        train_reservoir(sample_workspace, SAMPLE_NAME, tiny_config(features=("nosuch",)))


def test_config_json_round_trip_and_unknown_keys():
    cfg = tiny_config()
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(TrainError, match="Unknown"):
        TrainConfig.from_dict({**cfg.to_dict(), "learnin_rate": 1})
