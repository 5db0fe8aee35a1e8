"""Up-front channel check: a requested channel that no recording has is a mistyped parameter, not bad data.

Only headers are read (the EDF label fields, the HDF5 dataset names), so checking every recording of a
dataset costs milliseconds; a file that cannot be read here is left to the per-recording error. EDF
requests are resolved as ``PsgFile`` resolves them (``channel_aliases``: aliases, preference lists,
re-referencing), so a request any recording can satisfy passes; rates and units are per-recording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from physioex.errors import InputError
from physioex.preprocess.channel_aliases import AliasTable
from physioex.sources.base import Recording


def _edf_labels(path: Path) -> list[str] | None:
    """Signal labels of an EDF file from its header, or None when the header is unreadable."""
    try:
        with path.open("rb") as fh:
            head = fh.read(256)
            n_signals = int(head[252:256])
            labels = fh.read(16 * n_signals)
    except (OSError, ValueError):
        return None
    if n_signals <= 0 or len(labels) != 16 * n_signals:
        return None
    return [labels[16 * i : 16 * (i + 1)].decode("latin-1").strip() for i in range(n_signals)]


def _dreem_signals(path: Path) -> list[str] | None:
    """HDF5 dataset paths under ``signals/`` of a Dreem record, or None when it cannot be opened."""
    try:
        import h5py

        with h5py.File(path, "r") as h5:
            names: list[str] = []
            h5.visit(names.append)
            return [n for n in names if n.startswith("signals/") and isinstance(h5[n], h5py.Dataset)]
    except (OSError, ValueError):
        return None


def _has(fmt: str, available: list[str], channel: str, table: AliasTable) -> bool:
    if fmt == "dreem":
        key = channel.strip("/")
        return any(p == key or p.endswith("/" + key) for p in available)
    return table.resolve(channel, available) is not None


def _names(fmt: str, available: list[str]) -> list[str]:
    return sorted(p.rsplit("/", 1)[-1] for p in available) if fmt == "dreem" else available


def check_channels_exist(
    recordings: Sequence[Recording],
    raw: Path,
    channels: Sequence[str],
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Raise ``InputError`` naming ``--channels`` when a channel request is satisfied by none of the
    readable recordings (``aliases``: the user's extra alias table).

    A channel missing from only some recordings is their own (per-recording) failure.
    """
    table = AliasTable(aliases)
    unseen = list(channels)
    example: tuple[Path, str, list[str]] | None = None
    for rec in recordings:
        if rec.format == "dreem":
            path, available = raw / rec.files["h5"], _dreem_signals(raw / rec.files["h5"])
        elif "psg" in rec.files:
            path, available = raw / rec.files["psg"], _edf_labels(raw / rec.files["psg"])
        else:
            continue
        if available is None:
            continue
        example = example or (path, rec.format, available)
        unseen = [c for c in unseen if not _has(rec.format, available, c, table)]
        if not unseen:
            return
    if example is None:
        return  # nothing readable: every recording reports its own error
    path, fmt, available = example
    raise InputError(
        f"--channels: {', '.join(map(repr, unseen))} is in none of the {len(recordings)} recordings "
        f"(e.g. {path} has {', '.join(_names(fmt, available))}); check the spelling"
        + ("" if fmt == "dreem" else ", or name the label in a --channel-aliases file (docs/channels.md)")
    )
