"""Training hyper-parameters: defaults, the ``train:`` section of params.yaml, then CLI overrides."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class TrainConfig:
    """Everything that changes a training run (recorded in every checkpoint)."""

    model: str = "chambon2018"
    """``tinysleepnet`` or ``chambon2018``."""
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    """Constructor arguments of the model class (paper names, e.g. ``n_rnn_units``)."""
    channels: list[str] = field(default_factory=list)
    """Store channels fed to the model, in order; empty = all channels of the store."""
    seq_len: int = 21
    """L, epochs per sequence."""
    batch_size: int = 32
    """Sequences per batch."""
    eval_batch_size: int = 64
    """Sequences per batch at validation/test (whole nights, large batches)."""
    lr: float = 1e-3
    """Adam learning rate (TinySleepNet's paper: 1e-4)."""
    weight_decay: float = 0.0
    """Adam weight decay on all parameters."""
    l2_conv: float = 0.0
    """L2 penalty on convolution kernels only (TinySleepNet: 1e-3)."""
    grad_clip: float = 5.0
    """Gradient-norm clipping (TinySleepNet: 5)."""
    class_weights: list[float] | None = None
    """Loss weight per class W, N1, N2, N3, REM (TinySleepNet: [1, 1.5, 1, 1, 1]); None = equal."""
    normalisation: str = "global"
    """``global`` (train-subject mean/std per channel), ``recording`` (per night) or ``none``."""
    augment: bool = True
    """TinySleepNet augmentations: signal shift and random sequence start (skip)."""
    max_shift_fraction: float = 0.1
    """Largest signal shift as a fraction of an epoch (0.1 = +-3 s)."""
    max_skip: int | None = None
    """Largest random start offset in epochs (TinySleepNet: 4); None = L - 1."""
    max_epochs: int = 20
    """Passes over the training windows."""
    patience: int = 5
    """Early stopping: passes without validation macro-F1 improvement."""
    num_workers: int = 2
    """DataLoader worker processes (each opens the store itself)."""
    cache_recordings: int = 8
    """Whole recordings kept in memory per worker (training windows are shuffled within such groups)."""
    seed: int = 0
    limit_train_batches: float | int = 1.0
    """Lightning's limit (fraction or number of batches per pass); for quick runs."""

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_params(path: Path | None, section: str = "train") -> dict[str, Any]:
    """The ``section`` mapping of a params.yaml (``{}`` if the file or section is absent)."""
    if path is None or not Path(path).is_file():
        return {}
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    sec = data.get(section) or {}
    if not isinstance(sec, dict):
        raise ValueError(f"{path}: section {section!r} must be a mapping")
    return sec


def make_config(params: dict[str, Any], overrides: dict[str, Any]) -> TrainConfig:
    """Defaults <- params (params.yaml ``train:``) <- overrides (CLI; None values are ignored).

    A params key ``models: {name: {...}}`` holds per-model settings (e.g. lr, model_kwargs) that
    apply when that model is chosen.
    """
    merged: dict[str, Any] = {k: v for k, v in params.items() if k != "models"}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    per_model = (params.get("models") or {}).get(merged.get("model", TrainConfig.model)) or {}
    for k, v in per_model.items():
        if overrides.get(k) is None:
            merged[k] = v
    unknown = sorted(set(merged) - set(TrainConfig.keys()))
    if unknown:
        raise ValueError(f"unknown training parameter(s) {unknown}; known: {TrainConfig.keys()}")
    return TrainConfig(**merged)
