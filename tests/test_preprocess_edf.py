"""EDF details beyond Sleep-EDF's usual files: 60-s data records, other units, band-pass option."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

import numpy as np

from physioex.preprocess.edf_reader import read_psg
from physioex.preprocess.params import PreprocessParams
from physioex.preprocess.run import preprocess_recordings
from physioex.sources.base import Recording
from physioex.store import open_store

START = datetime(1990, 1, 1, 23, 0, 0)
STAGES = ["Sleep stage W"] * 4 + ["Sleep stage 2"] * 8 + ["Sleep stage R"] * 4 + ["Sleep stage W"] * 4


def _write_hypnogram(path: Path, stages: list[tuple[str, int]]) -> None:
    """An EDF+ hypnogram: ``(description, epochs)`` annotations back to back from ``START``."""
    import pyedflib

    h = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    h.setStartdatetime(START)
    onset = 0
    for stage, epochs in stages:
        h.writeAnnotation(30.0 * onset, 30.0 * epochs, stage)
        onset += epochs
    h.close()


def _write_psg(path: Path, signals: list[tuple[dict, np.ndarray]], record_s: float = 30.0) -> None:
    """An EDF+ PSG of ``(signal header, digital codes)`` pairs starting at ``START``, by pyedflib."""
    import pyedflib

    w = pyedflib.EdfWriter(str(path), len(signals), file_type=pyedflib.FILETYPE_EDFPLUS)
    with warnings.catch_warnings():  # pyedflib warns that rates derive from the record length
        warnings.simplefilter("ignore", UserWarning)
        w.setDatarecordDuration(record_s)
    for i, (header, _) in enumerate(signals):
        w.setSignalHeader(i, {"transducer": "", "prefilter": "", **header})
    w.setStartdatetime(START)
    w.writeSamples([codes for _, codes in signals], digital=True)
    w.close()


def _eeg_header(rate: float, dimension: str = "uV") -> dict:
    scale = 1e-3 if dimension == "mV" else 1.0
    return {
        "label": "EEG Fpz-Cz",
        "dimension": dimension,
        "sample_frequency": rate,
        "physical_max": 192.0 * scale,
        "physical_min": -192.0 * scale,
        "digital_max": 2047,
        "digital_min": -2048,
    }


def _write_night(folder: Path, record_s: float, dimension: str = "uV") -> tuple[Recording, np.ndarray]:
    """A 20-epoch PSG (EDF+, records of ``record_s`` seconds) and its hypnogram, written by pyedflib."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    codes = rng.integers(-2048, 2048, size=len(STAGES) * 3000).astype(np.int32)
    psg = folder / "SC4991E0-PSG.edf"
    _write_psg(psg, [(_eeg_header(100, dimension), codes)], record_s)
    hyp = folder / "SC4991EC-Hypnogram.edf"
    _write_hypnogram(hyp, [(stage, 1) for stage in STAGES])
    rec = Recording(id="SC4991E0", subject="99", night=1, files={"psg": psg.name, "hypnogram": hyp.name})
    return rec, codes


def test_sixty_second_records_and_millivolts(tmp_path: Path) -> None:
    import pyedflib

    rec, codes = _write_night(tmp_path / "raw", record_s=60.0, dimension="mV")
    with pyedflib.EdfReader(str(tmp_path / "raw" / rec.files["psg"])) as f:
        assert f.datarecord_duration == 60.0 and f.datarecords_in_file == 10  # like SC4362F0
    params = PreprocessParams(crop="none")
    report = preprocess_recordings([rec], tmp_path / "raw", tmp_path / "s.zarr", dataset="x", params=params)
    assert report.ok, report.summary()
    store = open_store(tmp_path / "s.zarr")
    assert store.n_epochs("SC4991E0") == 20
    assert store.labels("SC4991E0").tolist() == [0] * 4 + [2] * 8 + [4] * 4 + [0] * 4
    psg = read_psg(tmp_path / "raw" / rec.files["psg"], ["EEG Fpz-Cz"])
    gain = 384.0 / 4095  # uV per code after the mV -> uV conversion
    assert psg.channels[0].unit == "uV" and abs(psg.channels[0].gain - gain) < 1e-12
    expected = (codes * gain + (-192.0 + 2048 * gain)).reshape(20, 1, 3000)
    np.testing.assert_allclose(store.signals("SC4991E0"), expected, atol=1e-4)


def test_bandpass_is_optional_and_documented(tmp_path: Path) -> None:
    rec, _ = _write_night(tmp_path / "raw", record_s=30.0)
    params = PreprocessParams(crop="none", bandpass=(0.3, 35.0))
    report = preprocess_recordings([rec], tmp_path / "raw", tmp_path / "bp.zarr", dataset="x", params=params)
    assert report.ok, report.summary()
    store = open_store(tmp_path / "bp.zarr")
    assert store.attrs["preprocessing"]["bandpass"] == [0.3, 35.0]
    x = store.signals("SC4991E0").ravel()
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 0.01)
    # white-noise input: the band-passed output keeps power in 1-30 Hz and loses it above 45 Hz
    assert spectrum[(freqs > 45)].mean() < 0.01 * spectrum[(freqs > 1) & (freqs < 30)].mean()


def test_one_hz_envelope_is_interpolated_linearly_and_labels_follow_the_hypnogram(tmp_path: Path) -> None:
    """A 1 Hz ``EMG submental`` envelope with a step and a ramp, stored at 100 Hz: linear between its
    samples (a step becomes a 1-s ramp), equal to them at their own instants, within the input's range;
    an irregular R&K hypnogram comes back epoch by epoch."""
    raw = tmp_path / "raw"
    raw.mkdir()
    seconds = np.arange(600)
    envelope = np.select(  # uV: 0.5 until 99 s, 4.0 from 100 s, down a 0.02 uV/s ramp to 0 at 400 s
        [seconds < 100, seconds < 200, seconds < 400], [0.5, 4.0, 4.0 - 0.02 * (seconds - 200)], 0.0
    )
    emg_header = {
        "label": "EMG submental",
        "dimension": "uV",
        "sample_frequency": 1,
        "physical_max": 5.0,
        "physical_min": -5.0,
        "digital_max": 2500,
        "digital_min": -2500,
    }  # Sleep-EDF's EMG header: 0.002 uV per code, code 0 = 0 uV
    eeg = np.random.default_rng(1).integers(-2048, 2048, size=600 * 100).astype(np.int32)
    _write_psg(
        raw / "SC4991E0-PSG.edf",
        [(_eeg_header(100), eeg), (emg_header, np.round(envelope / 0.002).astype(np.int32))],
    )
    hypnogram = [
        ("Sleep stage W", 3),
        ("Sleep stage 1", 1),
        ("Sleep stage 2", 4),
        ("Sleep stage 3", 1),
        ("Sleep stage 4", 2),
        ("Sleep stage R", 3),
        ("Movement time", 1),
        ("Sleep stage 2", 1),
        ("Sleep stage ?", 2),
        ("Sleep stage W", 2),
    ]
    _write_hypnogram(raw / "SC4991EC-Hypnogram.edf", hypnogram)
    rec = Recording(
        id="SC4991E0",
        subject="99",
        night=1,
        files={"psg": "SC4991E0-PSG.edf", "hypnogram": "SC4991EC-Hypnogram.edf"},
    )
    params = PreprocessParams(channels=("EEG Fpz-Cz", "EMG submental"), crop="none", allow_upsampling=True)
    report = preprocess_recordings([rec], raw, tmp_path / "s.zarr", dataset="x", params=params)
    assert report.ok, report.summary()
    store = open_store(tmp_path / "s.zarr")
    labels = store.labels("SC4991E0").tolist()
    assert labels == [0, 0, 0, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4, -2, 2, -1, -1, 0, 0]

    y = store.signals("SC4991E0")[:, 1].astype(np.float64).ravel()  # 100 Hz, 60000 samples
    assert y.shape == (60000,)
    np.testing.assert_allclose(y[:9901], 0.5, rtol=0, atol=1e-5)  # flat up to the 99-s sample
    np.testing.assert_allclose(
        y[9900:10001], 0.5 + 3.5 * np.arange(101) / 100, rtol=0, atol=1e-5
    )  # 99 s -> 100 s
    np.testing.assert_allclose(y[10000:20001], 4.0, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        y[20000:40001], 4.0 - 0.0002 * np.arange(20001), rtol=0, atol=1e-5
    )  # 0.02 uV/s
    np.testing.assert_allclose(y[40000:], 0.0, rtol=0, atol=1e-5)  # including the held final second
    np.testing.assert_allclose(y[::100], envelope, rtol=0, atol=1e-5)  # at the 1 Hz instants: the samples
    assert y.min() >= 0.0 and y.max() <= 4.0


def test_eeg_rate_channels_are_upsampled_band_limited(tmp_path: Path) -> None:
    """The linear rule is for slow channels only: 100 Hz EEG into a 200 Hz store stays polyphase, so a
    20 Hz rhythm keeps its shape between samples (linear interpolation would lose 19% at midpoints)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    t = np.arange(20 * 3000) / 100.0
    codes = np.round(100.0 * np.sin(2 * np.pi * 20.0 * t) / (384.0 / 4095)).astype(np.int32)
    _write_psg(raw / "SC4991E0-PSG.edf", [(_eeg_header(100), codes)])
    _write_hypnogram(raw / "SC4991EC-Hypnogram.edf", [(stage, 1) for stage in STAGES])
    rec = Recording(
        id="SC4991E0",
        subject="99",
        night=1,
        files={"psg": "SC4991E0-PSG.edf", "hypnogram": "SC4991EC-Hypnogram.edf"},
    )
    params = PreprocessParams(sampling_rate=200.0, crop="none", allow_upsampling=True)
    report = preprocess_recordings([rec], raw, tmp_path / "s.zarr", dataset="x", params=params)
    assert report.ok, report.summary()
    store = open_store(tmp_path / "s.zarr")
    assert store.recording_info("SC4991E0")["samples_per_epoch"] == 6000
    y = store.signals("SC4991E0")[:, 0].ravel()
    t200 = np.arange(y.size) / 200.0
    middle = slice(6000, y.size - 6000)  # away from the filter's edge effects at both ends
    np.testing.assert_allclose(y[middle], 100.0 * np.sin(2 * np.pi * 20.0 * t200[middle]), rtol=0, atol=0.5)
