"""Training with Lightning on a small learnable store, checkpoints, resume and `physioex test`.

The synthetic stages (one dominant rhythm each) are easy to learn, so a working pipeline scores nearly
every test epoch right; the thresholds are relative to what a one-epoch shift of the predictions would
score on the same nights, so a label/prediction misalignment or a training loop that does not learn fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from physioex.inference.checkpoint import CheckpointError, load_checkpoint
from physioex.inference.run import evaluate
from physioex.store import open_store
from physioex.synth.store import write_synthetic_store
from physioex.train.run import train

FAST: dict[str, Any] = {"seq_len": 10, "batch_size": 8, "num_workers": 0, "progress": False, "params": None}
STAGES = ["W", "N1", "N2", "N3", "REM"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_store(tmp_path_factory.mktemp("fit") / "s.zarr", subjects=6, epochs=200, seed=1)


@pytest.fixture(scope="module")
def trained(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    # augmentation on (the default): about 50 optimiser steps, ~15 s on one core
    fit = {**FAST, "batch_size": 4, "max_epochs": 8, "patience": 8, "lr": 1e-3}
    train(store, model="chambon2018", fold=0, out=out, **fit)
    return out


def aligned_and_shifted(store: Path, predictions: Path) -> dict[str, float]:
    """Per-epoch agreement of ``predictions.csv`` with the test nights' stages, and what a shift by one
    epoch would score on the same nights.

    ``agree``: predictions equal to the epoch's own stage. ``shifted``: the best a perfect model shifted
    by one epoch (either way) could get, i.e. how often an epoch's stage equals its neighbour's.
    ``at_change``: agreement on the epochs whose stage differs from the previous epoch's, where a shifted
    model is always wrong, and ``at_change_previous``: how often it predicts the previous epoch's stage.
    """
    st, table = open_store(store), pd.read_csv(predictions)
    agree, shifted, at_change, previous = [], [], [], []
    for rec in st.recordings_of(st.fold(0).test):
        y = st.labels(rec).astype(int)
        rows = table[table["recording"] == rec]
        pred = np.full(y.size, -9)
        pred[rows["epoch"].to_numpy()] = [STAGES.index(p) for p in rows["pred"]]
        scored = y >= 0
        agree.append(pred[scored] == y[scored])
        pairs = scored[1:] & scored[:-1]  # an epoch and its predecessor both scored
        shifted.append(y[1:][pairs] == y[:-1][pairs])
        change = pairs & (y[1:] != y[:-1])
        at_change.append(pred[1:][change] == y[1:][change])
        previous.append(pred[1:][change] == y[:-1][change])
    flat = {
        k: np.concatenate(v)
        for k, v in [
            ("agree", agree),
            ("shifted", shifted),
            ("at_change", at_change),
            ("at_change_previous", previous),
        ]
    }
    assert flat["at_change"].size >= 20  # enough stage changes in the test nights to judge alignment
    return {k: float(v.mean()) for k, v in flat.items()}


def test_training_learns_each_epochs_own_stage(trained: Path, store: Path, tmp_path: Path) -> None:
    summary = json.loads((trained / "fold-0" / "train.json").read_text())
    assert summary["model"] == "chambon2018"
    for name in ("best.ckpt", "last.ckpt"):
        assert (trained / "fold-0" / name).is_file()
    assert (trained / "fold-0" / "dvclive" / "metrics.json").is_file()
    m = evaluate(trained, store, fold=0, out=tmp_path / "report", progress=False).metrics
    score = aligned_and_shifted(store, tmp_path / "report" / "predictions.csv")
    # sticky stages: a one-epoch shift still agrees ~87% of the time, so require half the gap above it
    assert score["agree"] > score["shifted"] + (1 - score["shifted"]) / 2, score
    assert score["at_change"] > 0.75 and score["at_change_previous"] < 0.25, score
    assert m["accuracy"] == pytest.approx(score["agree"])  # the report scores the same epochs
    st = open_store(store)
    labels = np.concatenate([st.labels(r) for r in st.recordings_of(st.fold(0).test)])
    assert m["n_epochs"] == int((labels >= 0).sum())  # every scored test epoch exactly once
    assert np.array(m["confusion_matrix"]).sum() == m["n_epochs"]
    assert list(m["f1_per_class"]) == ["W", "N1", "N2", "N3", "REM"]
    for f in ("metrics.json", "per_recording.csv", "predictions.csv", "confusion_matrix.png"):
        assert (tmp_path / "report" / f).stat().st_size > 0
    assert len(list((tmp_path / "report" / "hypnograms").glob("*.png"))) == m["n_recordings"] == 2
    for key in ("accuracy", "f1_macro", "kappa"):  # the interval over the 2 test nights holds the value
        lo, hi = m["bootstrap_ci_95"][key]
        assert lo <= m[key] <= hi
    rows = pd.read_csv(tmp_path / "report" / "per_recording.csv")
    assert m["per_recording"]["f1_weighted"]["mean"] == pytest.approx(rows["f1_weighted"].mean())


def test_reload_gives_identical_predictions_and_meta(trained: Path, store: Path) -> None:
    st = open_store(store)
    rec = st.recordings_of(st.fold(0).test)[0]
    x = st.signals(rec)
    a = load_checkpoint(trained / "fold-0" / "best.ckpt")
    b = load_checkpoint(trained / "fold-0" / "best.ckpt")
    assert a.channels == ["EEG Fpz-Cz"] and a.seq_len == 10 and a.meta.fold == 0
    assert a.meta.model == "chambon2018" and a.meta.normalisation.mode == "global"
    pa, pb = a.predict_proba(x), b.predict_proba(x)
    assert pa.shape == (x.shape[0], 5)
    np.testing.assert_array_equal(pa, pb)
    np.testing.assert_allclose(pa.sum(axis=1), 1.0, rtol=1e-5)
    assert not a.model.training


def test_whole_night_inference_scores_each_epoch_once(trained: Path, store: Path) -> None:
    """Non-overlapping windows + one end-aligned window: compare with explicit per-window forward passes."""
    loaded = load_checkpoint(trained / "fold-0" / "best.ckpt")
    st = open_store(store)
    rec = st.recordings[0]
    xn = loaded.normalise(st.signals(rec)[:95])  # 95 = 9 full windows of 10 + 5 epochs
    logits = loaded.predict_logits(xn, batch_size=4)
    with torch.no_grad():
        full = loaded.model(torch.from_numpy(xn[:90]).reshape(9, 10, 1, 3000)).reshape(90, 5).numpy()
        tail = loaded.model(torch.from_numpy(xn[85:95])[None])[0].numpy()
    np.testing.assert_allclose(logits[:90], full, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logits[90:], tail[5:], rtol=1e-4, atol=1e-5)
    short = loaded.predict_logits(xn[:4])  # shorter than L: one window of 4, one prediction per epoch
    assert short.shape == (4, 5) and np.isfinite(short).all()


def test_resume_continues_exactly(store: Path, tmp_path: Path) -> None:
    kw = {**FAST, "model": "chambon2018", "fold": 1, "limit_train_batches": 2}
    train(store, out=tmp_path / "straight", max_epochs=2, **kw)
    train(store, out=tmp_path / "resumed", max_epochs=1, **kw)
    train(store, out=tmp_path / "resumed", max_epochs=2, resume=True, **kw)
    a = torch.load(tmp_path / "straight" / "fold-1" / "last.ckpt", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "fold-1" / "last.ckpt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 1
    for k, v in a["state_dict"].items():
        assert torch.equal(v, b["state_dict"][k]), k


def test_bad_checkpoints_are_rejected_clearly(tmp_path: Path, trained: Path, store: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.ckpt")
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.ckpt: not a readable"):
        load_checkpoint(junk)
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"lr": 1.0}}, other)
    with pytest.raises(CheckpointError, match="not written by `physioex train`"):
        load_checkpoint(other)
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": Path("/etc/passwd")}, evil)  # arbitrary object: refused
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(evil)
    best = trained / "fold-0" / "best.ckpt"
    with pytest.raises(CheckpointError, match="holds a chambon2018 model, not tinysleepnet"):
        load_checkpoint(best, expect_model="tinysleepnet")
    # weights of another channel set do not fit
    ck = torch.load(best, weights_only=True)
    ck["hyper_parameters"]["meta"]["channels"] = ["EEG Fpz-Cz", "EEG Pz-Oz"]
    swapped = tmp_path / "swapped.ckpt"
    torch.save(ck, swapped)
    with pytest.raises(
        CheckpointError, match=r"do not fit a chambon2018 model with channels \['EEG Fpz-Cz', 'EEG Pz-Oz'\]"
    ):
        load_checkpoint(swapped)
    # a store without the model's channel
    eog = write_synthetic_store(tmp_path / "eog.zarr", subjects=3, epochs=30, channels=("EOG horizontal",))
    with pytest.raises(CheckpointError, match=r"lacks channel\(s\) \['EEG Fpz-Cz'\]"):
        evaluate(best, eog, out=tmp_path / "r", progress=False)
    with pytest.raises(CheckpointError, match="trained on fold 0; testing it on fold 2"):
        evaluate(best, store, fold=2, out=tmp_path / "r", progress=False)


def test_cli_train_and_test(store: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from physioex.cli import app

    params = tmp_path / "params.yaml"
    params.write_text(
        "train:\n  model: chambon2018\n  seq_len: 10\n  batch_size: 8\n  limit_train_batches: 2\n"
    )
    runner = CliRunner()
    r = runner.invoke(
        app,
        [
            "train",
            "--store",
            str(store),
            "--out",
            str(tmp_path / "m"),
            "--params",
            str(params),
            "--max-epochs",
            "1",
            "--num-workers",
            "0",
            "--normalisation",
            "recording",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "fold 0: best validation macro F1" in r.output
    meta = load_checkpoint(tmp_path / "m" / "fold-0" / "best.ckpt").meta
    assert meta.seq_len == 10 and meta.config["limit_train_batches"] == 2  # from params.yaml
    assert meta.normalisation.mode == "recording"  # CLI override
    r = runner.invoke(
        app,
        [
            "test",
            "--checkpoint",
            str(tmp_path / "m"),
            "--store",
            str(store),
            "--out",
            str(tmp_path / "rep"),
            "--no-plots",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "accuracy" in r.output and (tmp_path / "rep" / "metrics.json").is_file()
    r = runner.invoke(
        app,
        [
            "train",
            "--store",
            str(store),
            "--fold",
            "7",
            "--params",
            str(params),
            "--out",
            str(tmp_path / "m2"),
        ],
    )
    assert r.exit_code == 2 and "--fold: fold 7 does not exist" in r.output
