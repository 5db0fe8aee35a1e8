"""The one windowing rule of test, predict, validation and explain: every epoch scored exactly once,
a recording shorter than L as one window of its own length (no padding), for both models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

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
