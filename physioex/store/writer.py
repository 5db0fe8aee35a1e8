"""Write recordings into the Zarr epoch store, each one atomically (staged, then renamed into place).

A recording is written as a complete Zarr group under ``<store>/.staging/`` and only then renamed to
``<store>/recordings/<rec>``, so a crash never leaves a half-written recording that looks complete.
Root attributes (the recording index and folds) are rewritten last, in one atomic file replace.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from physioex.store import layout
from physioex.store.folds import Fold


@dataclass
class ChannelSignal:
    """One channel of one recording, epoched: ``data`` float32 ``(epochs, samples)`` in ``unit``.

    When ``gain``/``offset`` are set, ``data == codes * gain + offset`` for integer ``codes`` (EDF's
    16-bit samples): the store then keeps the codes (int16) and stays lossless w.r.t. the source.
    """

    name: str
    data: np.ndarray
    unit: str = "uV"
    gain: float | None = None
    """Physical units per integer code (e.g. 0.09 uV for Sleep-EDF EEG)."""
    offset: float | None = None
    """Physical value of code 0."""
    attrs: dict[str, Any] = field(default_factory=dict)


def _json_load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def existing_recording_attrs(store: Path, rec: str) -> dict[str, Any] | None:
    """Attributes of an already stored (complete) recording, or None; reads only its ``zarr.json``."""
    meta = _json_load(Path(store) / layout.recording_path(rec) / "zarr.json")
    if meta is None:
        return None
    return meta.get("attributes", {})


def stored_recordings(store: Path) -> list[str]:
    """Recording groups present on disk (complete by construction), whether indexed or not."""
    folder = Path(store) / layout.RECORDINGS
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "zarr.json").is_file())


def init_store(store: Path, dataset: str) -> None:
    """Create the root and ``recordings`` groups if missing; refuse a folder that is not our store."""
    import zarr

    store = Path(store)
    root_meta = _json_load(store / "zarr.json")
    if root_meta is None:
        if store.exists() and any(store.iterdir()):
            raise FileExistsError(f"{store} exists and is not a Zarr store; refusing to write into it")
        zarr.open_group(str(store), mode="w", attributes={"format_version": layout.FORMAT_VERSION})
    else:
        version = root_meta.get("attributes", {}).get("format_version")
        if version is not None and version != layout.FORMAT_VERSION:
            raise ValueError(
                f"{store} has store format_version {version}, this physioex writes {layout.FORMAT_VERSION}; "
                "remove it or write to another --out"
            )
    if not (store / layout.RECORDINGS / "zarr.json").is_file():
        zarr.open_group(str(store / layout.RECORDINGS), mode="w")


def clear_staging(store: Path) -> None:
    """Remove leftovers of interrupted writes (never visible to readers)."""
    shutil.rmtree(Path(store) / layout.STAGING, ignore_errors=True)


def _create_signal_array(group: Any, ch: ChannelSignal, chunk_epochs: int, compression: str) -> None:
    from zarr.codecs.numcodecs import FixedScaleOffset

    data = np.ascontiguousarray(ch.data, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"channel {ch.name}: expected (epochs, samples), got shape {data.shape}")
    attrs = {"channel": ch.name, "unit": ch.unit, **ch.attrs}
    filters: list[Any] = []
    typesize = 4
    if ch.gain is not None and ch.offset is not None:
        # The filter stores round((x - offset) * scale) as int16 and decodes code / scale + offset.
        with layout.quiet_numcodecs():
            filters = [FixedScaleOffset(offset=float(ch.offset), scale=1.0 / float(ch.gain), astype="<i2")]
        typesize = 2
        attrs.update(gain=float(ch.gain), offset=float(ch.offset), lossless_int16=True)
    with layout.quiet_numcodecs():
        group.create_array(
            name=layout.channel_key(ch.name),
            data=data,
            chunks=(max(1, min(chunk_epochs, data.shape[0])), data.shape[1]),
            filters=filters,
            compressors=layout.compressors(compression, typesize),
            dimension_names=("epoch", "sample"),
            attributes=attrs,
        )


def write_recording(
    store: Path,
    rec: str,
    signals: Sequence[ChannelSignal],
    labels: np.ndarray,
    attrs: dict[str, Any],
    *,
    chunk_epochs: int = layout.DEFAULT_CHUNK_EPOCHS,
    compression: str = layout.DEFAULT_COMPRESSION,
) -> Path:
    """Write one recording (signals ``(epochs, samples)`` per channel + int8 labels) atomically.

    The store root must exist (``init_store``). An existing recording of the same id is replaced.
    Returns the final path ``<store>/recordings/<rec>``.
    """
    import zarr

    store = Path(store)
    labels = np.asarray(labels, dtype=np.int8)
    n = labels.shape[0]
    for ch in signals:
        if ch.data.shape[0] != n:
            raise ValueError(f"{rec}: channel {ch.name} has {ch.data.shape[0]} epochs, labels have {n}")
    staging = store / layout.STAGING
    staging.mkdir(parents=True, exist_ok=True)
    tmp = staging / f"{rec}.{uuid.uuid4().hex}"
    try:
        rec_attrs = {**attrs, "channels": [c.name for c in signals]}
        group = zarr.open_group(str(tmp), mode="w", attributes=rec_attrs)
        group.create_array(
            name=layout.LABELS,
            data=labels,
            chunks=(max(1, n),),
            compressors=layout.compressors(compression, 1),
            dimension_names=("epoch",),
        )
        sig = group.create_group(layout.SIGNALS)
        for ch in signals:
            _create_signal_array(sig, ch, chunk_epochs, compression)
        final = store / layout.recording_path(rec)
        final.parent.mkdir(parents=True, exist_ok=True)
        old = None
        if final.exists():
            old = staging / f"{rec}.{uuid.uuid4().hex}.old"
            os.rename(final, old)
        os.rename(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def remove_recording(store: Path, rec: str) -> None:
    """Delete a stored recording (e.g. one no longer part of the dataset)."""
    shutil.rmtree(Path(store) / layout.recording_path(rec), ignore_errors=True)


def write_root_attrs(store: Path, attrs: dict[str, Any]) -> None:
    """Replace the root attributes in one atomic write (zarr's LocalStore renames a temp file)."""
    import zarr

    group = zarr.open_group(str(store), mode="r+")
    group.attrs.put({**attrs, "format_version": layout.FORMAT_VERSION})


def write_folds_csv(store: Path, folds: Sequence[Fold]) -> Path:
    """Export folds as ``folds.csv`` (columns fold, split, subject) inside the store, atomically."""
    path = Path(store) / layout.FOLDS_CSV
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["fold", "split", "subject"])
        for fold in folds:
            for split in ("train", "valid", "test"):
                for subject in getattr(fold, split):
                    writer.writerow([fold.index, split, subject])
    os.replace(tmp, path)
    return path
