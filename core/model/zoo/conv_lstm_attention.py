"""Conv1D+LSTM+skip with attention over the input days; its weights say which past days mattered."""

from __future__ import annotations

from core.model.config import ModelConfig
from core.model.zoo.base import Member
from core.model.zoo.keras_net import ATTENTION_LAYER, KerasNet, convs, head, unroll


def build(window, horizon: int, cfg: ModelConfig):  # noqa: ANN001, ANN201 - keras tensors
    """Attention over the LSTM's daily states replaces 'last state only'.

    The attention weights (one per input day, summing to 1) are the readable part: which past
    days the forecast leaned on.
    """
    from keras import layers

    from core.model.layers import TemporalAttention  # imports keras: loaded only when a net is built

    lstm = layers.LSTM(cfg.units, return_sequences=True, unroll=unroll(window.shape[1]), name="lstm")
    context, _weights = TemporalAttention(cfg.units, name=ATTENTION_LAYER)(lstm(convs(window, cfg)))
    return head(context, horizon, cfg, window)


DESCRIPTION = "Conv1D+LSTM+skip with attention over the input days; shows which past days mattered."
MEMBER = Member(
    "conv_lstm_attention", "Conv1D+LSTM + attention", DESCRIPTION, "#d95f02", KerasNet, order=90, builder=build
)
