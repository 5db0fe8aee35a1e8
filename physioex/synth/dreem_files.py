"""Write a simulated night as a Dreem DOD-H record: ``<uuid>.h5`` with hypnogram, signals and description.

Layout (docs/conventions.md section 2): ``hypnogram`` (int per 30-s epoch, -1 unscored, 0 W .. 4 REM),
``signals/eeg/<DERIV>`` (12 DOD-H derivations), ``signals/emg/EMG``, ``signals/emg/ECG``,
``signals/eog/EOG1``, ``signals/eog/EOG2`` as 1-D float32 datasets (uV, gzip-compressed, 1/8-uV steps)
and an ``events/`` group; the root attribute ``description`` is a JSON list of
``{path, name, domain, fs, unit, ...}`` per signal. Files are byte-identical for identical inputs
(no object timestamps, fixed layout).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

DREEM_FS = 250.0
"""Sampling rate of the DOD-H/DOD-O releases, Hz."""

QUANTUM_UV = 0.125
"""Signals are rounded to multiples of 1/8 uV (like a 16-bit amplifier) so that they compress about 2.6x."""

CHUNK_SAMPLES = 250 * 30 * 40
"""HDF5 chunk length: 40 epochs at 250 Hz."""

DODH_EEG: tuple[str, ...] = (
    "C3_M2",
    "F4_M1",
    "F3_F4",
    "F3_M2",
    "F4_O2",
    "F3_O1",
    "FP1_F3",
    "FP1_M2",
    "FP1_O1",
    "FP2_F4",
    "FP2_M1",
    "FP2_O2",
)
"""The 12 EEG derivations of DOD-H, in release order."""

SIGNAL_PATHS: dict[str, str] = {
    **{name: f"signals/eeg/{name}" for name in DODH_EEG},
    "EMG": "signals/emg/EMG",
    "ECG": "signals/emg/ECG",
    "EOG1": "signals/eog/EOG1",
    "EOG2": "signals/eog/EOG2",
}
"""Signal name -> dataset path inside the H5 file (ECG sits under ``emg`` as in the release)."""


def write_dreem_record(
    path: Path, hypnogram: np.ndarray, signals: dict[str, np.ndarray], fs: float = DREEM_FS
) -> None:
    """Write one record: ``hypnogram`` int ``(epochs,)``, ``signals`` name -> uV ``(epochs * 30 * fs,)``."""
    n = int(round(hypnogram.size * 30 * fs))
    description = []
    with h5py.File(path, "w", track_order=False, libver=("earliest", "v110")) as f:
        f.create_dataset("hypnogram", data=np.asarray(hypnogram, dtype=np.int64), track_times=False)
        for name, ds_path in SIGNAL_PATHS.items():
            x = np.asarray(signals[name], dtype=np.float32)
            if x.shape != (n,):
                raise ValueError(f"{path.name}: signal {name} has shape {x.shape}, expected ({n},)")
            x = np.round(x / QUANTUM_UV) * np.float32(QUANTUM_UV)  # ADC-like steps; helps gzip+shuffle
            f.create_dataset(
                ds_path,
                data=x,
                chunks=(min(n, CHUNK_SAMPLES),),
                compression="gzip",
                compression_opts=1,
                shuffle=True,
                track_times=False,
            )
            domain = ds_path.split("/")[1]
            description.append(
                {"path": ds_path, "name": name, "domain": domain, "fs": fs, "unit": "uV", "length": n}
            )
        f.create_group("events")
        f.attrs["description"] = json.dumps(description)
