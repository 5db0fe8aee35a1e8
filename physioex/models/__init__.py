"""Sequence-to-sequence sleep-staging models, chosen by name with ``build_model``."""

from __future__ import annotations

from torch import nn

from physioex.choices import Model
from physioex.models.chambon2018 import Chambon2018
from physioex.models.sequence import SequenceToSequence
from physioex.models.tinysleepnet import TinySleepNet

MODELS: dict[str, type[SequenceToSequence]] = {
    Model.TINYSLEEPNET.value: TinySleepNet,
    Model.CHAMBON2018.value: Chambon2018,
}
"""Registry: model name (a ``physioex.choices.Model``) -> class."""


def build_model(
    name: str, *, n_channels: int, sampling_rate: float = 100.0, n_classes: int = 5, **kwargs: object
) -> nn.Module:
    """Model ``name``: input ``(batch, L, n_channels, samples)`` -> logits ``(batch, L, n_classes)``."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}") from None
    return cls(n_channels=n_channels, sampling_rate=sampling_rate, n_classes=n_classes, **kwargs)


__all__ = ["MODELS", "Chambon2018", "SequenceToSequence", "TinySleepNet", "build_model"]
