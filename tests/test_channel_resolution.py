"""Channel requests resolved per recording: aliases, preference lists, re-referencing, units, user YAML,
the resolution recorded in the store, and Sleep-EDF's exact labels unchanged (docs/channels.md)."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from physioex.errors import InputError
from physioex.preprocess.channel_aliases import AliasTable, load_aliases
from physioex.preprocess.errors import PreprocessError
from physioex.preprocess.params import PreprocessParams
from physioex.preprocess.run import preprocess_recordings
from physioex.sources.base import Recording
from physioex.store import open_store

START = datetime(1990, 1, 1, 23, 0, 0)
STAGES = ["Sleep stage W"] * 2 + ["Sleep stage 2"] * 4 + ["Sleep stage R"] * 2 + ["Sleep stage W"] * 2
RATE = 100
N = len(STAGES) * 30 * RATE
"""Samples per channel at ``RATE`` Hz (10 epochs)."""


def _header(label: str, dimension: str = "uV", phys: float = 500.0, rate: float = RATE) -> dict:
    return {
        "label": label,
        "dimension": dimension,
        "sample_frequency": rate,
        "physical_max": phys,
        "physical_min": -phys,
        "digital_max": 32767,
        "digital_min": -32768,
        "transducer": "",
        "prefilter": "",
    }


def _night(folder: Path, rec_id: str, channels: list[dict], seed: int = 0) -> tuple[Recording, dict]:
    """A 10-epoch EDF+ PSG with ``channels`` (headers) of random codes, and its hypnogram.

    Returns the recording and ``{label: codes}`` (int32, what was written)."""
    import pyedflib

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    codes = {
        h["label"]: rng.integers(-20000, 20000, size=int(N * h["sample_frequency"] / RATE)) for h in channels
    }
    psg, hyp = folder / f"{rec_id}-PSG.edf", folder / f"{rec_id}-Hypnogram.edf"
    w = pyedflib.EdfWriter(str(psg), len(channels), file_type=pyedflib.FILETYPE_EDFPLUS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        w.setDatarecordDuration(30.0)
    for i, h in enumerate(channels):
        w.setSignalHeader(i, h)
    w.setStartdatetime(START)
    w.writeSamples([codes[h["label"]].astype(np.int32) for h in channels], digital=True)
    w.close()
    h = pyedflib.EdfWriter(str(hyp), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    h.setStartdatetime(START)
    for k, stage in enumerate(STAGES):
        h.writeAnnotation(30.0 * k, 30.0, stage)
    h.close()
    rec = Recording(id=rec_id, subject=rec_id[-1], night=1, files={"psg": psg.name, "hypnogram": hyp.name})
    return rec, codes


def _uv(codes: np.ndarray, phys: float = 500.0, scale: float = 1.0) -> np.ndarray:
    """Physical value of 16-bit full-range codes in uV (EDF: physical range +-``phys`` in its unit)."""
    gain = 2 * phys / 65535
    return (codes * gain + (-phys + 32768 * gain)) * scale


def _store(tmp_path: Path, recs: list[Recording], **params: object) -> tuple[object, object]:
    p = PreprocessParams(crop="none", **params)  # type: ignore[arg-type]
    report = preprocess_recordings(recs, tmp_path / "raw", tmp_path / "s.zarr", dataset="x", params=p)
    return report, open_store(tmp_path / "s.zarr") if (tmp_path / "s.zarr" / "zarr.json").exists() else None


def _resolution(store: object, rec: str) -> dict[str, dict]:
    return {e["channel"]: e for e in store.recording_info(rec)["channel_resolution"]}  # type: ignore[attr-defined]


def test_an_alias_satisfies_a_canonical_name_losslessly(tmp_path: Path) -> None:
    """``EEG C4-A1`` (earlobe reference) satisfies ``C4-M1``; its codes are stored as they are."""
    rec, codes = _night(tmp_path / "raw", "LAB01", [_header("ECG"), _header("EEG C4-A1")])
    report, store = _store(tmp_path, [rec], channels=("C4-M1",))
    assert report.ok, report.summary()  # type: ignore[attr-defined]
    assert store.channels == ["C4-M1"]  # type: ignore[attr-defined]
    np.testing.assert_allclose(store.signals("LAB01").ravel(), _uv(codes["EEG C4-A1"]), atol=1e-3)  # type: ignore[attr-defined]
    arr = store.arrays("LAB01")["signals/C4-M1"]  # type: ignore[attr-defined]
    assert arr.attrs["lossless_int16"] is True and arr.attrs["edf_label"] == "EEG C4-A1"
    entry = _resolution(store, "LAB01")["C4-M1"]
    assert entry["labels"] == ["EEG C4-A1"] and entry["how"] == "alias" and entry["rereferenced"] is False
    assert entry["scale_to_uV"] == 1.0 and entry["unit"] == "uV"


@pytest.mark.parametrize(
    ("label", "canonical"),
    [
        ("EEG", "C4-M1"),  # SHHS: EEG is C4/A1, EEG(sec) and its spellings C3/A2 (NSRR documentation)
        ("EEG(sec)", "C3-M2"),
        ("EEG 2", "C3-M2"),
        ("EEG2", "C3-M2"),
        ("C4:M1", "C4-M1"),
        ("eeg c4_m1", "C4-M1"),
        ("EOG E1-M2", "EOG-L"),  # HMC
        ("EOG(L)", "EOG-L"),  # SHHS
        ("EMG chin", "EMG-chin"),
        ("EEG Fpz-Cz", "Fpz-Cz"),  # Sleep-EDF
    ],
)
def test_builtin_aliases(label: str, canonical: str) -> None:
    r = AliasTable().resolve(canonical, ["Resp", label])
    assert r is not None and r.labels == (label,) and r.name == canonical


def test_preference_list_first_present_wins_and_none_is_a_per_recording_error(tmp_path: Path) -> None:
    both, _ = _night(tmp_path / "raw", "LAB01", [_header("EEG C3-M2"), _header("EEG C4-M1"), _header("E1")])
    second, codes = _night(tmp_path / "raw", "LAB02", [_header("C3-A2"), _header("EOG E1-M2")], seed=1)
    neither, _ = _night(tmp_path / "raw", "LAB03", [_header("EEG O2-M1"), _header("EOG E1-M2")], seed=2)
    report, store = _store(tmp_path, [both, second, neither], channels=("C4-M1|C3-M2", "EOG-L"))
    assert set(report.written) == {"LAB01", "LAB02"}  # type: ignore[attr-defined]
    failure = report.failed["LAB03"]  # type: ignore[attr-defined]
    assert "LAB03-PSG.edf" in failure and "'C4-M1|C3-M2' not found" in failure
    assert "available: EEG O2-M1, EOG E1-M2" in failure
    assert store.channels == ["C4-M1", "EOG-L"]  # type: ignore[attr-defined]
    assert _resolution(store, "LAB01")["C4-M1"]["labels"] == ["EEG C4-M1"]
    used = _resolution(store, "LAB02")["C4-M1"]
    assert used["match"] == "C3-M2" and used["labels"] == ["C3-A2"] and used["request"] == "C4-M1|C3-M2"
    np.testing.assert_allclose(store.signals("LAB02")[:, 0].ravel(), _uv(codes["C3-A2"]), atol=1e-3)  # type: ignore[attr-defined]
    assert _resolution(store, "LAB01")["EOG-L"]["labels"] == ["E1"]


def test_no_acceptable_channel_anywhere_is_an_input_error(tmp_path: Path) -> None:
    rec, _ = _night(tmp_path / "raw", "LAB01", [_header("EEG O2-M1")])
    with pytest.raises(InputError, match=r"--channels: 'C4-M1\|C3-M2' is in none .*EEG O2-M1"):
        _store(tmp_path, [rec], channels=("C4-M1|C3-M2",))


def test_rereferencing_is_the_sample_wise_difference_in_uv(tmp_path: Path) -> None:
    """Only monopolar C4 and M1 (the mastoid in mV, another range): stored C4-M1 = C4 - M1 in uV."""
    channels = [_header("EEG C4", phys=800.0), _header("M1", dimension="mV", phys=0.3), _header("EEG C3")]
    rec, codes = _night(tmp_path / "raw", "LAB01", channels)
    report, store = _store(tmp_path, [rec], channels=("C4-M1",))
    assert report.ok, report.summary()  # type: ignore[attr-defined]
    expected = _uv(codes["EEG C4"], 800.0) - _uv(codes["M1"], 0.3, scale=1000.0)
    stored = store.signals("LAB01").ravel()  # type: ignore[attr-defined]
    np.testing.assert_allclose(stored, expected, rtol=1e-6, atol=1e-4)
    arr = store.arrays("LAB01")["signals/C4-M1"]  # type: ignore[attr-defined]
    assert "lossless_int16" not in arr.attrs and arr.dtype == np.float32
    entry = _resolution(store, "LAB01")["C4-M1"]
    assert entry["rereferenced"] is True and entry["labels"] == ["EEG C4", "M1"]
    assert entry["edf_unit"] == ["uV", "mV"] and entry["scale_to_uV"] == [1.0, 1000.0]


def test_rereferencing_needs_one_rate(tmp_path: Path) -> None:
    channels = [_header("C4"), _header("A1", rate=50)]
    rec, _ = _night(tmp_path / "raw", "LAB01", channels)
    report, _ = _store(tmp_path, [rec], channels=("C4-M1",))
    assert "cannot re-reference 'C4' (100 Hz) against 'A1' (50 Hz)" in report.failed["LAB01"]  # type: ignore[attr-defined]


def test_units_are_converted_to_uv_and_unknown_voltage_units_refused(tmp_path: Path) -> None:
    rec, codes = _night(
        tmp_path / "raw", "LAB01", [_header("EEG C4-M1", "mV", 0.5), _header("Temp", "degC", 40)]
    )
    report, store = _store(tmp_path, [rec], channels=("C4-M1", "Temp"), allow_upsampling=True)
    assert report.ok, report.summary()  # type: ignore[attr-defined]
    x = store.signals("LAB01")  # type: ignore[attr-defined]
    np.testing.assert_allclose(
        x[:, 0].ravel(), _uv(codes["EEG C4-M1"], 0.5, scale=1000.0), rtol=1e-6, atol=1e-4
    )
    np.testing.assert_allclose(x[:, 1].ravel(), _uv(codes["Temp"], 40.0), atol=1e-4)  # degC, as recorded
    resolution = _resolution(store, "LAB01")
    assert resolution["C4-M1"]["scale_to_uV"] == 1000.0 and resolution["C4-M1"]["edf_unit"] == "mV"
    assert resolution["Temp"]["scale_to_uV"] is None and resolution["Temp"]["unit"] == "degC"
    assert store.recording_info("LAB01")["units"] == ["uV", "degC"]  # type: ignore[attr-defined]

    bad, _ = _night(tmp_path / "raw2", "LAB02", [_header("EEG C4-M1", "mU")])
    from physioex.preprocess.edf_reader import PsgFile

    with pytest.raises(
        PreprocessError, match=r"LAB02-PSG.edf: channel 'C4-M1' \(EDF label 'EEG C4-M1'\) has "
    ):
        PsgFile(tmp_path / "raw2" / bad.files["psg"], ["C4-M1"])

    # a voltage channel whose header leaves the dimension empty (common in exports) is read as uV
    blank, blank_codes = _night(tmp_path / "raw3", "LAB03", [_header("EEG C4-M1", "", 0.5)])
    with PsgFile(tmp_path / "raw3" / blank.files["psg"], ["C4-M1"]) as psg:
        c = psg.read("C4-M1")
        np.testing.assert_allclose(c.physical(), _uv(blank_codes["EEG C4-M1"], 0.5), atol=1e-4)
        assert psg.resolution[0]["edf_unit"] == ""


def test_a_user_yaml_alias_maps_a_lab_label(tmp_path: Path) -> None:
    rec, codes = _night(tmp_path / "raw", "LAB01", [_header("Kanal 3 (C4)"), _header("Auge links")])
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("C4-M1: [Kanal 3 (C4)]\nEOG-L: Auge links\n")
    extra = load_aliases(aliases)
    assert extra == {"C4-M1": ("Kanal 3 (C4)",), "EOG-L": ("Auge links",)}
    with pytest.raises(InputError, match="in none of the 1 recordings"):  # without the file: no C4-M1
        _store(tmp_path, [rec], channels=("C4-M1", "EOG-L"))
    report, store = _store(tmp_path, [rec], channels=("C4-M1", "EOG-L"), channel_aliases=extra)
    assert report.ok, report.summary()  # type: ignore[attr-defined]
    np.testing.assert_allclose(store.signals("LAB01")[:, 0].ravel(), _uv(codes["Kanal 3 (C4)"]), atol=1e-3)  # type: ignore[attr-defined]
    assert store.attrs["preprocessing"]["channel_aliases"] == {  # type: ignore[attr-defined]
        "C4-M1": ["Kanal 3 (C4)"],
        "EOG-L": ["Auge links"],
    }
    plain = PreprocessParams(channels=("C4-M1", "EOG-L"))
    assert PreprocessParams(channels=("C4-M1", "EOG-L"), channel_aliases=extra).hash(
        "sleepedf"
    ) != plain.hash("sleepedf")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("C4-M1: [a\n", "not valid YAML at line"),
        ("- a\n- b\n", "expected a mapping"),
        ("C4-M1: 3\n", "'C4-M1' must map to a label or a list of labels"),
        ("'A|B': [x]\n", "'A|B' is not a channel name"),
    ],
)
def test_bad_alias_files_are_input_errors_naming_the_file(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match="--channel-aliases .*lab.yaml: ") as err:
        load_aliases(path)
    assert needle in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(InputError, match="file not found"):
        load_aliases(tmp_path / "missing.yaml")


def test_sleep_edf_exact_labels_are_unchanged(demo_mirror: Path, tmp_path: Path) -> None:
    """Sleep-EDF's default ``EEG Fpz-Cz``: same store name, the file's own int16 codes, same hash."""
    import pyedflib

    from physioex.download.listing import parse_listing
    from physioex.sources import get_source

    listing = parse_listing((demo_mirror / "SHA256SUMS.txt").read_text())
    rec = get_source("demo").recordings(listing, None)[0]
    params = PreprocessParams()
    report = preprocess_recordings([rec], demo_mirror, tmp_path / "d.zarr", dataset="demo", params=params)
    assert report.ok, report.summary()
    store = open_store(tmp_path / "d.zarr")
    assert store.channels == ["EEG Fpz-Cz"]
    info = store.recording_info(rec.id)
    # the hash of these parameters before channel resolution existed (stores made then are not rebuilt)
    assert info["params_hash"] == params.hash(rec.format)
    assert params.hash("sleepedf") == "89187fbb89d870a725ee98b320a70abd196e5aef243eb90fb520b25959f64e86"
    assert info["channel_resolution"][0]["how"] == "label"
    arr = store.arrays(rec.id)["signals/EEG_Fpz-Cz"]
    gain, offset = arr.attrs["gain"], arr.attrs["offset"]
    stored_codes = np.rint((arr[:].ravel().astype(np.float64) - offset) / gain).astype(np.int64)
    start = int(info["crop_s"][0] * 100)
    with pyedflib.EdfReader(str(demo_mirror / rec.files["psg"])) as f:
        i = [s.strip() for s in f.getSignalLabels()].index("EEG Fpz-Cz")
        file_codes = f.readSignal(i, start=start, n=stored_codes.size, digital=True)
    np.testing.assert_array_equal(stored_codes, file_codes)


def test_predict_reads_a_new_night_through_the_training_requests(tmp_path: Path) -> None:
    """A model trained on store channel ``C4-M1`` (request ``C4-M1|C3-M2``) reads another lab's
    ``C3-A2`` night through the same resolver; a night with neither still names the missing channel."""
    from physioex.inference.errors import CheckpointError
    from physioex.inference.predict import read_psg_epochs

    rec, codes = _night(tmp_path / "raw", "NEW01", [_header("ECG"), _header("C3-A2")])
    params = PreprocessParams(channels=("C4-M1|C3-M2",))
    x, _ = read_psg_epochs(tmp_path / "raw" / rec.files["psg"], ["C4-M1"], params)
    np.testing.assert_allclose(x.ravel(), _uv(codes["C3-A2"]), atol=1e-3)
    other, _ = _night(tmp_path / "raw", "NEW02", [_header("ECG"), _header("O2-A1")])
    with pytest.raises(CheckpointError, match=r"lacks channel\(s\) \['C4-M1'\]"):
        read_psg_epochs(tmp_path / "raw" / other.files["psg"], ["C4-M1"], params)
