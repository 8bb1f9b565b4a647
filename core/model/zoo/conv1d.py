"""Conv1D: convolutions only (the 'CNN'), local patterns flattened into the head."""

from __future__ import annotations

from core.model.config import ModelConfig
from core.model.zoo.base import Member
from core.model.zoo.keras_net import KerasNet, convs, head


def build(window, horizon: int, cfg: ModelConfig):  # noqa: ANN001, ANN201 - keras tensors
    """Two causal convolutions -> Flatten -> head."""
    from keras import layers

    return head(layers.Flatten(name="flatten_conv")(convs(window, cfg)), horizon, cfg)


DESCRIPTION = "Two causal convolutions over the 14 days into a dense head (the default)."
MEMBER = Member("conv1d", "Conv1D", DESCRIPTION, "#1f6fb2", KerasNet, order=50, builder=build)
