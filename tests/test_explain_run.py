"""End-to-end ``physioex explain`` on a tiny real Zarr store and a real (untrained) checkpoint file:
artifacts, completeness against independent forward passes, byte-identical re-runs, failures."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers import SC4001, assert_one_error, one_torch_thread, run_physioex
from typer.testing import CliRunner

from physioex.cli import app
from physioex.explain.methods import MethodConfig
from physioex.explain.run import ExplainError, explain
from physioex.inference.checkpoint import load_checkpoint
from physioex.io.atomic import atomic_dir
from physioex.models import build_model
from physioex.store import open_store
from physioex.synth.store import write_synthetic_store

CHANNELS = ["EEG Fpz-Cz", "EEG Pz-Oz"]
FAST = MethodConfig(n_steps=4)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


def _write_checkpoint(path: Path, channels: list[str], fold: int = 0, seq_len: int = 4) -> Path:
    """A checkpoint file in the layout ``physioex train`` writes (Lightning dict + physioex meta)."""
    torch.manual_seed(0)
    kwargs = {"n_rnn_units": 8}
    model = build_model("chambon2018", n_channels=len(channels), **kwargs)
    meta = {
        "format": 1,
        "model": "chambon2018",
        "model_kwargs": kwargs,
        "channels": channels,
        "sampling_rate": 100.0,
        "samples_per_epoch": 3000,
        "seq_len": seq_len,
        "normalisation": {"mode": "global", "mean": [0.0] * len(channels), "std": [25.0] * len(channels)},
        "fold": fold,
        "dataset": "synthetic",
    }
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "hyper_parameters": {"meta": meta}}, path)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("explain")
    store = write_synthetic_store(
        root / "store.zarr", subjects=3, nights=2, epochs=10, channels=CHANNELS, n_folds=3
    )
    return root, store, _write_checkpoint(root / "best.ckpt", CHANNELS)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def _hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_explain_writes_every_artifact(setup: tuple[Path, Path, Path]) -> None:
    import zarr

    root, store, ckpt = setup
    report = explain(
        ckpt,
        store,
        out=root / "run",
        shapley=True,
        check_epochs=4,
        progress=False,
        metrics=root / "metrics" / "explain.json",
    )
    out = report.out
    assert out == root / "run" and report.metrics == root / "metrics" / "explain.json"
    assert report.ok and report.failures == {} and report.index_html == out / "index.html"
    st = open_store(store)
    recs = st.recordings_of(st.fold(0).test)
    assert len(recs) == 2
    for name in (
        "index.html",
        "faithfulness.json",
        "run.json",
        "randomisation.csv",
        "examples.png",
        "band_importance.png",
        "band_shapley.png",
        "channel_importance.png",
        "time_importance.png",
        "randomisation.png",
    ):
        assert (out / name).is_file(), name
    group = zarr.open_group(str(out / "attributions.zarr"), mode="r")
    loaded = load_checkpoint(ckpt)
    rel = []
    for rec in recs:
        g = group[f"recordings/{rec}"]
        attr = g["attributions"][:]
        assert attr.shape == (10, 2, 3000) and attr.dtype == np.float32
        np.testing.assert_array_equal(g["labels"][:], st.labels(rec))
        # The explained scores are the model's own predictions for the whole night.
        proba = loaded.predict_proba(st.signals(rec))
        np.testing.assert_allclose(g["probabilities"][:], proba, atol=1e-5)
        np.testing.assert_array_equal(g["predictions"][:], proba.argmax(1))
        np.testing.assert_array_equal(g["targets"][:], proba.argmax(1))
        assert g["band_drop"].shape == (10, 6) and g["band_shapley"].shape == (10, 6)
        # Completeness against an independent forward pass: each epoch replaced by the zero baseline
        # (0 uV is 0 after this checkpoint's normalisation) in its own window, plain model calls.
        x = torch.from_numpy(loaded.normalise(st.signals(rec)))
        change = np.empty(10)
        with torch.no_grad():
            for k, start in ((k, 0 if k < 4 else 4 if k < 8 else 6) for k in range(10)):
                window = x[start : start + 4].clone()
                stage = int(proba[k].argmax())
                full = model_probability(loaded.model, window, k - start, stage)
                window[k - start] = 0.0
                change[k] = full - model_probability(loaded.model, window, k - start, stage)
        big = np.abs(change) > 1e-3
        rel.append(np.abs(attr.sum(axis=(1, 2))[big] - change[big]) / np.abs(change[big]))
    rel_all = np.concatenate(rel)
    assert rel_all.size >= 10 and np.median(rel_all) < 0.05
    faith = json.loads((out / "faithfulness.json").read_text())
    assert json.loads((root / "metrics" / "explain.json").read_text()) == faith
    assert faith["n_epochs_explained"] == 20 and faith["completeness"]["n_epochs"] == 20
    assert faith["completeness"]["median_relative_delta"] == pytest.approx(np.median(rel_all), abs=0.01)
    assert faith["convergence_delta"]["method"] == "integrated-gradients"
    assert "seconds" not in json.dumps(faith)
    # The randomisation table: every layer from the head down, then each alone, then the control.
    rows = _rows(out / "randomisation.csv")
    layers = [r["layer"] for r in rows if r["mode"] == "cascading"]
    assert layers == ["head", "sequence_encoder", "epoch_encoder.feature_extractor.3",
                      "epoch_encoder.feature_extractor.0", "epoch_encoder.spatial_conv"]  # fmt: skip
    assert [r["layer"] for r in rows if r["mode"] == "independent"] == layers[::-1]
    assert rows[-1]["mode"] == "control" and len(rows) == 11
    steps = faith["randomisation"]["steps"]
    for row, step in zip(rows, steps, strict=False):
        assert float(row["spearman_abs_mean"]) == pytest.approx(step["spearman_abs_mean"], rel=1e-5)
        assert step["n_epochs"] == 4
    html = (out / "index.html").read_text()
    assert "src='randomisation.png'" in html and "partial_upper_95" in html
    assert json.loads((out / "run.json").read_text())["failures"] == {}
    assert report.epochs_explained == 20 and report.faithfulness == faith
    assert "explained 20 epochs in " in report.summary()


def model_probability(model: torch.nn.Module, window: torch.Tensor, pos: int, stage: int) -> float:
    """p(stage) at position ``pos`` of one window ``(L, C, S)``: a plain forward pass."""
    return float(model(window[None])[0, pos].softmax(-1)[stage])


def test_same_run_gives_byte_identical_outputs(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    root, store, ckpt = setup
    kw: dict[str, Any] = {"method": "gradient-shap", "max_epochs": 4, "check_epochs": 3, "progress": False}
    explain(ckpt, store, out=tmp_path / "a", timings=tmp_path / "timings.json", **kw)
    explain(ckpt, store, out=tmp_path / "b", metrics=tmp_path / "m.json", **kw)
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert len(a) > 20 and a == b
    assert json.loads((tmp_path / "timings.json").read_text())["seconds"] > 0
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert str(tmp_path) not in (tmp_path / "a" / "run.json").read_text()
    assert run["checkpoint"] == ckpt.name and run["seed"] == 0
    explain(ckpt, store, out=tmp_path / "c", seed=1, **kw)
    c = _hashes(tmp_path / "c")
    assert (
        c["attributions.zarr/recordings/SYN001/attributions/c/0/0/0"]
        != a["attributions.zarr/recordings/SYN001/attributions/c/0/0/0"]
    )


def test_timings_may_not_go_into_the_versioned_folder(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, store, ckpt = setup
    out = tmp_path / "out"
    args = ["--checkpoint", ckpt, "--store", store, "--out", out, "--timings", out / "t.json"]
    result = run_physioex("explain", *args)
    assert_one_error(result, 2, "--timings", "inside the output folder")
    assert not out.exists()


def test_rerun_replaces_output_and_leaves_no_temp(setup: tuple[Path, Path, Path]) -> None:
    root, store, ckpt = setup
    out = root / "rerun"
    explain(ckpt, store, out=out, method="saliency", max_epochs=3, check_epochs=2, progress=False)
    explain(
        ckpt, store, out=out, method="occlusion", max_epochs=3, check_epochs=2, config=FAST, progress=False
    )
    run = json.loads((out / "run.json").read_text())
    assert run["method"] == "occlusion" and run["max_epochs"] == 3
    faith = json.loads((out / "faithfulness.json").read_text())
    assert faith["n_epochs_explained"] == 6
    assert "sample" in faith["completeness"]["scope"]
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []


def test_atomic_dir_keeps_previous_output_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous run")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "half.csv").write_text("partial")
        raise RuntimeError("injected failure")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (out / "old.txt").read_text() == "previous run"
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "new") as tmp:
        raise RuntimeError("injected failure")
    assert not (tmp_path / "new").exists()


def _corrupt(store: Path, rec: str) -> None:
    for chunk in (store / "recordings" / rec / "signals").glob("*/c/**/*"):
        if chunk.is_file():
            chunk.write_bytes(b"not a blosc chunk")


def test_bad_recording_is_reported_and_others_go_on(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, store, ckpt = setup
    broken = tmp_path / "broken.zarr"
    shutil.copytree(store, broken)
    st = open_store(broken)
    bad, good = st.recordings_of(st.fold(0).test)
    _corrupt(broken, bad)
    result = CliRunner().invoke(
        app,
        [
            "explain",
            "--checkpoint",
            str(ckpt),
            "--store",
            str(broken),
            "--out",
            str(tmp_path / "out"),
            "--method",
            "saliency",
            "--epoch-limit",
            "2",
            "--check-epochs",
            "2",
            "--no-progress",
        ],
    )
    assert result.exit_code == 1, result.output
    assert bad in result.output
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert list(run["failures"]) == [bad]
    import zarr

    assert list(zarr.open_group(str(tmp_path / "out" / "attributions.zarr"), mode="r")["recordings"]) == [
        good
    ]
    # When nothing can be explained the previous output stays and no partial folder appears.
    _corrupt(broken, good)
    with pytest.raises(ExplainError, match="no epoch could be explained"):
        explain(ckpt, broken, out=tmp_path / "out", method="saliency", max_epochs=2, progress=False)
    assert list(json.loads((tmp_path / "out" / "run.json").read_text())["failures"]) == [bad]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.zarr", "out"]


def test_checkpoint_channels_must_exist_in_store(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, store, _ = setup
    ckpt = _write_checkpoint(tmp_path / "c3.ckpt", ["EEG C3-A2"])
    result = CliRunner().invoke(
        app, ["explain", "--checkpoint", str(ckpt), "--store", str(store), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    msg = " ".join(result.output.split())
    assert "EEG C3-A2" in msg and str(ckpt) in msg and str(store) in msg and "EEG Fpz-Cz" in msg
    assert not (tmp_path / "out").exists()


def test_help_speaks_to_sleep_researchers() -> None:
    result = CliRunner().invoke(app, ["explain", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for word in (
        "integrated-gradients",
        "occlusion",
        "baseline",
        "sigma",
        "--checkpoint",
        "--store",
        "--fold",
    ):
        assert word in text


def test_explain_real_sleepedf_night(sleepedf_mirror: Path, tmp_path: Path) -> None:
    """The real SC4001 night (preprocessed by the real pipeline): attributions on the uV signal's epochs."""
    import zarr

    from physioex.preprocess.params import PreprocessParams
    from physioex.preprocess.run import preprocess_recordings

    store = tmp_path / "sc.zarr"
    params = PreprocessParams(channels=("EEG Fpz-Cz",))
    assert preprocess_recordings(
        [SC4001], sleepedf_mirror, store, dataset="sleepedf-20", params=params, progress=False
    ).ok
    ckpt = _write_checkpoint(tmp_path / "c.ckpt", ["EEG Fpz-Cz"], seq_len=5)
    out = explain(
        ckpt,
        store,
        recordings=["SC4001E0"],
        out=tmp_path / "out",
        target="true",
        max_epochs=6,
        check_epochs=2,
        config=FAST,
        progress=False,
    ).out
    g = zarr.open_group(str(out / "attributions.zarr"), mode="r")["recordings/SC4001E0"]
    labels = open_store(store).labels("SC4001E0")[:6]
    np.testing.assert_array_equal(g["labels"][:], labels)
    assert g["attributions"].shape == (6, 1, 3000)
    explained = g["targets"][:] >= 0
    np.testing.assert_array_equal(g["targets"][:][explained], labels[explained])
    assert np.isfinite(g["attributions"][:][explained]).all()
    wrong = _write_checkpoint(tmp_path / "eog.ckpt", ["EOG horizontal"])
    with pytest.raises(ValueError, match="EOG horizontal"):
        explain(wrong, store, recordings=["SC4001E0"], out=tmp_path / "out2", progress=False)
