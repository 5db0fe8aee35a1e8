"""``edf-folder``: a lab's own folder paired by ``manifest.csv`` or by file names; manifest and label errors
name the file and line; the demo folder end to end (labels epoch by epoch); and the real SC4001 night
repacked into the folder layout gives exactly the store of the ``sleepedf-20`` source."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import SC4001, assert_one_error, run_physioex

from physioex.download.local_mirror import LocalMirror
from physioex.errors import InputError
from physioex.preprocess.run import preprocess_recordings
from physioex.sources import get_source
from physioex.store import open_store
from physioex.synth.folder_files import DEMO_NIGHTS, FIRST_SIMULATED, expected_labels
from physioex.synth.mirror import sleepedf_night


def folder_source(root: Path) -> tuple[object, dict[str, str]]:
    """The ``edf-folder`` source prepared on ``root`` and a listing of every file in it."""
    source = get_source("edf-folder")
    source.prepare(LocalMirror(root))  # type: ignore[attr-defined]
    listing = {p.relative_to(root).as_posix(): "0" * 64 for p in root.rglob("*") if p.is_file()}
    return source, listing


def touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")


def test_pattern_pairs_same_stem_and_reports_the_rest(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "a/n1.edf",
        "a/n1.csv",
        "b/n2.EDF",
        "b/n2-hypnogram.edf",
        "c/n3.edf",
        "d/n4.edf",
        "d/n4.tsv",
        "d/n4.txt",
    )
    touch(tmp_path, "vocabulary.yaml")
    source, listing = folder_source(tmp_path)
    selection = source.select(listing)  # type: ignore[attr-defined]
    recs = {r.id: r for r in selection.recordings}
    assert sorted(recs) == ["n1", "n2"]
    assert recs["n1"].files == {"psg": "a/n1.edf", "scoring": "a/n1.csv", "vocabulary": "vocabulary.yaml"}
    assert recs["n2"].files["scoring"] == "b/n2-hypnogram.edf"  # the scoring EDF is not taken for a PSG
    assert (recs["n1"].subject, recs["n1"].night, recs["n1"].scoring) == (
        "n1",
        1,
        {"vocabulary": "vocabulary.yaml"},
    )
    problems = "\n".join(selection.problems)
    assert "c/n3.edf: PSG without scoring" in problems and "physioex predict" in problems
    assert "d/n4.edf: several scorings (d/n4.tsv, d/n4.txt)" in problems


MANIFEST = "subject,night,psg,hypnogram,lights_off,lights_on,scoring_format\n"


def test_manifest_pairs_subjects_nights_lights(tmp_path: Path) -> None:
    touch(tmp_path, "p/x.edf", "p/y.edf", "p/z.edf", "s/x.txt", "s/y.csv")
    (tmp_path / "manifest.csv").write_text(
        MANIFEST + "7,1,p/x.edf,s/x.txt,600,27000.5,epoch-text\n7,2,p/y.edf,s/y.csv,,,\n8,1,p/z.edf,,,,\n"
    )
    source, listing = folder_source(tmp_path)
    selection = source.select(listing)  # type: ignore[attr-defined]
    x, y = selection.recordings
    assert (x.subject, x.night, y.subject, y.night) == ("7", 1, "7", 2)
    assert x.scoring == {"format": "epoch-text", "lights_off_s": 600.0, "lights_on_s": 27000.5}
    assert x.files == {"psg": "p/x.edf", "scoring": "s/x.txt", "manifest": "manifest.csv"}
    (problem,) = selection.problems
    assert problem.startswith(
        f"p/z.edf: no scoring ({tmp_path / 'manifest.csv'}, line 4); `physioex predict`"
    )
    assert [r.id for r in source.select(listing, subjects=[7], nights=[2]).recordings] == ["y"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        (
            "1,1,p/x.edf,s/x.csv\n2,1,p/gone.edf,s/x.csv\n",
            ("line 3", "psg file 'p/gone.edf' is not in the folder"),
        ),
        ("1,1,p/x.edf,s/missing.csv\n", ("line 2", "hypnogram file 's/missing.csv'")),
        ("1,1,p/x.edf,s/x.csv\n1,1,p/x.edf,s/x.csv\n", ("line 3", "subject 1 night 1 again (also line 2)")),
        ("1,zero,p/x.edf,s/x.csv\n", ("line 2", "night 'zero'")),
    ],
)
def test_manifest_errors_name_manifest_and_line(tmp_path: Path, rows: str, needles: tuple[str, ...]) -> None:
    touch(tmp_path, "p/x.edf", "s/x.csv")
    (tmp_path / "manifest.csv").write_text("subject,night,psg,hypnogram\n" + rows)
    source, listing = folder_source(tmp_path)
    with pytest.raises(InputError) as excinfo:
        source.select(listing)  # type: ignore[attr-defined]
    message = str(excinfo.value)
    assert message.startswith(f"{tmp_path / 'manifest.csv'}: ") and "\n" not in message
    for needle in needles:
        assert needle in message


def test_manifest_without_psg_column(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text("file,stage\n")
    with pytest.raises(InputError, match=r"manifest.csv: line 1: no 'psg' column"):
        folder_source(tmp_path)


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``physioex download demo-folder`` + ``physioex preprocess demo-folder`` (real CLI)."""
    cwd = tmp_path_factory.mktemp("folder")
    args = ("--demo-subjects", "1", "--demo-nights", "1", "--hours", "2.5", "--no-progress")
    run = run_physioex("download", "demo-folder", *args, cwd=cwd)
    assert run.returncode == 0, run.stderr
    run = run_physioex("preprocess", "demo-folder", "--no-progress", cwd=cwd)
    assert run.returncode == 0, run.stderr
    return cwd


def test_demo_folder_labels_epoch_by_epoch(demo_folder: Path) -> None:
    store = open_store(demo_folder / "data/stores/demo-folder.zarr")
    assert store.subjects == ["1", "2", "3"]
    for subject, night_no in DEMO_NIGHTS:
        rec = f"lab{subject:02d}_n{night_no}"
        info = store.recording_info(rec)
        assert (info["subject"], info["night"]) == (str(subject), night_no)
        night = sleepedf_night(0, FIRST_SIMULATED + subject, night_no, 2.5)[0]
        first, last = (int(t // 30) for t in info["crop_s"])
        expected = expected_labels(night)[first:last]
        np.testing.assert_array_equal(store.labels(rec), expected)
    assert any((store.labels(f"lab{s:02d}_n{n}") == -1).any() for s, n in DEMO_NIGHTS)  # "Artifact" mapped


def test_unmapped_label_names_file_and_line(demo_folder: Path, tmp_path: Path) -> None:
    """Without the folder's vocabulary, ``Artifact`` is unknown: the recording fails naming file and line."""
    folder = tmp_path / "lab"
    shutil.copytree(demo_folder / "data/mirror/demo/folder", folder)
    for name in ("SHA256SUMS.txt", "vocabulary.yaml"):
        (folder / name).unlink()
    csv = folder / "scoring/lab02_n1.csv"
    lines = csv.read_text().splitlines()
    artefact = next(i for i, line in enumerate(lines, start=1) if line.endswith(",Artifact"))
    assert (
        run_physioex(
            "download",
            "edf-folder",
            "--mirror",
            folder,
            "--out",
            tmp_path / "raw",
            "--subjects",
            "2",
            "--no-progress",
        ).returncode
        == 0
    )
    run = run_physioex(
        "preprocess", "edf-folder", "--raw", tmp_path / "raw", "--out", tmp_path / "s.zarr", "--no-progress"
    )
    assert run.returncode == 1
    (failure,) = [line for line in run.stdout.splitlines() if "FAILED lab02_n1" in line]
    for needle in ("scoring/lab02_n1.csv", f"line {artefact}", "'Artifact'", "vocabulary"):
        assert needle in failure, (needle, failure)


def test_manifest_missing_file_is_one_line_exit_2(demo_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    shutil.copytree(demo_folder / "data/mirror/demo/folder", folder)
    (folder / "SHA256SUMS.txt").unlink()
    (folder / "psg/lab03_n1.edf").unlink()
    run = run_physioex(
        "download", "edf-folder", "--mirror", folder, "--out", tmp_path / "raw", "--no-progress"
    )
    assert_one_error(
        run, 2, f"{folder / 'manifest.csv'}: line 5: psg file 'psg/lab03_n1.edf' is not in the folder"
    )


def hypnogram_csv(psg: Path, hypnogram: Path) -> str:
    """The Sleep-EDF hypnogram's annotations as an onset/duration/stage table (s from the PSG start)."""
    import mne
    from edfio import read_edf

    def start(path: Path) -> float:
        edf = read_edf(path, lazy_load_data=True)
        return (
            edf.startdate.toordinal() * 86400.0
            + edf.starttime.hour * 3600
            + edf.starttime.minute * 60
            + edf.starttime.second
        )

    shift = start(hypnogram) - start(psg)
    annotations = mne.read_annotations(hypnogram)
    rows = ["onset,duration,stage"]
    rows += [
        f"{float(a['onset']) + shift!r},{float(a['duration'])!r},{a['description']}" for a in annotations
    ]
    return "\n".join(rows) + "\n"


def test_sc4001_repacked_as_edf_folder_equals_sleepedf_store(sleepedf_mirror: Path, tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    (folder / "psg").mkdir(parents=True)
    psg = sleepedf_mirror / SC4001.files["psg"]
    shutil.copyfile(psg, folder / "psg/SC4001E0.edf")
    (folder / "SC4001E0-stages.csv").write_text(
        hypnogram_csv(psg, sleepedf_mirror / SC4001.files["hypnogram"])
    )
    (folder / "manifest.csv").write_text(
        "psg,hypnogram,subject,night\npsg/SC4001E0.edf,SC4001E0-stages.csv,0,1\n"
    )

    reference = preprocess_recordings(
        [SC4001], sleepedf_mirror, tmp_path / "ref.zarr", dataset="sleepedf-20", progress=False
    )
    assert reference.ok, reference.failed
    assert (
        run_physioex(
            "download", "edf-folder", "--mirror", folder, "--out", tmp_path / "raw", "--no-progress"
        ).returncode
        == 0
    )
    run = run_physioex(
        "preprocess",
        "edf-folder",
        "--raw",
        tmp_path / "raw",
        "--out",
        tmp_path / "lab.zarr",
        "--channels",
        "EEG Fpz-Cz",
        "--no-progress",
    )
    assert run.returncode == 0, run.stdout + run.stderr

    ref, lab = open_store(tmp_path / "ref.zarr"), open_store(tmp_path / "lab.zarr")
    a, b = ref.recording_info("SC4001E0"), lab.recording_info("SC4001E0")
    for key in ("subject", "night", "n_epochs", "crop_s", "start_time", "label_counts", "units"):
        assert a[key] == b[key], key
    assert a["n_epochs"] == 841  # the documented SC4001 crop
    np.testing.assert_array_equal(ref.labels("SC4001E0"), lab.labels("SC4001E0"))
    np.testing.assert_array_equal(ref.signals("SC4001E0"), lab.signals("SC4001E0"))  # same codes, same scale
    assert ref.channels == lab.channels == ["EEG Fpz-Cz"]
