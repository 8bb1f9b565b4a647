"""Conv1D+LSTM plus a linear skip path from the input window to the output."""

from __future__ import annotations

from core.model.config import ModelConfig
from core.model.zoo.base import Member
from core.model.zoo.keras_net import KerasNet, convs, head, unroll


def build(window, horizon: int, cfg: ModelConfig):  # noqa: ANN001, ANN201 - keras tensors
    """Two causal convolutions -> LSTM -> head, plus Dense on the flattened window."""
    from keras import layers

    x = layers.LSTM(cfg.units, unroll=unroll(window.shape[1]), name="lstm")(convs(window, cfg))
    return head(x, horizon, cfg, window)


DESCRIPTION = "Conv1D+LSTM plus a linear path from the window to the output."
MEMBER = Member("conv_lstm_skip", "Conv1D+LSTM + skip", DESCRIPTION, "#17a2b8", KerasNet, order=80, builder=build)
