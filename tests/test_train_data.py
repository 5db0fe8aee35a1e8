"""Windows, data loading and normalisation on a real Zarr store written with the store's writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from physioex.inference.normalise import Normaliser, fit_normaliser
from physioex.inference.windows import scoring_windows
from physioex.store import open_store
from physioex.synth.store import write_synthetic_store
from physioex.train.datamodule import SleepDataModule, StoreError
from physioex.train.dataset import IGNORE_INDEX
from physioex.train.windows import TrainWindowSampler, WorkerBatchSampler

LENGTHS = [37, 52, 8, 45, 60, 41, 33, 29]  # one night (8 epochs) is shorter than L


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_store(
        tmp_path_factory.mktemp("data") / "s.zarr",
        subjects=8,
        epochs=LENGTHS,
        channels=("EEG Fpz-Cz", "EOG horizontal"),
        n_folds=4,
        chunk_epochs=16,
    )


@pytest.mark.parametrize("seq_len", [1, 5, 7, 21])
def test_eval_windows_cover_every_epoch_exactly_once(seq_len: int) -> None:
    for n in range(1, 80):
        counts = np.zeros(n, dtype=int)
        for start, _, keep in scoring_windows(n, seq_len):
            assert start >= 0 and (start + seq_len <= n or n < seq_len)
            counts[start + keep : min(start + seq_len, n)] += 1
        assert np.all(counts == 1), (n, seq_len)
        assert len(scoring_windows(n, seq_len)) == -(-n // seq_len)


def _train_keys(sampler: TrainWindowSampler) -> list[tuple[int, int, int, int]]:
    """The window keys of the current pass in the order `physioex train` reads them (one worker)."""
    return [k for batch in WorkerBatchSampler(sampler, 4, 1, distributed=False).batches() for k in batch]


def test_train_sampler_is_seeded_varies_per_pass_and_stays_inside_recordings() -> None:
    lengths, L = [37, 52, 8, 45], 10
    s = TrainWindowSampler(lengths, L, seed=3, max_shift=300, group_size=2)
    s.set_epoch(0)
    a = _train_keys(s)
    assert a == _train_keys(TrainWindowSampler(lengths, L, seed=3, max_shift=300, group_size=2))
    s.set_epoch(1)
    b = _train_keys(s)
    assert a != b and len(a) == len(b) == sum(s.counts)
    for keys in (a, b):
        for r, start, shift, keep in keys:
            assert start >= 0 and start + L <= lengths[r] and abs(shift) <= 300 and keep == 0
        assert {k[0] for k in keys} == {0, 1, 3}  # the 8-epoch night cannot hold a window
    starts0 = sorted(k[1] for k in a if k[0] == 1)
    assert np.all(np.diff(starts0) == L)  # non-overlapping within one pass
    # groups of 2 recordings: all windows of the first two recordings drawn come before the third's
    recs = [k[0] for k in a]
    first_two = list(dict.fromkeys(recs))[:2]
    last_of_group = max(i for i, r in enumerate(recs) if r in first_two)
    assert all(r in first_two for r in recs[: last_of_group + 1])


def _offsets(sampler: TrainWindowSampler, passes: int) -> list[int]:
    """Start of the first window of every recording in each of ``passes`` passes (its sequence skip)."""
    out = []
    for epoch in range(passes):
        sampler.set_epoch(epoch)
        _, per_rec = sampler.plan()
        for keys in per_rec.values():
            starts = [k[1] for k in keys]
            assert np.all(np.diff(starts) == sampler.seq_len)  # the others follow every L epochs
            out.append(starts[0])
    return out


def test_max_skip_bounds_the_random_start_offset() -> None:
    """TinySleepNet skips 0-4 epochs at the start of a night's sequences, whatever the slack."""
    lengths, L = [200, 157, 96, 45], 10  # slack of 6..10 epochs beyond 4
    offsets = _offsets(TrainWindowSampler(lengths, L, seed=1, max_skip=4), 50)
    assert set(offsets) <= set(range(5)) and len(set(offsets)) >= 4
    wide = _offsets(TrainWindowSampler(lengths, L, seed=1), 50)  # default L - 1
    assert max(wide) > 4 and set(wide) <= set(range(L))
    assert set(_offsets(TrainWindowSampler(lengths, L, seed=1, max_skip=4, shuffle=False), 3)) == {0}


def test_without_augmentation_training_windows_are_fixed(store: Path) -> None:
    dm = SleepDataModule(str(store), fold=0, seq_len=6, batch_size=4, num_workers=0, augment=False)
    dm.setup()
    sampler = dm.train_sampler()
    assert set(_offsets(sampler, 2)) == {0}
    passes = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        passes.append(_train_keys(sampler))
    assert sorted(passes[0]) == sorted(passes[1]) and all(k[2] == 0 for k in passes[0])  # no shift
    assert passes[0] != passes[1]  # the order is still shuffled


def test_windows_are_slices_of_the_normalised_recording(store: Path) -> None:
    dm = SleepDataModule(str(store), fold=0, seq_len=6, batch_size=4, num_workers=0, augment=False)
    dm.setup()
    st = open_store(store)
    ds = dm._dataset("train")
    keys = _train_keys(dm.train_sampler())[:20]
    for key in keys:
        r, start, _, _ = key
        x, y = ds[key]
        rec = dm.splits["train"][r]
        expected = dm.normaliser.apply(st.signals(rec, start, start + 6))
        np.testing.assert_allclose(x.numpy(), expected, rtol=1e-5, atol=1e-5)
        lab = st.labels(rec)[start : start + 6].astype(np.int64)
        assert torch.equal(y, torch.from_numpy(np.where(lab < 0, IGNORE_INDEX, lab)))
    # whole recordings are cached: one store read per recording, not per window
    assert ds.cache.loads == len({k[0] for k in keys})


def test_signal_shift_moves_the_window_in_time(store: Path) -> None:
    dm = SleepDataModule(str(store), fold=0, seq_len=4, num_workers=0)
    dm.setup()
    ds = dm._dataset("train")
    x0, y0 = ds.window((0, 5, 0, 0))
    x1, y1 = ds.window((0, 5, 250, 0))
    np.testing.assert_array_equal(x1[0, :, :-250], x0[0, :, 250:])
    np.testing.assert_array_equal(y0, y1)  # labels stay with their epochs
    xb, _ = ds.window((0, 0, -250, 0))  # cannot shift before the recording start: clipped to 0
    np.testing.assert_array_equal(xb, ds.window((0, 0, 0, 0))[0])


def test_evaluation_loader_scores_each_epoch_once(store: Path) -> None:
    dm = SleepDataModule(str(store), fold=1, seq_len=10, eval_batch_size=3, num_workers=0)
    dm.setup()
    st = open_store(store)
    recs = dm.splits["test"]
    scored = 0
    n_windows = 0
    for _, y in dm.test_dataloader():
        scored += int((y != IGNORE_INDEX).sum())
        n_windows += y.shape[0]
    expected = sum(int((st.labels(r) >= 0).sum()) for r in recs)
    assert scored == expected and scored > 0
    assert n_windows == sum(len(scoring_windows(st.n_epochs(r), 10)) for r in recs)


def test_loader_with_two_workers_matches_in_process(store: Path) -> None:
    dm = SleepDataModule(str(store), fold=0, seq_len=5, batch_size=4, num_workers=2, seed=1)
    dm.setup()
    dl = dm.train_dataloader()
    dl.batch_sampler.sampler.set_epoch(2)  # what Lightning does each pass
    batches = list(dl)
    expected = dl.batch_sampler.batches()
    ds = dm._dataset("train")  # fresh cache, read in this process
    assert len(batches) == len(expected)
    for (xa, ya), keys in zip(batches, expected, strict=True):
        xb, yb = ds.__getitems__(keys)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert dl.dataset.cache._store is None  # workers open the store themselves


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_each_worker_reads_only_its_own_recordings(store: Path, workers: int) -> None:
    dm = SleepDataModule(str(store), fold=0, seq_len=5, batch_size=4, num_workers=workers, cache_recordings=2)
    dm.setup()
    bs = dm.train_batch_sampler()
    shares = []
    for epoch in range(3):
        bs.set_epoch(epoch)
        batches = bs.batches()
        owned: list[set[int]] = [set() for _ in range(workers)]
        for i, batch in enumerate(batches):  # DataLoader: batch i goes to worker i % workers
            owned[i % workers] |= {k[0] for k in batch}
        if workers > 1:
            assert all(not (owned[a] & owned[b]) for a in range(workers) for b in range(a + 1, workers))
        shares.append(owned)
        # same windows as the pass plan: every planned window exactly once
        _, per_rec = bs.sampler.plan()
        assert sorted(k for b in batches for k in b) == sorted(k for ks in per_rec.values() for k in ks)
        assert all(len(b) <= 4 for b in batches)
    assert shares[0] == shares[1] == shares[2]  # stable shares: a cached recording is never re-read
    ev = dm.eval_batch_sampler("test")
    keys = [k for b in ev for k in b]
    assert len(keys) == len(set(keys)) == sum(len(scoring_windows(n, 5)) for n in dm.n_epochs["test"])


class _ReadLog:
    """Delegates to the real store and records which recordings were read."""

    def __init__(self, store: object) -> None:
        self.store = store
        self.read: list[str] = []

    def signals(self, rec: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        self.read.append(rec)
        return self.store.signals(rec, start, stop)  # type: ignore[attr-defined]


def test_normalisation_uses_train_subjects_only(store: Path) -> None:
    st = open_store(store)
    for k in range(len(st.folds)):
        dm = SleepDataModule(str(store), fold=k, num_workers=0)
        dm.setup()
        fold = st.fold(k)
        assert set(dm.splits["train"]) == set(st.recordings_of(fold.train))
        log = _ReadLog(st)
        norm = fit_normaliser(log, dm.splits["train"], "global", dm.channel_index)
        assert {st.subject_of(r) for r in log.read} <= set(fold.train)
        assert not {st.subject_of(r) for r in log.read} & set(fold.test + fold.valid)
        assert norm == dm.normaliser
        x = np.concatenate([st.signals(r) for r in dm.splits["train"]])
        np.testing.assert_allclose(norm.mean, x.mean(axis=(0, 2)), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(norm.std, x.std(axis=(0, 2)), rtol=1e-4)
        everything = np.concatenate([st.signals(r) for r in st.recordings])
        assert not np.allclose(norm.mean, everything.mean(axis=(0, 2)), rtol=1e-4, atol=1e-4)


def test_per_recording_standardisation() -> None:
    x = np.random.default_rng(0).normal(5.0, 3.0, size=(10, 2, 300)).astype(np.float32)
    y = Normaliser(mode="recording").apply(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(0, 2)), 1, atol=1e-4)


def test_channel_selection_and_errors(store: Path, tmp_path: Path) -> None:
    dm = SleepDataModule(str(store), fold=0, channels=["EOG horizontal"], num_workers=0)
    dm.setup()
    assert dm.channels == ["EOG horizontal"] and dm.channel_index == [1]
    with pytest.raises(StoreError, match=r"no channel\(s\) \['EEG C3'\]"):
        SleepDataModule(str(store), channels=["EEG C3"]).setup()
    with pytest.raises(StoreError, match="fold 9 does not exist"):
        SleepDataModule(str(store), fold=9).setup()
    from physioex.store.writer import init_store, write_root_attrs

    empty = tmp_path / "empty.zarr"
    init_store(empty, "empty")
    write_root_attrs(
        empty,
        {
            "dataset": "empty",
            "channels": [],
            "sampling_rate": 100.0,
            "samples_per_epoch": 3000,
            "recordings": {},
            "folds": [],
        },
    )
    with pytest.raises(StoreError, match="holds no recordings"):
        SleepDataModule(str(empty)).setup()
