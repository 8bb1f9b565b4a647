"""Training the fleet ensemble: each member on its own weighted MAE with its own early stopping, members in threads.

The same loop fits the fleet (all reservoirs' windows, early stopping on the pooled validation windows) and
fine-tunes one reservoir's copy (its own windows, early stopping on its own validation split, starting from
the fleet weights: the fleet's own validation loss is the mark to beat, so a fine-tune never ends worse than
its parent on that reservoir's validation period).

The compiled functions take the windows as arguments (shapes left open), so a `Trainer` is traced once and
then reused: fine-tuning many reservoirs in one process pays TensorFlow's tracing (about 2-3 s on 2 cores)
once, not per reservoir.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.model.fleet.dataset import Pool
from core.model.zoo.base import EpochHook, FitLog, StopHook
from core.model.zoo.conv_lstm_ensemble import FusedAdam, member_rounds
from core.model.zoo.keras_net import MEMBER_PREFIX, BestWeights


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
    jitter: float = 1.0  # > 1: each training window's first `jitter_columns` inputs (and the target with column 0)
    jitter_columns: int = 1  # are multiplied by log-uniform factors in [1/jitter, jitter]: scale-robust weights
    static_dropout: float = 0.0  # share of training windows whose static inputs after `static_kept` are zeroed
    static_kept: int = 0  # leading static inputs never dropped (the presence flags)


def _batches(rng: np.random.Generator, n: int, batch: int, steps: int) -> np.ndarray:
    """An epoch's batches as (n_batches, batch) window indices: a shuffle, cut to `steps` batches when set."""
    order = rng.permutation(n).astype(np.int32)
    n_batches = -(-n // batch)
    n_batches = min(n_batches, steps) if steps else n_batches
    return np.resize(order, n_batches * batch).reshape(n_batches, batch)


class _Member:
    """One member's compiled epoch (weighted MAE + the default ensemble's FusedAdam) and validation forecast."""

    def __init__(self, net: Any):
        import tensorflow as tf

        self.net = net
        self.adam = FusedAdam(net.trainable_variables, 1e-3)
        n_steps, n_features = net.inputs[0].shape[1:]
        window = tf.TensorSpec([None, n_steps, n_features], tf.float32)
        static = tf.TensorSpec([None, net.inputs[1].shape[1]], tf.float32)
        target = tf.TensorSpec([None, net.output.shape[-1] + 1], tf.float32)  # y with the loss weight last
        batches = tf.TensorSpec([None, None], tf.int32)
        gains = tf.TensorSpec([None, None, n_features], tf.float32)
        keeps = tf.TensorSpec([None, None, net.inputs[1].shape[1]], tf.float32)

        def step(X: Any, S: Any, index: Any, yw: Any, gain: Any, keep: Any) -> Any:
            y, w = yw[:, :-1] * gain[:, :1], yw[:, -1]
            with tf.GradientTape() as tape:
                pred = net([tf.gather(X, index) * gain[:, None, :], tf.gather(S, index) * keep], training=True)
                loss = tf.reduce_sum(w * tf.reduce_mean(tf.abs(y - pred), axis=1)) / tf.reduce_sum(w)
            self.adam.apply(tape.gradient(loss, self.adam.variables))
            return loss

        @tf.function(input_signature=[window, static, target, batches, gains, keeps])
        def epoch(X: Any, S: Any, YW: Any, order: Any, gain: Any, keep: Any) -> Any:
            total = tf.constant(0.0)
            for i in tf.range(tf.shape(order)[0]):
                total += step(X, S, order[i], tf.gather(YW, order[i]), gain[i], keep[i])
            return total / tf.cast(tf.shape(order)[0], tf.float32)

        self.epoch = epoch
        self.forecast = tf.function(lambda X, S: net([X, S], training=False), input_signature=[window, static])


class _MemberRun:
    """One member's run: its own shuffle, early stopping and best weights on the weighted validation MAE."""

    def __init__(self, member: _Member, data: tuple[Any, ...], val: Pool, plan: Plan):
        import tensorflow as tf

        member.adam.reset(plan.learning_rate)
        self.member, self.data, self.plan = member, data, plan
        self.val_in = (tf.constant(val.X), tf.constant(val.S))
        self.val_y, self.val_w = val.y, val.w / val.w.sum()
        self.rng = np.random.default_rng(plan.seed)
        self.gain_rng = np.random.default_rng(plan.seed + 1)
        self.keeper = BestWeights(member.net, plan.patience)
        self.pred = self.best_pred = np.asarray(member.forecast(*self.val_in))
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

    def gains(self, shape: tuple[int, int]) -> np.ndarray:
        """Per-window input factors for one epoch (n_batches, batch, features): 1 unless the plan jitters."""
        out = np.ones((*shape, int(self.data[0].shape[-1])), np.float32)
        if self.plan.jitter > 1:
            spread = np.log(self.plan.jitter)
            out[..., : self.plan.jitter_columns] = np.exp(
                self.gain_rng.uniform(-spread, spread, (*shape, self.plan.jitter_columns))
            )
        return out

    def keeps(self, shape: tuple[int, int]) -> np.ndarray:
        """Per-window static-input masks for one epoch (n_batches, batch, static): descriptor dropout."""
        out = np.ones((*shape, int(self.data[1].shape[-1])), np.float32)
        if self.plan.static_dropout > 0:
            out[..., self.plan.static_kept :] = self.gain_rng.random((*shape, 1)) >= self.plan.static_dropout
        return out

    def step(self) -> float:
        """One training epoch and this member's validation check; returns its training loss."""
        n = int(self.data[0].shape[0])
        order = _batches(self.rng, n, self.plan.batch_size, self.plan.steps_per_epoch)
        loss = float(self.member.epoch(*self.data, order, self.gains(order.shape), self.keeps(order.shape)))
        self.pred = np.asarray(self.member.forecast(*self.val_in))
        if self.keeper.update(self.loss(self.pred)):
            self.best_pred = self.pred
        return loss


class Trainer:
    """A net's members with their compiled functions, reusable for many runs (a fleet fit, many fine-tunes)."""

    def __init__(self, net: Any):
        import keras

        self.net = net
        heads = [layer for layer in net.layers if layer.name.startswith(MEMBER_PREFIX)]
        subs = [keras.Model(net.inputs, head.output) for head in heads] or [net]
        self.members = [_Member(sub) for sub in subs]

    def run(
        self,
        train: Pool,
        val: Pool,
        plan: Plan,
        on_epoch: EpochHook | None = None,
        should_stop: StopHook | None = None,
    ) -> FitLog:
        """Every member trained with its own early stopping (conv_lstm_ensemble.member_rounds); val_loss weighted."""
        import tensorflow as tf

        data = (tf.constant(train.X), tf.constant(train.S), tf.constant(np.column_stack([train.y, train.w])))
        runs = [_MemberRun(member, data, val, plan) for member in self.members]
        return member_rounds(runs, plan.epochs, lambda run: run.step(), runs[0].loss, on_epoch, should_stop)
