"""Read selected channels of an EDF/EDF+ PSG as their stored 16-bit integer codes, with gain and offset.

Reader choice: pyedflib (maintained C library edflib). It reads only the requested channels, returns
the raw digital codes (``readSignal(i, digital=True)``), which is what a lossless store needs, and
handles any data-record length (SC4362F0 uses 60-s records). MNE's ``read_raw_edf`` converts every
channel to float64 volts first and edfio decodes in Python/NumPy; both are slower for this job and MNE
is kept as the reference for physical values in the tests. Physical value = code * gain + offset.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from physioex.preprocess.channel_aliases import AliasTable, Resolved, split_request
from physioex.preprocess.errors import PreprocessError

_TO_UV = {"uv": 1.0, "µv": 1.0, "μv": 1.0, "microv": 1.0, "mv": 1e3, "v": 1e6, "nv": 1e-3}
"""Scale from an EDF physical dimension (case-folded) to microvolts."""


def unit_scale(dimension: str, voltage: bool, path: Path, what: str) -> float | None:
    """Factor from ``dimension`` to uV, or None for a channel that is not a voltage (kept as is).

    A voltage channel (EEG/EOG/EMG/ECG, ``voltage``) in a unit not in ``_TO_UV``, or any dimension
    ending in ``V`` that is not in it (``kV``), raises ``PreprocessError`` naming the file and ``what``
    (the channel): it cannot be stored in uV. An empty dimension of a voltage channel is read as uV
    (with a warning; the recorded resolution keeps the empty unit). ``degC``, ``%``, an empty dimension
    of a non-voltage channel ... return None.
    """
    key = dimension.strip().casefold()
    if key in _TO_UV:
        return _TO_UV[key]
    if not key and voltage:  # common in exported files: EEG/EOG/EMG in EDF are uV unless stated
        logging.getLogger(__name__).warning("%s: %s has no physical dimension; read as uV", path, what)
        return 1.0
    if voltage or key.endswith("v"):
        raise PreprocessError(
            path,
            f"{what} has physical dimension {dimension.strip()!r}, not a voltage unit physioex converts to "
            "uV (uV, mV, V, nV); fix the EDF header or request another channel",
        )
    return None


@dataclass
class EdfChannel:
    """One channel, ``(samples,)``: int16 ``codes`` with physical = codes * gain + offset in ``unit``,
    or, for a derived (re-referenced) channel, float64 ``values`` in ``unit`` and no codes."""

    name: str
    codes: np.ndarray | None
    gain: float | None
    offset: float | None
    unit: str
    sampling_rate: float
    attrs: dict[str, Any] = field(default_factory=dict)
    values: np.ndarray | None = None

    @property
    def lossless(self) -> bool:
        """Whether the channel is integer codes with a gain and offset (storable as int16)."""
        return self.codes is not None and self.gain is not None and self.offset is not None

    def physical(self) -> np.ndarray:
        """Samples in physical units (float64)."""
        if self.values is not None:
            return self.values
        if self.codes is None or self.gain is None or self.offset is None:
            raise ValueError(f"channel {self.name!r} has neither codes with gain/offset nor values")
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
    """An open EDF PSG with its channel requests resolved; read whole channels or sample windows.

    Use as a context manager. ``channels`` are requests (``physioex.preprocess.channel_aliases``):
    exact labels, canonical names, ``A|B`` preference lists; ``aliases`` a user's extra alias table.
    ``self.channels`` are the store names (a request's first alternative), ``self.resolution`` what
    each was resolved to (one JSON entry per channel, for the recording's metadata). A request that
    nothing in the file satisfies, a re-reference across two rates or a voltage in an unknown unit
    raises ``PreprocessError`` naming the file (and listing its labels).
    """

    def __init__(
        self,
        path: str | Path,
        channels: Sequence[str],
        aliases: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.path = Path(path)
        self._reader = _open(self.path)
        try:
            self._setup(list(channels), AliasTable(aliases))
        except BaseException:
            self.close()
            raise
        self.start_time: datetime = self._reader.getStartdatetime()
        self.duration = float(self._reader.datarecords_in_file * self._reader.datarecord_duration)
        """Recording length in seconds (data records x record duration; never assumed 30 s)."""

    def _setup(self, requests: list[str], table: AliasTable) -> None:
        labels = [s.strip() for s in self._reader.getSignalLabels()]
        self.labels = labels
        """Every signal label of the file, stripped, in file order."""
        self._label_index: dict[str, int] = {}
        for i, label in enumerate(labels):
            self._label_index.setdefault(label, i)
        found: list[Resolved] = []
        missing: list[str] = []
        for request in requests:
            r = table.resolve(request, labels)
            if r is None:
                missing.append(request)
            else:
                found.append(r)
        if missing:
            tried = any(len(split_request(m)) > 1 or table.canonical(m) is not None for m in missing)
            how = " (aliases and re-referencing tried, see docs/channels.md)" if tried else ""
            raise PreprocessError(
                self.path,
                f"channel(s) {', '.join(map(repr, missing))} not found{how}; available: {', '.join(labels)}",
            )
        self._resolved: dict[str, Resolved] = {}
        self._scales: dict[str, list[float | None]] = {}
        self.resolution: list[dict[str, Any]] = []
        """Per store channel: request, matched alternative, EDF label(s), re-referenced or not, EDF
        unit(s) and scale(s) to uV (``Resolved.record``)."""
        for r in found:
            if r.name in self._resolved:
                raise PreprocessError(self.path, f"two channel requests are both stored as {r.name!r}")
            if r.rereferenced:
                rates = [self._rate(label) for label in r.labels]
                if rates[0] != rates[1]:
                    raise PreprocessError(
                        self.path,
                        f"channel {r.name!r}: cannot re-reference {r.labels[0]!r} ({rates[0]:g} Hz) against "
                        f"{r.labels[1]!r} ({rates[1]:g} Hz), their rates differ",
                    )
            units = [self._dimension(label) for label in r.labels]
            scales = [
                unit_scale(u, r.voltage, self.path, f"channel {r.name!r} (EDF label {label!r})")
                for u, label in zip(units, r.labels, strict=True)
            ]
            if r.rereferenced and None in scales:
                raise PreprocessError(self.path, f"channel {r.name!r}: re-referencing needs voltages")
            self._resolved[r.name] = r
            self._scales[r.name] = scales
            entry = r.record(units[0], scales[0])
            if r.rereferenced:
                entry.update(edf_unit=units, scale_to_uV=scales, unit="uV")
            self.resolution.append(entry)
        for r in found:  # the request text reads the same channel (signals.read_edf_signals)
            self._resolved.setdefault(r.request, r)
        self.channels = [r.name for r in found]

    def __enter__(self) -> PsgFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._reader.close()

    def _rate(self, label: str) -> float:
        return float(self._reader.getSampleFrequency(self._label_index[label]))

    def _dimension(self, label: str) -> str:
        return str(self._reader.getSignalHeader(self._label_index[label])["dimension"]).strip()

    def lossless(self, name: str) -> bool:
        """Whether channel ``name`` is read as integer codes (not re-referenced): storable as int16."""
        return not self._resolved[name].rereferenced

    def sampling_rate(self, name: str) -> float:
        """Rate of store channel ``name`` (or its request text), Hz."""
        return self._rate(self._resolved[name].labels[0])

    def n_samples(self, name: str) -> int:
        counts = self._reader.getNSamples()
        return int(min(counts[self._label_index[label]] for label in self._resolved[name].labels))

    def read(self, name: str, start: int = 0, n: int | None = None) -> EdfChannel:
        """Samples ``start .. start+n`` of store channel ``name`` (or its request text).

        A channel read as is keeps its int16 codes (gain/offset to uV for voltages; other units as
        recorded). A re-referenced one is ``values`` in uV: active minus reference, sample by sample.
        """
        r = self._resolved[name]
        n = self.n_samples(name) - start if n is None else n
        scales = self._scales[r.name]
        parts = [
            self._read_label(label, start, n, scale) for label, scale in zip(r.labels, scales, strict=True)
        ]
        attrs: dict[str, Any] = {"channel_request": r.request, "resolved_as": r.how}
        if not r.rereferenced:
            c = parts[0]
            c.name = r.name
            c.attrs = {**c.attrs, **attrs}
            return c
        active, reference = parts
        attrs.update(rereferenced=True, edf_labels=list(r.labels))
        attrs.update({f"reference_{k}": v for k, v in reference.attrs.items()})
        return EdfChannel(
            name=r.name,
            codes=None,
            gain=None,
            offset=None,
            unit="uV",
            sampling_rate=active.sampling_rate,
            attrs={**active.attrs, **attrs},
            values=active.physical() - reference.physical(),
        )

    def _read_label(self, label: str, start: int, n: int, scale: float | None) -> EdfChannel:
        i = self._label_index[label]
        h = self._reader.getSignalHeader(i)
        dmin, dmax = int(h["digital_min"]), int(h["digital_max"])
        pmin, pmax = float(h["physical_min"]), float(h["physical_max"])
        if dmax == dmin or pmax == pmin:
            raise PreprocessError(self.path, f"channel {label!r} has a degenerate physical/digital range")
        if dmin < -32768 or dmax > 32767:
            raise PreprocessError(
                self.path, f"channel {label!r} has codes outside 16 bits (BDF is not supported)"
            )
        gain = (pmax - pmin) / (dmax - dmin)
        offset = pmin - dmin * gain
        unit = h["dimension"].strip()
        if scale is not None:
            gain, offset, unit = gain * scale, offset * scale, "uV"
        codes = self._reader.readSignal(i, start=start, n=n, digital=True)
        return EdfChannel(
            name=label,
            codes=codes.astype(np.int16),
            gain=gain,
            offset=offset,
            unit=unit,
            sampling_rate=self._rate(label),
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


def read_psg(
    path: str | Path, channels: Sequence[str], aliases: Mapping[str, Sequence[str]] | None = None
) -> EdfPsg:
    """Read the channel requests ``channels`` of the PSG at ``path`` completely (see ``PsgFile``)."""
    with PsgFile(path, channels, aliases) as psg:
        return EdfPsg(
            path=psg.path,
            start_time=psg.start_time,
            duration=psg.duration,
            channels=[psg.read(c) for c in psg.channels],
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
