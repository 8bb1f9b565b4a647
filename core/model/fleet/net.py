"""The fleet ensemble's Keras graph: the default ensemble's four members, each told which reservoir it reads.

Two inputs: `history` (n_steps x the fleet's columns, see dataset.to_layout) and `static` (presence flags +
normalised descriptors). Each member reads the window with the static vector repeated on every day (so the
convolutions and the LSTM see it, as in Kratzert et al.'s static-attribute LSTMs) and its head reads it again;
the members' bodies are the default ensemble's (core/model/zoo/conv_lstm_ensemble.member_body), member 0 is
LSTM(CNN(x)), and the forecast is their median (layer `change`). Every layer is a Keras built-in or registered in
core.model.layers, so the .keras file loads with safe_mode=True.
"""

from __future__ import annotations

from typing import Any

from core.model.config import ModelConfig
from core.model.fleet.config import FleetConfig
from core.model.zoo.conv_lstm_ensemble import WINDOW_FLOOR, member_body
from core.model.zoo.keras_net import MEMBER_PREFIX, use_threads


def model_config(config: FleetConfig) -> ModelConfig:
    """The member bodies' knobs, in the form the zoo's building blocks read."""
    return ModelConfig(
        filters=config.filters, kernel_size=config.kernel_size, units=config.units, dropout=config.dropout
    )


def _member(history, static, k: int, kind: str, normalised: bool, config: FleetConfig):  # noqa: ANN001, ANN201
    """Member k's forecast of the scaled change (layer `member{k}`, the one its loss is taken on)."""
    from keras import layers

    from core.model.layers import WindowScale

    prefix, name = f"m{k}_", f"{MEMBER_PREFIX}{k}"
    x, scale = WindowScale(0, WINDOW_FLOOR, name=f"{prefix}window_scale")(history) if normalised else (history, None)
    if static is not None:
        steps = layers.RepeatVector(history.shape[1], name=f"{prefix}static_steps")(static)
        x = layers.Concatenate(name=f"{prefix}with_static")([x, steps])
    x = member_body(x, kind, model_config(config), prefix)
    if static is not None:
        x = layers.Concatenate(name=f"{prefix}head_static")([x, static])
    if config.dropout:
        x = layers.Dropout(config.dropout, name=f"{prefix}dropout")(x)
    if scale is None:
        return layers.Dense(config.horizon, name=name)(x)
    return layers.Multiply(name=name)([layers.Dense(config.horizon, name=f"{prefix}head")(x), scale])


def build_net(config: FleetConfig, n_static: int) -> Any:
    """The fleet ensemble with seeded weights: inputs [history, static], output the members' median `change`."""
    import keras

    from core.model.layers import MemberMedian

    use_threads()
    keras.utils.set_random_seed(config.seed)
    n_features = 1 + len(config.covariates) + (2 if config.seasonal else 0)
    history = keras.Input(shape=(config.n_steps, n_features), name="history")
    static = keras.Input(shape=(n_static,), name="static")
    conditioned = static if n_static else None
    outputs = [_member(history, conditioned, k, kind, norm, config) for k, (kind, norm) in enumerate(config.members)]
    change = MemberMedian(name="change")(outputs) if len(outputs) > 1 else outputs[0]
    return keras.Model([history, static], change, name="fleet")
