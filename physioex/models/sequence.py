"""The sequence-to-sequence (SS) framework shared by every sleep-staging model.

An epoch encoder maps each 30-s epoch ``(channels, samples)`` to a feature vector; a
recurrent sequence encoder mixes the L feature vectors of a window; a linear head
classifies every position. Input ``(batch, L, channels, samples)``, output logits
``(batch, L, n_classes)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class SamePad1d(nn.Module):
    """TensorFlow ``padding="same"`` for a 1-D conv/pool of ``kernel_size`` and ``stride``.

    Pads ``total = max((ceil(n / stride) - 1) * stride + kernel_size - n, 0)`` samples,
    ``total // 2`` on the left and the rest on the right (TF puts the extra one on the right).
    Pooling layers pad with ``-inf`` so padded samples never win the max.
    """

    def __init__(self, kernel_size: int, stride: int, value: float = 0.0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        total = max((math.ceil(n / self.stride) - 1) * self.stride + self.kernel_size - n, 0)
        if total == 0:
            return x
        return F.pad(x, (total // 2, total - total // 2), value=self.value)


class SequenceToSequence(nn.Module):
    """Epoch encoder -> recurrent sequence encoder -> linear head per position.

    Subclasses build an epoch encoder (``(N, channels, samples) -> (N, features)``), install it with
    ``_set_epoch_encoder`` and call ``_build_sequence_encoder``; ``forward`` handles the reshaping.
    """

    epoch_encoder: nn.Module
    n_features: int
    sequence_encoder: nn.LSTM
    sequence_dropout: nn.Dropout
    head: nn.Linear

    def _set_epoch_encoder(
        self, encoder: nn.Module, n_channels: int, sampling_rate: float, samples_per_epoch: int | None
    ) -> int:
        """Install ``encoder``; its feature count from one zero epoch ``(1, n_channels, samples)``.

        ``samples_per_epoch`` defaults to 30 s at ``sampling_rate`` Hz.
        """
        self.epoch_encoder = encoder
        samples = samples_per_epoch if samples_per_epoch is not None else int(round(30.0 * sampling_rate))
        with torch.no_grad():
            self.n_features = int(encoder(torch.zeros(1, n_channels, samples)).shape[1])
        return self.n_features

    def _build_sequence_encoder(
        self,
        n_features: int,
        n_classes: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.5,
    ) -> None:
        """Create the LSTM over the L epoch features, its output dropout and the linear head."""
        self.sequence_encoder = nn.LSTM(
            n_features, hidden_size, num_layers=num_layers, batch_first=True, bidirectional=bidirectional
        )
        self.sequence_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_classes)

    def encode_epochs(self, x: torch.Tensor) -> torch.Tensor:
        """Epoch features ``(batch, L, features)`` of input ``(batch, L, channels, samples)``."""
        if x.ndim != 4:
            raise ValueError(f"expected input (batch, L, channels, samples), got shape {tuple(x.shape)}")
        b, seq_len, c, s = x.shape
        feats = self.epoch_encoder(x.reshape(b * seq_len, c, s))
        return feats.reshape(b, seq_len, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, L, n_classes)`` for normalised input ``(batch, L, channels, samples)``."""
        feats = self.encode_epochs(x)
        seq, _ = self.sequence_encoder(feats)
        return self.head(self.sequence_dropout(seq))

    def l2_parameters(self) -> list[nn.Parameter]:
        """Convolution kernels (weights of every Conv1d/Conv2d), the target of the optional L2 penalty."""
        return [m.weight for m in self.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d))]  # type: ignore[misc]
