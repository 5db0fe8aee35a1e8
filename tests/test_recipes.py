"""Training recipes: the tinysleepnet recipe is the paper's, precedence recipe < params < CLI, and the loss
is normalised by the number of scored epochs as in the TinySleepNet reference code."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from physioex.errors import InputError
from physioex.models import SequenceToSequence
from physioex.train.config import TrainConfig, make_config
from physioex.train.module import SleepStager, scored_epoch_loss
from physioex.train.recipes import RECIPES

# Supratak & Guo (EMBC 2020) and the reference code akaraspt/tinysleepnet (config/sleepedf.py, train.py,
# minibatching.py), written out here so that any change to the recipe fails.
PAPER = {
    "model": "tinysleepnet",
    "seq_len": 20,
    "batch_size": 15,
    "lr": 1e-4,
    "weight_decay": 0.0,
    "l2_conv": 1e-3,
    "grad_clip": 5.0,
    "class_weights": [1.0, 1.5, 1.0, 1.0, 1.0],
    "normalisation": "none",
    "augment": True,
    "max_shift_fraction": 0.1,
    "max_skip": 4,
    "max_epochs": 200,
    "patience": 50,
}
# What the demo pipeline ran before recipes existed (params.yaml's old train: section).
DEMO = {
    "model": "chambon2018",
    "seq_len": 21,
    "batch_size": 32,
    "lr": 0.003,
    "max_epochs": 3,
    "patience": 2,
    "normalisation": "global",
    "augment": True,
}
ROOT = Path(__file__).resolve().parents[1]


def module_of(cfg: TrainConfig) -> SleepStager:
    """The Lightning module of ``cfg``, built from the same fields as ``physioex.train.fit``."""
    module = SleepStager(
        model=cfg.model,
        n_channels=1,
        model_kwargs=dict(cfg.model_kwargs),
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        l2_conv=cfg.l2_conv,
        class_weights=cfg.class_weights,
    )
    assert isinstance(module.model, SequenceToSequence)
    return module


def kernels_of(module: SleepStager) -> list[torch.nn.Parameter]:
    """The parameters the L2 penalty acts on."""
    assert isinstance(module.model, SequenceToSequence)
    return module.model.l2_parameters()


def test_the_tinysleepnet_recipe_is_the_papers() -> None:
    assert dict(RECIPES["tinysleepnet"]) == PAPER
    cfg = make_config({"recipe": "tinysleepnet"}, {})
    assert cfg.recipe == "tinysleepnet"
    assert {k: getattr(cfg, k) for k in PAPER} == PAPER
    assert cfg.model_kwargs == {} and cfg.channels == []  # the model's defaults, the store's channels


def test_the_demo_recipe_keeps_the_demo_pipeline_values() -> None:
    import yaml

    repo = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]
    assert repo["recipe"] == "demo"
    assert set(repo) <= {"recipe", "num_workers", "seed"}  # params.yaml pins nothing a recipe decides
    cfg = make_config(repo, {}, params_file="params.yaml")
    assert {k: getattr(cfg, k) for k in DEMO} == DEMO
    assert cfg.class_weights is None and cfg.l2_conv == 0.0 and cfg.max_skip is None


def test_every_recipe_is_valid_and_named_in_the_cli_help() -> None:
    import typer.main

    from physioex.cli import app

    train = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    (option,) = [p for p in train.params if p.name == "recipe"]
    for name, values in RECIPES.items():
        assert set(values) <= set(TrainConfig.keys()) - {"recipe"}, name
        make_config({"recipe": name}, {})  # validates every value
        assert name in (option.help or ""), name


def test_the_built_module_follows_the_reference_code() -> None:
    module = module_of(make_config({"recipe": "tinysleepnet"}, {}))
    norms = [m for m in module.model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 4
    assert all(bn.momentum == 0.01 and bn.eps == 1e-3 for bn in norms)  # TF momentum 0.99, epsilon 0.001
    # PyTorch's momentum is the weight of the new batch: one training batch moves the running mean 1 %
    bn = norms[0]
    x = torch.randn(4, 128, 30) + 5.0
    bn.train()(x)
    torch.testing.assert_close(bn.running_mean, 0.01 * x.mean(dim=(0, 2)))
    kernels = kernels_of(module)
    assert [tuple(k.shape) for k in kernels] == [(128, 1, 50)] + [(128, 128, 8)] * 3  # conv kernels only
    assert all(k.ndim == 3 for k in kernels) and not any(
        k is p for k in kernels for p in norms[0].parameters()
    )
    opt = module.configure_optimizers()
    assert isinstance(opt, torch.optim.Adam)
    group = opt.param_groups[0]
    assert (group["lr"], group["betas"], group["eps"], group["weight_decay"]) == (1e-4, (0.9, 0.999), 1e-8, 0)
    assert module.loss_fn.weight is not None
    assert module.loss_fn.weight.tolist() == [1.0, 1.5, 1.0, 1.0, 1.0]


def test_precedence_recipe_then_params_then_cli() -> None:
    params = {"recipe": "tinysleepnet", "lr": 0.01, "batch_size": 8}
    cfg = make_config(params, {"batch_size": 4, "seq_len": None}, params_file="p.yaml", overrides_from="cli")
    assert (cfg.seq_len, cfg.lr, cfg.batch_size) == (20, 0.01, 4)  # recipe, params, CLI
    assert cfg.model == "tinysleepnet" and cfg.class_weights == [1.0, 1.5, 1.0, 1.0, 1.0]
    # the command line's recipe replaces the params file's; the params file's other keys still win
    cfg = make_config(params, {"recipe": "demo"}, overrides_from="cli")
    assert (cfg.recipe, cfg.model, cfg.seq_len, cfg.lr, cfg.batch_size) == (
        "demo",
        "chambon2018",
        21,
        0.01,
        8,
    )
    # per-model settings of the params file beat the recipe, options beat both
    per_model = {"recipe": "tinysleepnet", "models": {"tinysleepnet": {"lr": 0.5, "patience": 7}}}
    cfg = make_config(per_model, {"lr": 0.2})
    assert (cfg.lr, cfg.patience, cfg.max_epochs) == (0.2, 7, 200)
    # without a recipe: the TrainConfig defaults
    assert make_config({}, {}).to_dict() == TrainConfig().to_dict()


def test_errors_name_the_recipes_and_the_source() -> None:
    cases: list[tuple[dict[str, Any], dict[str, Any], str, str]] = [
        ({"recipe": "tiny-sleep-net"}, {}, "p.yaml: train.recipe", "api"),
        ({"recipe": 3}, {}, "p.yaml: train.recipe", "api"),
        ({}, {"recipe": "paper"}, "--recipe", "cli"),
        ({}, {"recipe": "paper"}, "train(recipe=...)", "api"),
    ]
    for params, overrides, where, src in cases:
        with pytest.raises(InputError) as err:
            make_config(params, overrides, params_file="p.yaml", overrides_from=src)
        msg = str(err.value)
        assert msg.startswith(f"{where}: unknown recipe") and "choose one of tinysleepnet, demo" in msg, msg
    # a bad value over a recipe is named by its own source, not the recipe
    with pytest.raises(InputError, match=r"^p\.yaml: train\.lr: must be a number > 0, got 'fast'$"):
        make_config({"recipe": "tinysleepnet", "lr": "fast"}, {}, params_file="p.yaml")


def test_an_unknown_recipe_on_the_command_line_is_one_error_line(tmp_path: Path) -> None:
    from helpers import assert_one_error, run_physioex

    result = run_physioex("train", "--store", tmp_path / "none.zarr", "--recipe", "paper", cwd=tmp_path)
    assert_one_error(result, 2, "--recipe: unknown recipe 'paper'", "tinysleepnet, demo")


def test_the_loss_is_normalised_by_scored_epochs_not_by_the_weights() -> None:
    """sum_i w[y_i] CE_i / N_scored on a hand-computed batch with an ignored epoch and an N1 epoch."""
    ln = math.log
    logits = torch.zeros(1, 4, 5)
    logits[0, 0, 1] = ln(3.0)  # N1 epoch: p(N1) = 3 / 7
    logits[0, 1] = torch.tensor([50.0, -3.0, 7.0, 0.0, 1.0])  # unscored: must not count at all
    logits[0, 3, 2] = ln(6.0)  # N2 epoch: p(N2) = 6 / 10; epoch 2 (W) is uniform: p = 1 / 5
    y = torch.tensor([[1, -100, 0, 2]])
    weights = torch.tensor([1.0, 1.5, 1.0, 1.0, 1.0])
    expected = (1.5 * ln(7 / 3) + ln(5) + ln(10 / 6)) / 3  # 3 scored epochs
    pytorch_mean = (1.5 * ln(7 / 3) + ln(5) + ln(10 / 6)) / 3.5  # what nn.CrossEntropyLoss would give
    got = scored_epoch_loss(logits, y, weights)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert abs(got.item() - pytorch_mean) > 0.1
    assert scored_epoch_loss(logits, y).item() == pytest.approx(
        (ln(7 / 3) + ln(5) + ln(10 / 6)) / 3, rel=1e-6
    )
    assert scored_epoch_loss(logits, torch.full_like(y, -100), weights).item() == 0.0  # nothing scored


def test_the_training_loss_adds_half_the_l2_of_the_conv_kernels() -> None:
    torch.manual_seed(0)
    module = module_of(make_config({"recipe": "tinysleepnet"}, {})).eval()
    x, y = torch.randn(2, 3, 1, 3000), torch.tensor([[0, 1, -100], [2, 1, 4]])
    with torch.no_grad():
        logits = module(x)
        l2 = sum(k.pow(2).sum() for k in kernels_of(module))
        expected = scored_epoch_loss(logits, y, torch.tensor([1.0, 1.5, 1.0, 1.0, 1.0])) + 1e-3 * 0.5 * l2
        assert torch.isclose(module._loss(logits, y), expected)
    with pytest.raises(ValueError, match="class_weights needs 5 values"):
        SleepStager("chambon2018", n_channels=1, class_weights=[1.0, 2.0])


def test_the_cli_recipe_reaches_the_checkpoint_under_params_and_options(tmp_path: Path) -> None:
    from helpers import one_torch_thread
    from typer.testing import CliRunner

    from physioex.cli import app
    from physioex.inference.checkpoint import load_checkpoint
    from physioex.synth.store import write_synthetic_store

    store = write_synthetic_store(tmp_path / "s.zarr", subjects=4, epochs=45, seed=2)
    params = tmp_path / "p.yaml"
    params.write_text("train:\n  recipe: demo\n  lr: 0.01\n  limit_train_batches: 1\n  num_workers: 0\n")
    args = ["train", "--store", store, "--out", tmp_path / "m", "--params", params, "--no-progress"]
    with one_torch_thread():
        r = CliRunner().invoke(app, [*map(str, args), "--recipe", "tinysleepnet", "--max-epochs", "1"])
    assert r.exit_code == 0, r.output
    config = load_checkpoint(tmp_path / "m" / "fold-0" / "best.ckpt").meta.config
    assert config["recipe"] == "tinysleepnet" and config["model"] == "tinysleepnet"  # --recipe over params
    assert (config["seq_len"], config["class_weights"], config["max_skip"]) == (20, PAPER["class_weights"], 4)
    assert config["lr"] == 0.01 and config["max_epochs"] == 1  # params over the recipe, options over both
