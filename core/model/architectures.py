"""The zoo's catalogue and its Keras architectures: every net takes (n_steps, features) and returns horizon changes.

Kept free of numpy/TensorFlow imports so the CLI can list the zoo in --help without loading them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

# The default is the zoo member with the best mean skill vs persistence on the shared reservoirs
# (bench/RESULTS.md): with daily changes as inputs (no absolute level) the plain Conv1D net beat the
# recurrent hybrids (Conv1D+LSTM, +skip, +attention) on both groups and trains fastest of the nets.
DEFAULT_MODEL = "conv1d"
ATTENTION_LAYER = "attention"


@dataclass(frozen=True)
class ModelConfig:
    """Architecture knobs, saved with the model so a version can be rebuilt and explained."""

    name: str = DEFAULT_MODEL
    filters: int = 32
    kernel_size: int = 3
    units: int = 32
    dropout: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from saved JSON, ignoring nothing silently: unknown keys are an error."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown model setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass(frozen=True)
class ZooEntry:
    """What the dashboard and CLI say about a member."""

    name: str
    label: str
    description: str
    epochs: bool = True  # trained over epochs (Keras) rather than fitted in one pass


ZOO: dict[str, ZooEntry] = {
    e.name: e
    for e in (
        ZooEntry("persistence", "Persistence", "Tomorrow = today: the reference every model must beat.", epochs=False),
        ZooEntry(
            "climatology",
            "Seasonal climatology",
            "The average change for this time of year in the training years.",
            epochs=False,
        ),
        ZooEntry(
            "ridge", "Ridge regression", "A regularised linear model on the flattened 14-day window.", epochs=False
        ),
        ZooEntry(
            "random_forest",
            "Random forest",
            "50 regression trees on the flattened window (scikit-learn).",
            epochs=False,
        ),
        ZooEntry("mlp", "Dense network (MLP)", "Two dense layers on the flattened window."),
        ZooEntry("conv1d", "Conv1D", "Two causal convolutions over the 14 days into a dense head (the default)."),
        ZooEntry("lstm", "LSTM", "A recurrent network over the daily inputs."),
        ZooEntry("conv_lstm", "Conv1D+LSTM", "Convolutions feeding an LSTM, no skip path."),
        ZooEntry(
            "conv_lstm_skip",
            "Conv1D+LSTM + skip",
            "Conv1D+LSTM plus a linear path from the window to the output.",
        ),
        ZooEntry(
            "conv_lstm_attention",
            "Conv1D+LSTM + attention",
            "Conv1D+LSTM+skip with attention over the input days; shows which past days mattered.",
        ),
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(ZOO)


def check_name(name: str) -> str:
    """The name itself, or a ValueError listing the zoo."""
    if name not in ZOO:
        raise ValueError(f"Unknown model '{name}'. Known models: {', '.join(MODEL_NAMES)}.")
    return name


def _inputs(n_steps: int, n_features: int):  # noqa: ANN202 - keras type
    """The shared input: n_steps days x features."""
    import keras

    return keras.Input(shape=(n_steps, n_features), name="history")


def _head(x, horizon: int, cfg: ModelConfig, inputs=None):  # noqa: ANN001, ANN202 - keras tensors
    """Dropout + Dense(horizon); with `inputs`, plus a linear path on the whole window (the skip connection).

    The linear path lets the net start from a drift-like forecast and spend its capacity on
    corrections; without it the recurrent nets lost to persistence on smooth series (bench/RESULTS.md).
    """
    from keras import layers

    if cfg.dropout:
        x = layers.Dropout(cfg.dropout, name="dropout")(x)
    deep = layers.Dense(horizon, name="deep_head")(x)
    if inputs is None:
        return deep
    linear = layers.Dense(horizon, name="linear_head")(layers.Flatten(name="flatten")(inputs))
    return layers.Add(name="change")([deep, linear])


def _unroll(n_steps: int) -> bool:
    """Unroll the LSTM over short windows: same arithmetic, far less per-step loop overhead on CPU."""
    # Measured on 2 cores, POONDI, 14 days in: 0.57 s per epoch unrolled vs 0.99 s with the loop.
    # Long windows keep the loop so the graph stays small.
    return n_steps <= 32


def _convs(x, cfg: ModelConfig):  # noqa: ANN001, ANN202 - keras tensors
    """Two causal Conv1D layers: local patterns (a rise, a release) over a few days."""
    from keras import layers

    for i in (1, 2):
        x = layers.Conv1D(cfg.filters, cfg.kernel_size, padding="causal", activation="relu", name=f"conv{i}")(x)
    return x


def _mlp(n_steps: int, n_features: int, horizon: int, cfg: ModelConfig):  # noqa: ANN202 - keras type
    """Dense network on the flattened window (the 'DNN' of the literature)."""
    import keras
    from keras import layers

    inputs = _inputs(n_steps, n_features)
    x = layers.Flatten(name="flatten_in")(inputs)
    x = layers.Dense(cfg.units * 2, activation="relu", name="dense1")(x)
    x = layers.Dense(cfg.units, activation="relu", name="dense2")(x)
    return keras.Model(inputs, _head(x, horizon, cfg), name="mlp")


def _conv1d(n_steps: int, n_features: int, horizon: int, cfg: ModelConfig):  # noqa: ANN202 - keras type
    """Convolutions only (the 'CNN'): local patterns, flattened into the head."""
    import keras
    from keras import layers

    inputs = _inputs(n_steps, n_features)
    x = layers.Flatten(name="flatten_conv")(_convs(inputs, cfg))
    return keras.Model(inputs, _head(x, horizon, cfg), name="conv1d")


def _lstm(n_steps: int, n_features: int, horizon: int, cfg: ModelConfig):  # noqa: ANN202 - keras type
    """A single LSTM over the raw days."""
    import keras
    from keras import layers

    inputs = _inputs(n_steps, n_features)
    x = layers.LSTM(cfg.units, unroll=_unroll(n_steps), name="lstm")(inputs)
    return keras.Model(inputs, _head(x, horizon, cfg), name="lstm")


def _conv_lstm(n_steps: int, n_features: int, horizon: int, cfg: ModelConfig):  # noqa: ANN202 - keras type
    """Conv1D feature extractor feeding an LSTM: output = LSTM(CNN(input))."""
    import keras
    from keras import layers

    inputs = _inputs(n_steps, n_features)
    x = layers.LSTM(cfg.units, unroll=_unroll(n_steps), name="lstm")(_convs(inputs, cfg))
    return keras.Model(inputs, _head(x, horizon, cfg), name="conv_lstm")


def _conv_lstm_skip(n_steps: int, n_features: int, horizon: int, cfg: ModelConfig):  # noqa: ANN202 - keras type
    """Conv1D+LSTM plus a linear skip path from the input window to the output."""
    import keras
    from keras import layers

    inputs = _inputs(n_steps, n_features)
    x = layers.LSTM(cfg.units, unroll=_unroll(n_steps), name="lstm")(_convs(inputs, cfg))
    return keras.Model(inputs, _head(x, horizon, cfg, inputs), name="conv_lstm_skip")


def _conv_lstm_attention(n_steps: int, n_features: int, horizon: int, cfg: ModelConfig):  # noqa: ANN202
    """Conv1D+LSTM+skip where attention over the LSTM's daily states replaces 'last state only'.

    The attention weights (one per input day, summing to 1) are the readable part: which past
    days the forecast leaned on.
    """
    import keras
    from keras import layers

    from core.model.layers import TemporalAttention

    inputs = _inputs(n_steps, n_features)
    states = layers.LSTM(cfg.units, return_sequences=True, unroll=_unroll(n_steps), name="lstm")(_convs(inputs, cfg))
    context, _weights = TemporalAttention(cfg.units, name=ATTENTION_LAYER)(states)
    return keras.Model(inputs, _head(context, horizon, cfg, inputs), name="conv_lstm_attention")


BUILDERS: dict[str, Callable[..., Any]] = {
    "mlp": _mlp,
    "conv1d": _conv1d,
    "lstm": _lstm,
    "conv_lstm": _conv_lstm,
    "conv_lstm_skip": _conv_lstm_skip,
    "conv_lstm_attention": _conv_lstm_attention,
}


def build_model(n_steps: int, n_features: int, horizon: int, cfg: ModelConfig):  # noqa: ANN201 - keras type
    """The one factory: an explicit error names the unknown model and the known ones."""
    try:
        builder = BUILDERS[cfg.name]
    except KeyError:
        raise ValueError(f"Unknown model '{cfg.name}'. Known models: {', '.join(sorted(BUILDERS))}.") from None
    return builder(n_steps, n_features, horizon, cfg)
