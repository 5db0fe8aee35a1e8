"""Which L-epoch windows of each recording are read during training: seeded training order, the
validation cover (``physioex.inference.windows``) and the per-worker batching of both.

A window key is ``(recording index, start epoch, shift in samples, keep_from)``: the dataset
returns epochs ``start .. start+L-1`` (signal shifted by ``shift`` samples; the whole recording
when it is shorter than L) and ignores the labels of positions before ``keep_from`` (already
scored by the previous window).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from physioex.inference.windows import scoring_windows, window_length

WindowKey = tuple[int, int, int, int]


def _world() -> tuple[int, int]:
    """(rank, world size) of torch.distributed, or (0, 1) when not running distributed."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def train_windows_per_recording(n_epochs: int, seq_len: int, max_skip: int) -> int:
    """Fixed number of training windows drawn from a recording every pass (so len() is exact)."""
    if n_epochs < seq_len:
        return 0
    return max(1, (n_epochs - min(max_skip, n_epochs - seq_len)) // seq_len)


class TrainWindowSampler:
    """Seeded training order: a new random start offset (sequence skip) and signal shift per
    recording every pass, windows shuffled within groups of ``group_size`` recordings.

    The offset of a recording's first window is drawn in ``0 .. min(max_skip, slack)`` epochs
    (TinySleepNet skips 0-4 epochs: ``max_skip=4``; ``slack`` = epochs left over by its
    ``train_windows_per_recording`` windows), the others follow every L epochs. ``max_skip=0`` (what
    the data module passes when augmentation is off) or ``shuffle=False`` gives offset 0: the same
    windows every pass (their order still changes with ``shuffle``). ``max_skip=None`` means L - 1.

    Grouping keeps each DataLoader worker's recording cache small: a worker loads a recording
    once per pass instead of once per window. Call ``set_epoch`` (Lightning does) for a new draw;
    ``WorkerBatchSampler`` turns ``plan()`` into batches (and shards them across DDP ranks).
    """

    def __init__(
        self,
        n_epochs: Sequence[int],
        seq_len: int,
        *,
        seed: int = 0,
        max_skip: int | None = None,
        max_shift: int = 0,
        group_size: int = 8,
        shuffle: bool = True,
    ) -> None:
        self.n_epochs = [int(n) for n in n_epochs]
        self.seq_len = seq_len
        self.seed = seed
        self.max_skip = seq_len - 1 if max_skip is None else max_skip
        self.max_shift = max_shift
        self.group_size = max(1, group_size)
        self.shuffle = shuffle
        self.epoch = 0
        self.counts = [train_windows_per_recording(n, seq_len, self.max_skip) for n in self.n_epochs]

    def set_epoch(self, epoch: int) -> None:
        """Select the pass whose offsets and order ``plan`` draws (deterministic per seed)."""
        self.epoch = int(epoch)

    def plan(self) -> tuple[list[int], dict[int, list[WindowKey]]]:
        """Recording order of the current pass and each recording's windows (new offset and shift)."""
        rng = np.random.default_rng([self.seed, self.epoch])
        recs = [r for r, c in enumerate(self.counts) if c > 0]
        order = rng.permutation(recs).tolist() if self.shuffle else recs
        per_rec: dict[int, list[WindowKey]] = {}
        for r in order:
            n, c = self.n_epochs[r], self.counts[r]
            skip = min(self.max_skip, n - c * self.seq_len) if self.shuffle else 0
            offset = int(rng.integers(0, skip + 1)) if skip > 0 else 0
            shift = int(rng.integers(-self.max_shift, self.max_shift + 1)) if self.max_shift else 0
            per_rec[r] = [(r, offset + k * self.seq_len, shift, 0) for k in range(c)]
        return order, per_rec

    def window_length(self, key: WindowKey) -> int:
        """Epochs of window ``key``: always L (recordings shorter than L give no training window)."""
        return self.seq_len


class EvalWindowSampler:
    """Every epoch of every recording exactly once, recording by recording (``scoring_windows``)."""

    def __init__(self, n_epochs: Sequence[int], seq_len: int) -> None:
        self.n_epochs = [int(n) for n in n_epochs]
        self.seq_len = seq_len
        self._keys: list[WindowKey] = [
            (r, w.start, 0, w.keep_from)
            for r, n in enumerate(self.n_epochs)
            for w in scoring_windows(n, seq_len)
        ]
        self.group_size = 1
        self.shuffle = False
        self.seed = 0
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def plan(self) -> tuple[list[int], dict[int, list[WindowKey]]]:
        """Recordings in order and each one's evaluation windows."""
        per_rec: dict[int, list[WindowKey]] = {}
        for key in self._keys:
            per_rec.setdefault(key[0], []).append(key)
        return sorted(per_rec), per_rec

    def window_length(self, key: WindowKey) -> int:
        """Epochs of window ``key``: L, or the whole recording when it is shorter than L."""
        return window_length(self.n_epochs[key[0]], self.seq_len)

    def __len__(self) -> int:
        return len(self._keys)


def _batches(
    keys: list[WindowKey], batch_size: int, length: Callable[[WindowKey], int]
) -> list[list[WindowKey]]:
    """Consecutive ``keys`` in batches of at most ``batch_size`` windows of one length (a batch is one
    tensor; only a recording shorter than L has shorter windows, so it gets batches of its own)."""
    out: list[list[WindowKey]] = []
    for key in keys:
        if out and len(out[-1]) < batch_size and length(out[-1][-1]) == length(key):
            out[-1].append(key)
        else:
            out.append([key])
    return out


def _equalise(per_worker: list[list[list[WindowKey]]]) -> None:
    """Split the largest batches of workers with fewer batches until all have the same count.

    The DataLoader's strict round-robin then sends every batch to the worker owning its recordings.
    """
    target = max((len(b) for b in per_worker), default=0)
    for batches in per_worker:
        while 0 < len(batches) < target:
            j = max(range(len(batches)), key=lambda i: len(batches[i]))
            if len(batches[j]) < 2:
                break
            half = len(batches[j]) // 2
            batches[j : j + 1] = [batches[j][:half], batches[j][half:]]


class WorkerBatchSampler:
    """Batches arranged so that each DataLoader worker reads only its own recordings.

    A DataLoader hands batch i to worker ``i % num_workers``. Recordings are dealt to workers once
    and for all (balancing window counts); worker w's batches are drawn only from its recordings, in
    groups of ``group_size`` recordings (its cache), shuffled within the group when training.
    So every recording is read from the store once per pass in total, not once per worker.
    With ``distributed=True`` recordings are first dealt to DDP ranks, and every rank yields the
    same number of batches.
    """

    def __init__(
        self,
        sampler: TrainWindowSampler | EvalWindowSampler,
        batch_size: int,
        num_workers: int,
        *,
        distributed: bool = True,
    ) -> None:
        self.sampler = sampler
        self.batch_size = batch_size
        self.num_workers = max(1, num_workers)
        self.distributed = distributed

    def set_epoch(self, epoch: int) -> None:
        """Select the pass (Lightning calls this on the batch sampler's ``sampler`` too)."""
        self.sampler.set_epoch(epoch)

    def _rank_batches(self, recs: list[int], per_rec: dict[int, list[WindowKey]]) -> list[list[WindowKey]]:
        s = self.sampler
        rng = np.random.default_rng([s.seed, s.epoch, 2])
        # Stable recording -> worker assignment (by index, balancing window counts), so a worker
        # whose share fits its cache never re-reads the store in later passes; the pass order
        # within each worker's share still changes every pass.
        owner: dict[int, int] = {}
        load = [0] * self.num_workers
        for r in sorted(recs):
            w = int(np.argmin(load))
            owner[r] = w
            load[w] += len(per_rec[r])
        streams: list[list[int]] = [[r for r in recs if owner[r] == w] for w in range(self.num_workers)]
        per_worker: list[list[list[WindowKey]]] = []
        for stream in streams:
            keys: list[WindowKey] = []
            for g in range(0, len(stream), s.group_size):
                group = [k for r in stream[g : g + s.group_size] for k in per_rec[r]]
                if s.shuffle:
                    group = [group[i] for i in rng.permutation(len(group))]
                keys += group
            per_worker.append(_batches(keys, self.batch_size, s.window_length))
        _equalise(per_worker)
        out: list[list[WindowKey]] = []
        for i in range(max((len(b) for b in per_worker), default=0)):
            out += [b[i] for b in per_worker if i < len(b)]
        return out

    def batches(self) -> list[list[WindowKey]]:
        """The batches of the current pass for this process (rank)."""
        order, per_rec = self.sampler.plan()
        rank, world = _world() if self.distributed else (0, 1)
        if world == 1:
            return self._rank_batches(order, per_rec)
        ranked = sorted(order)  # stable recording -> rank assignment, pass order kept within each rank
        shares = [set(ranked[k::world]) for k in range(world)]
        all_ranks = [self._rank_batches([r for r in order if r in shares[k]], per_rec) for k in range(world)]
        n = min(len(b) for b in all_ranks)
        return all_ranks[rank][:n]

    def __iter__(self) -> Iterator[list[WindowKey]]:
        # A generator: the batches are drawn at the first ``next``, i.e. after Lightning's
        # ``set_epoch`` (Lightning creates the iterator before setting the epoch when resuming).
        yield from self.batches()

    def __len__(self) -> int:
        return len(self.batches())
