"""The Zarr epoch store on the real SC4001 night: labels epoch by epoch and values against MNE, lossless
codes, plain-zarr access, corruption, the 1 Hz EMG envelope upsampled without ringing."""

from __future__ import annotations

import hashlib
import pickle
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from helpers import SC4001

from physioex.preprocess.params import PreprocessParams
from physioex.preprocess.run import preprocess_recordings
from physioex.store import open_store
from physioex.store.reader import StoreError

THREE = ("EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal")
WHOLE_NIGHT_EPOCHS = 2650
"""SC4001E0-PSG.edf holds 79500 s of signal."""
CROP = (961, 1802)
"""Default (``sleep``) crop of SC4001 in epochs: 28830 s to 54060 s, 841 epochs (the published count)."""

RK_TO_AASM = {
    "Sleep stage W": 0,
    "Sleep stage 1": 1,
    "Sleep stage 2": 2,
    "Sleep stage 3": 3,
    "Sleep stage 4": 3,
    "Sleep stage R": 4,
    "Sleep stage ?": -1,
    "Movement time": -2,
}
"""The test's own statement of the label codes: R&K S3 and S4 are AASM N3."""


def _edf_start(path: Path) -> datetime:
    """Start date and time from the EDF header bytes 168-184 (``dd.mm.yyhh.mm.ss``), read by hand."""
    with path.open("rb") as fh:
        fh.seek(168)
        text = fh.read(16).decode("ascii")
    day, month, year = (int(v) for v in text[:8].split("."))
    hour, minute, second = (int(v) for v in text[8:].split("."))
    century = 1900 if year >= 85 else 2000  # EDF's clipping date
    return datetime(century + year, month, day, hour, minute, second)


def _hypnogram_labels(mirror: Path, n_epochs: int) -> np.ndarray:
    """Per-epoch labels of SC4001's hypnogram as MNE reads its EDF+ annotations (not physioex's reader),
    on the PSG's epoch grid; epochs no annotation covers stay -1."""
    import mne

    hyp, psg = mirror / SC4001.files["hypnogram"], mirror / SC4001.files["psg"]
    shift = (_edf_start(hyp) - _edf_start(psg)).total_seconds()
    labels = np.full(n_epochs, -1, dtype=np.int8)
    for ann in mne.read_annotations(hyp):
        first, count = (ann["onset"] + shift) / 30.0, ann["duration"] / 30.0
        assert first == int(first) and count == int(count), ann  # on the 30-s grid
        labels[int(first) : int(first + count)] = RK_TO_AASM[ann["description"]]
    return labels


@pytest.fixture(scope="module")
def sc4001_store(sleepedf_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("store") / "sc.zarr"
    report = preprocess_recordings(
        [SC4001],
        sleepedf_mirror,
        out,
        dataset="sleepedf-20",
        params=PreprocessParams(channels=THREE),
        progress=False,
    )
    assert report.ok and report.written == ["SC4001E0"]
    return out


def test_labels_are_the_hypnogram_epoch_by_epoch(sleepedf_mirror: Path, tmp_path: Path) -> None:
    report = preprocess_recordings(
        [SC4001], sleepedf_mirror, tmp_path / "s.zarr", dataset="x", progress=False
    )
    assert report.ok
    store = open_store(tmp_path / "s.zarr")
    assert store.channels == ["EEG Fpz-Cz"]  # Sleep-EDF default
    info = store.recording_info("SC4001E0")
    assert info["n_epochs"] == 841 == store.n_epochs("SC4001E0")
    assert info["crop_s"] == [28830.0, 54060.0]
    assert info["start_time"] == "1989-04-25T00:13:30"  # 16:13:00 + 28830 s
    labels = store.labels("SC4001E0")
    assert labels.dtype == np.int8
    expected = _hypnogram_labels(sleepedf_mirror, WHOLE_NIGHT_EPOCHS)[CROP[0] : CROP[1]]
    np.testing.assert_array_equal(labels, expected)
    # by hand: the first sleep epoch (S1 at 30630 s) is 30 min (60 epochs) after the crop start
    assert labels[:60].tolist() == [0] * 60 and labels[60] == 1


def test_whole_night_keeps_unscored_epochs(sleepedf_mirror: Path, tmp_path: Path) -> None:
    import mne

    params = PreprocessParams(crop="none")
    preprocess_recordings(
        [SC4001], sleepedf_mirror, tmp_path / "s.zarr", dataset="x", params=params, progress=False
    )
    labels = open_store(tmp_path / "s.zarr").labels("SC4001E0")
    np.testing.assert_array_equal(labels, _hypnogram_labels(sleepedf_mirror, WHOLE_NIGHT_EPOCHS))
    # the final '?' annotation starts at 79500 s, the PSG end: it is truncated, not appended
    last = mne.read_annotations(sleepedf_mirror / SC4001.files["hypnogram"])[-1]
    assert last["description"] == "Sleep stage ?" and last["onset"] == 79500.0
    assert labels.shape == (WHOLE_NIGHT_EPOCHS,)


def test_signals_equal_mne_in_uV(sleepedf_mirror: Path, sc4001_store: Path) -> None:
    import mne

    store = open_store(sc4001_store)
    assert store.channels == list(THREE)
    x = store.signals("SC4001E0")
    assert x.dtype == np.float32 and x.shape == (841, 3, 3000)
    raw = mne.io.read_raw_edf(sleepedf_mirror / SC4001.files["psg"], include=list(THREE), verbose="error")
    ref = raw.get_data(picks=list(THREE), start=2883000, stop=5406000) * 1e6  # V -> uV
    ref = ref.reshape(3, 841, 3000).transpose(1, 0, 2)
    np.testing.assert_allclose(x, ref, rtol=0, atol=1e-4)
    # epoch ranges are plain slices of the same data
    np.testing.assert_array_equal(store.signals("SC4001E0", 100, 121), x[100:121])
    np.testing.assert_array_equal(store.signals("SC4001E0", 830), x[830:])


@pytest.mark.filterwarnings("ignore:Numcodecs codecs are not in the Zarr version 3 specification")
def test_lossless_int16_codes_and_size(sleepedf_mirror: Path, sc4001_store: Path) -> None:
    import pyedflib
    import zarr

    arr = zarr.open_array(sc4001_store / "recordings/SC4001E0/signals/EOG_horizontal", mode="r")
    gain, offset = arr.attrs["gain"], arr.attrs["offset"]
    assert isinstance(gain, float) and isinstance(offset, float)
    with pyedflib.EdfReader(str(sleepedf_mirror / SC4001.files["psg"])) as f:
        codes = f.readSignal(2, digital=True)[2883000:5406000].reshape(841, 3000)
    stored_codes = np.round((np.asarray(arr[:], dtype=np.float64) - offset) / gain)
    np.testing.assert_array_equal(stored_codes, codes)
    assert arr.nbytes_stored() < arr.nbytes / 2  # int16 + zstd beats float32 by more than 2x


@pytest.mark.filterwarnings("ignore:Numcodecs codecs are not in the Zarr version 3 specification")
def test_plain_zarr_reads_uV_without_physioex(sc4001_store: Path) -> None:
    import zarr

    root = zarr.open_group(str(sc4001_store), mode="r")
    assert root.attrs["format_version"] == 1 and root.attrs["channels"] == list(THREE)
    eeg = root["recordings/SC4001E0/signals/EEG_Fpz-Cz"]
    assert isinstance(eeg, zarr.Array)
    assert eeg.dtype == np.float32 and eeg.shape == (841, 3000) and eeg.attrs["unit"] == "uV"
    np.testing.assert_array_equal(eeg[5:7], open_store(sc4001_store).signals("SC4001E0", 5, 7)[:, 0])
    assert 20 < float(np.abs(np.asarray(eeg[:])).max()) <= 192.0  # physical range of Fpz-Cz in the EDF header


def test_flipped_byte_in_a_chunk_fails_on_read(sc4001_store: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "bad.zarr"
    shutil.copytree(sc4001_store, copy)
    chunk = copy / "recordings/SC4001E0/signals/EEG_Fpz-Cz/c/1/0"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x01
    chunk.write_bytes(bytes(data))
    store = open_store(copy)
    store.signals("SC4001E0", 0, 10)  # chunk 0 untouched
    with pytest.raises(Exception, match="(?i)checksum|crc"):
        store.signals("SC4001E0", 300, 310)


def test_reader_api(sleepedf_mirror: Path, sc4001_store: Path, tmp_path: Path) -> None:
    store = open_store(sc4001_store)
    assert store.recordings == ["SC4001E0"] and store.subjects == ["0"]
    assert store.sampling_rate == 100.0 and store.samples_per_epoch == 3000
    assert store.recordings_of(["0"]) == ["SC4001E0"] and store.recordings_of([5]) == []
    assert store.attrs["preprocessing"]["channels"] == list(THREE)
    info = store.recording_info("SC4001E0")
    assert info["subject"] == "0" and info["night"] == 1
    for role in ("psg", "hypnogram"):
        path = sleepedf_mirror / SC4001.files[role]
        assert info["files"][role] == {
            "path": SC4001.files[role],
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    assert store.folds == []  # one subject: no train/valid/test split possible
    with pytest.raises(KeyError, match="SC4999"):
        store.labels("SC4999E0")
    clone = pickle.loads(pickle.dumps(store))
    np.testing.assert_array_equal(clone.labels("SC4001E0"), store.labels("SC4001E0"))
    with pytest.raises(StoreError):
        open_store(tmp_path / "nothing.zarr")


def test_one_hz_channels_refused_unless_allowed(sleepedf_mirror: Path, tmp_path: Path) -> None:
    chans = ("EEG Fpz-Cz", "EMG submental")
    params = PreprocessParams(channels=chans)
    report = preprocess_recordings([SC4001], sleepedf_mirror, tmp_path / "a.zarr", dataset="x", params=params)
    assert "SC4001E0-PSG.edf: channel 'EMG submental' is sampled at 1 Hz" in report.failed["SC4001E0"]
    assert not (tmp_path / "a.zarr" / "recordings" / "SC4001E0").exists()


def test_one_hz_emg_envelope_upsampled_without_ringing(sleepedf_mirror: Path, tmp_path: Path) -> None:
    """``EMG submental`` (a 1 Hz RMS envelope) at 100 Hz: linear between its samples, equal to them at
    their own instants, never below the file's minimum (polyphase upsampling rang to -0.43 uV there)."""
    import mne
    import zarr

    params = PreprocessParams(channels=("EEG Fpz-Cz", "EMG submental"), allow_upsampling=True)
    report = preprocess_recordings([SC4001], sleepedf_mirror, tmp_path / "b.zarr", dataset="x", params=params)
    assert report.ok
    emg = zarr.open_array(tmp_path / "b.zarr" / "recordings/SC4001E0/signals/EMG_submental", mode="r")
    assert emg.attrs["source_sampling_rate"] == 1.0 and emg.attrs["resampled"] is True
    assert emg.attrs["resampling"] == "linear" and emg.attrs["unit"] == "uV"
    assert "gain" not in emg.attrs  # interpolated values are stored as float32, not as EDF codes
    y = open_store(tmp_path / "b.zarr").signals("SC4001E0")[:, 1].astype(np.float64).ravel()
    assert y.shape == (841 * 3000,)

    raw = mne.io.read_raw_edf(
        sleepedf_mirror / SC4001.files["psg"], include=["EMG submental"], verbose="error"
    )
    assert raw.info["sfreq"] == 1.0
    night = raw.get_data()[0] * 1e6  # V -> uV, 79500 samples at 1 Hz
    x = night[28830:54061]  # the crop's 1 Hz samples plus the one after it (the last ramp's end)
    at_instants = y[::100]
    np.testing.assert_allclose(at_instants, x[:-1], rtol=0, atol=1e-5)  # float32 storage
    # between two 1 Hz samples: on the straight line joining them, 10 ms per step
    m = np.arange(100) / 100.0
    np.testing.assert_allclose(
        y.reshape(-1, 100), x[:-1, None] + (x[1:, None] - x[:-1, None]) * m, rtol=0, atol=1e-5
    )
    assert y.min() >= np.float32(night.min()) and y.max() <= np.float32(night.max())
    assert night.min() < 0  # SC4001's envelope dips to -0.108 uV (offset): the bound is the file's, not 0


def test_store_reads_over_http(sc4001_store: Path) -> None:
    """``open_store`` takes fsspec URLs: the same store served by a real loopback HTTP server."""
    from http_server import LoopbackServer  # tests/ is on sys.path (pytest prepend import mode)

    with LoopbackServer(sc4001_store.parent) as server:
        remote = open_store(server.url.rstrip("/") + "/" + sc4001_store.name)
        local = open_store(sc4001_store)
        assert remote.recordings == local.recordings and remote.channels == local.channels
        np.testing.assert_array_equal(
            remote.signals("SC4001E0", 400, 421), local.signals("SC4001E0", 400, 421)
        )
        np.testing.assert_array_equal(remote.labels("SC4001E0"), local.labels("SC4001E0"))


NUMCODECS_WARNING = "Numcodecs codecs are not in the Zarr version 3 specification"


def test_importing_the_store_changes_no_warning_filter() -> None:
    """A library must not silence warnings process-wide: filters are the same before and after import."""
    import subprocess
    import sys

    code = (  # third-party libraries add their own filters at import: import them first
        "import warnings, numpy, zarr, zarr.codecs.numcodecs; before = list(warnings.filters); "
        "import physioex.store, physioex.store.writer, physioex.store.verify, physioex.store.schema; "
        "assert warnings.filters == before, [f for f in warnings.filters if f not in before]; "
        "import physioex.preprocess.run; "
        f"assert not [f for f in warnings.filters if f[1] and f[1].match({NUMCODECS_WARNING!r})]"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_writing_opening_and_verifying_a_lossless_store_emits_no_numcodecs_warning(tmp_path: Path) -> None:
    """Our zarr calls on FixedScaleOffset arrays are quiet; plain zarr still warns (no global filter)."""
    import warnings

    import zarr

    from physioex.store.schema import RootAttrs
    from physioex.store.verify import verify_store
    from physioex.store.writer import ChannelSignal, init_store, write_recording, write_root_attrs

    codes = np.random.default_rng(0).integers(-2048, 2048, size=(3, 3000))
    signal = ChannelSignal("EEG Fpz-Cz", (codes * 0.5 + 1.0).astype(np.float32), gain=0.5, offset=1.0)
    path = tmp_path / "lossless.zarr"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        init_store(path, "x")
        attrs = {"subject": "0", "night": 1, "n_epochs": 3, "params_hash": "h"}
        write_recording(path, "R1", [signal], np.zeros(3, dtype=np.int8), attrs)
        root = RootAttrs("x", "sleepedf", ["EEG Fpz-Cz"], 100.0, {}, "h", {"R1": attrs})
        write_root_attrs(path, root)
        store = open_store(path)
        np.testing.assert_array_equal(store.signals("R1")[:, 0], signal.data)
        assert verify_store(path).ok
        assert pickle.loads(pickle.dumps(store)).labels("R1").tolist() == [0, 0, 0]
    assert [str(w.message) for w in caught if NUMCODECS_WARNING in str(w.message)] == []
    with pytest.warns(UserWarning, match=NUMCODECS_WARNING):  # the array really uses the numcodecs filter
        zarr.open_array(path / "recordings/R1/signals/EEG_Fpz-Cz", mode="r")
