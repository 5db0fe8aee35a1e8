"""Load a trained model from a Lightning checkpoint for inference (``test``, ``predict``, ``explain``).

Checkpoints are read with ``torch.load(weights_only=True)``: only tensors and primitive
containers are unpickled, never arbitrary objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from physioex.models import MODELS, build_model
from physioex.train.normalise import Normaliser
from physioex.train.windows import eval_windows

CHECKPOINT_FORMAT = 1
"""Version of the ``meta`` layout written into checkpoints."""


class CheckpointError(ValueError):
    """The checkpoint is missing, unreadable, or incompatible with the data it is applied to."""


CPU_EPOCHS_PER_BATCH = 48
"""Epochs per forward pass for whole-night inference on CPU: measured fastest on a 2-core CPU
(TinySleepNet 4,500 epochs/s at 42 epochs per pass vs 1,900 at 64 windows of 21, whose activations
no longer fit in cache); GPUs take large batches."""


def default_batch_size(seq_len: int, device: torch.device) -> int:
    """Windows per inference batch: about ``CPU_EPOCHS_PER_BATCH`` epochs on CPU, 64 windows elsewhere."""
    return max(1, CPU_EPOCHS_PER_BATCH // seq_len) if device.type == "cpu" else 64


@dataclass
class LoadedModel:
    """A model ready for inference: eval-mode ``model`` plus the ``meta`` it was trained with."""

    model: nn.Module
    meta: dict[str, Any]
    path: Path
    normaliser: Normaliser = field(init=False)

    def __post_init__(self) -> None:
        self.normaliser = Normaliser.from_meta(self.meta["normalisation"])

    @property
    def channels(self) -> list[str]:
        """Input channel names, in the order of the model's channel axis."""
        return list(self.meta["channels"])

    @property
    def seq_len(self) -> int:
        """L, epochs per window."""
        return int(self.meta["seq_len"])

    @property
    def sampling_rate(self) -> float:
        """Hz the model expects."""
        return float(self.meta["sampling_rate"])

    @property
    def samples_per_epoch(self) -> int:
        return int(self.meta["samples_per_epoch"])

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """Normalise a whole recording ``(epochs, channels, samples)`` in uV as at training (float32)."""
        self._check_shape(x)
        return self.normaliser.apply(x)

    def _check_shape(self, x: np.ndarray) -> None:
        if x.ndim != 3 or x.shape[1] != len(self.channels) or x.shape[2] != self.samples_per_epoch:
            raise CheckpointError(
                f"model {self.meta['model']} from {self.path} expects (epochs, {len(self.channels)} channels "
                f"{self.channels}, {self.samples_per_epoch} samples), got shape {tuple(x.shape)}"
            )

    @torch.no_grad()
    def predict_logits(self, x_norm: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Logits ``(epochs, 5)`` of a normalised night: non-overlapping L-windows, batched, every
        epoch scored exactly once (the last window is aligned to the end). ``batch_size`` in windows;
        default: see ``default_batch_size``."""
        n = x_norm.shape[0]
        L = self.seq_len
        device = next(self.model.parameters()).device
        batch_size = batch_size or default_batch_size(L, device)
        windows = eval_windows(n, L)
        if n < L:  # a very short recording: pad to one window
            x_norm = np.concatenate([x_norm, np.zeros((L - n, *x_norm.shape[1:]), dtype=np.float32)])
        out = np.empty((n, 5), dtype=np.float32)
        xt = torch.from_numpy(np.ascontiguousarray(x_norm, dtype=np.float32))
        for b in range(0, len(windows), batch_size):
            chunk = windows[b : b + batch_size]
            batch = torch.stack([xt[s : s + L] for s, _ in chunk]).to(device)
            logits = self.model(batch).float().cpu().numpy()
            for (s, keep), lg in zip(chunk, logits, strict=True):
                stop = min(s + L, n)
                out[s + keep : stop] = lg[keep : stop - s]
        return out

    def predict_proba(self, signals_uV: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Stage probabilities ``(epochs, 5)`` (W, N1, N2, N3, REM) of a whole night in uV."""
        logits = self.predict_logits(self.normalise(signals_uV), batch_size=batch_size)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def check_channels(self, available: list[str], where: str) -> list[int]:
        """Indices of the model's channels in ``available``; ``CheckpointError`` naming the missing ones."""
        missing = [c for c in self.channels if c not in available]
        if missing:
            raise CheckpointError(
                f"{where} lacks channel(s) {missing} needed by the model in {self.path} "
                f"(trained on {self.channels}); available: {available}"
            )
        return [available.index(c) for c in self.channels]


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a usable checkpoint"
        raise CheckpointError(f"{path} is not a readable physioex checkpoint: {exc}") from exc
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path} is not a PyTorch Lightning checkpoint (no state_dict)")
    return ckpt


def load_checkpoint(path: str | Path, expect_model: str | None = None) -> LoadedModel:
    """Read ``path`` (``best.ckpt``/``last.ckpt``) and rebuild its model in eval mode on CPU.

    ``expect_model`` (optional) must match the checkpoint's model name.
    """
    path = Path(path)
    ckpt = _read(path)
    hp = ckpt.get("hyper_parameters") or {}
    meta = hp.get("meta")
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} was not written by `physioex train` (no physioex meta, format {CHECKPOINT_FORMAT})"
        )
    name = meta["model"]
    if name not in MODELS:
        raise CheckpointError(f"{path} holds unknown model {name!r}; known: {sorted(MODELS)}")
    if expect_model is not None and expect_model != name:
        raise CheckpointError(f"{path} holds a {name} model, not {expect_model}")
    model = build_model(
        name,
        n_channels=len(meta["channels"]),
        sampling_rate=float(meta["sampling_rate"]),
        **dict(meta.get("model_kwargs") or {}),
    )
    prefix = "model."
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not fit a {name} model with channels {meta['channels']}: {exc}"
        ) from exc
    model.eval()
    return LoadedModel(model=model, meta=dict(meta), path=path)
