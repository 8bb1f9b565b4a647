"""Keras forecaster builders: one factory, every model takes (n_steps, features) and returns horizon changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_MODEL = "conv_lstm"


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


def _conv_lstm(n_steps: int, n_features: int, horizon: int, cfg: ModelConfig):  # noqa: ANN202 - keras type
    """Conv1D feature extractor feeding an LSTM (output = LSTM(CNN(input))), plus a linear path.

    The linear path (Dense on the last day's inputs) lets the net start from a drift-like forecast
    and spend its capacity on corrections; without it the net lost to persistence on smooth series.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(n_steps, n_features), name="history")
    x = layers.Conv1D(cfg.filters, cfg.kernel_size, padding="causal", activation="relu", name="conv1")(inputs)
    x = layers.Conv1D(cfg.filters, cfg.kernel_size, padding="causal", activation="relu", name="conv2")(x)
    x = layers.LSTM(cfg.units, name="lstm")(x)
    if cfg.dropout:
        x = layers.Dropout(cfg.dropout, name="dropout")(x)
    deep = layers.Dense(horizon, name="deep_head")(x)
    flat = layers.Flatten(name="flatten")(inputs)
    linear = layers.Dense(horizon, name="linear_head")(flat)
    outputs = layers.Add(name="change")([deep, linear])
    return keras.Model(inputs, outputs, name="conv_lstm")


BUILDERS: dict[str, Callable[..., Any]] = {"conv_lstm": _conv_lstm}


def build_model(n_steps: int, n_features: int, horizon: int, cfg: ModelConfig):  # noqa: ANN201 - keras type
    """The one factory: an explicit error names the unknown model and the known ones."""
    try:
        builder = BUILDERS[cfg.name]
    except KeyError:
        raise ValueError(f"Unknown model '{cfg.name}'. Known models: {', '.join(sorted(BUILDERS))}.") from None
    return builder(n_steps, n_features, horizon, cfg)
