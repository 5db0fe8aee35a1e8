"""Turn one raw recording (Sleep-EDF PSG + hypnogram, or a Dreem H5) into epochs and write it to the store.

This is the per-recording work unit run by each ``--jobs`` worker; it raises ``PreprocessError``
naming the file and the problem, and writes nothing visible unless it completes.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from physioex import EPOCH_SECONDS
from physioex.preprocess.crop import crop_window
from physioex.preprocess.errors import PreprocessError
from physioex.preprocess.labels import labels_from_annotations
from physioex.preprocess.params import PreprocessParams
from physioex.preprocess.signals import condition_channel, samples_per_epoch
from physioex.sources.base import Recording
from physioex.store.writer import ChannelSignal, write_recording


def _epoch(x: np.ndarray, start: int, stop: int, spe: int) -> np.ndarray:
    return x[start * spe : stop * spe].reshape(stop - start, spe)


def load_sleepedf(rec: Recording, raw: Path, params: PreprocessParams) -> dict[str, Any]:
    """Signals, labels and metadata of a Sleep-EDF recording (PSG + EDF+ hypnogram).

    Labels come first (they decide the crop); channels already at the store rate are then read only
    inside the crop window, code for code. Resampled or filtered channels are processed whole-night
    (no filter edge effects inside the window) and cropped afterwards.
    """
    from physioex.preprocess.edf_reader import PsgFile, read_annotations

    psg_path, hyp_path = raw / rec.files["psg"], raw / rec.files["hypnogram"]
    with PsgFile(psg_path, params.resolved_channels("sleepedf")) as psg:
        spe = {c: samples_per_epoch(psg.sampling_rate(c), psg_path, c) for c in psg.channels}
        n_epochs = min(psg.n_samples(c) // spe[c] for c in psg.channels)
        if n_epochs == 0:
            raise PreprocessError(psg_path, "shorter than one 30-s epoch")
        hyp_start, annotations = read_annotations(hyp_path)
        shift = (hyp_start - psg.start_time).total_seconds()
        labels = labels_from_annotations(annotations, n_epochs, hyp_path, shift)
        scored_end = max(
            (o + shift + d for o, d, s in annotations if s.strip() != "Sleep stage ?"), default=0.0
        )
        if not np.any(labels >= 0) or scored_end > (n_epochs + 1) * EPOCH_SECONDS:
            raise PreprocessError(
                hyp_path,
                f"PSG/hypnogram mismatch: scores run to {scored_end:g} s but {psg_path.name} holds "
                f"{n_epochs * EPOCH_SECONDS:g} s (offset {shift:g} s)",
            )
        start, stop = crop_window(labels, params.crop, minutes=params.crop_minutes, file=hyp_path)
        spe_out = samples_per_epoch(params.sampling_rate, psg_path, "store")
        signals = []
        for name in psg.channels:
            if psg.sampling_rate(name) == params.sampling_rate and not params.bandpass:
                c = psg.read(name, start * spe_out, (stop - start) * spe_out)
                attrs = {**c.attrs, "source_sampling_rate": c.sampling_rate}
                # float32 is exact enough for the filter to round back to the same codes (error << 0.5 code)
                data = c.codes.reshape(stop - start, spe_out).astype(np.float32)
                data = data * np.float32(c.gain) + np.float32(c.offset)
                signals.append(ChannelSignal(c.name, data, c.unit, gain=c.gain, offset=c.offset, attrs=attrs))
            else:
                c = psg.read(name)
                y, attrs = condition_channel(
                    c.name, c.physical(), c.sampling_rate, c.unit, params, psg_path, c.attrs
                )
                unit = attrs.pop("unit")
                signals.append(
                    ChannelSignal(
                        c.name, _epoch(y, start, stop, spe_out).astype(np.float32), unit, attrs=attrs
                    )
                )
        recording_start = psg.start_time
    epoch0 = recording_start + timedelta(seconds=start * EPOCH_SECONDS)
    return {
        "signals": signals,
        "labels": labels[start:stop],
        "recording_start": recording_start.isoformat(),
        "start_time": epoch0.isoformat(),
        "crop_s": [start * EPOCH_SECONDS, stop * EPOCH_SECONDS],
        "source_epochs": n_epochs,
    }


def load_dreem(rec: Recording, raw: Path, params: PreprocessParams) -> dict[str, Any]:
    """Signals, labels and metadata of a Dreem H5 record (resampled from its own rate)."""
    from physioex.preprocess.dreem_reader import read_dreem

    path = raw / rec.files["h5"]
    record = read_dreem(path, params.resolved_channels("dreem"))
    spe_out = samples_per_epoch(params.sampling_rate, path, "store")
    resampled = []
    for s in record.signals:
        y, attrs = condition_channel(
            s.name, s.data, s.sampling_rate, s.unit, params, path, {"h5_path": s.path}
        )
        resampled.append((s, y, attrs))
    n_epochs = min(len(y) // spe_out for _, y, _ in resampled)
    hyp = record.hypnogram
    if abs(len(hyp) - n_epochs) > 1:
        raise PreprocessError(
            path, f"hypnogram/signal mismatch: {len(hyp)} scored epochs but signals hold {n_epochs} epochs"
        )
    n_epochs = min(n_epochs, len(hyp))
    labels = hyp[:n_epochs].astype(np.int8)
    start, stop = crop_window(
        labels, params.crop, minutes=params.crop_minutes, lights=(0, n_epochs), file=path
    )
    signals = []
    for s, y, attrs in resampled:
        unit = attrs.pop("unit")
        signals.append(
            ChannelSignal(s.name, _epoch(y, start, stop, spe_out).astype(np.float32), unit, attrs=attrs)
        )
    return {
        "signals": signals,
        "labels": labels[start:stop],
        "recording_start": None,
        "start_time": None,
        "crop_s": [start * EPOCH_SECONDS, stop * EPOCH_SECONDS],
        "source_epochs": n_epochs,
    }


LOADERS = {"sleepedf": load_sleepedf, "dreem": load_dreem}


def process_recording(
    rec: Recording, raw: Path, out: Path, params: PreprocessParams, sha256: dict[str, str]
) -> dict[str, Any]:
    """Read, epoch and atomically store ``rec``; returns its index entry (subject, night, n_epochs)."""
    from physioex.preprocess.labels import label_counts

    if rec.format not in LOADERS:
        raise PreprocessError(rec.id, f"unknown source format {rec.format!r}")
    loaded = LOADERS[rec.format](rec, Path(raw), params)
    labels = loaded["labels"]
    attrs = {
        "id": rec.id,
        "subject": str(rec.subject),
        "night": int(rec.night),
        "format": rec.format,
        "files": {role: {"path": p, "sha256": sha256.get(role)} for role, p in sorted(rec.files.items())},
        "sampling_rate": float(params.sampling_rate),
        "samples_per_epoch": samples_per_epoch(params.sampling_rate, Path(rec.id), "store"),
        "n_epochs": int(labels.shape[0]),
        "start_time": loaded["start_time"],
        "recording_start": loaded["recording_start"],
        "crop_s": loaded["crop_s"],
        "source_epochs": loaded["source_epochs"],
        "label_counts": label_counts(labels),
        "units": [s.unit for s in loaded["signals"]],
        "params_hash": params.hash(rec.format),
    }
    write_recording(
        out,
        rec.id,
        loaded["signals"],
        labels,
        attrs,
        chunk_epochs=params.chunk_epochs,
        compression=params.compression,
    )
    return {"subject": attrs["subject"], "night": attrs["night"], "n_epochs": attrs["n_epochs"]}
