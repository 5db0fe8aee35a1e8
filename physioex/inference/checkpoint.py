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

from physioex.inference.errors import CheckpointError
from physioex.inference.meta import CHECKPOINT_FORMAT, RESUME_FIELDS, CheckpointMeta
from physioex.inference.normalise import Normaliser
from physioex.inference.scoring import default_batch_size, softmax, whole_night_logits
from physioex.models import MODELS, build_model

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "CheckpointMeta",
    "LoadedModel",
    "check_resumable",
    "default_batch_size",
    "load_checkpoint",
]


@dataclass
class LoadedModel:
    """A model ready for inference: eval-mode ``model`` plus the ``meta`` it was trained with."""

    model: nn.Module
    meta: CheckpointMeta
    path: Path
    normaliser: Normaliser = field(init=False)

    def __post_init__(self) -> None:
        self.normaliser = self.meta.normalisation

    @property
    def channels(self) -> list[str]:
        """Input channel names, in the order of the model's channel axis."""
        return list(self.meta.channels)

    @property
    def seq_len(self) -> int:
        """L, epochs per window."""
        return self.meta.seq_len

    @property
    def sampling_rate(self) -> float:
        """Hz the model expects."""
        return self.meta.sampling_rate

    @property
    def samples_per_epoch(self) -> int:
        return self.meta.samples_per_epoch

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """Normalise a whole recording ``(epochs, channels, samples)`` in uV as at training (float32)."""
        self._check_shape(x)
        return self.normaliser.apply(x)

    def _check_shape(self, x: np.ndarray) -> None:
        if x.ndim != 3 or x.shape[1] != len(self.channels) or x.shape[2] != self.samples_per_epoch:
            raise CheckpointError(
                f"model {self.meta.model} from {self.path} expects (epochs, {len(self.channels)} channels "
                f"{self.channels}, {self.samples_per_epoch} samples), got shape {tuple(x.shape)}"
            )

    def predict_logits(
        self, x_norm: np.ndarray, batch_size: int | None = None, stride: int | None = None
    ) -> np.ndarray:
        """Logits ``(epochs, 5)`` of a normalised night, every epoch scored exactly once
        (``physioex.inference.scoring.whole_night_logits``); ``batch_size`` in windows, ``stride``
        in epochs between window starts (default L)."""
        return whole_night_logits(self.model, x_norm, self.seq_len, batch_size, stride)

    def predict_proba(
        self, signals_uV: np.ndarray, batch_size: int | None = None, stride: int | None = None
    ) -> np.ndarray:
        """Stage probabilities ``(epochs, 5)`` (W, N1, N2, N3, REM) of a whole night in uV."""
        return softmax(self.predict_logits(self.normalise(signals_uV), batch_size=batch_size, stride=stride))

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


def _meta(path: Path, ckpt: dict[str, Any], what_to_do: str) -> CheckpointMeta:
    """The physioex ``meta`` of a Lightning checkpoint, checked for what inference needs."""
    hp = ckpt.get("hyper_parameters") or {}
    raw = hp.get("meta") if isinstance(hp, dict) else None
    meta = CheckpointMeta.from_dict(raw, str(path), what_to_do)  # type: ignore[arg-type]
    if meta.model not in MODELS:
        raise CheckpointError(
            f"checkpoint {path}: holds unknown model {meta.model!r} (known: {sorted(MODELS)}); {what_to_do}"
        )
    return meta


def check_resumable(path: Path, meta: CheckpointMeta, state: dict[str, torch.Tensor]) -> None:
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
    for key in RESUME_FIELDS:
        theirs_value, ours = getattr(old, key), getattr(meta, key)
        if theirs_value != ours:
            raise CheckpointError(
                f"checkpoint {path}: was written by another run ({key} {theirs_value!r}, this run "
                f"{ours!r}); {todo}"
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
    name = meta.model
    if expect_model is not None and expect_model != name:
        raise CheckpointError(f"checkpoint {path}: holds a {name} model, not {expect_model}")
    try:
        model = build_model(
            name,
            n_channels=len(meta.channels),
            sampling_rate=meta.sampling_rate,
            **meta.model_kwargs,
        )
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: its model settings do not build a {name}: {exc}") from None
    prefix = "model."
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint {path}: weights do not fit a {name} model with channels {list(meta.channels)} "
            f"({_one_line(exc)}); give a .ckpt written by `physioex train`"
        ) from None
    model.eval()
    return LoadedModel(model=model, meta=meta, path=path)
