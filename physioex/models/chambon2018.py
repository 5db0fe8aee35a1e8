"""Chambon2018 (Chambon et al., IEEE TNSRE 2018) in the sequence-to-sequence framework.

S. Chambon, M. N. Galtier, P. J. Arnal, G. Wainrib and A. Gramfort, "A Deep Learning
Architecture for Temporal Sleep Stage Classification Using Multivariate and Multimodal
Time Series", IEEE TNSRE 26(4), 2018, pp. 758-769. The epoch encoder follows braindecode's
``SleepStagerChambon2018``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from physioex.models.sequence import SequenceToSequence


class _ChambonEncoder(nn.Module):
    """Spatial conv C->C (if C > 1), then 2 x (temporal conv, ReLU, max-pool), flatten, dropout."""

    def __init__(
        self,
        n_channels: int,
        sampling_rate: float,
        n_conv_chs: int,
        time_conv_size_s: float,
        max_pool_size_s: float,
        pad_size_s: float,
        dropout: float,
    ) -> None:
        super().__init__()
        time_conv_size = math.ceil(time_conv_size_s * sampling_rate)
        max_pool_size = math.ceil(max_pool_size_s * sampling_rate)
        pad_size = math.ceil(pad_size_s * sampling_rate)
        self.n_channels = n_channels
        self.spatial_conv = nn.Conv2d(1, n_channels, (n_channels, 1)) if n_channels > 1 else None
        self.feature_extractor = nn.Sequential(
            nn.Conv2d(1, n_conv_chs, (1, time_conv_size), padding=(0, pad_size)),
            nn.ReLU(),
            nn.MaxPool2d((1, max_pool_size)),
            nn.Conv2d(n_conv_chs, n_conv_chs, (1, time_conv_size), padding=(0, pad_size)),
            nn.ReLU(),
            nn.MaxPool2d((1, max_pool_size)),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(N, n_conv_chs * C * T')`` of epochs ``(N, C, samples)``."""
        x = x.unsqueeze(1)  # (N, 1, C, S)
        if self.spatial_conv is not None:
            x = self.spatial_conv(x).transpose(1, 2)  # (N, C virtual channels, 1, S) -> (N, 1, C, S)
        return self.dropout(self.feature_extractor(x).flatten(1))


class Chambon2018(SequenceToSequence):
    """Chambon et al. (2018) epoch encoder followed by a bidirectional LSTM over L epochs.

    Encoder at ``sampling_rate`` Hz: a linear spatial convolution mixing the C input channels
    into C virtual channels, then twice (``n_conv_chs`` = 8 filters, temporal kernel 0.5 s,
    ReLU, max-pool 0.125 s) with 0.25 s zero padding (kernel 50, pool 13, padding 25 at
    100 Hz), flatten, dropout 0.25. The paper concatenated the features of the neighbouring
    windows; in the SS framework an LSTM (``n_rnn_units`` per direction, bidirectional by
    default) replaces that concatenation.
    """

    def __init__(
        self,
        n_channels: int = 1,
        sampling_rate: float = 100.0,
        n_classes: int = 5,
        samples_per_epoch: int | None = None,
        n_conv_chs: int = 8,
        time_conv_size_s: float = 0.5,
        max_pool_size_s: float = 0.125,
        pad_size_s: float = 0.25,
        dropout: float = 0.25,
        n_rnn_units: int = 64,
        n_rnn_layers: int = 1,
        bidirectional: bool = True,
    ) -> None:
        super().__init__()
        encoder = _ChambonEncoder(
            n_channels, sampling_rate, n_conv_chs, time_conv_size_s, max_pool_size_s, pad_size_s, dropout
        )
        n_features = self._set_epoch_encoder(encoder, n_channels, sampling_rate, samples_per_epoch)
        self._build_sequence_encoder(
            n_features, n_classes, n_rnn_units, n_rnn_layers, bidirectional=bidirectional, dropout=dropout
        )
