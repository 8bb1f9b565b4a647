"""Training the fleet ensemble: each member on its own weighted MAE with its own early stopping, members in threads.

The same loop fits the fleet (all reservoirs' windows, early stopping on the pooled validation windows) and
fine-tunes one reservoir's copy (its own windows, early stopping on its own validation split, starting from
the fleet weights: the fleet's own validation loss is the mark to beat, so a fine-tune never ends worse than
its parent on that reservoir's validation period).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.model.fleet.dataset import Pool
from core.model.zoo.base import EpochHook, FitLog, StopHook
from core.model.zoo.keras_net import MEMBER_PREFIX, BestWeights, parallel_ops

BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7  # keras.optimizers.Adam's defaults


@dataclass(frozen=True)
class Plan:
    """One training run's loop settings (the fleet's or a fine-tune's)."""

    epochs: int
    patience: int
    batch_size: int
    learning_rate: float
    seed: int
    steps_per_epoch: int = 0  # 0: every window once per epoch
    from_current: bool = False  # the current weights' validation loss is the best so far (fine-tuning)
    frozen: tuple[str, ...] = ()  # layer-name fragments whose weights stay as they are


def _weighted_epoch(net: Any, train: Pool, learning_rate: float) -> Any:
    """One tf.function running a whole epoch of weighted MAE + Adam (the default ensemble's fused update)."""
    import tensorflow as tf

    from core.model.zoo.keras_net import epoch_loop

    variables = net.trainable_variables
    slots = [
        (tf.Variable(tf.zeros_like(v), trainable=False), tf.Variable(tf.zeros_like(v), trainable=False))
        for v in variables
    ]
    count = tf.Variable(0.0, trainable=False)
    X, S = tf.constant(train.X, tf.float32), tf.constant(train.S, tf.float32)
    Y = tf.constant(np.concatenate([train.y, train.w[:, None]], axis=1), tf.float32)  # weight rides with y

    def step(index: Any, yw: Any) -> Any:
        y, w = yw[:, :-1], yw[:, -1]
        with tf.GradientTape() as tape:
            pred = net([tf.gather(X, index), tf.gather(S, index)], training=True)
            loss = tf.reduce_sum(w * tf.reduce_mean(tf.abs(y - pred), axis=1)) / tf.reduce_sum(w)
        grads = tape.gradient(loss, variables)
        count.assign_add(1.0)
        power_1, power_2 = tf.pow(BETA_1, count), tf.pow(BETA_2, count)
        for var, (m, v), grad in zip(variables, slots, grads, strict=True):
            tf.raw_ops.ResourceApplyAdam(
                var=var.handle, m=m.handle, v=v.handle, beta1_power=power_1, beta2_power=power_2,
                lr=learning_rate, beta1=BETA_1, beta2=BETA_2, epsilon=EPSILON, grad=grad,
            )  # fmt: skip
        return loss

    positions = tf.range(len(train), dtype=tf.int32)
    return epoch_loop(step, positions, Y)


class _MemberRun:
    """One member's training state: compiled epoch, its own shuffle, early stopping on weighted validation MAE."""

    def __init__(self, net: Any, train: Pool, val: Pool, plan: Plan):
        import tensorflow as tf

        self.epoch_fn = _weighted_epoch(net, train, plan.learning_rate)
        val_X, val_S = tf.constant(val.X, tf.float32), tf.constant(val.S, tf.float32)
        self.predict_fn = tf.function(lambda: net([val_X, val_S], training=False))
        self.rng = np.random.default_rng(plan.seed)
        self.n, self.plan = len(train), plan
        self.keeper = BestWeights(net, plan.patience)
        self.val_y, self.val_w = val.y, val.w / val.w.sum()
        self.pred = self.best_pred = np.asarray(self.predict_fn())
        if plan.from_current:
            self.keeper.update(self.loss(self.pred))
            self.keeper.epochs = self.keeper.wait = 0

    @property
    def done(self) -> bool:
        """Waited `patience` epochs without beating its own best validation loss."""
        return self.keeper.done

    def loss(self, pred: np.ndarray) -> float:
        """Weighted validation MAE of one set of predictions."""
        return float(np.sum(self.val_w * np.mean(np.abs(self.val_y - pred), axis=1)))

    def step(self) -> float:
        """One training epoch and this member's validation check; returns its training loss."""
        loss = float(self.epoch_fn(_batches(self.rng, self.n, self.plan.batch_size, self.plan.steps_per_epoch)))
        self.pred = np.asarray(self.predict_fn())
        if self.keeper.update(self.loss(self.pred)):
            self.best_pred = self.pred
        return loss


def _batches(rng: np.random.Generator, n: int, batch: int, steps: int) -> np.ndarray:
    """An epoch's batches as (n_batches, batch) window indices: a shuffle, cut to `steps` batches when set."""
    order = rng.permutation(n).astype(np.int32)
    n_batches = steps or -(-n // batch)
    return np.resize(order, n_batches * batch).reshape(n_batches, batch)


def _sub_nets(model: Any, frozen: tuple[str, ...]) -> list[Any]:
    """One Keras model per ensemble member (inputs -> layer member{k}); frozen layers made untrainable."""
    import keras

    for layer in model.layers:
        layer.trainable = not any(part in layer.name for part in frozen)
    heads = [layer for layer in model.layers if layer.name.startswith(MEMBER_PREFIX)]
    return [keras.Model(model.inputs, head.output) for head in heads] or [model]


def train_members(
    model: Any,
    train: Pool,
    val: Pool,
    plan: Plan,
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
) -> FitLog:
    """Epoch rounds: each still-learning member trains one epoch; stop when all have waited `patience`.

    The logged val_loss is the ensemble's (median of the members, a finished member at its best), weighted.
    """
    runs = [_MemberRun(net, train, val, plan) for net in _sub_nets(model, plan.frozen)]
    history: list[dict[str, float]] = []
    stopped = False
    with ThreadPoolExecutor(max(1, min(len(runs), parallel_ops()))) as pool:
        for epoch in range(1, plan.epochs + 1):
            t0 = time.perf_counter()
            losses = list(pool.map(lambda run: run.step(), [run for run in runs if not run.done]))
            blend = np.median([run.best_pred if run.done else run.pred for run in runs], axis=0)
            logs = {"loss": float(np.mean(losses)), "val_loss": runs[0].loss(blend)}
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
    for layer in model.layers:
        layer.trainable = True
    best_epoch = max((run.keeper.epochs - run.keeper.wait for run in runs), default=0)
    return FitLog(history=history, best_epoch=best_epoch, stopped=stopped)
