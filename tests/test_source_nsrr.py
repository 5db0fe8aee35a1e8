"""NSRR cohorts: pairing of EDF + ``-nsrr.xml`` listings, the generated ``demo-nsrr`` end to end through the
CLI (labels epoch by epoch against the generator), and a user's local copy without ``SHA256SUMS.txt``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_error, run_physioex

from physioex.download.listing import LISTING_NAME, parse_listing
from physioex.io.hashing import sha256_file
from physioex.sources import get_source
from physioex.store import open_store
from physioex.synth.nsrr_files import DEMO_VISITS, expected_labels, nsrr_night

E, X = "polysomnography/edfs", "polysomnography/annotations-events-nsrr"


def listing_of(paths: list[str]) -> dict[str, str]:
    return {p: f"{i:064x}" for i, p in enumerate(paths)}


SHHS_PATHS = [
    f"{E}/shhs1/shhs1-200001.edf",
    f"{X}/shhs1/shhs1-200001-nsrr.xml",
    f"{E}/shhs2/shhs2-200001.edf",
    f"{X}/shhs2/shhs2-200001-nsrr.xml",
    f"{E}/shhs1/shhs1-200077.edf",  # PSG without XML
    f"{X}/shhs1/shhs1-200078-nsrr.xml",  # XML without PSG
    "polysomnography/annotations-events-profusion/shhs1/shhs1-200001-profusion.xml",  # not NSRR XML
    f"{E}/shhs1/notes.edf",  # not an SHHS name
    "datasets/shhs1-dataset-0.21.0.csv",
]


def test_shhs_pairs_visits_of_one_participant_into_one_subject() -> None:
    selection = get_source("shhs").select(listing_of(SHHS_PATHS))
    recs = {r.id: r for r in selection.recordings}
    assert sorted(recs) == ["shhs1-200001", "shhs2-200001"]
    assert {r.subject for r in recs.values()} == {"200001"}  # one person: one subject, one fold
    assert (recs["shhs1-200001"].night, recs["shhs2-200001"].night) == (1, 2)
    assert recs["shhs2-200001"].files == {
        "psg": f"{E}/shhs2/shhs2-200001.edf",
        "scoring": f"{X}/shhs2/shhs2-200001-nsrr.xml",
    }
    assert recs["shhs1-200001"].format == "edf" and recs["shhs1-200001"].scoring == {"format": "nsrr-xml"}
    problems = "\n".join(selection.problems)
    assert f"{E}/shhs1/shhs1-200077.edf: PSG without NSRR annotation XML" in problems
    assert f"{X}/shhs1/shhs1-200078-nsrr.xml: annotation XML without PSG" in problems
    assert f"{E}/shhs1/notes.edf: not a shhs file name" in problems
    assert "profusion" not in problems and len(selection.problems) == 3


def test_shhs_subjects_and_nights_pick_participants_and_visits() -> None:
    source = get_source("shhs")
    listing = listing_of(SHHS_PATHS)
    assert [r.id for r in source.select(listing, nights=[2]).recordings] == ["shhs2-200001"]
    assert [r.id for r in source.select(listing, subjects=[200001], nights=[1]).recordings] == [
        "shhs1-200001"
    ]
    with pytest.raises(ValueError, match=r"participants 4 are not in the listing"):
        source.select(listing, subjects=[4])


@pytest.mark.parametrize(
    ("dataset", "psg", "xml", "subject", "night"),
    [
        ("mesa", f"{E}/mesa-sleep-0001.edf", f"{X}/mesa-sleep-0001-nsrr.xml", "1", 1),
        ("mros", f"{E}/visit2/mros-visit2-aa0123.edf", f"{X}/visit2/mros-visit2-aa0123-nsrr.xml", "123", 2),
        ("cfs", f"{E}/cfs-visit5-800002.edf", f"{X}/cfs-visit5-800002-nsrr.xml", "800002", 1),
        (
            "chat",
            f"{E}/followup/chat-followup-300001.edf",
            f"{X}/followup/chat-followup-300001-nsrr.xml",
            "300001",
            2,
        ),
        (
            "chat",
            f"{E}/nonrandomized/chat-nonrandomized-300004.edf",
            f"{X}/nonrandomized/chat-nonrandomized-300004-nsrr.xml",
            "300004",
            1,
        ),
    ],
)
def test_cohort_file_names(dataset: str, psg: str, xml: str, subject: str, night: int) -> None:
    selection = get_source(dataset).select(listing_of([psg, xml]))
    assert selection.problems == []
    (rec,) = selection.recordings
    assert (rec.subject, rec.night, rec.files) == (subject, night, {"psg": psg, "scoring": xml})


def test_xml_in_another_visit_folder_does_not_pair() -> None:
    selection = get_source("shhs").select(
        listing_of([f"{E}/shhs1/shhs1-200001.edf", f"{X}/shhs2/shhs1-200001-nsrr.xml"])
    )
    assert selection.recordings == [] and len(selection.problems) == 2


@pytest.fixture(scope="module")
def demo_nsrr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``physioex download demo-nsrr`` + ``physioex preprocess demo-nsrr`` in a fresh folder (real CLI)."""
    cwd = tmp_path_factory.mktemp("nsrr")
    common = ("--no-progress",)
    run = run_physioex(
        "download",
        "demo-nsrr",
        "--demo-subjects",
        "1",
        "--demo-nights",
        "1",
        "--hours",
        "2.5",
        *common,
        cwd=cwd,
    )
    assert run.returncode == 0, run.stderr
    run = run_physioex("preprocess", "demo-nsrr", *common, cwd=cwd)
    assert run.returncode == 0, run.stderr
    return cwd


def test_demo_nsrr_labels_epoch_by_epoch(demo_nsrr: Path) -> None:
    store = open_store(demo_nsrr / "data/stores/demo-nsrr.zarr")
    assert store.channels == ["C4-M1"] and store.sampling_rate == 100.0  # 125 Hz resampled
    assert sorted(store.recordings) == sorted(f"{v}-{p}" for p, v in DEMO_VISITS)
    for participant, visit in DEMO_VISITS:
        rec = f"{visit}-{participant}"
        info = store.recording_info(rec)
        assert (info["subject"], info["night"]) == (str(participant), int(visit[-1]))
        night, _, _ = nsrr_night(0, participant, visit, 2.5)
        first, last = (int(t // 30) for t in info["crop_s"])
        np.testing.assert_array_equal(store.labels(rec), expected_labels(night)[first:last])
    assert store.subjects == ["200001", "200002", "200003"]
    for fold in store.folds:  # both visits of 200001 are one subject: on one side of every split
        assert len(fold.test) == 1


def test_local_copy_without_listing_is_hashed_and_verified(demo_nsrr: Path, tmp_path: Path) -> None:
    """The user's NSRR copy has no SHA256SUMS.txt: download hashes its EDF/XML files and verifies the copy."""
    copy = tmp_path / "shhs"
    shutil.copytree(demo_nsrr / "data/mirror/demo/nsrr", copy)
    (copy / LISTING_NAME).unlink()
    (copy / "datasets").mkdir()
    (copy / "datasets" / "shhs1-dataset.csv").write_text("nsrrid\n200001\n")  # not part of the listing
    run = run_physioex(
        "download",
        "shhs",
        "--mirror",
        copy,
        "--out",
        tmp_path / "raw",
        "--subjects",
        "200001",
        "--no-progress",
    )
    assert run.returncode == 0, run.stderr
    listing = parse_listing((tmp_path / "raw" / LISTING_NAME).read_text())
    assert sorted(listing) == sorted(
        f"{d}/{v}/{v}-200001{s}" for v in ("shhs1", "shhs2") for d, s in ((E, ".edf"), (X, "-nsrr.xml"))
    )
    for rel, digest in listing.items():
        assert sha256_file(copy / rel) == sha256_file(tmp_path / "raw" / rel) == digest


def test_shhs_without_mirror_says_how_to_get_it(tmp_path: Path) -> None:
    run = run_physioex("download", "shhs", "--no-progress", cwd=tmp_path, env={"PHYSIOEX_SHHS_MIRROR": ""})
    assert_one_error(run, 2, "data-use agreement", "nsrr download shhs", "--mirror", "PHYSIOEX_SHHS_MIRROR")
