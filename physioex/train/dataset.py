"""Map-style dataset of L-epoch windows, sliced in memory from whole recordings.

Each process (main or DataLoader worker) opens the store itself from its location and keeps
an LRU cache of whole normalised recordings, so a recording is read from Zarr once per pass
(one whole-recording read, docs/conventions.md section 5), never once per window.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from physioex.inference.normalise import Normaliser
from physioex.inference.windows import window_length
from physioex.train.windows import WindowKey

IGNORE_INDEX = -100
"""Label given to unscored/movement epochs (store labels < 0) and to already-scored positions."""


def to_targets(labels: np.ndarray) -> np.ndarray:
    """Store labels int8 -> int64 targets with every negative label replaced by ``IGNORE_INDEX``."""
    y = np.asarray(labels, dtype=np.int64).copy()
    y[y < 0] = IGNORE_INDEX
    return y


class RecordingCache:
    """Per-process LRU of whole recordings: normalised signals ``(channels, epochs*samples)`` + targets."""

    def __init__(
        self,
        location: str,
        recordings: Sequence[str],
        normaliser: Normaliser,
        channel_index: Sequence[int],
        storage_options: dict[str, Any] | None = None,
        max_recordings: int = 16,
    ) -> None:
        self.location = location
        self.recordings = list(recordings)
        self.normaliser = normaliser
        self.channel_index = list(channel_index)
        self.storage_options = storage_options
        self.max_recordings = max(1, max_recordings)
        self._store: Any = None
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.loads = 0
        """Number of whole-recording reads so far in this process (for tests and benchmarks)."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_store"] = None  # workers open the store themselves
        state["_cache"] = OrderedDict()
        return state

    @property
    def store(self) -> Any:
        if self._store is None:
            from physioex.store import open_store

            # check=False: the main process checked the whole store; here each recording is checked
            # once, before its first read, instead of every worker re-checking every recording.
            self._store = open_store(self.location, self.storage_options, check=False)
        return self._store

    def get(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """``(signals (C, epochs*samples) float32, targets (epochs,) int64)`` of recording index ``r``."""
        hit = self._cache.get(r)
        if hit is not None:
            self._cache.move_to_end(r)
            return hit
        rec = self.recordings[r]
        x = self.store.signals(rec)[:, self.channel_index]
        x = self.normaliser.apply(x)  # (E, C, S)
        flat = np.ascontiguousarray(x.transpose(1, 0, 2).reshape(x.shape[1], -1))
        item = (flat, to_targets(self.store.labels(rec)))
        self.loads += 1
        self._cache[r] = item
        while len(self._cache) > self.max_recordings:
            self._cache.popitem(last=False)
        return item


class WindowDataset(Dataset):
    """Windows ``x (L, channels, samples)`` float32 and ``y (L,)`` int64 addressed by ``WindowKey``."""

    def __init__(self, cache: RecordingCache, seq_len: int, samples_per_epoch: int) -> None:
        self.cache = cache
        self.seq_len = seq_len
        self.samples = samples_per_epoch

    def __len__(self) -> int:  # only the sampler's keys are valid; length is the sampler's business
        return len(self.cache.recordings)

    def length(self, key: WindowKey) -> int:
        """Epochs in window ``key``: L, or the whole recording when it is shorter (never padded)."""
        return window_length(self.cache.get(key[0])[1].shape[0], self.seq_len)

    def window(self, key: WindowKey) -> tuple[np.ndarray, np.ndarray]:
        """Numpy window for ``key = (recording, start, shift, keep_from)``; see ``physioex.train.windows``."""
        length = self.length(key)
        x = np.empty((length, len(self.cache.channel_index), self.samples), dtype=np.float32)
        y = np.empty(length, dtype=np.int64)
        self._window_into(key, x, y)
        return x, y

    def _window_into(self, key: WindowKey, x_out: np.ndarray, y_out: np.ndarray) -> None:
        """Write window ``key`` into ``x_out (length, C, S)`` and ``y_out (length,)`` (one copy)."""
        r, start, shift, keep_from = key
        flat, targets = self.cache.get(r)
        s, length = self.samples, y_out.shape[0]
        stop = start + length
        if stop > targets.shape[0]:
            raise IndexError(f"window {key} of {length} epochs runs past recording {r}'s {targets.shape[0]}")
        a, b = start * s, stop * s
        shift = int(np.clip(shift, -a, flat.shape[1] - b))
        seg = flat[:, a + shift : b + shift]
        y_out[...] = targets[start:stop]
        if keep_from:
            y_out[:keep_from] = IGNORE_INDEX
        x_out[...] = seg.reshape(seg.shape[0], length, s).transpose(1, 0, 2)

    def __getitem__(self, key: WindowKey) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.window(key)
        return torch.from_numpy(x), torch.from_numpy(y)


class BatchWindowDataset(WindowDataset):
    """``WindowDataset`` that assembles a whole batch at once (use with ``collate_fn=passthrough``)."""

    def __getitems__(self, keys: list[WindowKey]) -> tuple[torch.Tensor, torch.Tensor]:
        """A whole batch ``x (B, L, C, S)``, ``y (B, L)`` written straight into one tensor (its windows
        share one length: ``WorkerBatchSampler`` batches a recording shorter than L on its own).

        In a DataLoader worker the tensor lives in shared memory, so handing it to the main
        process costs no further copy (what ``default_collate`` does, minus the per-item tensors).
        Use with ``collate_fn=passthrough``.
        """
        shape = (len(keys), self.length(keys[0]), len(self.cache.channel_index), self.samples)
        x = _empty(shape, torch.float32)
        y = _empty(shape[:2], torch.int64)
        xn, yn = x.numpy(), y.numpy()
        for i, key in enumerate(keys):
            if self.length(key) != shape[1]:
                raise ValueError(f"a batch mixes windows of {shape[1]} and {self.length(key)} epochs")
            self._window_into(key, xn[i], yn[i])
        return x, y


def _empty(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """Uninitialised tensor, in shared memory when called inside a DataLoader worker."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = int(np.prod(shape))
    storage = torch.empty(0, dtype=dtype)._typed_storage()._new_shared(numel, device="cpu")
    return torch.empty(0, dtype=dtype).new(storage).resize_(*shape)


def passthrough(batch: Any) -> Any:
    """``collate_fn`` for ``BatchWindowDataset``: the batch ``(x, y)`` is already assembled."""
    return batch
