"""Read a Dreem DOD-H/DOD-O record (HDF5): selected signals with their rate, and the consensus hypnogram.

The sampling rate comes from the root ``description`` attribute (a JSON list of ``{path, fs, unit}``
per signal, 250 Hz in the release), never from an assumption. Signals are 1-D float datasets under
``signals/<modality>/<name>``; ``hypnogram`` holds one int per 30-s epoch (-1 unscored, 0..4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physioex.preprocess.errors import PreprocessError

_TO_UV = {"uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1e3, "v": 1e6}


@dataclass
class DreemSignal:
    """One signal in physical units: ``data`` float64 (samples,) at ``sampling_rate`` Hz."""

    name: str
    path: str
    data: np.ndarray
    unit: str
    sampling_rate: float


@dataclass
class DreemRecord:
    path: Path
    signals: list[DreemSignal]
    hypnogram: np.ndarray
    """int8 (epochs,): -1 unscored, 0 W, 1 N1, 2 N2, 3 N3, 4 REM."""


def _description(path: Path, h5: object) -> dict[str, dict]:
    raw = h5.attrs.get("description")  # type: ignore[attr-defined]
    if raw is None:
        raise PreprocessError(path, "missing root attribute 'description' (signal rates unknown)")
    if isinstance(raw, bytes):
        raw = raw.decode()
    try:
        entries = json.loads(raw)
    except (TypeError, json.JSONDecodeError) as exc:
        raise PreprocessError(path, f"root attribute 'description' is not JSON ({exc})") from exc
    out = {}
    for e in entries:
        p = str(e.get("path", "")).strip("/")
        out[p] = e
    return out


def read_dreem(path: str | Path, channels: list[str]) -> DreemRecord:
    """Read ``channels`` (names like ``C3_M2``, ``EOG1`` or full paths ``signals/eeg/C3_M2``)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise PreprocessError(path, "file not found")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise PreprocessError(path, f"not a readable HDF5 file ({exc})") from exc
    with h5:
        desc = _description(path, h5)
        if "hypnogram" not in h5:
            raise PreprocessError(path, "missing dataset 'hypnogram'")
        hyp = np.asarray(h5["hypnogram"][:]).astype(np.int64).ravel()
        bad = set(np.unique(hyp).tolist()) - {-1, 0, 1, 2, 3, 4}
        if bad:
            raise PreprocessError(path, f"hypnogram holds unknown stage values {sorted(bad)}")
        available: dict[str, h5py.Dataset] = {}

        def collect(name: str, obj: object) -> None:  # must return None or visititems stops
            if isinstance(obj, h5py.Dataset):
                available[name] = obj

        h5.visititems(collect)
        signals = []
        for name in channels:
            key = name.strip("/")
            matches = [
                p for p in available if p.startswith("signals/") and (p == key or p.endswith("/" + key))
            ]
            if len(matches) != 1:
                names = sorted(p.rsplit("/", 1)[-1] for p in available if p.startswith("signals/"))
                what = "not found" if not matches else f"ambiguous ({', '.join(matches)})"
                raise PreprocessError(path, f"channel {name!r} {what}; available: {', '.join(names)}")
            p = matches[0]
            entry = desc.get(p) or desc.get(p.removeprefix("signals/"))
            if entry is None or "fs" not in entry:
                raise PreprocessError(path, f"no sampling rate for {p} in the 'description' attribute")
            data = np.asarray(available[p][:], dtype=np.float64).ravel()
            unit = str(entry.get("unit", "uV"))
            factor = _TO_UV.get(unit.lower())
            if factor is not None:
                data, unit = data * factor, "uV"
            signals.append(
                DreemSignal(name=name, path=p, data=data, unit=unit, sampling_rate=float(entry["fs"]))
            )
    return DreemRecord(path=path, signals=signals, hypnogram=hyp.astype(np.int8))
