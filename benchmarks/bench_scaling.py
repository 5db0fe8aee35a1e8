"""Memory and scaling: peak RSS of preprocess and training at 1, 4 and 16 recordings, ``--jobs`` 1 vs 2,
and store size vs raw EDF size vs float32 arrays.

Each measurement runs in a fresh child process (peak RSS: its ``VmHWM`` and the sampled RSS of its
whole process tree, so ``--jobs 2`` workers count). Preprocess memory should stay at about one
recording's worth whatever the number of
recordings; training keeps at most ``cache`` whole recordings per process, so it grows up to that cap
and then stays flat.

Run ``python -m benchmarks.bench_scaling`` (16 generated demo nights of 4 h) or ``--quick``.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ChildResult,
    bench_main,
    demo_mirror,
    dir_bytes,
    python_child,
    ratio,
)

MODULE = "benchmarks.bench_scaling"
SAMPLES = 3000


def _recordings(raw: Path, n: int) -> list[Any]:
    from physioex.download.listing import parse_listing
    from physioex.sources import get_source

    recs = get_source("demo").recordings(parse_listing((raw / "SHA256SUMS.txt").read_text()))
    if len(recs) < n:
        raise ValueError(f"{raw} holds {len(recs)} recordings, {n} requested")
    return sorted(recs, key=lambda r: r.id)[:n]


def worker_preprocess(raw: Path, out: Path, n: int, jobs: int) -> dict[str, Any]:
    """Preprocess the first ``n`` demo recordings of ``raw`` into ``out`` (default sleep crop)."""
    from physioex.preprocess.params import PreprocessParams
    from physioex.preprocess.run import preprocess_recordings
    from physioex.store import open_store

    recs = _recordings(raw, n)
    t0 = time.perf_counter()
    report = preprocess_recordings(
        recs, raw, out, dataset="demo", params=PreprocessParams(), jobs=jobs, progress=False
    )
    seconds = time.perf_counter() - t0
    if not report.ok:
        raise RuntimeError(report.summary())
    store = open_store(out)
    epochs = sum(store.n_epochs(r) for r in store.recordings)
    raw_bytes = sum((raw / rel).stat().st_size for rec in recs for rel in rec.files.values())
    return {
        "recordings": n,
        "jobs": jobs,
        "seconds": seconds,
        "epochs": epochs,
        "channels": len(store.channels),
        "store_bytes": dir_bytes(out),
        "raw_edf_bytes": raw_bytes,
        "float32_bytes": epochs * len(store.channels) * store.samples_per_epoch * 4,
    }


def worker_train(store_path: Path, model: str, cache: int, batch_size: int, seq_len: int) -> dict[str, Any]:
    """One training pass (forward + backward + Adam) over every recording of the store, in one process.

    Uses the project's own loader pieces (``RecordingCache``, ``WindowDataset``, ``TrainWindowSampler``,
    ``WorkerBatchSampler``)
    with ``num_workers=0`` so the whole training footprint sits in the measured process.
    """
    import torch
    from torch.utils.data import DataLoader

    from physioex.inference.normalise import fit_normaliser
    from physioex.models import build_model
    from physioex.store import open_store
    from physioex.train.dataset import IGNORE_INDEX, RecordingCache, WindowDataset
    from physioex.train.windows import TrainWindowSampler, WorkerBatchSampler

    torch.manual_seed(0)
    store = open_store(store_path)
    recs = store.recordings
    channel_index = list(range(len(store.channels)))
    normaliser = fit_normaliser(store, recs, "global", channel_index)
    ds = WindowDataset(
        RecordingCache(str(store_path), recs, normaliser, channel_index, max_recordings=cache),
        seq_len,
        store.samples_per_epoch,
    )
    sampler = TrainWindowSampler([store.n_epochs(r) for r in recs], seq_len, group_size=cache, max_shift=300)
    batches = WorkerBatchSampler(sampler, batch_size, 1, distributed=False)  # what `physioex train` uses
    loader = DataLoader(ds, batch_sampler=batches, num_workers=0)
    net = build_model(model, n_channels=len(channel_index), sampling_rate=store.sampling_rate)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
    net.train()
    t0 = time.perf_counter()
    sequences = 0
    for x, y in loader:
        opt.zero_grad()
        loss = loss_fn(net(x).reshape(-1, 5), y.reshape(-1))
        loss.backward()
        opt.step()
        sequences += x.shape[0]
    seconds = time.perf_counter() - t0
    return {
        "recordings": len(recs),
        "model": model,
        "sequences": sequences,
        "seconds": seconds,
        "sequences_per_s": sequences / seconds if seconds else None,
        "recording_loads": ds.cache.loads,
        "cache_recordings": cache,
    }


def _child(*args: str) -> ChildResult:
    return python_child(MODULE, "--worker", *args)


def _median(rows: list[ChildResult], key: str) -> float:
    return statistics.median(r.data[key] if key in r.data else getattr(r, key) for r in rows)


def run(
    tmp: Path,
    *,
    counts: tuple[int, ...] = (1, 4, 16),
    hours: float = 4.0,
    repeats: int = 3,
    model: str = "chambon2018",
    cache: int = 8,
    mirror_root: Path | None = None,
    raw: Path | None = None,
) -> dict[str, Any]:
    """Run every scaling measurement; returns the ``scaling`` section of results.json.

    ``raw``: a demo mirror with at least ``max(counts)`` recordings (default: generate one).
    """
    if raw is None:
        raw = demo_mirror((max(counts) + 1) // 2, hours, root=mirror_root)
    out: dict[str, Any] = {
        "data": f"generated demo mirror {raw.name} (Sleep-EDF layout), first {max(counts)} recordings, "
        "default sleep crop, channel EEG Fpz-Cz",
        "preprocess": [],
        "train": [],
    }
    configs = [(n, 1) for n in counts] + [(max(counts), 2)]
    stores: dict[int, Path] = {}
    for n, jobs in configs:
        rows = []
        for i in range(repeats):
            dest = tmp / f"scaling_store_n{n}_j{jobs}_{i}.zarr"
            rows.append(_child("preprocess", str(raw), str(dest), str(n), str(jobs)))
            if jobs == 1 and i == 0:
                stores[n] = dest
            else:
                shutil.rmtree(dest, ignore_errors=True)
        first = rows[0].data
        out["preprocess"].append(
            {
                "recordings": n,
                "jobs": jobs,
                "seconds": _median(rows, "seconds"),
                "runs": [r.data["seconds"] for r in rows],
                "peak_rss_mb": _median(rows, "peak_rss_mb"),
                "peak_rss_mb_runs": [r.peak_rss_mb for r in rows],
                "epochs": first["epochs"],
                "store_bytes": first["store_bytes"],
                "raw_edf_bytes": first["raw_edf_bytes"],
                "float32_bytes": first["float32_bytes"],
            }
        )
    for n in counts:
        rows = [_child("train", str(stores[n]), model, str(cache), "32", "21") for _ in range(repeats)]
        out["train"].append(
            {
                "recordings": n,
                "model": model,
                "cache_recordings": cache,
                "seconds": _median(rows, "seconds"),
                "sequences": rows[0].data["sequences"],
                "sequences_per_s": _median(rows, "sequences_per_s"),
                "peak_rss_mb": _median(rows, "peak_rss_mb"),
                "peak_rss_mb_runs": [r.peak_rss_mb for r in rows],
            }
        )
    for path in stores.values():
        shutil.rmtree(path, ignore_errors=True)

    pre = {(p["recordings"], p["jobs"]): p for p in out["preprocess"]}
    big, small = max(counts), min(counts)
    largest = pre[(big, 1)]
    out["summary"] = {
        "preprocess_memory_growth": ratio(largest["peak_rss_mb"], pre[(small, 1)]["peak_rss_mb"]),
        "train_memory_growth": ratio(out["train"][-1]["peak_rss_mb"], out["train"][0]["peak_rss_mb"]),
        "jobs2_speedup": ratio(largest["seconds"], pre[(big, 2)]["seconds"]),
        "store_vs_float32": ratio(largest["store_bytes"], largest["float32_bytes"]),
        "store_vs_raw_edf": ratio(largest["store_bytes"], largest["raw_edf_bytes"]),
        "float32_over_store": ratio(largest["float32_bytes"], largest["store_bytes"]),
    }
    return out


def _preprocess_worker(rest: list[str]) -> dict[str, Any]:
    """``--worker preprocess RAW STORE N JOBS``."""
    return worker_preprocess(Path(rest[0]), Path(rest[1]), int(rest[2]), int(rest[3]))


def _train_worker(rest: list[str]) -> dict[str, Any]:
    """``--worker train STORE MODEL CACHE BATCH_SIZE SEQ_LEN``."""
    return worker_train(Path(rest[0]), rest[1], int(rest[2]), int(rest[3]), int(rest[4]))


def main(argv: list[str] | None = None) -> None:
    """Command line (also the child-process worker entry)."""
    quick = ("1, 2, 4 recordings of 2.5 h, one repeat", {"counts": (1, 2, 4), "hours": 2.5, "repeats": 1})
    workers = {"preprocess": _preprocess_worker, "train": _train_worker}
    bench_main(argv, __doc__, "bench_scaling_", workers, run, {"--quick": quick})


if __name__ == "__main__":
    main()
