"""A small, learnable synthetic epoch store for smoke tests and benchmarks (written with the real writer).

Each stage has its own dominant rhythm (W 10 Hz alpha, N1 6 Hz theta, N2 13 Hz spindles,
N3 1.5 Hz slow waves, REM 4 Hz sawtooth-like theta) plus noise, in uV; stages follow a sticky
Markov chain, and a few epochs are unscored (-1) or movement (-2) as in real stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

_FREQ_HZ = (10.0, 6.0, 13.0, 1.5, 4.0)
_AMP_UV = (15.0, 20.0, 20.0, 60.0, 18.0)


def synthetic_night(
    rng: np.random.Generator, n_epochs: int, n_channels: int, fs: float = 100.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(signals (epochs, channels, samples) float32 uV, labels (epochs,) int8)`` of one night."""
    s = int(round(30 * fs))
    labels = np.empty(n_epochs, dtype=np.int8)
    state = 0
    for i in range(n_epochs):
        if rng.random() < 0.15:
            state = int(rng.integers(0, 5))
        labels[i] = state
    t = np.arange(s) / fs
    x = rng.normal(0.0, 8.0, size=(n_epochs, n_channels, s)).astype(np.float32)
    for i, lab in enumerate(labels):
        phase = rng.uniform(0, 2 * np.pi, size=(n_channels, 1))
        x[i] += (_AMP_UV[lab] * np.sin(2 * np.pi * _FREQ_HZ[lab] * t[None, :] + phase)).astype(np.float32)
    bad = rng.choice(n_epochs, size=max(1, n_epochs // 50), replace=False)
    labels[bad[: len(bad) // 2 + 1]] = -1
    labels[bad[len(bad) // 2 + 1 :]] = -2
    return x, labels


def write_synthetic_store(
    path: Path,
    *,
    subjects: int = 6,
    nights: int = 1,
    epochs: int | Sequence[int] = 120,
    channels: Sequence[str] = ("EEG Fpz-Cz",),
    n_folds: int = 3,
    seed: int = 0,
    fs: float = 100.0,
    chunk_epochs: int = 256,
) -> Path:
    """Write a complete store (recordings, index, folds) at ``path``; returns ``path``.

    ``epochs`` per night (one value, or one per night cycled); ``fs`` in Hz. The root attributes are
    the real schema's; ``preprocessing`` holds the rate (no band-pass) and the generator's arguments.
    """
    from physioex.store.folds import make_folds
    from physioex.store.schema import RootAttrs, index_entry, params_hash
    from physioex.store.writer import (
        ChannelSignal,
        init_store,
        write_folds_csv,
        write_recording,
        write_root_attrs,
    )

    rng = np.random.default_rng(seed)
    path = Path(path)
    lengths = [epochs] * (subjects * nights) if isinstance(epochs, int) else [int(n) for n in epochs]
    # what a model trained here must be fed (rate, no band-pass), plus the generator's own arguments
    preprocessing = {
        "sampling_rate": float(fs),
        "bandpass": None,
        "synthetic": {
            "subjects": subjects,
            "nights": nights,
            "epochs": lengths,
            "channels": list(channels),
            "seed": seed,
            "chunk_epochs": chunk_epochs,
        },
    }
    phash = params_hash(preprocessing)
    init_store(path, "synthetic")
    index: dict[str, dict[str, object]] = {}
    i = 0
    for subj in range(subjects):
        for night in range(1, nights + 1):
            n = int(lengths[i % len(lengths)])
            i += 1
            x, y = synthetic_night(rng, n, len(channels), fs)
            rec = f"SYN{subj:02d}{night}"
            sig = [ChannelSignal(name=c, data=x[:, k]) for k, c in enumerate(channels)]
            attrs = {
                "subject": str(subj),
                "night": night,
                "n_epochs": n,
                "start_time": "2000-01-01T00:00:00",
                "params_hash": phash,
            }
            write_recording(path, rec, sig, y, attrs, chunk_epochs=chunk_epochs)
            index[rec] = index_entry(attrs)
    folds = make_folds([str(s) for s in range(subjects)], n_folds, seed=seed)
    write_folds_csv(path, folds)
    root = RootAttrs(
        dataset="synthetic",
        source_format="synthetic",
        channels=channels,
        sampling_rate=fs,
        preprocessing=preprocessing,
        params_hash=phash,
        recordings=index,
        folds=folds,
        fold_seed=seed,
    )
    write_root_attrs(path, root)
    return path
