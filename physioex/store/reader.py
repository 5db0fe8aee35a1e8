"""Read-only access to a Zarr epoch store: recordings, channels, signals in uV, labels and folds.

Only recordings listed in the root index (written last by ``physioex preprocess``) are visible.
An ``EpochStore`` pickles as its location only, so it can be handed to DataLoader worker processes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from physioex.store import layout
from physioex.store.folds import Fold, sort_subjects


class StoreError(RuntimeError):
    """The store is missing, incomplete or written by an incompatible version."""


class EpochStore:
    """A physioex epoch store opened read-only (see ``open_store``)."""

    def __init__(self, location: str, storage_options: dict[str, Any] | None = None) -> None:
        self.location = location
        self.storage_options = storage_options
        self._root: Any = None
        self._arrays: dict[str, tuple[list[Any], Any]] = {}
        self._load()

    # -- opening -------------------------------------------------------------------------------
    def _load(self) -> None:
        import zarr

        kwargs: dict[str, Any] = {}
        if self.storage_options is not None:
            kwargs["storage_options"] = self.storage_options
        try:
            self._root = zarr.open_group(self.location, mode="r", **kwargs)
        except (FileNotFoundError, zarr.errors.GroupNotFoundError) as exc:
            raise StoreError(f"no Zarr store at {self.location}") from exc
        attrs = dict(self._root.attrs)
        version = attrs.get("format_version")
        if version is None or "recordings" not in attrs:
            raise StoreError(
                f"{self.location} is not a complete physioex store (no format_version/recording index); "
                "re-run `physioex preprocess`"
            )
        if version != layout.FORMAT_VERSION:
            raise StoreError(
                f"{self.location} has format_version {version}; this physioex reads {layout.FORMAT_VERSION}"
            )
        self._attrs = attrs
        self._index: dict[str, dict[str, Any]] = attrs["recordings"]
        self._arrays = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"location": self.location, "storage_options": self.storage_options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.location = state["location"]
        self.storage_options = state["storage_options"]
        self._load()

    def __repr__(self) -> str:
        return f"EpochStore({self.location!r}, {len(self._index)} recordings, channels={self.channels})"

    # -- global properties ---------------------------------------------------------------------
    @property
    def attrs(self) -> dict[str, Any]:
        """Root attributes: format_version, dataset, channels, sampling_rate, preprocessing, folds, ..."""
        return dict(self._attrs)

    @property
    def dataset(self) -> str:
        return str(self._attrs.get("dataset", ""))

    @property
    def recordings(self) -> list[str]:
        """Sorted ids of the complete recordings."""
        return sorted(self._index)

    @property
    def channels(self) -> list[str]:
        """Channel names in the order of the channel axis of ``signals``."""
        return list(self._attrs["channels"])

    @property
    def sampling_rate(self) -> float:
        """Common sampling rate of all stored signals, Hz."""
        return float(self._attrs["sampling_rate"])

    @property
    def samples_per_epoch(self) -> int:
        """Samples per 30-s epoch and channel (3000 at 100 Hz)."""
        return int(self._attrs["samples_per_epoch"])

    @property
    def subjects(self) -> list[str]:
        """Sorted subject ids that have at least one recording."""
        return sort_subjects(str(v["subject"]) for v in self._index.values())

    @property
    def folds(self) -> list[Fold]:
        """Subject-wise cross-validation folds (empty when there are fewer than 3 subjects)."""
        return [Fold.from_dict(d) for d in self._attrs.get("folds", [])]

    def fold(self, i: int) -> Fold:
        folds = self.folds
        if not 0 <= i < len(folds):
            raise IndexError(f"fold {i} does not exist; {self.location} has {len(folds)} folds")
        return folds[i]

    # -- per recording -------------------------------------------------------------------------
    def _check(self, rec: str) -> None:
        if rec not in self._index:
            raise KeyError(f"recording {rec!r} is not in store {self.location}")

    def recording_info(self, rec: str) -> dict[str, Any]:
        """Per-recording attributes: subject, night, n_epochs, start_time, files (+sha256), crop, ..."""
        self._check(rec)
        return dict(self._root[layout.recording_path(rec)].attrs)

    def n_epochs(self, rec: str) -> int:
        """Number of stored epochs of ``rec`` (consecutive in time)."""
        self._check(rec)
        return int(self._index[rec]["n_epochs"])

    def subject_of(self, rec: str) -> str:
        self._check(rec)
        return str(self._index[rec]["subject"])

    def recordings_of(self, subjects: Iterable[str | int]) -> list[str]:
        """Sorted recordings belonging to any of ``subjects``."""
        wanted = {str(s) for s in subjects}
        return sorted(r for r, v in self._index.items() if str(v["subject"]) in wanted)

    def _channel_arrays(self, rec: str) -> tuple[list[Any], Any]:
        cached = self._arrays.get(rec)
        if cached is None:
            group = self._root[layout.recording_path(rec)]
            sig = group[layout.SIGNALS]
            with layout.quiet_numcodecs():
                arrays = [sig[layout.channel_key(ch)] for ch in self.channels]
            cached = (arrays, group[layout.LABELS])
            self._arrays[rec] = cached
        return cached

    def signals(self, rec: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Epochs ``start:stop`` of ``rec``: float32 ``(epochs, channels, samples)``, physical units (uV)."""
        self._check(rec)
        arrays, _ = self._channel_arrays(rec)
        n = len(range(*slice(start, stop).indices(self.n_epochs(rec))))
        out = np.empty((n, len(arrays), self.samples_per_epoch), dtype=np.float32)
        for c, arr in enumerate(arrays):
            out[:, c, :] = arr[start:stop]
        return out

    def labels(self, rec: str) -> np.ndarray:
        """Stage per epoch, int8 ``(epochs,)``: 0 W, 1 N1, 2 N2, 3 N3, 4 REM, -1 unscored, -2 movement."""
        self._check(rec)
        _, labels = self._channel_arrays(rec)
        return np.asarray(labels[:], dtype=np.int8)


def open_store(path: str | Path, storage_options: dict[str, Any] | None = None) -> EpochStore:
    """Open a store read-only from a local path or an fsspec URL (``s3://...``, ``http://...``)."""
    location = str(path)
    return EpochStore(location, storage_options)
