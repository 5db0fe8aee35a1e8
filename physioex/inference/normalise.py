"""Per-channel standardisation of signals ``(epochs, channels, samples)`` in uV.

``fit_normaliser`` sees only the recording ids it is given: the data module passes the TRAIN
subjects' recordings of a fold, so statistics never leak from validation or test subjects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

MODES = ("global", "recording", "none")
"""``global``: train-set mean/std per channel; ``recording``: each recording's own mean/std; ``none``."""

_EPS = 1e-6


class SignalSource(Protocol):
    """What ``fit_normaliser`` needs from a store: signals of a recording id."""

    def signals(self, rec: str, start: int = 0, stop: int | None = None) -> np.ndarray: ...


@dataclass(frozen=True)
class Normaliser:
    """Standardisation applied to every input: ``(x - mean) / std`` per channel.

    ``mean``/``std`` (uV, one per channel) are used by the ``global`` mode; the ``recording``
    mode computes them from the recording being normalised (a whole night, never a window).
    """

    mode: str = "global"
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown normalisation {self.mode!r}; choose one of {MODES}")
        if self.mode == "global" and (not self.mean or len(self.mean) != len(self.std)):
            raise ValueError("global normalisation needs one mean and one std per channel")

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Normalised float32 copy of a whole recording ``(epochs, channels, samples)`` in uV."""
        x = np.asarray(x, dtype=np.float32)
        if self.mode == "none":
            return x.copy()
        if self.mode == "global":
            if x.shape[1] != len(self.mean):
                raise ValueError(f"normaliser fitted on {len(self.mean)} channels, input has {x.shape[1]}")
            mean = np.asarray(self.mean, dtype=np.float32)
            std = np.asarray(self.std, dtype=np.float32)
        else:
            mean_d, std_d = channel_moments([x])
            mean, std = mean_d.astype(np.float32), std_d.astype(np.float32)
        return ((x - mean[None, :, None]) / std[None, :, None]).astype(np.float32)

    def to_meta(self) -> dict[str, Any]:
        """Primitive dict for checkpoints (safe under ``torch.load(weights_only=True)``)."""
        return {"mode": self.mode, "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_meta(cls, d: dict[str, Any]) -> Normaliser:
        return cls(
            mode=str(d["mode"]),
            mean=tuple(float(v) for v in d["mean"]),
            std=tuple(float(v) for v in d["std"]),
        )


def channel_moments(arrays: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std (float64) over all epochs and samples of ``arrays`` (each (E, C, S))."""
    total = None
    total_sq = None
    count = 0
    for x in arrays:
        x64 = np.asarray(x, dtype=np.float64)
        s = x64.sum(axis=(0, 2))
        sq = np.square(x64).sum(axis=(0, 2))
        total = s if total is None else total + s
        total_sq = sq if total_sq is None else total_sq + sq
        count += x64.shape[0] * x64.shape[2]
    if total is None or total_sq is None or count == 0:
        raise ValueError("cannot fit normalisation statistics on zero epochs")
    mean = total / count
    var = np.maximum(total_sq / count - mean**2, 0.0)
    return mean, np.maximum(np.sqrt(var), _EPS)


def fit_normaliser(
    store: SignalSource,
    train_recordings: Sequence[str],
    mode: str = "global",
    channel_index: Sequence[int] = (),
) -> Normaliser:
    """Fit ``mode`` statistics on ``train_recordings`` only (each read whole, once).

    ``channel_index`` selects channels of the store's channel axis (all when empty).
    """
    if mode != "global":
        return Normaliser(mode=mode)
    if not train_recordings:
        raise ValueError("no training recordings to fit normalisation statistics on")
    idx = list(channel_index)

    def arrays() -> Iterable[np.ndarray]:
        for rec in train_recordings:
            x = store.signals(rec)
            yield x[:, idx] if idx else x

    mean, std = channel_moments(arrays())
    return Normaliser(mode="global", mean=tuple(float(v) for v in mean), std=tuple(float(v) for v in std))
