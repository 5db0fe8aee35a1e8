"""Attribution algorithms on models whose true answer is known: hand-built ones, and a small model
trained (in seconds) on epochs where only one channel and the second half of the epoch carry the stage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import scipy.signal
import torch
from helpers import one_torch_thread
from torch import nn

from physioex.explain.attribute import OwnEpochModel, explain_recording, plan_windows
from physioex.explain.bands import BAND_NAMES, band_drop, band_shapley, remove_bands
from physioex.explain.faithfulness import DELTA_WARNING, FaithfulnessChecks, summarise_faithfulness
from physioex.explain.gradient_shap import gradient_shap
from physioex.explain.methods import MethodConfig, make_baseline
from physioex.explain.randomisation import (
    RandomisationChecks,
    RandomisedModels,
    control_map,
    parametric_layers,
    randomised_copy,
    summarise_randomisation,
)
from physioex.models import build_model

FS = 100.0
S = 3000


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


class BandPowerModel(nn.Module):
    """Logit of N2 = gain * (power of channel 0 after a fixed 12-16 Hz FIR filter - offset); others 0."""

    fir: torch.Tensor

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


def test_fast_split_path_equals_generic_path() -> None:
    model = _small_model()
    torch.manual_seed(2)
    x = torch.randn(6, 2, S)
    base = x.mean(dim=(0, 2), keepdim=True).expand_as(x).clone()
    windows = x.reshape(2, 3, 2, S)
    assert OwnEpochModel(model, windows).split is not None
    assert OwnEpochModel(NoSplit(model), windows).split is None
    kw: dict[str, Any] = {"config": MethodConfig(n_steps=4), "bands": None}
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


# -- a model that has learnt a known signal feature ------------------------------------------------
SEQ = 4
SIGNAL_FROM = 1500
"""The stage rhythm lies on channel 0 from 15 s on; channel 1 and the first half are noise only."""


def _cued_epochs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Epochs (n, 2, 3000) of W (10 Hz) or N3 (2 Hz): the rhythm only on channel 0 after 15 s."""
    rng = np.random.default_rng(seed)
    y = rng.choice([0, 3], size=n)
    t = np.arange(S) / FS
    x = rng.normal(0, 1, size=(n, 2, S))
    for i, stage in enumerate(y):
        freq = 10.0 if stage == 0 else 2.0
        x[i, 0, SIGNAL_FROM:] += 3.0 * np.sin(2 * np.pi * freq * t[SIGNAL_FROM:] + rng.uniform(0, 2 * np.pi))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


Cued = tuple[nn.Module, torch.Tensor, np.ndarray]


@pytest.fixture(scope="module")
def cued() -> Cued:
    """A Chambon2018 trained on cued epochs (8 passes of Adam, ~8 s; held-out accuracy 1.0 with
    unsaturated probabilities), with 32 held-out epochs and their labels."""
    x, y = _cued_epochs(192, seed=0)
    torch.manual_seed(0)
    model = build_model("chambon2018", n_channels=2, n_rnn_units=8)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xs, ys = x.view(-1, SEQ, 2, S), y.view(-1, SEQ)
    order = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(8):
        perm = torch.randperm(len(xs), generator=order)
        for b in range(0, len(xs), 8):
            idx = perm[b : b + 8]
            loss = nn.functional.cross_entropy(model(xs[idx]).reshape(-1, 5), ys[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    xt, yt = _cued_epochs(32, seed=1)
    with torch.no_grad():
        accuracy = (model(xt.view(-1, SEQ, 2, S)).argmax(-1).view(-1) == yt).float().mean()
    assert accuracy > 0.9  # it has learnt the cue (chance is 0.5)
    return model, xt, yt.numpy()


def _independent_scores(
    model: nn.Module, x: torch.Tensor, replaced: torch.Tensor, stage: np.ndarray
) -> np.ndarray:
    """p(stage) of each epoch of ``x`` (consecutive windows of SEQ) with that epoch replaced by ``replaced``:
    plain forward passes of the model, one window per epoch."""
    out = np.empty(x.shape[0])
    with torch.no_grad():
        for k in range(x.shape[0]):
            w, p = divmod(k, SEQ)
            window = x[w * SEQ : (w + 1) * SEQ].clone()
            window[p] = replaced[k]
            out[k] = float(model(window[None])[0, p].softmax(-1)[stage[k]])
    return out


def test_integrated_gradients_add_up_to_an_independent_forward_difference(cued: Cued) -> None:
    model, x, y = cued
    x, y = x[:16], y[:16]
    base = torch.zeros_like(x)
    res = explain_recording(model, x, base, y, SEQ, FS, bands=None, config=MethodConfig(n_steps=64))
    tgt = res.targets.astype(np.int64)
    change = _independent_scores(model, x, x, tgt) - _independent_scores(model, x, base, tgt)
    total = res.attributions.sum(axis=(1, 2))
    big = np.abs(change) > 1e-2
    assert big.sum() >= 5
    rel = np.abs(total[big] - change[big]) / np.abs(change[big])
    assert np.median(rel) < 0.03 and rel.max() < 0.1, rel


def test_saliency_is_the_autograd_gradient_of_the_epochs_own_score(cued: Cued) -> None:
    model, x, y = cued
    res = explain_recording(model, x, torch.zeros_like(x), y, SEQ, FS, method="saliency", bands=None)
    for k in (0, 5, 30):
        w, p = divmod(k, SEQ)
        window = x[w * SEQ : (w + 1) * SEQ].clone().requires_grad_(True)
        prob = model(window[None])[0, p].softmax(-1)[int(res.targets[k])]
        (grad,) = torch.autograd.grad(prob, window)
        np.testing.assert_allclose(res.attributions[k], grad[p].abs().numpy(), rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("method", ["integrated-gradients", "gradient-shap", "occlusion"])
def test_attributions_concentrate_on_the_channel_and_time_the_model_learnt(cued: Cued, method: str) -> None:
    model, x, y = cued
    x, y = x[:16], y[:16]
    res = explain_recording(
        model, x, torch.zeros_like(x), y, SEQ, FS, method=method, bands=None, config=MethodConfig(n_steps=16)
    )
    mass = np.abs(res.attributions)
    channel0 = mass[:, 0].sum() / mass.sum()
    late = mass[:, 0, SIGNAL_FROM:].sum() / mass[:, 0].sum()
    assert channel0 > 0.6, channel0  # 0.5 if spread evenly
    assert late > 0.7, late


def test_deeplift_incompleteness_through_the_lstm_is_measured_and_warned(cued: Cued) -> None:
    """Captum's DeepLift treats the LSTM's gates as linear: its attributions miss most of the change."""
    model, x, y = cued
    base = torch.zeros_like(x)
    res = explain_recording(model, x, base, y, SEQ, FS, method="deeplift", bands=None)
    tgt = res.targets.astype(np.int64)
    change = _independent_scores(model, x, x, tgt) - _independent_scores(model, x, base, tgt)
    gap = res.attributions.sum(axis=(1, 2)) - change
    np.testing.assert_allclose(res.delta, gap, atol=1e-4)  # the reported delta is the real gap
    checks = FaithfulnessChecks()
    checks.add_explained(res)
    faith = summarise_faithfulness("deeplift", checks, [])
    conv = faith["convergence_delta"]
    assert conv["median_relative_delta"] == pytest.approx(np.median(np.abs(gap) / np.abs(change)), rel=1e-3)
    assert conv["median_relative_delta"] > DELTA_WARNING and conv["large"]
    assert any(w.startswith("deeplift: median |convergence delta|") for w in faith["warnings"])


def _ignores_the_weights(
    module: nn.Module,
    x: torch.Tensor,
    baselines: torch.Tensor,
    target: torch.Tensor,
    forward_args: tuple[torch.Tensor, ...],
    sampling_rate: float,
    config: MethodConfig,
    keys: torch.Tensor,
) -> tuple[torch.Tensor, None]:
    """An explainer that returns |input - baseline| whatever the model: the input term alone."""
    return (x - baselines).abs(), None


def _randomisation(model: nn.Module, x: torch.Tensor, y: np.ndarray, method: Any) -> dict[str, Any]:
    base = torch.zeros_like(x)
    kw: dict[str, Any] = {"bands": None, "config": MethodConfig(n_steps=8)}
    trained = explain_recording(model, x, base, y, SEQ, FS, method=method, **kw)
    targets = trained.targets.astype(np.int64)
    models = RandomisedModels.of(model, seed=0)
    checks = RandomisationChecks()

    def attributions_of(m: nn.Module) -> np.ndarray:
        return explain_recording(m, x, base, y, SEQ, FS, method=method, targets=targets, **kw).attributions

    models.check(trained.attributions, attributions_of, control_map(method, x.numpy(), base.numpy()), checks)
    return summarise_randomisation(checks, models.steps)


def test_randomisation_check_fails_an_explainer_that_ignores_the_weights(cued: Cued) -> None:
    model, x, y = cued
    summary = _randomisation(model, x[:16], y[:16], _ignores_the_weights)
    assert not summary["passed"]
    assert summary["verdict"]["partial_upper_95"] == pytest.approx(1.0)
    assert all(r["spearman_abs_mean"] == pytest.approx(1.0) for r in summary["steps"])


def test_randomisation_check_passes_saliency_of_the_trained_model(cued: Cued) -> None:
    model, x, y = cued
    summary = _randomisation(model, x, y, "saliency")
    assert summary["passed"], summary["verdict"]
    layers = parametric_layers(model)
    assert layers == [
        "epoch_encoder.spatial_conv",
        "epoch_encoder.feature_extractor.0",
        "epoch_encoder.feature_extractor.3",
        "sequence_encoder",
        "head",
    ]
    steps = summary["steps"]
    cascade = [r for r in steps if r["mode"] == "cascading"]
    assert [r["layer"] for r in cascade] == layers[::-1]
    assert [r["n_layers_randomised"] for r in cascade] == [1, 2, 3, 4, 5]
    assert [r["layer"] for r in steps if r["mode"] == "independent"] == layers
    # Destroying more of the network destroys more of the map: the fully randomised model's maps are
    # far less like the trained maps than those with only the head re-initialised.
    assert cascade[-1]["spearman_abs_mean"] < cascade[0]["spearman_abs_mean"] - 0.3
    assert all(r["n_epochs"] == 32 for r in steps)


def test_randomised_copy_resets_only_the_named_layers_reproducibly(cued: Cued) -> None:
    model = cued[0]
    state = torch.random.get_rng_state()
    a = dict(randomised_copy(model, ("head",), seed=3).named_parameters())
    b = dict(randomised_copy(model, ("sequence_encoder", "head"), seed=3).named_parameters())
    trained = dict(model.named_parameters())
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a["head.weight"], b["head.weight"])  # a layer gets the same random weights
    assert not torch.equal(a["head.weight"], trained["head.weight"])
    lstm = "sequence_encoder.weight_ih_l0"
    assert torch.equal(a[lstm], trained[lstm])
    assert not torch.equal(b[lstm], trained[lstm])
    conv = "epoch_encoder.feature_extractor.0.weight"
    assert torch.equal(b[conv], trained[conv])


# -- GradientShap: each epoch against its own baselines, reproducibly ------------------------------
class LinearScore(nn.Module):
    """Scores ``(N, 5)``: class 0 is sum(w * x) over the epoch; the gradient is ``w`` everywhere."""

    w: torch.Tensor

    def __init__(self, shape: tuple[int, int]) -> None:
        super().__init__()
        self.register_buffer("w", torch.linspace(0.5, 1.5, shape[0] * shape[1]).view(shape))

    def forward(self, x: torch.Tensor, *_: torch.Tensor) -> torch.Tensor:
        score = (x * self.w).sum(dim=(1, 2))
        return torch.stack([score, *(torch.zeros_like(score) for _ in range(4))], dim=1)


def test_gradient_shap_draws_each_epochs_baselines_from_its_own_set() -> None:
    n, c, s, k = 3, 1, 50, 4
    x = torch.zeros(n, c, s)
    # Epoch i's baseline set is K flat lines at -(100 i + j), j < K: an attribution of a linear score
    # is w * (x - b), so attribution / w = 100 i + j tells exactly which baselines were drawn.
    own = -(100.0 * torch.arange(n)[:, None] + torch.arange(k)[None, :])
    baselines = own[:, :, None, None].expand(n, k, c, s).clone()
    module = LinearScore((c, s))
    target = torch.zeros(n, dtype=torch.long)
    attr, delta = gradient_shap(
        module, x, baselines, target, (), torch.arange(n), n_samples=16, stdev=0.0, seed=1
    )
    implied = (attr / module.w).numpy()  # mean of the drawn baselines' offsets, per epoch
    for i in range(n):
        assert 100 * i <= implied[i].min() and implied[i].max() <= 100 * i + k - 1, (i, implied[i, 0, 0])
    np.testing.assert_allclose(delta.numpy(), 0.0, atol=1e-3)  # exact for a linear score


def test_gradient_shap_is_reproducible_and_leaves_global_generators_alone(cued: Cued) -> None:
    model, x, y = cued
    base = make_baseline("band-removed", x, FS, ("alpha", "delta"))
    kw: dict[str, Any] = {"method": "gradient-shap", "bands": None, "config": MethodConfig(shap_samples=4)}
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()
    a = explain_recording(model, x, base, y, SEQ, FS, **kw)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    drawn = np.random.random()
    np.random.set_state(numpy_state)
    assert np.random.random() == drawn
    torch.manual_seed(123)  # another global state must not matter
    np.random.seed(123)
    b = explain_recording(model, x, base, y, SEQ, FS, **kw)
    assert np.array_equal(a.attributions, b.attributions) and np.array_equal(a.delta, b.delta)
    # An epoch's draws depend on its key, not on the batch it is explained in.
    c = explain_recording(model, x, base, y, SEQ, FS, only=np.array([5, 17]), **kw)
    np.testing.assert_allclose(c.attributions[[5, 17]], a.attributions[[5, 17]], rtol=1e-5, atol=1e-8)
    other = explain_recording(
        model, x, base, y, SEQ, FS, **{**kw, "config": MethodConfig(shap_samples=4, seed=1)}
    )
    assert not np.allclose(other.attributions, a.attributions)
