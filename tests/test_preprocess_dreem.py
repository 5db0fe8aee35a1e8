"""Dreem H5 records: rate from the description attribute, anti-aliased resampling to 100 Hz, labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from physioex.errors import InputError
from physioex.preprocess.params import PreprocessParams
from physioex.preprocess.run import preprocess_recordings
from physioex.sources.base import Recording
from physioex.store import open_store

FS = 250.0


def _write_dreem(path: Path, n_epochs: int, hypnogram: np.ndarray, fs: float = FS) -> None:
    """A DOD-H shaped record: 10 Hz (in band) + 70 Hz (above 50 Hz Nyquist of the store) in C3_M2."""
    import h5py

    t = np.arange(int(n_epochs * 30 * fs)) / fs
    c3 = 40.0 * np.sin(2 * np.pi * 10.0 * t) + 30.0 * np.sin(2 * np.pi * 70.0 * t)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("hypnogram", data=hypnogram.astype(np.int64))
        h5.create_dataset("signals/eeg/C3_M2", data=c3.astype(np.float32))
        h5.create_dataset("signals/eeg/F3_F4", data=np.zeros_like(c3, dtype=np.float32))
        h5.create_dataset("signals/emg/ECG", data=np.zeros_like(c3, dtype=np.float32))
        h5.create_group("events")
        desc = [
            {"path": "/signals/eeg/C3_M2", "fs": fs, "unit": "uV", "name": "C3_M2"},
            {"path": "/signals/eeg/F3_F4", "fs": fs, "unit": "uV", "name": "F3_F4"},
            {"path": "/signals/emg/ECG", "fs": fs, "unit": "uV", "name": "ECG"},
        ]
        h5.attrs["description"] = json.dumps(desc)


def test_dreem_record_is_resampled_with_antialiasing(tmp_path: Path) -> None:
    hyp = np.array([-1, 0, 0, 1, 2, 2, 3, 3, 4, 0, -1, 2], dtype=np.int64)
    raw = tmp_path / "raw"
    (raw / "dreem").mkdir(parents=True)
    _write_dreem(raw / "dreem" / "a.h5", len(hyp), hyp)
    rec = Recording(id="a", subject="a", night=1, files={"h5": "dreem/a.h5"}, format="dreem")
    report = preprocess_recordings([rec], raw, tmp_path / "d.zarr", dataset="demo-dreem", progress=False)
    assert report.ok, report.summary()
    store = open_store(tmp_path / "d.zarr")
    assert store.channels == ["C3_M2"] and store.sampling_rate == 100.0
    x = store.signals("a")
    assert x.shape == (len(hyp), 1, 3000)  # auto crop = whole record (lights-off..on)
    np.testing.assert_array_equal(store.labels("a"), hyp.astype(np.int8))
    # Spectrum of the middle epochs: the 10 Hz tone keeps its 40 uV amplitude, 70 Hz does not alias to 30 Hz.
    mid = x[3:9, 0].ravel()
    spectrum = np.abs(np.fft.rfft(mid)) * 2 / mid.size
    freqs = np.fft.rfftfreq(mid.size, 1 / 100.0)
    assert spectrum[np.argmin(np.abs(freqs - 10.0))] == pytest.approx(40.0, rel=0.01)
    assert spectrum[np.argmin(np.abs(freqs - 30.0))] < 0.1
    info = store.recording_info("a")
    assert info["files"]["h5"]["sha256"] and info["n_epochs"] == len(hyp)


def test_dreem_errors_name_file_and_problem(tmp_path: Path) -> None:
    import h5py

    hyp = np.zeros(4, dtype=np.int64)
    raw = tmp_path / "raw"
    (raw / "dreem").mkdir(parents=True)
    _write_dreem(raw / "dreem" / "ok.h5", 4, hyp)
    _write_dreem(raw / "dreem" / "nodesc.h5", 4, hyp)
    with h5py.File(raw / "dreem" / "nodesc.h5", "a") as h5:
        del h5.attrs["description"]
    _write_dreem(raw / "dreem" / "short.h5", 4, np.zeros(9, dtype=np.int64))
    recs = [
        Recording(id=n, subject=n, night=1, files={"h5": f"dreem/{n}.h5"}, format="dreem")
        for n in ("ok", "nodesc", "short")
    ]
    report = preprocess_recordings(recs, raw, tmp_path / "d.zarr", dataset="demo-dreem", progress=False)
    assert report.written == ["ok"]
    assert "nodesc.h5: missing root attribute 'description'" in report.failed["nodesc"]
    assert "short.h5: hypnogram/signal mismatch: 9 scored epochs" in report.failed["short"]
    # A channel that one record lacks fails that record; one that no record has is a bad parameter.
    _write_dreem(raw / "dreem" / "other.h5", 4, hyp)
    with h5py.File(raw / "dreem" / "other.h5", "a") as h5:
        h5["signals/eeg/C4_M1"] = h5["signals/eeg/C3_M2"][:]
        desc = json.loads(h5.attrs["description"])
        h5.attrs["description"] = json.dumps(
            [*desc, {**desc[0], "path": "/signals/eeg/C4_M1", "name": "C4_M1"}]
        )
    other = Recording(id="other", subject="other", night=1, files={"h5": "dreem/other.h5"}, format="dreem")
    params = PreprocessParams(channels=("C4_M1",))
    report = preprocess_recordings(
        [recs[0], other], raw, tmp_path / "e.zarr", dataset="x", params=params, progress=False
    )
    assert report.written == ["other"]
    assert "ok.h5: channel 'C4_M1' not found; available: C3_M2, ECG, F3_F4" in report.failed["ok"]
    with pytest.raises(
        InputError, match=r"^--channels: 'C5_M1' is in none of the 1 recordings \(e\.g\. .*ok\.h5"
    ):
        preprocess_recordings(
            recs[:1], raw, tmp_path / "f.zarr", dataset="x", params=PreprocessParams(channels=("C5_M1",))
        )
    assert not (tmp_path / "f.zarr").exists()


def test_failures_that_empty_a_fold_leave_a_complete_store_without_folds(tmp_path: Path) -> None:
    """With demo-dreem's fold seed, n3 is alone in fold 1 of 3: when it fails, the other recordings are
    still stored and indexed (a consistent store), with no folds and the reason in the report."""
    import h5py

    hyp = np.zeros(4, dtype=np.int64)
    raw = tmp_path / "raw"
    (raw / "dreem").mkdir(parents=True)
    names = ("n0", "n1", "n2", "n3", "n4")
    for n in names:
        _write_dreem(raw / "dreem" / f"{n}.h5", 4, hyp)
    with h5py.File(raw / "dreem" / "n3.h5", "a") as h5:
        del h5.attrs["description"]
    recs = [Recording(id=n, subject=n, night=1, files={"h5": f"dreem/{n}.h5"}, format="dreem") for n in names]
    report = preprocess_recordings(recs, raw, tmp_path / "d.zarr", dataset="demo-dreem", progress=False)
    assert report.written == ["n0", "n1", "n2", "n4"] and list(report.failed) == ["n3"]
    assert not report.ok and report.n_folds == 0
    assert report.no_folds is not None and "fold(s) 1 of 3 without a test subject" in report.no_folds
    assert "NO FOLDS: " in report.summary()
    store = open_store(tmp_path / "d.zarr")
    assert store.recordings == ["n0", "n1", "n2", "n4"]
