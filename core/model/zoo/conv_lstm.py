"""Conv1D+LSTM: a convolutional feature extractor feeding an LSTM, output = LSTM(CNN(input))."""

from __future__ import annotations

from core.model.config import ModelConfig
from core.model.zoo.base import Member
from core.model.zoo.keras_net import KerasNet, convs, head, unroll


def build(window, horizon: int, cfg: ModelConfig):  # noqa: ANN001, ANN201 - keras tensors
    """Two causal convolutions -> LSTM -> head (no skip path)."""
    from keras import layers

    x = layers.LSTM(cfg.units, unroll=unroll(window.shape[1]), name="lstm")(convs(window, cfg))
    return head(x, horizon, cfg)


DESCRIPTION = "Convolutions feeding an LSTM, no skip path."
MEMBER = Member("conv_lstm", "Conv1D+LSTM", DESCRIPTION, "#8c564b", KerasNet, order=70, builder=build)
