"""The Keras members' shared runner (fit with early stopping, predict, save/load) and their building blocks.

TensorFlow/Keras are imported inside functions: importing the zoo (for the CLI's --help, the pages'
pickers) must not load them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.model.config import FitSettings, ModelConfig
from core.model.zoo.base import KERAS_FILE, EpochHook, FitLog, Forecaster, Member, StopHook

if TYPE_CHECKING:
    from core.model.windows import WindowSet

ATTENTION_LAYER = "attention"  # a layer of this name returns (context, weights): the weights are shown
MEMBER_PREFIX = "member"  # output layers of an in-graph ensemble's members: each is trained on its own loss


class KerasNet(Forecaster):
    """The Keras members: early stopping on validation loss, best weights restored, live per-epoch progress."""

    over_epochs = True
    file = KERAS_FILE

    def __init__(self, model: Any, name: str):
        self.model = model
        self.name = name
        self.horizon = int(model.output_shape[-1])
        self._attention_model: Any = None

    @classmethod
    def fresh(
        cls, member: Member, cfg: ModelConfig, n_steps: int, n_features: int, horizon: int, seed: int
    ) -> KerasNet:
        """The member's architecture with seeded weights (reproducible for the same seed)."""
        import keras

        use_threads()
        keras.utils.set_random_seed(seed)
        window = keras.Input(shape=(n_steps, n_features), name="history")
        return cls(keras.Model(window, member.builder(window, horizon, cfg), name=member.name), member.name)

    @classmethod
    def restore(cls, member: Member, path: Path) -> KerasNet:
        """Load the .keras archive with safe_mode=True (custom layers by registered name, never Lambda code)."""
        import keras

        import core.model.layers  # noqa: F401 - registers the custom layers before loading

        use_threads()
        return cls(keras.saving.load_model(path, compile=False, safe_mode=True), member.name)

    def fit(
        self,
        train: WindowSet,
        val: WindowSet,
        settings: FitSettings,
        on_epoch: EpochHook | None = None,
        should_stop: StopHook | None = None,
    ) -> FitLog:
        """Adam on MAE of the scaled change, one compiled call per epoch; early stopping keeps the best epoch.

        Keras' own fit pays per step (callbacks, data adapter, logs) and re-adapts the NumPy arrays every
        epoch; here the windows become tensors once and each epoch (every batch, then the validation loss)
        is one tf.function call: measured 2.9x faster per epoch for conv1d (0.265 -> 0.090 s on POONDI,
        2 CPU cores) for the same arithmetic and skill. A user stop keeps the best epoch so far.
        """
        epoch_fn, val_fn = _compiled_epoch(self.model, train, val, settings)
        rng = np.random.default_rng(settings.seed)
        history: list[dict[str, float]] = []
        keeper, stopped = BestWeights(self.model, settings.patience), False
        for epoch in range(1, settings.epochs + 1):
            t0 = time.perf_counter()
            logs = {"loss": float(epoch_fn(batches(rng, len(train), settings.batch_size)))}
            logs["val_loss"] = float(val_fn())
            seconds = time.perf_counter() - t0
            history.append({"epoch": epoch, **logs, "seconds": seconds})
            if on_epoch:
                on_epoch(epoch, logs, seconds)
            keeper.update(logs["val_loss"])
            if should_stop and should_stop():
                stopped = True
                break
            if keeper.done:
                break
        keeper.restore()
        best_epoch = int(np.argmin([h["val_loss"] for h in history])) + 1 if history else 0
        return FitLog(history=history, best_epoch=best_epoch, stopped=stopped)

    def predict(self, X: np.ndarray, batch: int = 4096) -> np.ndarray:
        """Scaled change predictions.

        predict_on_batch reuses one compiled function: ~1 ms for a single window against ~50 ms for an
        eager model(x) call and ~150 ms for model.predict (measured on 2 CPU cores).
        """
        if len(X) == 0:
            return np.zeros((0, self.horizon), np.float32)
        parts = [np.asarray(self.model.predict_on_batch(X[i : i + batch])) for i in range(0, len(X), batch)]
        return np.concatenate(parts)

    def attention(self, X: np.ndarray) -> np.ndarray | None:
        """The attention layer's weights per input day, for the nets that have one."""
        if ATTENTION_LAYER not in {layer.name for layer in self.model.layers}:
            return None
        if self._attention_model is None:
            import keras

            weights = self.model.get_layer(ATTENTION_LAYER).output[1]
            self._attention_model = keras.Model(self.model.inputs, weights)
        return np.asarray(self._attention_model.predict_on_batch(X))

    def save(self, folder: Path) -> str:
        """The .keras archive (architecture + weights; custom layers by registered name)."""
        self.model.save(folder / KERAS_FILE)
        return KERAS_FILE


class BestWeights:
    """Early stopping's bookkeeping for one net: its best validation loss, the weights then, epochs since."""

    def __init__(self, model: Any, patience: int):
        self.model, self.patience = model, patience
        self.best, self.weights, self.wait, self.epochs = np.inf, None, 0, 0

    @property
    def done(self) -> bool:
        """Waited `patience` epochs without beating the best validation loss."""
        return self.wait >= self.patience

    def update(self, val_loss: float) -> bool:
        """Count one epoch; keep the weights when it is the best so far (returned)."""
        self.epochs += 1
        improved = val_loss < self.best
        if improved:
            self.best, self.weights, self.wait = val_loss, [w.numpy() for w in self.model.weights], 0
        else:
            self.wait += 1
        return improved

    def restore(self) -> None:
        """Put the best epoch's weights back (a net never validated keeps its own)."""
        if self.weights is not None:
            for weight, value in zip(self.model.weights, self.weights, strict=True):
                weight.assign(value)


def batches(rng: np.random.Generator, n: int, batch_size: int) -> np.ndarray:
    """A shuffled epoch as (n_batches, batch) indices; the last batch is topped up so every shape is static."""
    n_batches = -(-n // batch_size)
    order = rng.permutation(n).astype(np.int32)
    return np.resize(order, n_batches * batch_size).reshape(n_batches, batch_size)


def parallel_ops() -> int:
    """How many TensorFlow ops may run at once: as configured in this process, else its CPUs (at most 4)."""
    import tensorflow as tf

    configured = tf.config.threading.get_inter_op_parallelism_threads()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return configured or max(1, min(cpus, 4))


def use_threads(intra: int = 1, inter: int | None = None) -> None:
    """One thread per op, `parallel_ops()` ops at once, set once per process before TensorFlow's first op.

    The nets' ops are tiny (a batch of 64 windows), so splitting one op over cores costs more in
    synchronisation than it saves: measured on 2 cores, conv1d to early stop 5.2 s with 1 thread per op
    vs 7.1 s with TensorFlow's default (POONDI), and an ensemble's members can then run side by side.
    A setting made earlier in the process (the daily cycle's task gives its CPU share) is kept.
    """
    import tensorflow as tf

    if tf.config.threading.get_inter_op_parallelism_threads():
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter or parallel_ops())
    except RuntimeError:  # TensorFlow already ran an op in this process: its pools stay as they are
        pass


def _member_outputs(model: Any) -> list[Any]:
    """What the loss is taken on: each in-graph ensemble member's output (layers named member*), else the output."""
    outputs = [layer.output for layer in model.layers if layer.name.startswith(MEMBER_PREFIX)]
    return outputs or [model.output]


def epoch_loop(step: Callable[[Any, Any], Any], X: Any, Y: Any) -> Any:
    """One tf.function running `step` over every batch of an epoch (batch indices in, mean loss out), so the
    whole epoch is a single call: on CPU the per-step Python overhead, not the arithmetic, was the cost."""
    import tensorflow as tf

    @tf.function
    def epoch(batches: Any) -> Any:
        total = tf.constant(0.0)
        for i in tf.range(tf.shape(batches)[0]):
            total += step(tf.gather(X, batches[i]), tf.gather(Y, batches[i]))
        return total / tf.cast(tf.shape(batches)[0], tf.float32)

    return epoch


def _compiled_epoch(model: Any, train: WindowSet, val: WindowSet, settings: FitSettings) -> tuple[Any, Any]:
    """Two tf.functions over tensors built once: one whole training epoch (all batches) and the validation MAE.

    Each member of an in-graph ensemble gets its own MAE (averaged), so members stay distinct while the
    forecast is their blend. jit_compile stays off: XLA on CPU measured 7x slower per epoch for the
    unrolled LSTM (1.66 vs 0.22 s).
    """
    import keras
    import tensorflow as tf

    trainer = keras.Model(model.inputs, _member_outputs(model))
    variables = trainer.trainable_variables
    optimizer = keras.optimizers.Adam(learning_rate=settings.learning_rate)
    optimizer.build(variables)
    X, Y = tf.constant(train.X, tf.float32), tf.constant(train.y, tf.float32)
    Xv, Yv = tf.constant(val.X, tf.float32), tf.constant(val.y, tf.float32)

    def step(xb: Any, yb: Any) -> Any:
        with tf.GradientTape() as tape:
            outputs = trainer(xb, training=True)
            outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
            loss = tf.add_n([tf.reduce_mean(tf.abs(yb - out)) for out in outputs]) / len(outputs)
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    epoch = epoch_loop(step, X, Y)

    @tf.function
    def validation() -> Any:
        return tf.reduce_mean(tf.abs(Yv - model(Xv, training=False)))

    return epoch, validation


# Building blocks shared by the architectures (keras tensors in and out, so no type hints on them).


def head(x, horizon: int, cfg: ModelConfig, window=None):  # noqa: ANN001, ANN201 - keras tensors
    """Dropout + Dense(horizon); with `window`, plus a linear path on the whole window (the skip connection).

    The linear path lets the net start from a drift-like forecast and spend its capacity on
    corrections; without it the recurrent nets lost to persistence on smooth series (bench/RESULTS.md).
    """
    from keras import layers

    if cfg.dropout:
        x = layers.Dropout(cfg.dropout, name="dropout")(x)
    deep = layers.Dense(horizon, name="deep_head")(x)
    if window is None:
        return deep
    linear = layers.Dense(horizon, name="linear_head")(layers.Flatten(name="flatten")(window))
    return layers.Add(name="change")([deep, linear])


def unroll(n_steps: int) -> bool:
    """Unroll the LSTM over short windows: same arithmetic, far less per-step loop overhead on CPU."""
    # Measured on 2 cores, POONDI, 14 days in: 0.57 s per epoch unrolled vs 0.99 s with the loop.
    # Long windows keep the loop so the graph stays small.
    return n_steps <= 32


def convs(x, cfg: ModelConfig):  # noqa: ANN001, ANN201 - keras tensors
    """Two causal Conv1D layers: local patterns (a rise, a release) over a few days."""
    from keras import layers

    for i in (1, 2):
        x = layers.Conv1D(cfg.filters, cfg.kernel_size, padding="causal", activation="relu", name=f"conv{i}")(x)
    return x
