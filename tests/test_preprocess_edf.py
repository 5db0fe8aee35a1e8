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


def _write_night(folder: Path, record_s: float, dimension: str = "uV") -> tuple[Recording, np.ndarray]:
    """A 20-epoch PSG (EDF+, records of ``record_s`` seconds) and its hypnogram, written by pyedflib."""
    import pyedflib

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    codes = rng.integers(-2048, 2048, size=len(STAGES) * 3000).astype(np.int32)
    psg = folder / "SC4991E0-PSG.edf"
    w = pyedflib.EdfWriter(str(psg), 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    with warnings.catch_warnings():  # pyedflib warns that rates derive from the record length
        warnings.simplefilter("ignore", UserWarning)
        w.setDatarecordDuration(record_s)
    w.setSignalHeader(
        0,
        {
            "label": "EEG Fpz-Cz",
            "dimension": dimension,
            "sample_frequency": 100,
            "physical_max": 0.192 if dimension == "mV" else 192.0,
            "physical_min": -0.192 if dimension == "mV" else -192.0,
            "digital_max": 2047,
            "digital_min": -2048,
            "transducer": "",
            "prefilter": "",
        },
    )
    w.setStartdatetime(START)
    w.writeSamples([codes], digital=True)
    w.close()
    hyp = folder / "SC4991EC-Hypnogram.edf"
    h = pyedflib.EdfWriter(str(hyp), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    h.setStartdatetime(START)
    for i, stage in enumerate(STAGES):
        h.writeAnnotation(30.0 * i, 30.0, stage)
    h.close()
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
