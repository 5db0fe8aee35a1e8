"""Load a trained model from a Lightning checkpoint for inference (``test``, ``predict``, ``explain``).

Checkpoints are read with ``torch.load(weights_only=True)``: only tensors and primitive
containers are unpickled, never arbitrary objects.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from physioex.errors import InputError
from physioex.models import MODELS, build_model
from physioex.train.normalise import Normaliser
from physioex.train.windows import eval_windows

CHECKPOINT_FORMAT = 1
"""Version of the ``meta`` layout written into checkpoints."""


class CheckpointError(InputError):
    """The checkpoint is missing, unreadable, or incompatible with the data it is applied to (exit 2)."""


META_KEYS = ("model", "channels", "sampling_rate", "samples_per_epoch", "seq_len", "normalisation", "fold")
"""Keys every physioex checkpoint's ``meta`` holds (besides ``format``)."""

RESUME_KEYS = ("model", "model_kwargs", "channels", "sampling_rate", "samples_per_epoch", "seq_len", "fold")
"""``meta`` keys that must match for ``--resume`` to continue a run (the network and its input)."""


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


def _one_line(exc: BaseException) -> str:
    """A short one-line reason for a failed ``torch.load`` (torch's messages span many lines)."""
    text = str(exc)
    if "Unsupported global" in text:
        return "it holds pickled Python objects, refused because only tensors are loaded (weights_only=True)"
    marker = "WeightsUnpickler error:"
    if marker in text:  # the reason follows the marker, possibly on the next non-empty line
        text = text.split(marker, 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return f"{type(exc).__name__}: {first[:160]}" if first else type(exc).__name__


def _read(path: Path, what_to_do: str = "give a .ckpt written by `physioex train`") -> dict[str, Any]:
    """The checkpoint dict, read with ``weights_only=True``; ``CheckpointError`` for anything else."""
    if not path.exists():
        raise CheckpointError(f"checkpoint {path}: does not exist; {what_to_do}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path}: is a folder, not a checkpoint file; {what_to_do}")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols; the error below says it all
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a usable checkpoint"
        raise CheckpointError(
            f"checkpoint {path}: not a readable checkpoint (truncated or not a PyTorch file: "
            f"{_one_line(exc)}); {what_to_do}"
        ) from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise CheckpointError(
            f"checkpoint {path}: not a PyTorch Lightning checkpoint (no state_dict; a plain torch.save?); "
            f"{what_to_do}"
        )
    return ckpt


def _meta(path: Path, ckpt: dict[str, Any], what_to_do: str) -> dict[str, Any]:
    """The physioex ``meta`` of a Lightning checkpoint, checked for the keys inference needs."""
    hp = ckpt.get("hyper_parameters") or {}
    meta = hp.get("meta") if isinstance(hp, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path}: not written by `physioex train` (no physioex meta of format "
            f"{CHECKPOINT_FORMAT}); {what_to_do}"
        )
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise CheckpointError(f"checkpoint {path}: its physioex meta lacks {missing}; {what_to_do}")
    if meta["model"] not in MODELS:
        raise CheckpointError(
            f"checkpoint {path}: holds unknown model {meta['model']!r} (known: {sorted(MODELS)}); "
            f"{what_to_do}"
        )
    return meta


def check_resumable(path: Path, meta: dict[str, Any], state: dict[str, torch.Tensor]) -> None:
    """Refuse ``--resume`` from ``path`` unless it is a physioex Lightning checkpoint of this very run:
    same model, architecture, channels, rates, L and fold (``meta``), and weights of the same shapes."""
    todo = "delete it or drop --resume"
    ckpt = _read(path, todo)
    old = _meta(path, ckpt, todo)
    for key in ("epoch", "optimizer_states", "loops"):
        if key not in ckpt:
            raise CheckpointError(
                f"checkpoint {path}: has no training state ({key!r}), cannot resume; {todo}"
            )
    for key in RESUME_KEYS:
        if old.get(key) != meta.get(key):
            raise CheckpointError(
                f"checkpoint {path}: was written by another run ({key} {old.get(key)!r}, this run "
                f"{meta.get(key)!r}); {todo}"
            )
    theirs = ckpt["state_dict"]
    for name, tensor in state.items():
        other = theirs.get(name)
        if not isinstance(other, torch.Tensor) or tuple(other.shape) != tuple(tensor.shape):
            raise CheckpointError(f"checkpoint {path}: its weights do not fit this model ({name}); {todo}")
    extra = sorted(set(theirs) - set(state))
    if extra:
        raise CheckpointError(f"checkpoint {path}: holds weights this model lacks ({extra[0]}); {todo}")


def load_checkpoint(path: str | Path, expect_model: str | None = None) -> LoadedModel:
    """Read ``path`` (``best.ckpt``/``last.ckpt``) and rebuild its model in eval mode on CPU.

    ``expect_model`` (optional) must match the checkpoint's model name.
    """
    path = Path(path)
    todo = "give a .ckpt written by `physioex train`"
    ckpt = _read(path, todo)
    meta = _meta(path, ckpt, todo)
    name = meta["model"]
    if expect_model is not None and expect_model != name:
        raise CheckpointError(f"checkpoint {path}: holds a {name} model, not {expect_model}")
    try:
        model = build_model(
            name,
            n_channels=len(meta["channels"]),
            sampling_rate=float(meta["sampling_rate"]),
            **dict(meta.get("model_kwargs") or {}),
        )
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: its model settings do not build a {name}: {exc}") from None
    prefix = "model."
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint {path}: weights do not fit a {name} model with channels {meta['channels']} "
            f"({_one_line(exc)}); give a .ckpt written by `physioex train`"
        ) from None
    model.eval()
    return LoadedModel(model=model, meta=dict(meta), path=path)
