"""The Keras members' shared runner (fit with early stopping, predict, save/load) and their building blocks.

TensorFlow/Keras are imported inside functions: importing the zoo (for the CLI's --help, the pages'
pickers) must not load them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.model.config import FitSettings, ModelConfig
from core.model.zoo.base import KERAS_FILE, EpochHook, FitLog, Forecaster, Member, StopHook

if TYPE_CHECKING:
    from core.model.windows import WindowSet

ATTENTION_LAYER = "attention"  # a layer of this name returns (context, weights): the weights are shown


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

        keras.utils.set_random_seed(seed)
        window = keras.Input(shape=(n_steps, n_features), name="history")
        return cls(keras.Model(window, member.builder(window, horizon, cfg), name=member.name), member.name)

    @classmethod
    def restore(cls, member: Member, path: Path) -> KerasNet:
        """Load the .keras archive with safe_mode=True (custom layers by registered name, never Lambda code)."""
        import keras

        import core.model.layers  # noqa: F401 - registers the custom layers before loading

        return cls(keras.saving.load_model(path, compile=False, safe_mode=True), member.name)

    def fit(
        self,
        train: WindowSet,
        val: WindowSet,
        settings: FitSettings,
        on_epoch: EpochHook | None = None,
        should_stop: StopHook | None = None,
    ) -> FitLog:
        """Adam on MAE of the scaled change; a user stop keeps the best epoch so far, like early stopping."""
        import keras

        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate=settings.learning_rate), loss="mae")
        state: dict[str, Any] = {"history": [], "stopped": False}
        early = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=settings.patience, restore_best_weights=True, start_from_epoch=0
        )
        self.model.fit(
            train.X,
            train.y,
            validation_data=(val.X, val.y),
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            validation_batch_size=1024,  # validation is inference only: fewer, larger steps per epoch
            shuffle=True,
            verbose=0,
            callbacks=[early, _progress_callback(on_epoch, should_stop, state)],
        )
        history = state["history"]
        if state["stopped"] and early.best_weights is not None:
            self.model.set_weights(early.best_weights)
        best = int(np.argmin([h.get("val_loss", np.inf) for h in history])) + 1 if history else 0
        return FitLog(history=history, best_epoch=best, stopped=state["stopped"])

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


def _progress_callback(on_epoch: EpochHook | None, should_stop: StopHook | None, state: dict[str, Any]):  # noqa: ANN202
    """Keras callback that reports each epoch and honours a stop request within one epoch."""
    import keras

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            state["t0"] = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = {k: float(v) for k, v in (logs or {}).items()}
            seconds = time.perf_counter() - state["t0"]
            state["history"].append({"epoch": epoch + 1, **logs, "seconds": seconds})
            if on_epoch:
                on_epoch(epoch + 1, logs, seconds)
            if should_stop and should_stop():
                state["stopped"] = True
                self.model.stop_training = True

    return Progress()


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
