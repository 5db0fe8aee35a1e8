"""Model architecture: exact parameter counts (docs/conventions.md section 4) and output shapes."""

from __future__ import annotations

import pytest
import torch

from physioex.models import Chambon2018, TinySleepNet, build_model


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# TinySleepNet, 1 channel: CNN 400,640 (conv 128x50, 3 convs 128x128x8, 4 BN), LSTM(2048->128) 1,115,136,
# linear 645. Chambon2018: encoder 3,616 (+12 spatial conv for 3 channels), BiLSTM(64) over 136*C features.
EXPECTED = {
    ("tinysleepnet", 1): 1_516_421,
    ("tinysleepnet", 3): 1_529_221,
    ("chambon2018", 1): 107_685,
    ("chambon2018", 3): 246_961,
}


@pytest.mark.parametrize(("name", "channels"), sorted(EXPECTED))
def test_parameter_count_and_shape(name: str, channels: int) -> None:
    torch.manual_seed(0)
    model = build_model(name, n_channels=channels).eval()
    assert n_params(model) == EXPECTED[(name, channels)]
    with torch.no_grad():
        out = model(torch.randn(2, 7, channels, 3000))
    assert out.shape == (2, 7, 5)


def test_tinysleepnet_layers_follow_the_paper() -> None:
    m = TinySleepNet(n_channels=1)
    convs = [x for x in m.epoch_encoder if isinstance(x, torch.nn.Conv1d)]
    assert [(c.kernel_size[0], c.stride[0], c.out_channels, c.bias is None) for c in convs] == [
        (50, 6, 128, True),
        (8, 1, 128, True),
        (8, 1, 128, True),
        (8, 1, 128, True),
    ]
    assert m.n_features == 2048  # TF "same": 3000 -> 500 -> 63 -> 63 -> 16 x 128
    assert m.sequence_encoder.hidden_size == 128 and not m.sequence_encoder.bidirectional
    assert sum(p.numel() for p in m.sequence_encoder.parameters()) == 1_115_136


def test_chambon_encoder_matches_braindecode_sizes() -> None:
    m = Chambon2018(n_channels=2)
    convs = [x for x in m.epoch_encoder.feature_extractor if isinstance(x, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.padding, c.out_channels) for c in convs] == [((1, 50), (0, 25), 8)] * 2
    pools = [x for x in m.epoch_encoder.feature_extractor if isinstance(x, torch.nn.MaxPool2d)]
    assert [p.kernel_size for p in pools] == [(1, 13), (1, 13)]
    assert m.epoch_encoder.spatial_conv.weight.shape == (2, 1, 2, 1)
    assert m.n_features == 8 * 2 * 17  # 3000 -> 3001 -> 230 -> 231 -> 17 samples per virtual channel


def test_epochs_are_encoded_independently() -> None:
    """Changing one epoch changes only its encoder features (the SS framework contract)."""
    torch.manual_seed(0)
    m = build_model("tinysleepnet", n_channels=1).eval()
    x = torch.randn(1, 4, 1, 3000)
    y = x.clone()
    y[0, 2] += 1.0
    with torch.no_grad():
        fx, fy = m.encode_epochs(x), m.encode_epochs(y)
    changed = (fx - fy).abs().amax(dim=-1)[0]
    assert changed[2] > 0 and torch.all(changed[[0, 1, 3]] == 0)


def test_unknown_model_name() -> None:
    with pytest.raises(ValueError, match="unknown model 'deepsleepnet'"):
        build_model("deepsleepnet", n_channels=1)


def test_other_sampling_rate() -> None:
    m = build_model("chambon2018", n_channels=1, sampling_rate=128.0)
    assert m(torch.randn(1, 3, 1, 3840)).shape == (1, 3, 5)


def test_tinysleepnet_batch_norm_is_the_reference_codes_and_configurable() -> None:
    from physioex.train.config import make_config

    def norms(m: torch.nn.Module) -> list[tuple[float | None, float]]:
        return [(b.momentum, b.eps) for b in m.modules() if isinstance(b, torch.nn.BatchNorm1d)]

    assert norms(TinySleepNet()) == [(0.01, 1e-3)] * 4  # TF momentum 0.99 / epsilon 0.001 in PyTorch terms
    cfg = make_config({"model": "tinysleepnet", "model_kwargs": {"bn_momentum": 0.1, "bn_eps": 1e-5}}, {})
    assert norms(build_model(cfg.model, n_channels=1, **cfg.model_kwargs)) == [(0.1, 1e-5)] * 4
    with pytest.raises(ValueError, match="bn_momentum is PyTorch's"):
        TinySleepNet(bn_momentum=1.5)
