"""Benchmark ``physioex preprocess`` against the usual MNE recipe and against the EDF decode floor.

Same recordings, each method in its own fresh process (peak memory = that process's max RSS; time =
the work after imports):

- ``floor``: just decode the selected channels of every PSG and its hypnogram (pyedflib).
- ``physioex``: ``preprocess_recordings`` into a new Zarr store (``--crop none`` so every epoch of
  the night is stored, as in the baseline; also the default sleep crop, and ``--jobs 2``).
- ``mne``: ``read_raw_edf(preload=True)`` + ``read_annotations`` + ``events_from_annotations`` +
  ``mne.Epochs`` + ``numpy.save`` of float32 epochs and labels (the MNE sleep-staging tutorial way).

Run ``python -m benchmarks.bench_preprocess`` (a small generated demo: 2 subjects x 2 nights x 8 h)
or ``python -m benchmarks.bench_preprocess --raw ../shared/data/sleep-edf --dataset sleepedf-20``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.peers.harness_measure import self_peak_rss_mb
from benchmarks.peers.harness_recipes import RK_EVENT_ID

STAGES = ("W", "N1", "N2", "N3", "REM")


def _recordings(dataset: str, raw: Path) -> list[Any]:
    from physioex.download.listing import parse_listing
    from physioex.sources import get_source

    return get_source(dataset).recordings(parse_listing((raw / "SHA256SUMS.txt").read_text()))


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def work_floor(recs: list[Any], raw: Path, out: Path, channels: list[str]) -> dict[str, Any]:
    import pyedflib

    t0 = time.perf_counter()
    epochs = 0
    for rec in recs:
        with pyedflib.EdfReader(str(raw / rec.files["psg"])) as f:
            labels = [s.strip() for s in f.getSignalLabels()]
            for ch in channels:
                x = f.readSignal(labels.index(ch))
            epochs += int(len(x) // (30 * f.getSampleFrequency(labels.index(channels[0]))))
        with pyedflib.EdfReader(str(raw / rec.files["hypnogram"])) as h:
            h.readAnnotations()
    return {"seconds": time.perf_counter() - t0, "epochs": epochs, "bytes": 0}


def work_physioex(
    recs: list[Any], raw: Path, out: Path, channels: list[str], crop: str, jobs: int
) -> dict[str, Any]:
    from physioex.download.listing import parse_listing
    from physioex.preprocess.params import PreprocessParams
    from physioex.preprocess.run import preprocess_recordings
    from physioex.store import open_store

    params = PreprocessParams(channels=tuple(channels), crop=crop)
    t0 = time.perf_counter()
    listing = parse_listing((raw / "SHA256SUMS.txt").read_text())  # as `physioex preprocess` does
    report = preprocess_recordings(
        recs, raw, out, dataset="bench", params=params, listing=listing, jobs=jobs, progress=False
    )
    seconds = time.perf_counter() - t0
    assert report.ok, report.summary()
    store = open_store(out)
    epochs = sum(store.n_epochs(r) for r in store.recordings)
    return {"seconds": seconds, "epochs": epochs, "bytes": _dir_bytes(out)}


def work_mne(recs: list[Any], raw: Path, out: Path, channels: list[str]) -> dict[str, Any]:
    import mne
    import numpy as np

    mne.set_log_level("ERROR")
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    epochs_total = 0
    for rec in recs:
        data = mne.io.read_raw_edf(raw / rec.files["psg"], preload=True)
        annotations = mne.read_annotations(raw / rec.files["hypnogram"])
        data.set_annotations(annotations, emit_warning=False)
        events, _ = mne.events_from_annotations(data, event_id=RK_EVENT_ID, chunk_duration=30.0)
        present = {name: i for i, name in enumerate(STAGES) if i in set(events[:, 2])}
        tmax = 30.0 - 1.0 / data.info["sfreq"]
        epochs = mne.Epochs(
            data, events, event_id=present, tmin=0.0, tmax=tmax, baseline=None, picks=channels
        )
        x = epochs.get_data().astype(np.float32)
        np.save(out / f"{rec.id}_x.npy", x)
        np.save(out / f"{rec.id}_y.npy", epochs.events[:, 2].astype(np.int8))
        epochs_total += len(x)
    return {"seconds": time.perf_counter() - t0, "epochs": epochs_total, "bytes": _dir_bytes(out)}


def _worker(args: argparse.Namespace) -> None:
    recs = _recordings(args.dataset, args.raw)
    channels = args.channels.split(",")
    if args.method == "floor":
        import pyedflib  # noqa: F401

        result = work_floor(recs, args.raw, args.out, channels)
    elif args.method.startswith("physioex"):
        # imports outside the timed work, as for the other methods
        import pyedflib  # noqa: F401
        import tqdm.auto  # noqa: F401
        import zarr.codecs.numcodecs  # noqa: F401

        import physioex.preprocess.edf_reader  # noqa: F401
        import physioex.preprocess.recording  # noqa: F401
        import physioex.store.writer  # noqa: F401

        result = work_physioex(recs, args.raw, args.out, channels, args.crop, args.jobs)
    else:
        import mne  # noqa: F401

        result = work_mne(recs, args.raw, args.out, channels)
    # --jobs workers are child processes: report the larger of this process and its biggest worker
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    result["peak_mb"] = max(self_peak_rss_mb(), children)
    print(json.dumps(result))


def _run(
    method: str, raw: Path, dataset: str, out: Path, channels: str, crop: str = "none", jobs: int = 1
) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.bench_preprocess", "--worker", method, "--raw", str(raw)]
    cmd += [
        "--dataset",
        dataset,
        "--out",
        str(out),
        "--channels",
        channels,
        "--crop",
        crop,
        "--jobs",
        str(jobs),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if proc.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--raw", type=Path, help="mirror/raw folder with SHA256SUMS.txt (default: generate a demo)"
    )
    parser.add_argument("--dataset", default="demo", help="dataset name for get_source (default demo)")
    parser.add_argument("--channels", default="EEG Fpz-Cz")
    parser.add_argument("--subjects", type=int, default=2, help="demo only")
    parser.add_argument("--hours", type=float, default=8.0, help="demo only")
    parser.add_argument("--repeat", type=int, default=1, help="runs per method (best time is reported)")
    parser.add_argument("--worker", dest="method", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--crop", default="none", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.method:
        _worker(args)
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench_preprocess_"))
    try:
        raw = args.raw
        if raw is None:
            from physioex.synth import generate_mirror

            raw = generate_mirror(tmp / "mirror", subjects=args.subjects, nights=2, seed=0, hours=args.hours)
        recs = _recordings(args.dataset, raw)
        print(f"{len(recs)} recordings from {raw} ({args.dataset}), channels: {args.channels}")
        runs = [
            ("floor: pyedflib decode", "floor", "none", 1),
            ("physioex --crop none", "physioex", "none", 1),
            ("physioex --crop none --jobs 2", "physioex", "none", 2),
            ("physioex (default sleep crop)", "physioex", "auto", 1),
            ("MNE Epochs + numpy.save", "mne", "none", 1),
        ]
        results = {}
        for label, method, crop, jobs in runs:
            best = None
            for i in range(args.repeat):
                out = tmp / f"out_{method}_{crop}_{jobs}_{i}"
                r = _run(method, raw, args.dataset, out, args.channels, crop, jobs)
                shutil.rmtree(out, ignore_errors=True)
                best = r if best is None or r["seconds"] < best["seconds"] else best
            results[label] = best
        n_ch = len(args.channels.split(","))
        print(
            f"\n{'method':32s} {'epochs':>7s} {'seconds':>8s} {'epochs/s':>9s} {'MB disk':>8s} "
            f"{'vs f32':>7s} {'peak MB':>8s}"
        )
        for label, r in results.items():
            f32 = r["epochs"] * n_ch * 3000 * 4
            ratio = f"{f32 / r['bytes']:.2f}x" if r["bytes"] else "-"
            print(
                f"{label:32s} {r['epochs']:7d} {r['seconds']:8.2f} {r['epochs'] / r['seconds']:9.0f} "
                f"{r['bytes'] / 1e6:8.2f} {ratio:>7s} {r['peak_mb']:8.0f}"
            )
        ours = results["physioex --crop none"]
        mne_r = results["MNE Epochs + numpy.save"]
        floor = results["floor: pyedflib decode"]
        speed = (ours["epochs"] / ours["seconds"]) / (mne_r["epochs"] / mne_r["seconds"])
        print(f"\nphysioex vs MNE baseline: {speed:.1f}x epochs/s (target >= 3x)")
        print(f"physioex vs decode floor: {ours['seconds'] / floor['seconds']:.1f}x the time (target <= 2x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
