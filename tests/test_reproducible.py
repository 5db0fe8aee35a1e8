"""Same code, parameters and seed on the same platform: every versioned output of ``train`` and
``test`` has the same bytes, wherever the run happens (two "clones" at different absolute paths,
each trained in its own interpreter as ``dvc repro`` runs the stage; docs/reproducibility.md)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import one_torch_thread, run_physioex

from physioex.errors import InputError
from physioex.inference.checkpoint import load_checkpoint
from physioex.inference.run import evaluate
from physioex.store import open_store
from physioex.synth.store import write_synthetic_store
from physioex.train.checkpointing import FolderCheckpoint
from physioex.train.run import train

STORE = "data/stores/s.zarr"
MODELS = "data/models/s"
EVALUATION = "data/evaluation/s"
TIMINGS = "logs/train-timings.json"

# Two workers as in params.yaml: the workers' seeding is part of what must repeat.
PARAMS = """train:
  model: chambon2018
  seq_len: 10
  batch_size: 8
  lr: 0.003
  max_epochs: 2
  patience: 2
  num_workers: 2
  seed: 0
"""

ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _train(root: Path, *extra: str) -> str:
    """``physioex train`` exactly as dvc.yaml's train stage runs it, in its own process in ``root``
    (a fresh interpreter, so per-process salts such as ``hash()`` of strings differ); its stdout."""
    result = run_physioex(
        "train", "--store", STORE, "--fold", "0", "--out", MODELS, "--params", "params.yaml",
        "--no-progress", *extra, cwd=root, env=ENV, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _evaluate(root: Path) -> None:
    """What dvc.yaml's evaluate stage runs (``physioex test`` with these relative paths), in ``root``
    (in this process: a second interpreter start per clone would double the test's time)."""
    with pytest.MonkeyPatch.context() as mp, one_torch_thread():
        mp.chdir(root)
        evaluate(Path(MODELS), STORE, fold="all", out=Path(EVALUATION), progress=False)


def _digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by path relative to it."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _assert_same_bytes(a: Path, b: Path) -> dict[str, str]:
    da, db = _digests(a), _digests(b)
    assert sorted(da) == sorted(db)
    differ = [name for name in da if da[name] != db[name]]
    assert not differ, f"differ between {a} and {b}: {differ}"
    return da


@pytest.fixture(scope="module")
def clones(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same store and params.yaml at two absolute paths, trained and evaluated in each."""
    tmp = tmp_path_factory.mktemp("repro")
    source = write_synthetic_store(tmp / "source.zarr", subjects=5, epochs=80, seed=3)
    roots = (tmp / "clone-a", tmp / "somewhere" / "else" / "clone-b")
    for root in roots:
        shutil.copytree(source, root / STORE)
        (root / "params.yaml").write_text(PARAMS)
        (root / "logs").mkdir()
        (root / "logs" / "train.stdout").write_text(_train(root, "--timings", TIMINGS))
        _evaluate(root)
    return roots


def test_training_outputs_are_byte_identical_in_two_folders(clones: tuple[Path, Path]) -> None:
    a, b = clones
    files = _assert_same_bytes(a / MODELS, b / MODELS)
    for name in ("best.ckpt", "last.ckpt", "train.json", "dvclive/metrics.json"):
        assert f"fold-0/{name}" in files


def test_evaluation_outputs_are_byte_identical_in_two_folders(clones: tuple[Path, Path]) -> None:
    a, b = clones
    files = _assert_same_bytes(a / EVALUATION, b / EVALUATION)
    for name in ("metrics.json", "per_recording.csv", "predictions.csv", "confusion_matrix.png"):
        assert name in files
    assert any(name.startswith("hypnograms/") for name in files)


def test_versioned_outputs_name_no_absolute_path_and_no_time(clones: tuple[Path, Path]) -> None:
    """The two classic leaks, named directly: the folder's absolute path and the wall-clock time."""
    for root in clones:
        fold = root / MODELS / "fold-0"
        for path in (*fold.rglob("*"), *(root / EVALUATION).rglob("*")):
            if path.is_file():
                assert str(root).encode() not in path.read_bytes(), path
        ckpt = torch.load(fold / "best.ckpt", map_location="cpu", weights_only=True)
        state = ckpt["callbacks"][next(k for k in ckpt["callbacks"] if k.startswith("ModelCheckpoint"))]
        assert state["dirpath"] == "." and state["best_model_path"] == "best.ckpt"
        summary = json.loads((fold / "train.json").read_text())
        assert "seconds" not in summary and summary["best_checkpoint"] == "best.ckpt"


def test_timings_go_to_their_own_file_and_the_report(clones: tuple[Path, Path]) -> None:
    timings = json.loads((clones[0] / TIMINGS).read_text())
    assert timings["stage"] == "train" and [f["fold"] for f in timings["folds"]] == [0]
    assert timings["folds"][0]["seconds"] > 0 and timings["seconds"] == timings["folds"][0]["seconds"]
    assert timings["folds"][0]["passes"] == 2
    printed = (clones[0] / "logs" / "train.stdout").read_text()
    assert f"after 2 passes ({timings['folds'][0]['seconds']:.1f} s) -> {MODELS}/fold-0/best.ckpt" in printed


def test_checkpoints_of_both_folders_load_and_predict_the_same(clones: tuple[Path, Path]) -> None:
    a, b = (load_checkpoint(root / MODELS / "fold-0" / "best.ckpt") for root in clones)  # weights_only
    st = open_store(clones[0] / STORE)
    x = st.signals(st.recordings_of(st.fold(0).test)[0])
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))


def test_resume_in_a_moved_folder_restores_the_best_score(clones: tuple[Path, Path], tmp_path: Path) -> None:
    """Folder-relative checkpoint state read back against the folder it now lives in (Lightning
    itself drops the best score and paths when the saved folder differs from the current one)."""
    moved = tmp_path / "moved" / "fold-0"
    shutil.copytree(clones[0] / MODELS / "fold-0", moved)
    ckpt = torch.load(moved / "last.ckpt", map_location="cpu", weights_only=True)
    callback = FolderCheckpoint(
        dirpath=moved, filename="best", monitor="val_f1", mode="max", enable_version_counter=False,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "The dirpath has changed ..." would fail here
        callback.load_state_dict(ckpt["callbacks"][callback.state_key])
    saved = ckpt["callbacks"][callback.state_key]["best_model_score"]
    assert callback.best_model_score is not None and torch.equal(callback.best_model_score, saved)
    assert callback.best_model_path == str(moved / "best.ckpt")
    assert list(callback.best_k_models) == [str(moved / "best.ckpt")]
    assert callback.state_dict()["best_k_models"] == {"best.ckpt": saved}
    latest = FolderCheckpoint(dirpath=moved, filename="last", save_top_k=1, enable_version_counter=False)
    latest.load_state_dict(ckpt["callbacks"][latest.state_key])
    assert latest.best_model_path == str(moved / "last.ckpt")


def test_state_of_a_plain_model_checkpoint_still_restores(tmp_path: Path) -> None:
    """A ``last.ckpt`` written before FolderCheckpoint (Lightning's class, absolute paths) resumes
    with its best score: same state key, Lightning's own rules for absolute paths."""
    from pytorch_lightning.callbacks import ModelCheckpoint

    folder = Path(os.path.realpath(tmp_path))
    kwargs = {"dirpath": folder, "filename": "best", "monitor": "val_f1", "mode": "max", "save_last": True}
    plain, ours = ModelCheckpoint(**kwargs), FolderCheckpoint(**kwargs)  # type: ignore[arg-type]
    assert ours.state_key == plain.state_key
    plain.best_model_score = torch.tensor(0.625)
    plain.best_model_path = plain.kth_best_model_path = str(folder / "best.ckpt")
    plain.best_k_models = {plain.best_model_path: plain.best_model_score}
    plain.last_model_path = str(folder / "last.ckpt")
    ours.load_state_dict(plain.state_dict())
    assert ours.best_model_score == torch.tensor(0.625) and ours.best_model_path == str(folder / "best.ckpt")
    assert ours.last_model_path == str(folder / "last.ckpt")
    assert ours.state_dict()["best_k_models"] == {"best.ckpt": torch.tensor(0.625)}


def test_resume_continues_in_a_moved_folder(
    clones: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole clone moved elsewhere resumes from its last.ckpt with its best score (Lightning warns
    "The dirpath has changed" and forgets it when the saved folder is another one)."""
    moved = tmp_path / "moved-clone"
    shutil.copytree(clones[0], moved)
    monkeypatch.chdir(moved)
    with warnings.catch_warnings(record=True) as caught, one_torch_thread():
        warnings.simplefilter("always")
        report = train(
            STORE, fold=0, out=Path(MODELS), params=Path("params.yaml"), resume=True, max_epochs=3,
            num_workers=0, progress=False,
        )  # fmt: skip
    assert not [w for w in caught if "dirpath has changed" in str(w.message)]
    assert report.folds[0].passes == 3
    last = moved / MODELS / "fold-0" / "last.ckpt"
    assert torch.load(last, map_location="cpu", weights_only=True)["epoch"] == 2  # the third pass (0-based)
    assert str(moved).encode() not in last.read_bytes()


def test_timings_inside_the_versioned_output_are_refused(clones: tuple[Path, Path]) -> None:
    root = clones[0]
    models, fresh = root / MODELS, root / "data" / "models" / "not-yet"
    for out, timings in ((models, models / "t.json"), (models, models / "fold-0" / "t.json"), (fresh, fresh)):
        with pytest.raises(InputError, match=r"train\(timings=...\) .*versioned"):
            train(root / STORE, fold=0, out=out, params=None, timings=timings)
    assert not (models / "t.json").exists() and not (models / "fold-0" / "t.json").exists()
    assert not fresh.exists()
