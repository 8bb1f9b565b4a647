"""Dense network (MLP) on the flattened window: the 'DNN' of the literature."""

from __future__ import annotations

from core.model.config import ModelConfig
from core.model.zoo.base import Member
from core.model.zoo.keras_net import KerasNet, head


def build(window, horizon: int, cfg: ModelConfig):  # noqa: ANN001, ANN201 - keras tensors
    """Flatten -> Dense(2u) -> Dense(u) -> head."""
    from keras import layers

    x = layers.Flatten(name="flatten_in")(window)
    x = layers.Dense(cfg.units * 2, activation="relu", name="dense1")(x)
    x = layers.Dense(cfg.units, activation="relu", name="dense2")(x)
    return head(x, horizon, cfg)


DESCRIPTION = "Two dense layers on the flattened window."
MEMBER = Member("mlp", "Dense network (MLP)", DESCRIPTION, "#c2549b", KerasNet, order=40, builder=build)
