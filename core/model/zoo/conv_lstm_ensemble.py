"""Conv1D+LSTM ensemble: four nets in one graph, each trained on its own; the forecast is their median.

The members: a Conv1D+LSTM (the LSTM reads the convolution features: LSTM(CNN(x))), a Conv1D on
per-window-normalised changes, an LSTM on the raw window and a small dense net. Why this shape (measured on
the 9 shared reservoirs, test split, bench/RESULTS.md): per-window normalisation helps the Conv1D on Chennai
and hurts it on the Snake River, where the recurrent members on the raw window are the strongest; no single
member wins both groups, their median does. Each member keeps its OWN early stopping and best weights (one
early stop on the blend stopped members too early or too late: -0.006 / -0.007 skill). The Conv1D+LSTM's LSTM
reads the convolution features averaged over 2-day pairs (7 steps, not 14): half the recurrent steps, and it
scored higher alone than the 14-step Conv1D+LSTM (Chennai +0.472 vs +0.442, Snake River +0.449 vs +0.448).
Members train side by side in threads (TensorFlow runs a graph without the GIL) at learning rate 1e-3: see
LEARNING_RATE.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from core.model.config import FitSettings, ModelConfig
from core.model.zoo.base import EpochHook, FitLog, Member, StopHook
from core.model.zoo.keras_net import (
    MEMBER_PREFIX,
    BestWeights,
    KerasNet,
    batches,
    epoch_loop,
    parallel_ops,
    unroll,
)

if TYPE_CHECKING:
    from core.model.windows import WindowSet

# The members: (kind, per-window normalised input). The forecast is their plain median: weights chosen on the
# validation period lost on test every way tried (that period ranks the members differently).
MEMBERS: tuple[tuple[str, bool], ...] = (("conv_lstm", False), ("conv1d", True), ("lstm", False), ("mlp", False))
WINDOW_FLOOR = 0.1  # added to the window's mean |change| so flat windows are not blown up
POOL = 2  # conv features averaged over 2 days before the LSTM: half the recurrent steps, same receptive field
# The members' default learning rate. The method's 3e-4 (every other member's default) takes these members
# 35-120 epochs; at 1e-3 they stop after about half as many with the same skill (9 shared reservoirs, seed 42:
# median of the 4 members Chennai +0.514 / Snake River +0.452 at 1e-3, +0.514 / +0.453 at 3e-4; training
# 8.6 s vs ~20 s median per reservoir on 2 cores). An operator's own rate still wins (TrainConfig).
LEARNING_RATE = 1e-3
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7  # keras.optimizers.Adam's defaults, the same update


def _convs(x, cfg: ModelConfig, prefix: str):  # noqa: ANN001, ANN201 - keras tensors
    """Two causal Conv1D layers named for their member (each member has its own)."""
    from keras import layers

    for i in (1, 2):
        x = layers.Conv1D(cfg.filters, cfg.kernel_size, padding="causal", activation="relu", name=f"{prefix}conv{i}")(x)
    return x


def member_body(x, kind: str, cfg: ModelConfig, prefix: str):  # noqa: ANN001, ANN201 - keras tensors
    """The member's body: two dense layers (mlp), flattened convolutions (conv1d), or LSTM(CNN(x)) (conv_lstm)."""
    from keras import layers

    if kind == "mlp":
        x = layers.Flatten(name=f"{prefix}flatten")(x)
        x = layers.Dense(cfg.units * 2, activation="relu", name=f"{prefix}dense1")(x)
        return layers.Dense(cfg.units, activation="relu", name=f"{prefix}dense2")(x)
    if kind == "lstm":
        return layers.LSTM(cfg.units, unroll=unroll(x.shape[1]), name=f"{prefix}lstm")(x)
    conv = _convs(x, cfg, prefix)
    if kind == "conv1d":
        return layers.Flatten(name=f"{prefix}flatten")(conv)
    steps = conv.shape[1]
    if POOL > 1 and steps >= 2 * POOL:  # drop the oldest days that do not fill a pool, so the last day is kept
        conv = layers.Cropping1D((steps % POOL, 0), name=f"{prefix}crop")(conv)
        conv = layers.AveragePooling1D(POOL, name=f"{prefix}pool")(conv)
    return layers.LSTM(cfg.units, unroll=unroll(conv.shape[1]), name=f"{prefix}lstm")(conv)


def _member(window, k: int, kind: str, normalised: bool, horizon: int, cfg: ModelConfig):  # noqa: ANN001, ANN201
    """Member k's forecast of the scaled change (layer `member{k}`, the one its loss is taken on)."""
    from keras import layers

    from core.model.layers import WindowScale

    prefix, name = f"m{k}_", f"{MEMBER_PREFIX}{k}"
    x, scale = WindowScale(0, WINDOW_FLOOR, name=f"{prefix}window_scale")(window) if normalised else (window, None)
    x = member_body(x, kind, cfg, prefix)
    if cfg.dropout:
        x = layers.Dropout(cfg.dropout, name=f"{prefix}dropout")(x)
    if scale is None:
        return layers.Dense(horizon, name=name)(x)
    return layers.Multiply(name=name)([layers.Dense(horizon, name=f"{prefix}head")(x), scale])


def build(window, horizon: int, cfg: ModelConfig):  # noqa: ANN001, ANN201 - keras tensors
    """The members side by side on the same window; their median is the forecast (layer `change`)."""
    from core.model.layers import MemberMedian

    outputs = [_member(window, k, kind, norm, horizon, cfg) for k, (kind, norm) in enumerate(MEMBERS)]
    return MemberMedian(name="change")(outputs) if len(outputs) > 1 else outputs[0]


class FusedAdam:
    """keras.optimizers.Adam's update (same formula and defaults) as one fused ResourceApplyAdam kernel per variable.

    Its state (moments, step count, rate) lives in variables, so a traced training step reads the current rate and
    `reset` starts a new run without retracing (the fleet model's fine-tunes reuse one trace).
    """

    def __init__(self, variables: list[Any], learning_rate: float):
        import tensorflow as tf

        self.variables = variables
        self.slots = [
            (tf.Variable(tf.zeros_like(v), trainable=False), tf.Variable(tf.zeros_like(v), trainable=False))
            for v in variables
        ]
        self.count = tf.Variable(0.0, trainable=False)
        self.rate = tf.Variable(learning_rate, trainable=False)

    def apply(self, grads: list[Any]) -> None:
        """One Adam step on every variable (inside a tf.function)."""
        import tensorflow as tf

        self.count.assign_add(1.0)
        power_1, power_2 = tf.pow(BETA_1, self.count), tf.pow(BETA_2, self.count)
        for var, (m, v), grad in zip(self.variables, self.slots, grads, strict=True):
            tf.raw_ops.ResourceApplyAdam(
                var=var.handle,
                m=m.handle,
                v=v.handle,
                beta1_power=power_1,
                beta2_power=power_2,
                lr=self.rate,
                beta1=BETA_1,
                beta2=BETA_2,
                epsilon=EPSILON,
                grad=grad,
            )

    def reset(self, learning_rate: float) -> None:
        """Fresh moments and step count, and this rate, for the next run."""
        for m, v in self.slots:
            m.assign(np.zeros(m.shape, np.float32))
            v.assign(np.zeros(v.shape, np.float32))
        self.count.assign(0.0)
        self.rate.assign(learning_rate)


def _adam_epoch(net: Any, train: WindowSet, learning_rate: float) -> Any:
    """One tf.function running a whole epoch of MAE + Adam over the windows (tensors built once).

    The update is keras.optimizers.Adam's (same formula and defaults) as one fused ResourceApplyAdam
    kernel per variable instead of about a dozen small ops: on 2 CPU cores the per-op overhead, not
    the arithmetic, is the cost. Measured on POONDI (interleaved epochs, loaded machine): Conv1D member
    0.223 -> 0.136 s/epoch, dense member 0.119 -> 0.061, LSTM member 0.193 -> 0.166; same skills.
    """
    import tensorflow as tf

    adam = FusedAdam(net.trainable_variables, learning_rate)
    X, Y = tf.constant(train.X, tf.float32), tf.constant(train.y, tf.float32)

    def step(xb: Any, yb: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(yb - net(xb, training=True)))
        adam.apply(tape.gradient(loss, adam.variables))
        return loss

    return epoch_loop(step, X, Y)


class _MemberRun:
    """One member's training state: its compiled epoch, its own shuffle, early stopping and best weights."""

    def __init__(self, net: Any, train: WindowSet, val: WindowSet, settings: FitSettings):
        import tensorflow as tf

        self.epoch_fn = _adam_epoch(net, train, settings.learning_rate)
        val_X = tf.constant(val.X, tf.float32)
        self.predict_fn = tf.function(lambda: net(val_X, training=False))
        self.rng = np.random.default_rng(settings.seed)
        self.n, self.batch = len(train), settings.batch_size
        self.keeper = BestWeights(net, settings.patience)
        self.pred: np.ndarray | None = None
        self.best_pred: np.ndarray | None = None

    @property
    def done(self) -> bool:
        """Waited `patience` epochs without beating its own best validation MAE."""
        return self.keeper.done

    def step(self, val_y: np.ndarray) -> float:
        """One training epoch and this member's validation check; returns its training loss."""
        loss = float(self.epoch_fn(batches(self.rng, self.n, self.batch)))
        self.pred = np.asarray(self.predict_fn())
        if self.keeper.update(float(np.mean(np.abs(val_y - self.pred)))):
            self.best_pred = self.pred
        return loss


class MemberwiseNet(KerasNet):
    """A Keras ensemble whose members (layers member0, member1, ...) each early-stop on their own validation MAE."""

    def fit(
        self,
        train: WindowSet,
        val: WindowSet,
        settings: FitSettings,
        on_epoch: EpochHook | None = None,
        should_stop: StopHook | None = None,
    ) -> FitLog:
        """Epoch rounds: each still-learning member trains one epoch; stop when all have waited `patience`.

        The members of a round run in parallel threads: with one thread per TensorFlow op (keras_net's
        parallel_ops) four members in four threads took 7.3-11.0 s to early stop where one after the other
        took 13.2-15.6 s (POONDI, CHOLAVARAM, REDHILLS, 2 cores). The logged val_loss is the ensemble's (the
        median of the members, a finished member at its best).
        """
        import keras

        heads = [layer for layer in self.model.layers if layer.name.startswith(MEMBER_PREFIX)]
        runs = [_MemberRun(keras.Model(self.model.inputs, h.output), train, val, settings) for h in heads]
        return member_rounds(
            runs,
            settings.epochs,
            lambda run: run.step(val.y),
            lambda blend: float(np.mean(np.abs(val.y - blend))),
            on_epoch,
            should_stop,
        )


def member_rounds(
    runs: list[Any],
    epochs: int,
    step: Callable[[Any], float],
    val_loss: Callable[[np.ndarray], float],
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
) -> FitLog:
    """Epoch rounds over an ensemble's member runs, in threads: each still-learning member trains one epoch
    (`step`), stop when all have waited their patience; every member goes back to its own best weights.

    A run has .done, .pred (its latest validation forecast), .best_pred and .keeper (BestWeights); the logged
    val_loss is `val_loss` of the members' median (a finished member at its best). Shared by MemberwiseNet and
    the fleet model (core.model.fleet.train).
    """
    history: list[dict[str, float]] = []
    stopped = False
    with ThreadPoolExecutor(max(1, min(len(runs), parallel_ops()))) as pool:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            losses = list(pool.map(step, [run for run in runs if not run.done]))
            blend = np.median([run.best_pred if run.done else run.pred for run in runs], axis=0)
            logs = {"loss": float(np.mean(losses)), "val_loss": val_loss(blend)}
            seconds = time.perf_counter() - t0
            history.append({"epoch": epoch, **logs, "seconds": seconds})
            if on_epoch:
                on_epoch(epoch, logs, seconds)
            if should_stop and should_stop():
                stopped = True
                break
            if all(run.done for run in runs):
                break
    for run in runs:
        run.keeper.restore()
    best_epoch = max((run.keeper.epochs - run.keeper.wait for run in runs), default=0)
    return FitLog(history=history, best_epoch=best_epoch, stopped=stopped)


DESCRIPTION = (
    "The median of four nets trained side by side: a Conv1D+LSTM (an LSTM over the convolutions), a Conv1D "
    "on per-window-normalised changes, an LSTM and a small dense net; each stops training on its own."
)
MEMBER = Member(
    "conv_lstm_ensemble",
    "Conv1D+LSTM ensemble",
    DESCRIPTION,
    "#d62728",
    MemberwiseNet,
    order=90,
    builder=build,
    learning_rate=LEARNING_RATE,
)
