"""Read selected channels of an EDF/EDF+ PSG as their stored 16-bit integer codes, with gain and offset.

Reader choice: pyedflib (maintained C library edflib). It reads only the requested channels, returns
the raw digital codes (``readSignal(i, digital=True)``), which is what a lossless store needs, and
handles any data-record length (SC4362F0 uses 60-s records). MNE's ``read_raw_edf`` converts every
channel to float64 volts first and edfio decodes in Python/NumPy; both are slower for this job and MNE
is kept as the reference for physical values in the tests. Physical value = code * gain + offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from physioex.preprocess.errors import PreprocessError

_TO_UV = {"uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1e3, "v": 1e6, "nv": 1e-3}
"""Scale from an EDF physical dimension to microvolts; other units (degC, %, ...) are kept as is."""


@dataclass
class EdfChannel:
    """One channel: ``codes`` int16 (samples,), physical = codes * gain + offset in ``unit``."""

    name: str
    codes: np.ndarray
    gain: float
    offset: float
    unit: str
    sampling_rate: float
    attrs: dict[str, Any] = field(default_factory=dict)

    def physical(self) -> np.ndarray:
        """Samples in physical units (float64)."""
        return self.codes.astype(np.float64) * self.gain + self.offset


@dataclass
class EdfPsg:
    """The selected channels of one PSG file and its start time."""

    path: Path
    start_time: datetime
    duration: float
    """Recording length in seconds (data records x record duration)."""
    channels: list[EdfChannel]


def _check_size(path: Path) -> None:
    """Refuse a truncated (or padded) EDF before decoding, with the byte counts in the message.

    Only the fixed-width header fields that define the file size are read (record count, number of
    signals, samples per record); decoding itself is pyedflib's job.
    """
    with path.open("rb") as fh:
        head = fh.read(256)
        try:
            n_records, n_signals = int(head[236:244]), int(head[252:256])
            fields = fh.read(n_signals * 256)
            # per-signal fields before "samples per record": label 16, transducer 80, dimension 8,
            # physical/digital min/max 4 x 8, prefilter 80 bytes (each stored for all signals in turn)
            offset = n_signals * (16 + 80 + 8 + 4 * 8 + 80)
            per_record = [int(fields[offset + 8 * i : offset + 8 * (i + 1)]) for i in range(n_signals)]
        except ValueError:
            return  # not parseable: let pyedflib report what is wrong
    if n_records < 0:
        return  # EDF allows -1 (unknown) while recording; pyedflib checks further
    expected = 256 * (n_signals + 1) + 2 * sum(per_record) * n_records
    actual = path.stat().st_size
    if actual != expected:
        what = "truncated EDF" if actual < expected else "EDF longer than its header says"
        raise PreprocessError(path, f"{what}: {actual} bytes, header promises {expected}")


def _open(path: Path) -> Any:
    import pyedflib

    if not path.is_file():
        raise PreprocessError(path, "file not found")
    _check_size(path)
    try:
        return pyedflib.EdfReader(str(path))
    except OSError as exc:
        raise PreprocessError(path, f"not a readable EDF file ({exc})") from exc


class PsgFile:
    """An open EDF PSG with the selected channels checked; read whole channels or sample windows.

    Use as a context manager. Missing channels raise ``PreprocessError`` naming the file and listing
    the available labels.
    """

    def __init__(self, path: str | Path, channels: list[str]) -> None:
        self.path = Path(path)
        self._reader = _open(self.path)
        labels = [s.strip() for s in self._reader.getSignalLabels()]
        missing = [c for c in channels if c not in labels]
        if missing:
            self.close()
            raise PreprocessError(
                self.path,
                f"channel(s) {', '.join(map(repr, missing))} not found; available: {', '.join(labels)}",
            )
        self.channels = list(channels)
        self._index = {c: labels.index(c) for c in channels}
        self.start_time: datetime = self._reader.getStartdatetime()
        self.duration = float(self._reader.datarecords_in_file * self._reader.datarecord_duration)
        """Recording length in seconds (data records x record duration; never assumed 30 s)."""

    def __enter__(self) -> PsgFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._reader.close()

    def sampling_rate(self, name: str) -> float:
        return float(self._reader.getSampleFrequency(self._index[name]))

    def n_samples(self, name: str) -> int:
        return int(self._reader.getNSamples()[self._index[name]])

    def read(self, name: str, start: int = 0, n: int | None = None) -> EdfChannel:
        """Samples ``start .. start+n`` of channel ``name`` as int16 codes with gain/offset to uV."""
        i = self._index[name]
        h = self._reader.getSignalHeader(i)
        dmin, dmax = int(h["digital_min"]), int(h["digital_max"])
        pmin, pmax = float(h["physical_min"]), float(h["physical_max"])
        if dmax == dmin or pmax == pmin:
            raise PreprocessError(self.path, f"channel {name!r} has a degenerate physical/digital range")
        if dmin < -32768 or dmax > 32767:
            raise PreprocessError(
                self.path, f"channel {name!r} has codes outside 16 bits (BDF is not supported)"
            )
        gain = (pmax - pmin) / (dmax - dmin)
        offset = pmin - dmin * gain
        unit = h["dimension"].strip()
        factor = _TO_UV.get(unit.lower())
        if factor is not None:
            gain, offset, unit = gain * factor, offset * factor, "uV"
        n = self.n_samples(name) - start if n is None else n
        codes = self._reader.readSignal(i, start=start, n=n, digital=True)
        return EdfChannel(
            name=name,
            codes=codes.astype(np.int16),
            gain=gain,
            offset=offset,
            unit=unit,
            sampling_rate=self.sampling_rate(name),
            attrs={
                "edf_label": h["label"],
                "edf_dimension": h["dimension"],
                "prefilter": h["prefilter"],
                "transducer": h["transducer"],
                "physical_min": pmin,
                "physical_max": pmax,
                "digital_min": dmin,
                "digital_max": dmax,
            },
        )


def read_psg(path: str | Path, channels: list[str]) -> EdfPsg:
    """Read ``channels`` (exact EDF labels) of the PSG at ``path`` completely."""
    with PsgFile(path, channels) as psg:
        return EdfPsg(
            path=psg.path,
            start_time=psg.start_time,
            duration=psg.duration,
            channels=[psg.read(c) for c in channels],
        )


def read_annotations(path: str | Path) -> tuple[datetime, list[tuple[float, float, str]]]:
    """Start time and ``(onset s, duration s, description)`` annotations of an EDF+ hypnogram."""
    path = Path(path)
    reader = _open(path)
    try:
        onsets, durations, descriptions = reader.readAnnotations()
        start = reader.getStartdatetime()
    finally:
        reader.close()
    return start, [
        (float(o), float(d), str(s)) for o, d, s in zip(onsets, durations, descriptions, strict=True)
    ]
