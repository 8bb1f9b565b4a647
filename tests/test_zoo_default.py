"""The Conv1D+LSTM ensemble: LSTM(CNN(x)) in its graph, members stopping on their own, saved and reloaded exactly."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.sample import SAMPLE_NAME
from core.model.config import ModelConfig
from tests.conftest import tiny_config

pytestmark = pytest.mark.slow  # trains the default ensemble throughout

NAME = "conv_lstm_ensemble"


@pytest.fixture(scope="module")
def sample_sets():
    """Windows of the sample reservoir, as the trainer cuts them."""
    import tempfile

    from core.app.pipeline import add_sample, load_clean
    from core.model.train import prepare
    from core.store.workspace import Workspace

    ws = Workspace(tempfile.mkdtemp() + "/ws")
    add_sample(ws)
    cfg = tiny_config()
    values = load_clean(ws, SAMPLE_NAME, [cfg.target, *cfg.features], cfg.clean).values
    scaling, _, sets = prepare(values, cfg)
    return cfg, scaling, sets


def _fresh(sample_sets, **kw):
    """An untrained ensemble sized for the sample and the fit settings it is trained with."""
    from core.model import zoo

    cfg, scaling, _ = sample_sets
    cfg = tiny_config(model=ModelConfig(name=NAME, filters=8, units=8), **kw)
    return zoo.create(cfg.model, cfg.n_steps, scaling.n_features, cfg.horizon, cfg.seed), cfg.fit_settings()


def test_the_graph_is_lstm_over_convolutions_and_the_forecast_is_the_members_median(sample_sets):
    import keras

    net, _ = _fresh(sample_sets)
    model = net.model
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert lstms, "an LSTM layer is in the graph"
    upstream, layer = [], lstms[0]
    while not isinstance(layer, keras.layers.InputLayer):
        layer = layer._inbound_nodes[0].parent_nodes[0].operation
        upstream.append(layer)
    assert any(isinstance(u, keras.layers.Conv1D) for u in upstream), "the LSTM reads convolution features"

    X = sample_sets[2]["test"].X[:32]
    members = [layer for layer in model.layers if layer.name.startswith("member")]
    assert len(members) == 4
    parts = keras.Model(model.inputs, [m.output for m in members]).predict_on_batch(X)
    np.testing.assert_allclose(net.predict(X), np.median(parts, axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(np.median(parts, axis=0), np.mean(parts, axis=0)), "median, not mean"


def test_the_default_is_the_ensemble_and_a_rate_left_to_the_model_is_its_own_and_saved(tmp_path):
    from core.app.pipeline import add_sample, train_reservoir
    from core.model import zoo
    from core.model.config import DEFAULT_MODEL, LEARNING_RATE, ModelConfig
    from core.model.zoo.conv_lstm_ensemble import LEARNING_RATE as ENSEMBLE_RATE
    from core.store.workspace import Workspace

    assert DEFAULT_MODEL == NAME and "lstm" in NAME and "conv" in NAME
    assert tiny_config().learning_rate is None  # the form's and the CLI's default: left to the model
    ws = Workspace(tmp_path / "ws")
    add_sample(ws)
    own = tiny_config(model=ModelConfig(name=NAME, filters=8, units=8), epochs=1)
    assert train_reservoir(ws, SAMPLE_NAME, own).record.config["learning_rate"] == ENSEMBLE_RATE == 1e-3
    for name in ("conv1d", "lstm", "mlp"):  # every other member keeps the method's rate
        assert tiny_config().with_model_defaults(zoo.ZOO[name].learning_rate).learning_rate == LEARNING_RATE == 3e-4
    chosen = tiny_config(learning_rate=2e-4)  # an operator's own rate wins over the model's
    assert chosen.with_model_defaults(ENSEMBLE_RATE).learning_rate == 2e-4


def test_trains_saves_as_keras_and_reloads_forecasting_identically(sample_sets, tmp_path):
    from core.model import zoo

    net, settings = _fresh(sample_sets, epochs=4)
    _, _, sets = sample_sets
    log = net.fit(sets["train"], sets["val"], settings)
    assert 1 <= len(log.history) <= 4 and 1 <= log.best_epoch <= len(log.history)
    assert all(np.isfinite(row["val_loss"]) for row in log.history)
    pred = net.predict(sets["test"].X)
    assert pred.shape == (len(sets["test"]), 7) and np.isfinite(pred).all()

    assert net.save(tmp_path) == "model.keras"
    loaded = zoo.load(tmp_path, "model.keras", NAME)  # safe_mode=True: custom layers by registered name
    np.testing.assert_allclose(loaded.predict(sets["test"].X), pred, rtol=1e-5, atol=1e-6)


def test_each_member_keeps_its_own_best_epoch(sample_sets):
    """After fit every member's validation MAE is the lowest it reached, not where the last epoch left it."""
    import keras

    net, settings = _fresh(sample_sets, epochs=8, patience=3, learning_rate=0.05)  # a bumpy validation curve
    _, _, sets = sample_sets
    members = [layer for layer in net.model.layers if layer.name.startswith("member")]
    parts = keras.Model(net.model.inputs, [m.output for m in members])
    seen = [[] for _ in members]

    def record(epoch, logs, seconds):  # noqa: ANN001, ANN202 - the fit's epoch hook
        for k, out in enumerate(parts.predict_on_batch(sets["val"].X)):
            seen[k].append(float(np.mean(np.abs(sets["val"].y - out))))

    net.fit(sets["train"], sets["val"], settings, on_epoch=record)
    final = [float(np.mean(np.abs(sets["val"].y - out))) for out in parts.predict_on_batch(sets["val"].X)]
    assert any(history[-1] > min(history) * 1.001 for history in seen), "some member got worse after its best"
    for k, history in enumerate(seen):
        assert final[k] == pytest.approx(min(history), rel=1e-5), f"member {k} is back at its best epoch"


def test_a_user_stop_after_the_first_epoch_leaves_every_member_trained(sample_sets):
    net, settings = _fresh(sample_sets, epochs=50)
    _, _, sets = sample_sets
    fresh_pred = net.predict(sets["test"].X)
    log = net.fit(sets["train"], sets["val"], settings, should_stop=lambda: True)
    assert log.stopped and len(log.history) == 1
    assert not np.allclose(net.predict(sets["test"].X), fresh_pred), "the members moved from their start"


def test_a_cycle_task_s_cpu_share_is_kept_when_its_net_is_built():
    """In a fresh process: the task gives TensorFlow 1 op at a time; building the ensemble must not widen it."""
    import subprocess
    import sys

    probe = (
        "import tensorflow as tf\n"
        "from core.fleet.tasks import cap_threads\n"
        "from core.model import zoo\n"
        "from core.model.config import ModelConfig\n"
        "from core.model.zoo.keras_net import parallel_ops\n"
        "cap_threads(1, True)\n"
        "zoo.create(ModelConfig(name='conv_lstm_ensemble', filters=4, units=4), 14, 3, 7, 0)\n"
        "t = tf.config.threading\n"
        "print(t.get_intra_op_parallelism_threads(), t.get_inter_op_parallelism_threads(), parallel_ops())\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [int(v) for v in done.stdout.split()] == [1, 1, 1]  # one thread per op, one op at a time, 1 member thread
