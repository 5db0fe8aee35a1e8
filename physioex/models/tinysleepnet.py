"""TinySleepNet (Supratak and Guo, EMBC 2020; reference code akaraspt/tinysleepnet).

A. Supratak and Y. Guo, "TinySleepNet: An Efficient Deep Learning Model for Sleep Stage
Scoring based on Raw Single-Channel EEG", EMBC 2020, pp. 641-644.
"""

from __future__ import annotations

import math

from torch import nn

from physioex.models.sequence import SamePad1d, SequenceToSequence

BN_MOMENTUM = 0.01
"""PyTorch batch-norm momentum of the reference code (``nn.batch_norm``: TensorFlow ``momentum=0.99``).

TensorFlow keeps ``running = m * running + (1 - m) * batch``, PyTorch ``running = (1 - m) * running +
m * batch``: TF's 0.99 is PyTorch's 0.01 (PyTorch's own default, 0.1, forgets ten times faster)."""
BN_EPS = 1e-3
"""Batch-norm epsilon of the reference code (TensorFlow ``epsilon=0.001``; PyTorch's default is 1e-5)."""


def _conv_block(
    in_channels: int, out_channels: int, kernel_size: int, stride: int, bn_momentum: float, bn_eps: float
) -> list[nn.Module]:
    """TF-"same" padded conv without bias, batch norm, ReLU."""
    return [
        SamePad1d(kernel_size, stride),
        nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, bias=False),
        nn.BatchNorm1d(out_channels, eps=bn_eps, momentum=bn_momentum),
        nn.ReLU(inplace=True),
    ]


def _max_pool(size: int) -> list[nn.Module]:
    """TF-"same" padded max-pool with stride equal to its size."""
    return [SamePad1d(size, size, value=-math.inf), nn.MaxPool1d(size, size)]


class TinySleepNet(SequenceToSequence):
    """TinySleepNet: a small CNN epoch encoder followed by one LSTM layer.

    Epoch encoder at ``Fs`` Hz: conv ``n_filters`` kernel Fs/2 stride Fs/16 (50 and 6 at
    100 Hz, as in the reference code), BN, ReLU, max-pool 8, dropout 0.5, three convs of
    kernel 8, max-pool 4, flatten (2048 features for a 3000-sample epoch), dropout 0.5.
    Sequence encoder: LSTM of ``n_rnn_units`` (128), dropout 0.5, linear to ``n_classes``.
    All padding is TensorFlow "same"; convs have no bias. About 1.5 M parameters.

    Batch norm follows the reference code: ``bn_momentum`` 0.01 (TensorFlow's 0.99, see
    :data:`BN_MOMENTUM`) and ``bn_eps`` 1e-3. Both only change training (running statistics); a
    trained model scores the same whatever they are.

    The paper uses one EEG channel. With ``n_channels`` C > 1 the channels are the input
    planes of the first convolution (its kernel becomes ``(128, C, 50)``); everything after
    it is unchanged.
    """

    def __init__(
        self,
        n_channels: int = 1,
        sampling_rate: float = 100.0,
        n_classes: int = 5,
        samples_per_epoch: int | None = None,
        n_filters: int = 128,
        first_pool_size: int = 8,
        second_pool_size: int = 4,
        small_kernel_size: int = 8,
        n_rnn_units: int = 128,
        n_rnn_layers: int = 1,
        dropout: float = 0.5,
        bn_momentum: float = BN_MOMENTUM,
        bn_eps: float = BN_EPS,
    ) -> None:
        super().__init__()
        if not 0.0 <= bn_momentum <= 1.0:
            raise ValueError(
                f"bn_momentum is PyTorch's (weight of the new batch, 0..1; TensorFlow's 0.99 is 0.01), "
                f"got {bn_momentum}"
            )
        fs = int(round(sampling_rate))
        layers: list[nn.Module] = [
            *_conv_block(n_channels, n_filters, fs // 2, fs // 16, bn_momentum, bn_eps),
            *_max_pool(first_pool_size),
            nn.Dropout(dropout),
        ]
        for _ in range(3):
            layers += _conv_block(n_filters, n_filters, small_kernel_size, 1, bn_momentum, bn_eps)
        layers += [*_max_pool(second_pool_size), nn.Flatten(), nn.Dropout(dropout)]
        encoder = nn.Sequential(*layers)
        n_features = self._set_epoch_encoder(encoder, n_channels, sampling_rate, samples_per_epoch)
        self._build_sequence_encoder(n_features, n_classes, n_rnn_units, n_rnn_layers, dropout=dropout)
