"""Per-stage measurements for the unified run, built on the stage benchmarks' own functions.

``bench_preprocess`` (preprocess vs MNE path vs decode floor), ``bench_train`` (loader, training from the
store vs memory, whole-night inference vs batch-1) and ``bench_explain`` (batched IG vs per-epoch Captum
loop, band masking vs 63 filtered copies) are called here with repeats, plus the do-it-yourself numpy
memmap loader. Each ``worker_*`` runs in its own child process and returns plain numbers.

Child entry: ``python -m benchmarks.stages train STORE REPEATS`` or ``explain REPEATS``.
"""

from __future__ import annotations

import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import emit, python_child


# ------------------------------------------------------------------------------------- preprocess
def preprocess_section(raw: Path, work: Path, repeats: int, dataset: str = "demo") -> dict[str, Any]:
    """Decode floor, our preprocess (``--crop none`` like the baseline, and ``--jobs 2``), the MNE path."""
    import shutil

    from benchmarks import bench_preprocess as bp

    methods = [
        ("floor", "floor", "none", 1),
        ("physioex", "physioex", "none", 1),
        ("physioex_jobs2", "physioex", "none", 2),
        ("mne", "mne", "none", 1),
    ]
    out: dict[str, Any] = {}
    for label, method, crop, jobs in methods:
        rows = []
        for i in range(repeats):
            dest = work / f"pre_{label}_{i}"
            rows.append(bp._run(method, raw, dataset, dest, "EEG Fpz-Cz", crop, jobs))
            shutil.rmtree(dest, ignore_errors=True)
        secs = [r["seconds"] for r in rows]
        med = sorted(rows, key=lambda r: r["seconds"])[(len(rows) - 1) // 2]
        out[label] = {**med, "seconds": statistics.median(secs), "runs": secs}
    return out


# ------------------------------------------------------------------------------------------ train
class MemmapWindows:
    """DIY baseline: training windows sliced from one float32 ``.npy`` memmap ``(epochs, C, S)`` of all
    recordings (opened once per process), the way a hand-written numpy pipeline would read them."""

    def __init__(self, path: Path, offsets: list[int], seq_len: int) -> None:
        self.path, self.offsets, self.seq_len = path, offsets, seq_len
        self._arr: Any = None

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, key: tuple[int, int, int, int]) -> tuple[Any, Any]:
        import numpy as np
        import torch

        if self._arr is None:
            self._arr = np.load(self.path, mmap_mode="r")
        r, start, _, _ = key
        a = self.offsets[r] + start
        return torch.from_numpy(np.array(self._arr[a : a + self.seq_len])), torch.zeros(self.seq_len)


def _keys(dm: Any, passes: int) -> list[Any]:
    """Window keys of ``passes`` consecutive training passes (new offsets and order each pass)."""
    keys: list[Any] = []
    for p in range(passes):
        batches = dm.train_batch_sampler()  # the production path: what `physioex train` iterates
        batches.set_epoch(p)
        keys += [k for batch in batches.batches() for k in batch]
    return keys


class MemoryCache:
    """In-memory baseline: whole normalised recordings already held in RAM, with the interface of
    ``physioex.train.dataset.RecordingCache`` (``recordings``, ``get``), so ``WindowDataset`` slices the
    very same windows without touching the store."""

    def __init__(self, items: list[tuple[Any, Any]], channel_index: list[int]) -> None:
        self.items = items
        self.recordings = list(range(len(items)))
        self.channel_index = channel_index

    def get(self, r: int) -> tuple[Any, Any]:
        return self.items[r]


def _loader_rate(dataset: Any, keys: list[Any], batch: int, workers: int, collate_fn: Any = None) -> float:
    """Sequences/s through a DataLoader over ``keys`` (several passes, so worker start-up is amortised)."""
    from torch.utils.data import DataLoader

    loader = DataLoader(
        dataset,
        batch_size=batch,
        sampler=keys,
        num_workers=workers,
        prefetch_factor=4 if workers else None,
        collate_fn=collate_fn,
    )
    n = 0
    t0 = time.perf_counter()
    for x, _ in loader:
        n += x.shape[0]
    return n / (time.perf_counter() - t0)


def worker_train(
    store: str,
    repeats: int,
    slide: int = 60,
    train_steps: int = 2,
    batch_size: int = 16,
    night_epochs: int = 841,
    loader_passes: int = 10,
    workers: int = 2,
) -> dict[str, Any]:
    """Loader (store vs in-memory vs numpy memmap), Chambon2018 training from store vs memory, inference."""
    import numpy as np

    from benchmarks import bench_train as bt
    from physioex.train.datamodule import SleepDataModule

    dm = SleepDataModule(
        store, 0, seq_len=21, batch_size=batch_size, num_workers=workers, cache_recordings=64
    )
    dm.setup()
    out: dict[str, Any] = {"workers": workers, "seq_len": 21, "batch_size": batch_size}

    # 1. loader: the same window keys (several passes) from the store, from memory, from a numpy memmap.
    train_loader = dm.train_dataloader()  # the project's own dataset and collate function
    ds, collate = train_loader.dataset, train_loader.collate_fn
    cache = ds.cache
    flats, targets = zip(*(cache.get(r) for r in range(len(cache.recordings))), strict=True)
    mem = copy.copy(ds)
    mem.cache = MemoryCache(list(zip(flats, targets, strict=True)), list(cache.channel_index))
    keys = _keys(dm, loader_passes)
    with tempfile.TemporaryDirectory() as tmp:
        arrays = [f.reshape(f.shape[0], -1, dm.samples_per_epoch).transpose(1, 0, 2) for f in flats]
        path = Path(tmp) / "epochs.npy"
        np.save(path, np.concatenate(arrays).astype(np.float32))
        offsets = [int(o) for o in np.cumsum([0] + [a.shape[0] for a in arrays[:-1]])]
        memmap = MemmapWindows(path, offsets, dm.seq_len)
        rates: dict[str, list[float]] = {"store": [], "memory": [], "memmap": []}
        for _ in range(repeats):
            for name, dataset, fn in (
                ("store", ds, collate),
                ("memory", mem, collate),
                ("memmap", memmap, None),
            ):
                rates[name].append(_loader_rate(dataset, keys, dm.batch_size, workers, fn))
    out["loader"] = {
        "store_sequences_per_s": statistics.median(rates["store"]),
        "in_memory_sequences_per_s": statistics.median(rates["memory"]),
        "memmap_sequences_per_s": statistics.median(rates["memmap"]),
        "runs": rates,
        "sequences_per_run": len(keys),
        "passes_per_run": loader_passes,
    }

    # 2. training throughput fed from the store vs from memory (same batches).
    # bench_training draws 4 warm-up batches, then `steps` timed ones, from one training pass.
    steps = min(train_steps, len(_keys(dm, 1)) // dm.batch_size - 4)
    if steps < 1:
        raise ValueError(f"store {store}: too few training windows for batch size {dm.batch_size}")
    rows = [bt.bench_training(dm, "chambon2018", steps, workers) for _ in range(repeats)]
    out["training"] = {
        "model": "chambon2018",
        "store_sequences_per_s": statistics.median(r[0] for r in rows),
        "in_memory_sequences_per_s": statistics.median(r[1] for r in rows),
        "runs": [list(r) for r in rows],
        "steps": steps,
    }

    # 3. whole-night inference (841 epochs, as SC4001) vs batch-1 window slid one epoch at a time.
    inf = [bt.bench_inference("tinysleepnet", night_epochs, 21, slide) for _ in range(repeats)]
    out["inference"] = {
        "model": "tinysleepnet",
        "night_epochs": night_epochs,
        "whole_night_epochs_per_s": statistics.median(r[0] for r in inf),
        "batch1_sliding_epochs_per_s": statistics.median(r[1] for r in inf),
        "sliding_epochs_timed": slide,
    }
    return out


# ---------------------------------------------------------------------------------------- explain
def worker_explain(
    repeats: int, epochs: int = 42, loop_epochs: int = 4, n_steps: int = 16, model_name: str = "tinysleepnet"
) -> dict[str, Any]:
    """Batched IG vs the per-epoch Captum loop; one FFT pass per band vs 63 filtered copies."""
    import warnings

    import numpy as np
    import torch

    from benchmarks import bench_explain as be
    from physioex.explain.attribute import OwnEpochModel, explain_recording, plan_windows
    from physioex.explain.bands import band_drop
    from physioex.explain.methods import MethodConfig
    from physioex.models import build_model

    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    seq_len, fs = 21, be.FS
    model = build_model(model_name, n_channels=1).eval()
    x = be._signals(epochs, 1)
    labels = np.zeros(epochs, dtype=np.int64)
    cfg = MethodConfig(n_steps=n_steps, internal_batch_size=128)

    def ours() -> None:
        explain_recording(model, x, torch.zeros_like(x), labels, seq_len, fs, config=cfg, bands=None)

    ig_ours, ig_loop = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours()
        ig_ours.append(epochs / (time.perf_counter() - t0))
        ig_loop.append(loop_epochs / be._per_epoch_loop(model, x, seq_len, loop_epochs, n_steps))

    wx = x[: (epochs // seq_len) * seq_len]
    res = explain_recording(
        model, wx, torch.zeros_like(wx), labels, seq_len, fs, method="saliency", bands=None
    )
    plan = plan_windows(wx.shape[0], seq_len)
    own = OwnEpochModel(model, wx.reshape(-1, seq_len, *wx.shape[1:]))
    win, pos = torch.as_tensor(plan.win), torch.as_tensor(plan.pos)
    tgt = torch.as_tensor(res.targets.astype(np.int64))
    rows = torch.arange(wx.shape[0])

    def score(xx: torch.Tensor) -> torch.Tensor:
        return own.probabilities(xx, win, pos)[rows, tgt]

    fft, copies = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        band_drop(score, wx, fs)
        fft.append(time.perf_counter() - t0)
        copies.append(be._sixty_three_copies(score, wx))
    return {
        "model": model_name,
        "epochs": epochs,
        "n_steps": n_steps,
        "ig_batched_epochs_per_s": statistics.median(ig_ours),
        "ig_per_epoch_loop_epochs_per_s": statistics.median(ig_loop),
        "loop_epochs_timed": loop_epochs,
        "band_epochs": int(wx.shape[0]),
        "band_fft_seconds": statistics.median(fft),
        "band_63_copies_seconds": statistics.median(copies),
    }


def train_section(store: Path, repeats: int, quick: bool = False) -> dict[str, Any]:
    """``worker_train`` in a child process (peak memory recorded)."""
    args = ["train", str(store), str(repeats)] + (["quick"] if quick else [])
    res = python_child("benchmarks.stages", *args)
    return {**res.data, "peak_rss_mb": res.peak_rss_mb}


def explain_section(repeats: int, quick: bool = False) -> dict[str, Any]:
    """``worker_explain`` in a child process."""
    args = ["explain", str(repeats)] + (["quick"] if quick else [])
    res = python_child("benchmarks.stages", *args)
    return {**res.data, "peak_rss_mb": res.peak_rss_mb}


def main(argv: list[str] | None = None) -> None:
    """Child-process entry."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[0] == "train":
        quick = argv[3:] == ["quick"]
        if quick:
            emit(
                worker_train(
                    argv[1],
                    int(argv[2]),
                    slide=5,
                    train_steps=1,
                    batch_size=4,
                    night_epochs=84,
                    loader_passes=1,
                    workers=0,
                )
            )
        else:
            emit(worker_train(argv[1], int(argv[2])))
    elif argv[0] == "explain":
        if argv[2:] == ["quick"]:
            emit(worker_explain(int(argv[1]), epochs=21, loop_epochs=1, n_steps=2, model_name="chambon2018"))
        else:
            emit(worker_explain(int(argv[1])))
    else:
        raise SystemExit(f"unknown stage {argv[0]!r}")


if __name__ == "__main__":
    main()
