"""The fleet model (issue 22, model layer): one Conv1D+LSTM ensemble over many reservoirs, fine-tuned, cold start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.model.config import SplitConfig, TrainError
from core.model.fleet import (
    FleetConfig,
    FleetModel,
    add_reservoir,
    build_dataset,
    cold_start_calibration,
    fine_tune,
    fit_fleet,
    period_windows,
    reservoir_calibration,
)
from core.model.fleet.config import FineTuneSettings

TINY = FleetConfig(
    n_steps=7,
    horizon=3,
    filters=4,
    units=4,
    epochs=3,
    patience=2,
    batch_size=64,
    fine_tune=FineTuneSettings(epochs=2, patience=1, batch_size=64),
)


def _reservoir(seed: int, days: int, covariates: tuple[str, ...], size: float) -> pd.DataFrame:
    """A synthetic record: storage filled by rain/inflow pulses and drawn down, in its own unit (size)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2015-01-01", periods=days, freq="D")
    season = 1 + np.sin(np.arange(days) / 365.25 * 2 * np.pi)
    wet = rng.gamma(0.4, 10.0, days) * (rng.random(days) < 0.3 * season)
    flow_in = np.convolve(wet, np.exp(-np.arange(10) / 3.0))[:days] + 1.0
    flow_out = 1.0 + 0.5 * season
    storage = size * (50 + np.cumsum(flow_in - flow_out - 0.2 * rng.standard_normal(days)) / 10)
    columns = {"storage": storage, "rainfall": wet, "inflow": flow_in * size, "outflow": flow_out * size}
    return pd.DataFrame({c: columns[c] for c in ("storage", *covariates)}, index=index)


FRAMES = {
    "Wet A": _reservoir(1, 420, ("rainfall",), 1.0),
    "Wet B": _reservoir(2, 420, ("rainfall",), 30.0),
    "Gauged": _reservoir(3, 360, ("inflow", "outflow"), 1e6),
}


@pytest.fixture(scope="module")
def fleet():
    """The three synthetic reservoirs' dataset and a tiny fleet fitted on it (once for the module)."""
    dataset = build_dataset(FRAMES, TINY)
    return dataset, fit_fleet(dataset).model


def _weights(model: FleetModel) -> list[np.ndarray]:
    return [w.numpy() for w in model.net.weights]


@pytest.mark.slow  # the module fixture trains the fleet
def test_the_graph_holds_lstm_over_convolutions_and_forecasts_the_members_median(fleet):
    import keras

    dataset, model = fleet
    lstms = [layer for layer in model.net.layers if isinstance(layer, keras.layers.LSTM)]
    upstream_of = {}
    for lstm in lstms:
        upstream, layer = [], lstm
        while not isinstance(layer, keras.layers.InputLayer):
            layer = layer._inbound_nodes[0].parent_nodes[0].operation
            upstream.append(layer)
        upstream_of[lstm.name] = upstream
    assert any(any(isinstance(u, keras.layers.Conv1D) for u in up) for up in upstream_of.values()), "LSTM(CNN(x))"

    pool = dataset.pool("test")
    members = [layer for layer in model.net.layers if layer.name.startswith("member")]
    parts = keras.Model(model.net.inputs, [m.output for m in members]).predict_on_batch([pool.X, pool.S])
    np.testing.assert_allclose(
        model.net.predict_on_batch([pool.X, pool.S]), np.median(parts, axis=0), rtol=1e-5, atol=1e-6
    )


def test_every_reservoir_is_scaled_and_described_by_its_own_training_days_only():
    base = build_dataset(FRAMES, TINY)
    changed = dict(FRAMES)
    values = FRAMES["Wet B"].copy()
    val_start = pd.Timestamp(base.reservoirs["Wet B"].profile.splits["val"][0])
    values.loc[val_start:] *= 100.0  # validation and test days of one reservoir blown up
    after = build_dataset({**changed, "Wet B": values}, TINY)
    for name in FRAMES:
        assert after.reservoirs[name].profile.scaling == base.reservoirs[name].profile.scaling
        assert after.reservoirs[name].profile.descriptors == base.reservoirs[name].profile.descriptors
    assert base.reservoirs["Wet A"].profile.scaling.delta_scale != base.reservoirs["Wet B"].profile.scaling.delta_scale


def test_a_reservoir_lacking_a_covariate_gets_zeros_and_a_presence_flag_of_zero():
    dataset = build_dataset(FRAMES, TINY)
    assert dataset.config.covariates == ("inflow", "outflow", "rainfall")
    wet, gauged = dataset.reservoirs["Wet A"], dataset.reservoirs["Gauged"]
    assert list(wet.profile.presence(dataset.config.covariates)) == [0, 0, 1]
    assert list(gauged.profile.presence(dataset.config.covariates)) == [1, 1, 0]
    X = wet.sets["train"].X
    assert X.shape[-1] == 1 + 3 + 2 and not X[..., 1:3].any() and X[..., 3].any()
    assert not gauged.sets["train"].X[..., 3].any()


@pytest.mark.slow  # the module fixture trains the fleet
def test_shuffling_one_reservoir_s_test_values_leaves_the_fleet_weights_identical(fleet):
    _, model = fleet
    values = FRAMES["Gauged"].copy()
    test_start = pd.Timestamp(model.profile("Gauged").splits["test"][0])
    rng = np.random.default_rng(0)
    test = values.loc[test_start:].to_numpy()
    values.loc[test_start:] = test[rng.permutation(len(test))]
    shuffled = fit_fleet(build_dataset({**FRAMES, "Gauged": values}, TINY)).model
    for a, b in zip(_weights(model), _weights(shuffled), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.residuals, shuffled.residuals)


@pytest.mark.slow  # the module fixture trains the fleet
def test_a_fine_tune_serves_its_reservoir_records_its_parent_and_is_no_worse_on_validation(fleet, tmp_path):
    dataset, model = fleet
    windows = dataset.reservoirs["Wet B"]
    tuned = fine_tune(model, windows, parent_version=7)
    assert tuned.parent == {"weights": model.weights_digest(), "version": 7, "improved": tuned.parent["improved"]}
    assert list(tuned.profiles) == ["Wet B"] and tuned.profile("Wet B") == windows.profile
    val = windows.sets["val"]
    before = np.mean(np.abs(model.values("Wet B", val) - val.truth))
    after = np.mean(np.abs(tuned.values("Wet B", val) - val.truth))
    assert after <= before * (1 + 1e-6)
    tuned.save(tmp_path)
    assert FleetModel.load(tmp_path).parent == tuned.parent
    with pytest.raises(KeyError, match="does not serve 'Wet A'"):
        tuned.profile("Wet A")


@pytest.mark.slow  # the module fixture trains the fleet
def test_one_fine_tuner_for_many_reservoirs_gives_each_the_copy_a_fresh_fine_tune_would(fleet):
    from core.model.fleet import FineTuner

    dataset, model = fleet
    tuner = FineTuner(model)
    tuner.tune(dataset.reservoirs["Wet A"])  # leaves its weights and optimiser state behind
    reused = tuner.tune(dataset.reservoirs["Gauged"])
    fresh = fine_tune(model, dataset.reservoirs["Gauged"])
    for a, b in zip(_weights(reused), _weights(fresh), strict=True):
        np.testing.assert_array_equal(a, b)
    assert list(reused.profiles) == ["Gauged"]


@pytest.mark.slow  # the module fixture trains the fleet
def test_a_cold_start_reservoir_gets_a_forecast_and_bands_from_its_first_month(fleet):
    _, model = fleet
    record = _reservoir(9, 200, ("rainfall",), 5.0)
    with pytest.raises(TrainError, match=r"'New' has 29 day\(s\) of storage; .* at least 30"):
        add_reservoir(model, "New", record.iloc[:29])
    served = add_reservoir(model, "New", record.iloc[:40])
    profile = served.profile("New")
    assert profile.cold_start and profile.history_days == 40 and profile.splits is None
    layout = served.config.covariates
    assert list(served.static("New")[: len(layout)]) == [0, 0, 1], "presence flags: rainfall only"
    assert not profile.conditioned and not served.static("New")[len(layout) :].any(), "the fleet's mean descriptors"
    forecast = served.forecast("New", record.iloc[:40])
    assert forecast.shape == (TINY.horizon,) and np.isfinite(forecast).all()
    calib = cold_start_calibration(served, "New")
    bands = calib.bands(forecast[None], np.array([1.0]))
    for band in (50, 80, 95):
        lower, upper = bands[band]
        assert (lower <= forecast).all() and (forecast <= upper).all()
    assert (bands[95][1] - bands[95][0] >= bands[50][1] - bands[50][0]).all()
    later = period_windows(served, "New", record, record.index[40])
    assert len(later) == 200 - 40 - TINY.n_steps - TINY.horizon + 1
    assert np.isfinite(served.values("New", later)).all()


@pytest.mark.slow  # the module fixture trains the fleet
def test_save_and_load_with_safe_mode_forecasts_identically(fleet, tmp_path):
    from core.model.history import issued_forecasts

    dataset, model = fleet
    assert sorted(model.save(tmp_path)) == ["fleet.json", "model.keras"]
    loaded = FleetModel.load(tmp_path)
    assert loaded.config == model.config
    assert {n: p.to_dict() for n, p in loaded.profiles.items()} == {n: p.to_dict() for n, p in model.profiles.items()}
    for name, windows in dataset.reservoirs.items():
        test = windows.sets["test"]
        np.testing.assert_array_equal(loaded.predict(name, test.X), model.predict(name, test.X))
    values = FRAMES["Gauged"]
    scaling = model.profile("Gauged").scaling
    issued = issued_forecasts(
        loaded.forecaster("Gauged"), scaling, values, "storage", TINY.n_steps, TINY.horizon,
        values.index[200], values.index[-1],
    )  # fmt: skip
    test = dataset.reservoirs["Gauged"].sets["test"]
    day = np.flatnonzero(issued.issued == np.datetime64(test.issued[0], "D"))[0]
    np.testing.assert_allclose(issued.forecast[day], model.values("Gauged", test)[0], rtol=1e-6)
    calib = reservoir_calibration(loaded, "Gauged", dataset.reservoirs["Gauged"].sets["val"])
    assert calib.residuals.shape == (len(dataset.reservoirs["Gauged"].sets["val"]), TINY.horizon)


def test_the_config_round_trips_and_refuses_a_fleet_without_its_conv_lstm():
    config = TINY.with_covariates(("rainfall", "inflow"))
    assert FleetConfig.from_dict(config.to_dict()) == config
    assert config.covariates == ("inflow", "rainfall")
    with pytest.raises(TrainError, match="Unknown fleet setting"):
        FleetConfig.from_dict({**config.to_dict(), "epochz": 3})
    with pytest.raises(TrainError, match=r"LSTM\(CNN\(x\)\)"):
        FleetConfig(members=(("lstm", False),)).checked()
    with pytest.raises(TrainError, match="Wet A: Not enough history"):
        build_dataset({"Wet A": FRAMES["Wet A"].iloc[:40]}, TINY)
    assert FleetConfig(split=SplitConfig(test_from="2016-01-01")).to_dict()["split"]["test_from"] == "2016-01-01"
