"""HMC: pairing of ``recordings/`` listings, the generated ``demo-hmc`` end to end through the CLI (labels
epoch by epoch against the generator, the lights crop, 256 -> 100 Hz), scoring options that win over
the file, and a scoring that ends before its PSG starts failing only that recording."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import run_physioex

from physioex.preprocess.errors import PreprocessError
from physioex.preprocess.labels import lights_window
from physioex.preprocess.params import PreprocessParams
from physioex.preprocess.run import preprocess_recordings
from physioex.presets import load_preset
from physioex.sources import get_source, get_spec
from physioex.sources.base import Recording
from physioex.store import open_store
from physioex.synth.hmc_files import (
    DEMO_PATIENTS,
    HMC_CHANNELS,
    LIGHTS_OFF,
    hmc_night,
    write_hmc_scoring,
    write_hmc_tree,
)

ROOT = Path(__file__).resolve().parents[1]
HOURS = 2.5
"""The demo's HMC nights: ``min(--hours, 2.5)``."""


def listing_of(paths: list[str]) -> dict[str, str]:
    return {p: f"{i:064x}" for i, p in enumerate(paths)}


HMC_PATHS = [
    "recordings/SN001.edf",
    "recordings/SN001_sleepscoring.edf",
    "recordings/SN001_sleepscoring.txt",  # the text export of the same scoring: not needed
    "recordings/SN002.edf",  # PSG without scoring
    "recordings/SN003_sleepscoring.edf",  # scoring without PSG
    "recordings/SN010.edf",
    "recordings/SN010_sleepscoring.edf",
    "SN011.edf",  # outside recordings/
    "SN011_sleepscoring.edf",
    "LICENSE.txt",
]


def test_hmc_pairs_psg_and_scoring_and_names_the_unpaired() -> None:
    selection = get_source("hmc").select(listing_of(HMC_PATHS))
    recs = {r.id: r for r in selection.recordings}
    assert sorted(recs) == ["SN001", "SN010"]
    assert (recs["SN010"].subject, recs["SN010"].night) == ("10", 1)  # one subject per patient number
    assert recs["SN001"].files == {
        "psg": "recordings/SN001.edf",
        "scoring": "recordings/SN001_sleepscoring.edf",
    }
    assert recs["SN001"].format == "edf" and recs["SN001"].scoring == {"format": "edf"}
    assert selection.problems == [
        "recordings/SN002.edf: PSG without scoring file (no recordings/SN002_sleepscoring.edf)",
        "recordings/SN003_sleepscoring.edf: scoring file without PSG (no recordings/SN003.edf)",
    ]


def test_hmc_subjects_are_patient_numbers() -> None:
    source = get_source("hmc")
    listing = listing_of(HMC_PATHS)
    assert [r.id for r in source.select(listing, subjects=[10]).recordings] == ["SN010"]
    assert source.select(listing, nights=[2]).recordings == []  # one night per patient
    with pytest.raises(ValueError, match=r"subjects 4 are not in the listing \(subjects present: 1-3, 10\)"):
        source.select(listing, subjects=[4])


def test_presets_match_the_dataset_declarations() -> None:
    """``dvc exp run -S dataset=hmc|demo-hmc`` runs with these: channels and folds of the spec."""
    for name in ("hmc", "demo-hmc"):
        spec, preset = get_spec(name), load_preset(ROOT / "pipelines" / f"{name}.yaml")
        assert preset["preprocess"] == {"channels": ",".join(spec.channels), "n_folds": spec.folds}
    assert get_spec("demo-hmc").folds == len(DEMO_PATIENTS)


def test_lights_window_keeps_whole_epochs_inside() -> None:
    assert lights_window(None, None, 100, "x") is None
    assert lights_window(60.0, 300.0, 100, "x") == (2, 10)
    assert lights_window(61.0, 299.0, 100, "x") == (3, 9)  # partial epochs at both ends are left out
    assert lights_window(None, 300.0, 100, "x") == (0, 10)
    assert lights_window(60.0, 9e9, 100, "x") == (2, 100)
    with pytest.raises(PreprocessError, match=r"^x: lights-on \(30 s\) is not after lights-off \(60 s\)"):
        lights_window(60.0, 30.0, 100, "x")
    with pytest.raises(PreprocessError, match="no whole 30-s epoch"):
        lights_window(31.0, 59.0, 100, "x")


def test_generator_is_deterministic_and_writes_hmc_texts(tmp_path: Path) -> None:
    import mne

    a, b = tmp_path / "a", tmp_path / "b"
    files = write_hmc_tree(a, 3, HOURS, patients=(2,))
    assert write_hmc_tree(b, 3, HOURS, patients=(2,)) == files
    for rel in files:
        assert (
            hashlib.sha256((a / rel).read_bytes()).digest() == hashlib.sha256((b / rel).read_bytes()).digest()
        )
    texts = set(mne.read_annotations(a / "recordings/SN002_sleepscoring.edf").description)
    assert texts == {f"Sleep stage {s}" for s in ("W", "N1", "N2", "N3", "R")} | {
        "Lights off@@EEG F4-A1",
        "Lights on@@EEG F4-A1",
    }
    raw = mne.io.read_raw_edf(a / "recordings/SN002.edf", verbose="error")
    assert raw.ch_names == list(HMC_CHANNELS) and raw.info["sfreq"] == 256.0


@pytest.fixture(scope="module")
def demo_hmc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``physioex download demo-hmc`` + ``physioex preprocess demo-hmc`` in a fresh folder (real CLI)."""
    cwd = tmp_path_factory.mktemp("hmc")
    common = ("--no-progress",)
    small = ("--demo-subjects", "1", "--demo-nights", "1", "--hours", str(HOURS))
    run = run_physioex("download", "demo-hmc", "--out", "raw-hmc", *small, *common, cwd=cwd, timeout=300)
    assert run.returncode == 0, run.stderr
    run = run_physioex("preprocess", "demo-hmc", "--raw", "raw-hmc", *common, cwd=cwd, timeout=300)
    assert run.returncode == 0, run.stderr
    return cwd


def test_demo_hmc_labels_epoch_by_epoch_inside_the_lights(demo_hmc: Path) -> None:
    store = open_store(demo_hmc / "data/stores/demo-hmc.zarr")
    assert store.recordings == [f"SN{p:03d}" for p in DEMO_PATIENTS]
    assert store.channels == ["EEG C4-M1"] and store.sampling_rate == 100.0  # the default channel
    assert store.subjects == [str(p) for p in DEMO_PATIENTS]
    assert sorted(s for f in store.folds for s in f.test) == store.subjects  # every patient tested once
    for patient in DEMO_PATIENTS:
        rec = f"SN{patient:03d}"
        _, _, hmc = hmc_night(0, patient, HOURS)
        info = store.recording_info(rec)
        off, on = hmc.lights_off_epoch, hmc.lights_on_epoch
        assert info["crop_s"] == [off * 30.0, on * 30.0]  # lights-off..lights-on, not sleep +- 30 min
        assert info["start_time"] == (hmc.start + datetime.timedelta(seconds=off * 30)).isoformat()
        assert info["recording_start"] == hmc.start.isoformat()
        np.testing.assert_array_equal(store.labels(rec), hmc.stages[off:on])
        assert store.signals(rec).shape == (on - off, 1, 3000)


def test_demo_hmc_is_resampled_from_256_hz(demo_hmc: Path) -> None:
    """The stored epochs are the PSG's C4-M1 (read by MNE) resampled 256 -> 100 Hz, inside the crop."""
    import mne
    import zarr
    from scipy.signal import resample_poly

    store = open_store(demo_hmc / "data/stores/demo-hmc.zarr")
    rec = "SN001"
    off, on = (int(t // 30) for t in store.recording_info(rec)["crop_s"])
    raw = mne.io.read_raw_edf(
        demo_hmc / "raw-hmc/recordings/SN001.edf", include=["EEG C4-M1"], verbose="error"
    )
    expected = resample_poly(raw.get_data()[0] * 1e6, 25, 64)[off * 3000 : on * 3000]
    got = store.signals(rec)[:, 0].ravel()
    np.testing.assert_allclose(got, expected, atol=0.05 + 1e-5 * np.abs(expected).max())
    attrs = zarr.open_group(demo_hmc / "data/stores/demo-hmc.zarr", mode="r")[
        f"recordings/{rec}/signals/EEG_C4-M1"
    ].attrs
    assert attrs["source_sampling_rate"] == 256.0 and attrs["resampling"] == "polyphase"


def _copy_raw(demo_hmc: Path, dest: Path) -> Path:
    shutil.copytree(demo_hmc / "raw-hmc", dest)
    return dest


def test_scoring_options_win_over_the_file(demo_hmc: Path, tmp_path: Path) -> None:
    """``Recording.scoring`` lights times replace the file's markers (a manifest's lights columns)."""
    raw = _copy_raw(demo_hmc, tmp_path / "raw")
    rec = get_source("demo-hmc").select({"recordings/SN001.edf": "", "recordings/SN001_sleepscoring.edf": ""})
    (base,) = rec.recordings
    _, _, hmc = hmc_night(0, 1, HOURS)
    off_s = (hmc.lights_off_epoch + 7) * 30.0 + 10.0  # 10 s into an epoch: that epoch is not kept
    moved = dataclasses.replace(base, scoring={"format": "edf", "lights_off_s": off_s})
    out = tmp_path / "s.zarr"
    params = PreprocessParams(channels=("EEG C4-M1",))
    report = preprocess_recordings([moved], raw, out, dataset="demo-hmc", params=params, progress=False)
    assert report.failed == {}
    info = open_store(out).recording_info("SN001")
    assert info["crop_s"] == [(hmc.lights_off_epoch + 8) * 30.0, hmc.lights_on_epoch * 30.0]
    bad = dataclasses.replace(base, scoring={"lights_of_s": 1.0})
    report = preprocess_recordings(
        [bad], raw, tmp_path / "t.zarr", dataset="demo-hmc", params=params, progress=False
    )
    assert "SN001_sleepscoring.edf: unknown scoring option(s) lights_of_s" in report.failed["SN001"]


def test_scoring_that_ends_before_the_psg_fails_that_recording_only(demo_hmc: Path, tmp_path: Path) -> None:
    raw = _copy_raw(demo_hmc, tmp_path / "raw")
    _, _, hmc = hmc_night(0, 2, HOURS)
    scoring = raw / "recordings/SN002_sleepscoring.edf"
    write_hmc_scoring(scoring, dataclasses.replace(hmc, start=hmc.start - datetime.timedelta(days=1)))
    other = raw / "recordings/SN003_sleepscoring.edf"
    other.write_bytes(other.read_bytes().replace(LIGHTS_OFF.encode(), b"Lights dim@@EEG F4-A1", 1))
    out = tmp_path / "s.zarr"
    run = run_physioex("preprocess", "demo-hmc", "--raw", raw, "--out", out, "--no-progress", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    store = open_store(out)
    assert store.recordings == ["SN001", "SN004"]
    failed = store.attrs["failed"]
    assert set(failed) == {"SN002", "SN003"}
    assert failed["SN002"].startswith(
        f"{scoring}: PSG/hypnogram mismatch with SN002.edf: the scoring ends at "
    )
    assert "before the PSG starts (0 s)" in failed["SN002"]
    assert failed["SN003"].startswith(f"{other}: unknown annotation 'Lights dim' at annotation ")
    for rec, message in failed.items():
        assert f"FAILED {rec}: {message}" in run.stdout + run.stderr


def test_psg_without_scoring_is_a_named_problem_of_the_run(demo_hmc: Path, tmp_path: Path) -> None:
    raw = _copy_raw(demo_hmc, tmp_path / "raw")
    listing = raw / "SHA256SUMS.txt"
    listing.write_text(
        "".join(line + "\n" for line in listing.read_text().splitlines() if "SN004_sleepscoring" not in line)
    )
    run = run_physioex(
        "preprocess", "demo-hmc", "--raw", raw, "--out", tmp_path / "s.zarr", "--no-progress", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert "recordings/SN004.edf: PSG without scoring file" in run.stderr
    assert open_store(tmp_path / "s.zarr").recordings == ["SN001", "SN002", "SN003"]


def test_recording_scoring_options_do_not_change_its_identity() -> None:
    a = Recording("SN001", "1", 1, {"psg": "a", "scoring": "b"}, "edf")
    b = dataclasses.replace(a, scoring={"format": "edf"})
    assert a == b and hash(a) == hash(b)
