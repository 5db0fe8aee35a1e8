"""LightningDataModule streaming L-epoch windows of one fold of a Zarr epoch store.

Training windows never cross a recording boundary; with ``augment`` they get a new seeded start
offset (at most ``max_skip`` epochs) and signal shift every pass, without it they are the same
windows every pass (offset 0, no shift; only their order is shuffled). Validation/test windows
cover every epoch exactly once. Normalisation is fitted on the fold's TRAIN recordings only.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from torch.utils.data import DataLoader

from physioex.errors import InputError
from physioex.inference.normalise import Normaliser, fit_normaliser
from physioex.train.dataset import BatchWindowDataset, RecordingCache, passthrough
from physioex.train.windows import EvalWindowSampler, TrainWindowSampler, WorkerBatchSampler


class StoreError(InputError):
    """The store, fold or channel selection cannot be used for training (bad input: exit 2)."""


def select_channels(available: list[str], wanted: list[str] | None, where: str) -> list[int]:
    """Indices of ``wanted`` channels in ``available`` (all when empty); clear error when missing."""
    if not wanted:
        return list(range(len(available)))
    missing = [c for c in wanted if c not in available]
    if missing:
        raise StoreError(f"{where} has no channel(s) {missing}; it has {available}")
    return [available.index(c) for c in wanted]


class SleepDataModule(pl.LightningDataModule):
    """Windows of fold ``fold`` of the store at ``location`` (path or fsspec URL)."""

    def __init__(
        self,
        location: str,
        fold: int = 0,
        *,
        channels: list[str] | None = None,
        seq_len: int = 21,
        batch_size: int = 32,
        eval_batch_size: int = 64,
        normalisation: str = "global",
        augment: bool = True,
        max_shift_fraction: float = 0.1,
        max_skip: int | None = None,
        num_workers: int = 2,
        cache_recordings: int = 8,
        seed: int = 0,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.location = str(location)
        self.fold_index = fold
        self.wanted_channels = list(channels or [])
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.normalisation = normalisation
        self.augment = augment
        self.max_shift_fraction = max_shift_fraction
        self.max_skip = max_skip
        self.num_workers = num_workers
        self.cache_recordings = cache_recordings
        self.seed = seed
        self.storage_options = storage_options
        self.splits: dict[str, list[str]] = {}
        self.subjects: dict[str, list[str]] = {}
        self.preprocessing: dict[str, Any] | None = None
        self.params_hash: str | None = None
        self.normaliser: Normaliser | None = None
        self._ready = False

    # -- setup -------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        """Open the store, resolve the fold's recordings and channels, fit normalisation on train."""
        if self._ready:
            return
        from physioex.store import open_store

        store = open_store(self.location, self.storage_options)
        if not store.recordings:
            raise StoreError(f"store {self.location} holds no recordings; run `physioex preprocess` first")
        folds = store.folds
        if not folds:
            raise StoreError(f"store {self.location} has no folds (fewer than 3 subjects?)")
        if not 0 <= self.fold_index < len(folds):
            raise StoreError(f"fold {self.fold_index} does not exist; store {self.location} has {len(folds)}")
        fold = folds[self.fold_index]
        for split in ("train", "valid", "test"):
            self.subjects[split] = [str(s) for s in getattr(fold, split)]
            self.splits[split] = store.recordings_of(getattr(fold, split))
        for split in ("train", "valid"):
            if not self.splits[split]:
                raise StoreError(f"fold {self.fold_index} of {self.location} has no {split} recordings")
        self.store_channels = store.channels
        self.channel_index = select_channels(store.channels, self.wanted_channels, f"store {self.location}")
        self.channels = [store.channels[i] for i in self.channel_index]
        self.sampling_rate = store.sampling_rate
        self.samples_per_epoch = store.samples_per_epoch
        self.dataset_name = store.dataset
        self.preprocessing = store.attrs.get("preprocessing")  # recorded so predict reads PSGs the same way
        self.params_hash = store.attrs.get("params_hash")
        self.n_epochs = {s: [store.n_epochs(r) for r in recs] for s, recs in self.splits.items()}
        if sum(n >= self.seq_len for n in self.n_epochs["train"]) == 0:
            raise StoreError(
                f"no training recording of fold {self.fold_index} has at least L={self.seq_len} epochs"
            )
        # By construction only TRAIN recording ids reach the fit.
        self.normaliser = fit_normaliser(store, self.splits["train"], self.normalisation, self.channel_index)
        self._ready = True

    # -- loaders -----------------------------------------------------------------------------
    def _dataset(self, split: str) -> BatchWindowDataset:
        assert self.normaliser is not None
        cache = RecordingCache(
            self.location,
            self.splits[split],
            self.normaliser,
            self.channel_index,
            self.storage_options,
            max_recordings=self.cache_recordings,
        )
        return BatchWindowDataset(cache, self.seq_len, self.samples_per_epoch)

    def _loader(
        self, dataset: BatchWindowDataset, batches: WorkerBatchSampler, persistent: bool
    ) -> DataLoader:
        workers = self.num_workers
        return DataLoader(
            dataset,
            batch_sampler=batches,
            collate_fn=passthrough,
            num_workers=workers,
            persistent_workers=persistent and workers > 0,
            prefetch_factor=4 if workers > 0 else None,
        )

    def train_sampler(self) -> TrainWindowSampler:
        """Seeded window order of the training recordings: new offsets (``0 .. max_skip`` epochs) and
        shifts every pass with ``augment``, fixed windows in a new order without."""
        max_shift = int(self.max_shift_fraction * self.samples_per_epoch) if self.augment else 0
        return TrainWindowSampler(
            self.n_epochs["train"],
            self.seq_len,
            seed=self.seed,
            max_skip=self.max_skip if self.augment else 0,
            max_shift=max_shift,
            group_size=self.cache_recordings,
            shuffle=True,
        )

    def train_batch_sampler(self) -> WorkerBatchSampler:
        """Training batches, each worker reading only its own recordings (sharded across DDP ranks)."""
        return WorkerBatchSampler(self.train_sampler(), self.batch_size, self.num_workers, distributed=True)

    def eval_batch_sampler(self, split: str) -> WorkerBatchSampler:
        """Every epoch of ``split`` once; every DDP rank scores all of it (metrics stay exact)."""
        sampler = EvalWindowSampler(self.n_epochs[split], self.seq_len)
        return WorkerBatchSampler(sampler, self.eval_batch_size, self.num_workers, distributed=False)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self._dataset("train"), self.train_batch_sampler(), persistent=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self._dataset("valid"), self.eval_batch_sampler("valid"), persistent=True)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self._dataset("test"), self.eval_batch_sampler("test"), persistent=False)
