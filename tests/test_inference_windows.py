"""The one windowing rule of test, predict, validation and explain: every epoch scored exactly once,
a recording shorter than L as one window of its own length (no padding), for both models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import assert_one_error, one_torch_thread, run_physioex
from typer.testing import CliRunner

from physioex.cli import app
from physioex.explain.attribute import plan_windows
from physioex.inference.scoring import whole_night_logits
from physioex.inference.windows import Window, scoring_windows
from physioex.models import build_model
from physioex.synth.store import write_synthetic_store
from physioex.train.datamodule import SleepDataModule
from physioex.train.dataset import IGNORE_INDEX

L = 5


def _scored(windows: list[Window], n: int) -> np.ndarray:
    counts = np.zeros(n, dtype=int)
    for w in windows:
        assert w.start >= 0 and w.start + w.length <= n and 0 <= w.keep_from < w.length
        counts[w.start + w.keep_from : w.start + w.length] += 1
    return counts


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (3, [Window(0, 3, 0)]),  # shorter than L: one window of its own length, not padded
        (L, [Window(0, L, 0)]),
        (L + 1, [Window(0, L, 0), Window(1, L, 4)]),  # last window aligned to the end, scores 1 epoch
        (2 * L - 1, [Window(0, L, 0), Window(4, L, 1)]),
        (2 * L, [Window(0, L, 0), Window(L, L, 0)]),
    ],
)
def test_windows_at_the_edges(n: int, expected: list[Window]) -> None:
    assert scoring_windows(n, L) == expected
    assert np.all(_scored(expected, n) == 1)


def test_every_epoch_is_scored_exactly_once_and_explain_plans_the_same_windows() -> None:
    assert scoring_windows(0, L) == []
    for seq_len in (1, 2, 5, 21):
        for n in range(1, 70):
            windows = scoring_windows(n, seq_len)
            assert np.all(_scored(windows, n) == 1), (n, seq_len)
            assert {w.length for w in windows} == {min(n, seq_len)}
            plan = plan_windows(n, seq_len)  # explain: the same windows, each epoch explained once
            assert plan.starts.tolist() == [w.start for w in windows] and plan.seq_len == min(n, seq_len)
            for w_index, w in enumerate(windows):
                own = np.arange(w.start + w.keep_from, w.start + w.length)
                assert np.all(plan.win[own] == w_index) and np.all(plan.pos[own] == own - w.start)
    with pytest.raises(ValueError, match="seq_len"):
        scoring_windows(10, 0)


def test_a_stride_tiles_every_epoch_once_and_gives_each_the_most_past_context() -> None:
    for seq_len in (1, 2, 3, 5, 8, 21):
        for stride in range(1, seq_len + 1):
            for n in range(0, 60):
                windows = scoring_windows(n, seq_len, stride)
                assert np.all(_scored(windows, n) == 1), (n, seq_len, stride)
                if n == 0:
                    assert windows == []
                    continue
                assert {w.length for w in windows} == {min(n, seq_len)}
                starts = [w.start for w in windows]
                assert starts == sorted(set(starts)) and starts[0] == 0 and windows[0].keep_from == 0
                if n > seq_len:  # every window but the first scores where it has >= L - S past epochs
                    assert all(w.keep_from >= seq_len - stride for w in windows[1:])
                    assert all(b - a <= stride for a, b in zip(starts, starts[1:], strict=False))
            assert scoring_windows(40, seq_len, seq_len) == scoring_windows(40, seq_len)  # default: S = L


def test_stride_1_scores_each_epoch_with_exactly_l_minus_1_past_epochs() -> None:
    n = 50
    windows = scoring_windows(n, L, 1)
    assert len(windows) == n - L + 1 and windows[0] == Window(0, L, 0)
    past = {}
    for w in windows:
        for e in range(w.start + w.keep_from, w.start + w.length):
            past[e] = e - w.start  # epochs of its window before it
    assert sorted(past) == list(range(n))
    assert [past[e] for e in range(L - 1)] == list(range(L - 1))  # the first window holds all there is
    assert all(past[e] == L - 1 for e in range(L - 1, n))
    assert scoring_windows(3, L, 1) == [Window(0, 3, 0)]  # shorter than L: still one window
    assert scoring_windows(13, L, 3) == [Window(0, 5, 0), Window(3, 5, 2), Window(6, 5, 2), Window(8, 5, 3)]
    for bad in (0, L + 1, -2):
        with pytest.raises(ValueError, match="stride"):
            scoring_windows(10, L, bad)


def test_batched_scoring_with_a_stride_equals_explicit_windows() -> None:
    torch.manual_seed(0)
    model = build_model("tinysleepnet", n_channels=1, sampling_rate=100.0).eval()
    n = 3 * L + 2
    x = np.random.default_rng(2).normal(size=(n, 1, 3000)).astype(np.float32)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        first = model(xt[:L][None])[0].numpy()
        ends = np.stack([model(xt[e - L + 1 : e + 1][None])[0, -1].numpy() for e in range(L - 1, n)])
    for batch_size in (1, 7):
        out = whole_night_logits(model, x, L, batch_size=batch_size, stride=1)
        np.testing.assert_allclose(out[:L], first, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(out[L - 1 :], ends, rtol=1e-4, atol=1e-5)
    default = whole_night_logits(model, x, L)  # a unidirectional LSTM: past context changes the logits
    assert not np.allclose(default[L:], out[L:], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", ["chambon2018", "tinysleepnet"])
def test_batched_scoring_equals_explicit_windows_for_both_models(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, n_channels=1, sampling_rate=100.0).eval()
    x = np.random.default_rng(1).normal(size=(2 * L - 1, 1, 3000)).astype(np.float32)
    with torch.no_grad():
        short = model(torch.from_numpy(x[:3])[None])[0].numpy()  # a 3-epoch night is its own window
        first = model(torch.from_numpy(x[:L])[None])[0].numpy()
        last = model(torch.from_numpy(x[L - 1 :])[None])[0].numpy()
    np.testing.assert_allclose(whole_night_logits(model, x[:3], L), short, rtol=1e-4, atol=1e-5)
    for batch_size in (1, 8):
        out = whole_night_logits(model, x, L, batch_size=batch_size)
        np.testing.assert_allclose(out[:L], first, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(out[L:], last[1:], rtol=1e-4, atol=1e-5)


def test_validation_scores_a_short_night_unpadded_in_its_own_batch(tmp_path: Path) -> None:
    from physioex.store import open_store

    store = write_synthetic_store(tmp_path / "s.zarr", subjects=4, epochs=[20, 3, 20, 11], n_folds=4)
    st = open_store(store)
    short_batches = 0
    for fold in range(4):
        dm = SleepDataModule(str(store), fold=fold, seq_len=L, eval_batch_size=8, num_workers=0)
        dm.setup()
        for split in ("valid", "test"):
            batches = list(dm._loader(dm._dataset(split), dm.eval_batch_sampler(split), persistent=False))
            for x, y in batches:
                assert x.shape[:2] == y.shape and x.shape[1] in (L, 3)
                short_batches += x.shape[1] == 3
                assert x.shape[1] == L or x.shape[0] == 1  # the short night alone in its batch
            scored = sum(int((y != IGNORE_INDEX).sum()) for _, y in batches)
            assert scored == sum(int((st.labels(r) >= 0).sum()) for r in dm.splits[split])
    assert short_batches >= 1  # the 3-epoch night was validated or tested in some fold


@pytest.fixture(scope="module")
def tiny_tinysleepnet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(store, checkpoint): a TinySleepNet (unidirectional LSTM, L=10) trained for a few batches."""
    from physioex.train.run import train

    root = tmp_path_factory.mktemp("stride")
    store = write_synthetic_store(root / "s.zarr", subjects=4, epochs=150, seed=4)
    with one_torch_thread():  # 2 passes: half-trained, so many epochs are near a decision boundary
        train(
            store,
            model="tinysleepnet",
            out=root / "m",
            params=None,
            max_epochs=2,
            seq_len=10,
            batch_size=8,
            lr=1e-3,
            num_workers=0,
            progress=False,
        )
    return store, root / "m" / "fold-0" / "best.ckpt"


def test_physioex_test_with_stride_1_scores_from_more_past_context(
    tiny_tinysleepnet: tuple[Path, Path], tmp_path: Path
) -> None:
    store, ckpt = tiny_tinysleepnet
    preds = {}
    for stride in (None, 1):
        out = tmp_path / f"eval-{stride}"
        args = ["test", "--checkpoint", str(ckpt), "--store", str(store), "--out", str(out)]
        args += ["--no-plots", "--no-progress"] + (["--stride", str(stride)] if stride else [])
        with one_torch_thread():
            result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["seq_len"] == 10 and metrics["stride"] == (stride or 10)
        assert f"stride {stride or 10}" in result.output
        preds[stride] = pd.read_csv(out / "predictions.csv")
    a, b = preds[None], preds[1]
    assert a[["recording", "epoch", "true"]].equals(b[["recording", "epoch", "true"]])  # same epochs once
    assert (a["pred"] != b["pred"]).sum() > 0  # other windows, other past context, other stages
    bad: list[str | Path] = [
        "test",
        "--checkpoint",
        ckpt,
        "--store",
        store,
        "--out",
        tmp_path / "x",
        "--stride",
        "11",
    ]
    line = assert_one_error(
        run_physioex(*bad),
        2,
        "--stride 11",
        "L=10",
    )
    assert str(ckpt) in line and not (tmp_path / "x").exists()


def test_physioex_predict_with_a_stride(tiny_tinysleepnet: tuple[Path, Path], tmp_path: Path) -> None:
    import edfio

    from physioex.store import open_store

    store, ckpt = tiny_tinysleepnet
    st = open_store(store)
    night = st.signals(st.recordings_of(st.fold(0).test)[0])[:, 0].reshape(-1)  # uV at 100 Hz
    psg = tmp_path / "night.edf"
    signal = edfio.EdfSignal(night.astype(np.float64), 100.0, label="EEG Fpz-Cz", physical_range=(-500, 500))
    edfio.Edf([signal], data_record_duration=1).write(psg)
    stages = {}
    for stride in (None, 1):
        csv = tmp_path / f"hypnogram-{stride}.csv"
        args = ["predict", str(psg), "--checkpoint", str(ckpt), "--out", str(csv)]
        with one_torch_thread():
            result = CliRunner().invoke(app, args + (["--stride", str(stride)] if stride else []))
        assert result.exit_code == 0, result.output
        summary = json.loads(csv.with_suffix(".json").read_text())
        assert summary["seq_len"] == 10 and summary["stride"] == (stride or 10)
        stages[stride] = pd.read_csv(csv)["stage"]
    assert len(stages[None]) == len(stages[1]) == night.size // 3000
    assert (stages[None] != stages[1]).sum() > 0
