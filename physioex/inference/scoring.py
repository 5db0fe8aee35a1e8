"""Batched whole-night scoring: logits of every epoch of a normalised recording, each epoch once
(from the window ``scoring_windows`` assigns it, non-overlapping or with a stride)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from physioex.errors import InputError
from physioex.inference.windows import scoring_windows

CPU_EPOCHS_PER_BATCH = 48
"""Epochs per forward pass for whole-night inference on CPU: measured fastest on a 2-core CPU
(TinySleepNet 4,500 epochs/s at 42 epochs per pass vs 1,900 at 64 windows of 21, whose activations
no longer fit in cache); GPUs take large batches."""


def default_batch_size(seq_len: int, device: torch.device) -> int:
    """Windows per inference batch: about ``CPU_EPOCHS_PER_BATCH`` epochs on CPU, 64 windows elsewhere."""
    return max(1, CPU_EPOCHS_PER_BATCH // seq_len) if device.type == "cpu" else 64


def resolve_stride(stride: object, seq_len: int, model: str) -> int:
    """``--stride`` checked against a model's window length L: epochs between window starts.

    Parameters
    ----------
    stride : object
        The option's value; None means L (non-overlapping windows).
    seq_len : int
        L of the model (its checkpoint's ``seq_len``).
    model : str
        The checkpoint, named in the error.

    Returns
    -------
    int
        S with ``1 <= S <= L``.

    Raises
    ------
    InputError
        ``stride`` is not an integer from 1 to L.
    """
    if stride is None:
        return int(seq_len)
    if isinstance(stride, bool) or not isinstance(stride, int | np.integer) or not 1 <= stride <= seq_len:
        raise InputError(
            f"--stride {stride}: must be a whole number of epochs from 1 to the L={seq_len} of checkpoint "
            f"{model}; give 1 (most past context) up to {seq_len} (non-overlapping windows, the default)"
        )
    return int(stride)


@torch.no_grad()
def whole_night_logits(
    model: nn.Module,
    x_norm: np.ndarray,
    seq_len: int,
    batch_size: int | None = None,
    stride: int | None = None,
) -> np.ndarray:
    """Logits ``(epochs, 5)`` of a normalised night ``(epochs, channels, samples)``.

    Parameters
    ----------
    model : nn.Module
        A sequence-to-sequence model in eval mode: ``(batch, L, channels, samples)`` -> ``(batch, L, 5)``.
    x_norm : np.ndarray
        The whole recording, normalised as at training.
    seq_len : int
        L; windows follow ``scoring_windows`` (a night shorter than L is one window of its length).
    batch_size : int, optional
        Windows per forward pass; default ``default_batch_size``.
    stride : int, optional
        Epochs between window starts (``scoring_windows``); default L. S < L scores each epoch
        where its window holds at least L - S past epochs, with about L / S times the forward passes.

    Returns
    -------
    np.ndarray
        float32 ``(epochs, 5)``, every epoch from exactly one window.
    """
    n = x_norm.shape[0]
    device = next(model.parameters()).device
    windows = scoring_windows(n, seq_len, stride)
    batch_size = batch_size or default_batch_size(seq_len, device)
    out = np.empty((n, 5), dtype=np.float32)
    xt = torch.from_numpy(np.ascontiguousarray(x_norm, dtype=np.float32))
    for b in range(0, len(windows), batch_size):
        chunk = windows[b : b + batch_size]
        batch = torch.stack([xt[w.start : w.start + w.length] for w in chunk]).to(device)
        logits = model(batch).float().cpu().numpy()
        for w, lg in zip(chunk, logits, strict=True):
            out[w.start + w.keep_from : w.start + w.length] = lg[w.keep_from :]
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise probabilities of logits ``(epochs, classes)``."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
