"""Names, format version and codec choices of the Zarr epoch store (one place, so reader and writer agree).

Layout (see ``docs/store-format.md``)::

    <store>.zarr/
      zarr.json                          root group; attrs: format_version, dataset, channels, ...
      folds.csv                          fold, split, subject (a readable copy of attrs["folds"])
      recordings/<rec>/labels            int8 (epochs,)
      recordings/<rec>/signals/<key>     float32 (epochs, samples), physical units (uV)
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from physioex.choices import Compression, names

FORMAT_VERSION = 1
"""Bumped whenever a reader of the previous version could misread a new store."""

RECORDINGS = "recordings"
SIGNALS = "signals"
LABELS = "labels"
FOLDS_CSV = "folds.csv"
STAGING = ".staging"
"""Folder inside the store where a recording is written before it is renamed into place."""

LABEL_UNSCORED = -1
"""Epoch without a usable score ('Sleep stage ?' or no annotation); ignored by losses and metrics."""
LABEL_MOVEMENT = -2
"""'Movement time' epoch; ignored by losses and metrics."""

DEFAULT_CHUNK_EPOCHS = 256
"""Epochs per chunk: a Sleep-EDF night (about 1000 epochs cropped) is 4 chunk files per channel.

Chosen by measurement on SC4001 (see docs/store-format.md): compression does not improve beyond
about 64 epochs, whole-recording reads are as fast, and DVC hashes 4x fewer files than at 64.
"""

COMPRESSIONS = names(Compression)
DEFAULT_COMPRESSION = Compression.BLOSC_ZSTD.value

_KEY_RE = re.compile(r"[^A-Za-z0-9._-]+")


def channel_key(name: str) -> str:
    """Array name of a channel: ``EEG Fpz-Cz`` -> ``EEG_Fpz-Cz`` (safe in paths and URLs)."""
    key = _KEY_RE.sub("_", name.strip()).strip("_")
    if not key or key.startswith("__") or key in {".", ".."}:
        raise ValueError(f"channel name {name!r} cannot be used as a store key")
    return key


def recording_path(rec: str) -> str:
    """Path of a recording's group relative to the store root."""
    return f"{RECORDINGS}/{rec}"


def compressors(compression: str, typesize: int) -> list[Any]:
    """Bytes-to-bytes codecs: the compressor, then a crc32c checksum so a flipped byte fails on read.

    ``typesize`` is the item size of the bytes actually compressed (2 for int16-coded EDF signals,
    4 for float32), so that Blosc's bit shuffle groups the right bits. On SC4001's int16 codes bit
    shuffle compresses as well as byte shuffle (1.76x over int16) and is about 4x faster with zstd.
    """
    from zarr.codecs import BloscCodec, Crc32cCodec, ZstdCodec

    if compression == "blosc-zstd":
        first: list[Any] = [BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle", typesize=typesize)]
    elif compression == "blosc-lz4":
        first = [BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle", typesize=typesize)]
    elif compression == "zstd":
        first = [ZstdCodec(level=5)]
    elif compression == "none":
        first = []
    else:
        raise ValueError(f"unknown compression {compression!r}; choose one of {', '.join(COMPRESSIONS)}")
    return [*first, Crc32cCodec()]


@contextmanager
def quiet_numcodecs() -> Iterator[None]:
    """Silence zarr's "numcodecs codecs are not in the v3 spec" warning (FixedScaleOffset is deliberate)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Numcodecs codecs are not in the Zarr version 3 specification"
        )
        yield
