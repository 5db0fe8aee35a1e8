"""Attribution algorithms on hand-built models whose true answer is known (fast, no data files)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import scipy.signal
import torch
from helpers import one_torch_thread
from torch import nn

from physioex.explain.attribute import OwnEpochModel, explain_recording, plan_windows
from physioex.explain.bands import BAND_NAMES, band_drop, band_shapley, remove_bands
from physioex.explain.faithfulness import randomised_copy, rank_correlation
from physioex.explain.methods import MethodConfig, make_baseline
from physioex.models import build_model

FS = 100.0
S = 3000


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


class BandPowerModel(nn.Module):
    """Logit of N2 = gain * (power of channel 0 after a fixed 12-16 Hz FIR filter - offset); others 0."""

    def __init__(self) -> None:
        super().__init__()
        taps = scipy.signal.firwin(301, [12.0, 16.0], pass_zero=False, fs=FS)
        self.register_buffer("fir", torch.tensor(taps, dtype=torch.float32).view(1, 1, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, seq_len, _, s = x.shape
        y = nn.functional.conv1d(x[:, :, 0].reshape(b * seq_len, 1, s), self.fir)
        power = y.pow(2).mean(dim=(1, 2)).view(b, seq_len)
        zeros = torch.zeros_like(power)
        return torch.stack([zeros, zeros, 4 * (power - 0.25), zeros, zeros], dim=-1)


class WindowEnergyModel(nn.Module):
    """Logit of W = energy of channel 0 in samples 1000..1500 (10-15 s into the epoch); others 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        energy = x[:, :, 0, 1000:1500].pow(2).mean(dim=-1)
        zeros = torch.zeros_like(energy)
        return torch.stack([energy, zeros, zeros, zeros, zeros], dim=-1)


class NoSplit(nn.Module):
    """Hides a model's encoder/head structure so the generic (L copies of the window) path is used."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.inner = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


def _multiband_signals(n_epochs: int, seed: int = 0) -> torch.Tensor:
    """Epochs (n, 1, 3000) with one unit sine in each band plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(S) / FS
    x = np.zeros((n_epochs, 1, S))
    for f in (2.0, 6.0, 10.0, 14.0, 22.0, 40.0):
        x += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, size=(n_epochs, 1, 1)))
    x += rng.normal(0, 0.1, size=x.shape)
    return torch.tensor(x, dtype=torch.float32)


def _small_model(n_channels: int = 2) -> nn.Module:
    torch.manual_seed(0)
    return build_model("chambon2018", n_channels=n_channels, n_rnn_units=16).eval()


def test_plan_windows_explains_every_epoch_once() -> None:
    plan = plan_windows(23, 5)
    assert plan.starts.tolist() == [0, 5, 10, 15, 18]
    assert np.array_equal(plan.starts[plan.win] + plan.pos, np.arange(23))
    short = plan_windows(3, 5)
    assert short.seq_len == 3 and short.starts.tolist() == [0]


def test_integrated_gradients_completeness_and_own_epoch_score() -> None:
    model = _small_model(1)
    torch.manual_seed(1)
    x = torch.randn(6, 1, S)
    base = torch.zeros_like(x)
    labels = np.zeros(6, dtype=np.int64)
    kw = {"bands": None, "output": "logit"}
    coarse = explain_recording(model, x, base, labels, 4, FS, config=MethodConfig(n_steps=8), **kw)
    res = explain_recording(model, x, base, labels, 4, FS, config=MethodConfig(n_steps=48), **kw)
    change = res.score - res.own_baseline_score
    total = res.attributions.sum(axis=(1, 2))
    assert np.all(np.abs(change) > 1e-3)
    # Completeness: attributions add up to score(x) - score(baseline), up to the path-integral error,
    # which shrinks with more steps (ReLU + max-pool networks converge slowly).
    rel = np.abs(total - change) / np.abs(change)
    assert np.median(rel) < 0.03 and rel.max() < 0.15
    np.testing.assert_allclose(res.delta, total - change, atol=1e-5)
    assert np.abs(res.delta).max() < 0.5 * np.abs(coarse.delta).max()
    # The own-epoch score at the baseline is the plain model with only that epoch replaced.
    with torch.no_grad():
        window = x[2:6].clone()
        window[3] = 0.0  # epoch 5 sits at position 3 of the last window (epochs 2..5)
        p = model(window[None])[0, 3, res.targets[5]]
    assert res.own_baseline_score[5] == pytest.approx(float(p), abs=1e-5)


def test_fast_split_path_equals_generic_path() -> None:
    model = _small_model()
    torch.manual_seed(2)
    x = torch.randn(6, 2, S)
    base = x.mean(dim=(0, 2), keepdim=True).expand_as(x).clone()
    windows = x.reshape(2, 3, 2, S)
    assert OwnEpochModel(model, windows).split is not None
    assert OwnEpochModel(NoSplit(model), windows).split is None
    kw = {"config": MethodConfig(n_steps=4), "bands": None}
    fast = explain_recording(model, x, base, np.zeros(6, dtype=np.int64), 3, FS, **kw)
    slow = explain_recording(NoSplit(model), x, base, np.zeros(6, dtype=np.int64), 3, FS, **kw)
    np.testing.assert_allclose(fast.probabilities, slow.probabilities, atol=1e-6)
    np.testing.assert_allclose(fast.attributions, slow.attributions, atol=1e-6, rtol=1e-4)


def test_band_importance_finds_the_only_band_the_model_uses() -> None:
    model = BandPowerModel()
    x = _multiband_signals(4)
    res = explain_recording(
        model, x, torch.zeros_like(x), np.full(4, 2), 2, FS, method="saliency", target="true", shapley=True
    )
    assert res.band_drop is not None and res.shapley is not None
    sigma = BAND_NAMES.index("sigma")
    drop = res.band_drop
    assert np.all(drop.argmax(axis=1) == sigma)
    assert drop[:, sigma].min() > 0.2
    others = np.delete(drop, sigma, axis=1)
    assert np.abs(others).max() < 0.02 * drop[:, sigma].min()
    shap = res.shapley
    assert np.all(shap.argmax(axis=1) == sigma)
    np.testing.assert_allclose(shap[:, sigma], drop[:, sigma], rtol=0.05)
    assert np.abs(np.delete(shap, sigma, axis=1)).max() < 0.02 * shap[:, sigma].min()


def test_band_removal_is_one_fft_mask_and_shapley_is_efficient() -> None:
    x = _multiband_signals(3, seed=5)
    only_alpha_left = remove_bands(x, FS, tuple(b for b in BAND_NAMES if b != "alpha"))
    spec = np.abs(np.fft.rfft(only_alpha_left.numpy()[0, 0]))
    freqs = np.fft.rfftfreq(S, 1 / FS)
    assert freqs[spec.argmax()] == pytest.approx(10.0)
    assert spec[(freqs >= 0.5) & ((freqs < 8) | (freqs >= 12))].max() < 1e-3 * spec.max()

    def score(xx: torch.Tensor) -> torch.Tensor:  # a model with band interactions
        p = torch.fft.rfft(xx[:, 0]).abs().pow(2).mean(-1)
        return torch.sigmoid(p / 1e4 - 1 + (xx[:, 0] ** 3).mean(-1))

    phi = band_shapley(score, x, FS)
    empty = remove_bands(x, FS, BAND_NAMES)
    np.testing.assert_allclose(phi.sum(1).numpy(), (score(x) - score(empty)).numpy(), atol=1e-5)
    assert band_drop(score, x, FS).shape == (3, 6)


@pytest.mark.parametrize("method", ["integrated-gradients", "occlusion"])
def test_attributions_highlight_the_window_that_drives_the_model(method: str) -> None:
    torch.manual_seed(3)
    x = torch.randn(4, 2, S)
    res = explain_recording(
        WindowEnergyModel(),
        x,
        torch.zeros_like(x),
        np.zeros(4, dtype=np.int64),
        2,
        FS,
        method=method,
        target="true",
        bands=None,
        config=MethodConfig(n_steps=16),
    )
    mass = np.abs(res.attributions)
    per_second = mass[:, 0].reshape(4, 30, 100).sum(-1)
    assert np.all(np.isin(per_second.argmax(axis=1), np.arange(10, 15)))
    inside = mass[:, 0, 1000:1500].sum()
    assert inside / mass.sum() > 0.999
    assert mass[:, 1].max() == 0.0


@pytest.mark.parametrize("method", ["deeplift", "gradient-shap", "saliency"])
def test_other_methods_run_batched_on_a_real_model(method: str) -> None:
    model = _small_model()
    torch.manual_seed(4)
    x = torch.randn(6, 2, S)
    base = make_baseline("band-removed", x, FS, ("alpha", "sigma"))
    res = explain_recording(
        model,
        x,
        base,
        np.zeros(6, dtype=np.int64),
        3,
        FS,
        method=method,
        bands=None,
        config=MethodConfig(shap_samples=2),
    )
    assert res.attributions.shape == (6, 2, S)
    assert np.isfinite(res.attributions).all() and np.abs(res.attributions).max() > 0
    if method == "saliency":
        assert res.attributions.min() >= 0
    else:
        assert np.isfinite(res.delta).all()


def test_model_randomisation_changes_attributions() -> None:
    model = WindowEnergyModel()
    torch.manual_seed(5)
    x = torch.randn(4, 1, S)
    small = _small_model(1)
    rnd = randomised_copy(small, seed=1)
    assert not torch.equal(next(small.parameters()), next(rnd.parameters()))
    kw = {"bands": None, "config": MethodConfig(n_steps=4)}
    a = explain_recording(small, x, torch.zeros_like(x), np.zeros(4, dtype=np.int64), 2, FS, **kw)
    b = explain_recording(
        rnd, x, torch.zeros_like(x), np.zeros(4, dtype=np.int64), 2, FS, targets=a.targets, **kw
    )
    rho = rank_correlation(a.attributions, b.attributions)
    assert np.all(np.isfinite(rho)) and np.all(rho < 0.9)
    same = rank_correlation(a.attributions, a.attributions)
    np.testing.assert_allclose(same, 1.0)
    del model
