"""Turn one raw recording (an EDF PSG + its scoring, or a Dreem H5) into epochs and write it to the store.

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
from physioex.preprocess.labels import scoring_labels
from physioex.preprocess.params import PreprocessParams
from physioex.preprocess.signals import condition_channel, samples_per_epoch
from physioex.sources.base import Recording
from physioex.store.writer import ChannelSignal, write_recording


def _epoch(x: np.ndarray, start: int, stop: int, spe: int) -> np.ndarray:
    return x[start * spe : stop * spe].reshape(stop - start, spe)


def load_edf(rec: Recording, raw: Path, params: PreprocessParams) -> dict[str, Any]:
    """Signals, labels and metadata of an EDF PSG with a scoring file in any format (``edf``).

    ``rec.files``: ``psg`` and ``scoring`` (``hypnogram`` for Sleep-EDF's layout); ``rec.scoring``:
    options for reading the scoring (``physioex.preprocess.labels.scoring_labels``). Labels come first
    (they and the lights window decide the crop); channels already at the store rate are then read only
    inside the crop window, code for code. Resampled or filtered channels are processed whole-night (no
    filter edge effects inside the window) and cropped afterwards.
    """
    from physioex.preprocess.edf_reader import PsgFile

    psg_path = raw / rec.files["psg"]
    scoring_path = raw / rec.files["scoring" if "scoring" in rec.files else "hypnogram"]
    with PsgFile(psg_path, params.resolved_channels(rec.format), params.aliases()) as psg:
        spe = {c: samples_per_epoch(psg.sampling_rate(c), psg_path, c) for c in psg.channels}
        n_epochs = min(psg.n_samples(c) // spe[c] for c in psg.channels)
        if n_epochs == 0:
            raise PreprocessError(psg_path, "shorter than one 30-s epoch")
        scored = scoring_labels(
            scoring_path,
            psg=psg_path,
            psg_start=psg.start_time,
            n_epochs=n_epochs,
            options=rec.scoring,
            raw=raw,
        )
        labels = scored.stages
        start, stop = crop_window(
            labels, params.crop, minutes=params.crop_minutes, lights=scored.lights, file=scoring_path
        )
        spe_out = samples_per_epoch(params.sampling_rate, psg_path, "store")
        signals = []
        for name in psg.channels:
            same_rate = psg.sampling_rate(name) == params.sampling_rate and not params.bandpass
            c = psg.read(name, start * spe_out, (stop - start) * spe_out) if same_rate else psg.read(name)
            if same_rate and c.codes is not None and c.gain is not None and c.offset is not None:
                attrs = {**c.attrs, "source_sampling_rate": c.sampling_rate}
                # float32 is exact enough for the filter to round back to the same codes (error << 0.5 code)
                data = c.codes.reshape(stop - start, spe_out).astype(np.float32)
                data = data * np.float32(c.gain) + np.float32(c.offset)
                signals.append(ChannelSignal(c.name, data, c.unit, gain=c.gain, offset=c.offset, attrs=attrs))
            elif same_rate:  # re-referenced: float32 uV, no codes
                attrs = {**c.attrs, "source_sampling_rate": c.sampling_rate}
                data = c.physical().reshape(stop - start, spe_out).astype(np.float32)
                signals.append(ChannelSignal(c.name, data, c.unit, attrs=attrs))
            else:
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
        resolution = psg.resolution
    epoch0 = recording_start + timedelta(seconds=start * EPOCH_SECONDS)
    return {
        "signals": signals,
        "labels": labels[start:stop],
        "recording_start": recording_start.isoformat(),
        "start_time": epoch0.isoformat(),
        "crop_s": [start * EPOCH_SECONDS, stop * EPOCH_SECONDS],
        "source_epochs": n_epochs,
        "channel_resolution": resolution,
    }


load_sleepedf = load_edf
"""Sleep-EDF's layout (``psg`` + ``hypnogram`` EDF+) is read by the same code; its own format name keeps
the parameter hash of its stores (``PreprocessParams.hash`` covers the format)."""


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


LOADERS = {"sleepedf": load_sleepedf, "dreem": load_dreem, "edf": load_edf}
"""Reader per ``Recording.format`` (``physioex.sources.base.FORMATS``)."""


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
        **({"channel_resolution": loaded["channel_resolution"]} if "channel_resolution" in loaded else {}),
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
