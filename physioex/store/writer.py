"""Write recordings into the Zarr epoch store, each one atomically (staged, then renamed into place).

A recording is written as a complete Zarr group under ``<store>/.staging/`` and only then renamed to
``<store>/recordings/<rec>``, so a crash never leaves a half-written recording that looks complete.
Root attributes (the recording index and folds) are rewritten last, in one atomic file replace.
Callers hold the store's output lock (``physioex.io.lock``) and call ``clean_leftovers`` first.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from physioex.errors import InputError
from physioex.io.atomic import TMP_PREFIX, remove_stale_temporaries, write_text_atomic
from physioex.sources.base import recording_id_problem
from physioex.store import layout
from physioex.store.folds import Fold
from physioex.store.schema import RootAttrs


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


def check_recording_id(rec: str) -> str:
    """``rec`` if it is a safe recording folder name, else ``InputError`` (never build a path from it)."""
    problem = recording_id_problem(rec)
    if problem is not None:
        raise InputError(f"recording {rec!r}: {problem}")
    return rec


def existing_recording_attrs(store: Path, rec: str) -> dict[str, Any] | None:
    """Attributes of an already stored (complete) recording, or None; reads only its ``zarr.json``."""
    meta = _json_load(Path(store) / layout.recording_path(check_recording_id(rec)) / "zarr.json")
    if meta is None:
        return None
    return meta.get("attributes", {})


def stored_recordings(store: Path) -> list[str]:
    """Recording groups present on disk (complete by construction), whether indexed or not."""
    folder = Path(store) / layout.RECORDINGS
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.iterdir()
        if recording_id_problem(p.name) is None and (p / "zarr.json").is_file()
    )


def check_output(store: Path) -> dict[str, Any] | None:
    """Root attributes of the physioex store at ``store`` (None when absent or an empty folder).

    Raises ``InputError`` for anything else: a regular file, a folder that is not a physioex store,
    another store format version. Reads only; call it before any work.
    """
    store = Path(store)
    if store.exists() and not store.is_dir():
        raise InputError(f"--out {store}: is an existing file, not a store folder; choose another --out")
    if not store.is_dir():
        return None
    meta_file = store / "zarr.json"
    if not meta_file.exists():
        if any(store.iterdir()):
            raise InputError(
                f"--out {store}: is a non-empty folder that is not a physioex store (no zarr.json); "
                "choose another --out"
            )
        return None
    meta = _json_load(meta_file)
    attrs = meta.get("attributes") if isinstance(meta, dict) else None
    if (
        not isinstance(meta, dict)
        or not isinstance(attrs, dict)
        or meta.get("node_type") != "group"
        or ("format_version" not in attrs)
    ):
        raise InputError(
            f"--out {store}: is not a physioex epoch store ({meta_file} has no format_version); "
            "choose another --out"
        )
    if attrs["format_version"] != layout.FORMAT_VERSION:
        raise InputError(
            f"--out {store}: has store format_version {attrs['format_version']}, this physioex writes "
            f"{layout.FORMAT_VERSION}; write to another --out"
        )
    return attrs


def _sibling_temporary_re(store: Path) -> re.Pattern[str]:
    """Names ``physioex.io.atomic.atomic_dir`` gives the new (and ``.old``) versions of ``store``."""
    return re.compile(rf"{re.escape(TMP_PREFIX + store.name)}\.\d+\.[0-9a-f]{{8}}(\.old)?")


def clean_leftovers(store: Path) -> list[Path]:
    """Undo what a killed run of this store left behind; returns what was removed or restored.

    A rebuild killed between its two renames leaves the store missing and its old version beside it
    (``<tmp>.old``): that old version is renamed back. Then the unfinished new versions beside the
    store, ``.staging/`` and temporary files inside the store are deleted. Call only while holding
    the store's output lock, so no live run owns them.
    """
    store = Path(store)
    pattern = _sibling_temporary_re(store)
    parent = store.parent
    siblings = [p for p in parent.iterdir() if pattern.fullmatch(p.name)] if parent.is_dir() else []
    touched: list[Path] = []
    if not store.exists():
        olds = sorted((p for p in siblings if p.name.endswith(".old")), key=lambda p: p.stat().st_mtime)
        if olds:
            os.rename(olds[-1], store)
            touched.append(olds[-1])
            siblings.remove(olds[-1])
    for path in siblings:
        shutil.rmtree(path, ignore_errors=True)
        touched.append(path)
    if store.is_dir():
        if (store / layout.STAGING).exists():
            touched.append(store / layout.STAGING)
            clear_staging(store)
        touched += remove_stale_temporaries(store)
        # temporaries of earlier physioex versions (zarr's own ``zarr.<hex>.partial``, ``.folds.csv.<hex>``)
        for path in store.iterdir():
            if re.fullmatch(r"zarr\.[0-9a-f]{32}\.partial|\.folds\.csv\.[0-9a-f]{32}", path.name):
                path.unlink(missing_ok=True)
                touched.append(path)
    return touched


def init_store(store: Path, dataset: str) -> None:
    """Create the root and ``recordings`` groups if missing; refuse a folder that is not our store."""
    import zarr

    store = Path(store)
    root_meta = _json_load(store / "zarr.json")
    if root_meta is None:
        if store.exists() and any(store.iterdir()):
            raise InputError(f"{store} exists and is not a Zarr store; refusing to write into it")
        zarr.open_group(str(store), mode="w", attributes={"format_version": layout.FORMAT_VERSION})
    else:
        version = root_meta.get("attributes", {}).get("format_version")
        if version is not None and version != layout.FORMAT_VERSION:
            raise InputError(
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
    check_recording_id(rec)
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
        from physioex.store.manifest import record_manifest

        record_manifest(tmp)  # the chunk files actually written, checked by the reader
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
    """Delete a stored recording (only when the user asked: ``--prune``).

    The group is first renamed into ``.staging/`` (atomic), so a kill never leaves half a recording.
    """
    store = Path(store)
    path = store / layout.recording_path(check_recording_id(rec))
    if not path.exists():
        return
    staging = store / layout.STAGING
    staging.mkdir(parents=True, exist_ok=True)
    trash = staging / f"{rec}.{uuid.uuid4().hex}.removed"
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def write_root_attrs(store: Path, attrs: RootAttrs | Mapping[str, Any]) -> None:
    """Replace the root attributes (the index) in one atomic, fsynced file replace of ``zarr.json``.

    ``attrs`` is a ``RootAttrs`` (what every real store gets); a plain mapping is written as given,
    plus the format version (for tests of incomplete stores).
    """
    path = Path(store) / "zarr.json"
    meta = _json_load(path)
    if meta is None:
        raise InputError(f"{path}: missing or unreadable; create the store with init_store first")
    values = attrs.to_dict() if isinstance(attrs, RootAttrs) else dict(attrs)
    meta["attributes"] = {**values, "format_version": layout.FORMAT_VERSION}
    write_text_atomic(path, json.dumps(meta, indent=2, allow_nan=False))


def write_folds_csv(store: Path, folds: Sequence[Fold]) -> Path:
    """Export folds as ``folds.csv`` (columns fold, split, subject) inside the store, atomically."""
    path = Path(store) / layout.FOLDS_CSV
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["fold", "split", "subject"])
    for fold in folds:
        for split in ("train", "valid", "test"):
            for subject in getattr(fold, split):
                writer.writerow([fold.index, split, subject])
    write_text_atomic(path, buffer.getvalue())
    return path
