"""LSTM: a recurrent network over the raw daily inputs."""

from __future__ import annotations

from core.model.config import ModelConfig
from core.model.zoo.base import Member
from core.model.zoo.keras_net import KerasNet, head, unroll


def build(window, horizon: int, cfg: ModelConfig):  # noqa: ANN001, ANN201 - keras tensors
    """A single LSTM -> head."""
    from keras import layers

    return head(layers.LSTM(cfg.units, unroll=unroll(window.shape[1]), name="lstm")(window), horizon, cfg)


DESCRIPTION = "A recurrent network over the daily inputs."
MEMBER = Member("lstm", "LSTM", DESCRIPTION, "#c9a227", KerasNet, order=60, builder=build)
