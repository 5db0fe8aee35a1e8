"""The CLI's options: typed choices listed in --help, one name one meaning, --out defaults = dvc.yaml's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml
from helpers import assert_one_error
from typer.testing import CliRunner

from physioex.choices import (
    Band,
    Baseline,
    Choice,
    Compression,
    Crop,
    Method,
    Model,
    Normalisation,
    Output,
    Target,
    names,
)
from physioex.cli import app, run_app

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]

CHOICES: list[tuple[str, str, type[Choice]]] = [
    ("train", "--model", Model),
    ("train", "--normalisation", Normalisation),
    ("explain", "--method", Method),
    ("explain", "--baseline", Baseline),
    ("explain", "--baseline-band", Band),
    ("explain", "--target", Target),
    ("explain", "--output", Output),
    ("preprocess", "--crop", Crop),
    ("preprocess", "--compression", Compression),
]
"""Every option whose value is one of a fixed set of names, and the Enum of those names."""

REQUIRED = {
    "train": ["--store", "nowhere.zarr"],
    "explain": ["--checkpoint", "nowhere.ckpt", "--store", "nowhere.zarr"],
    "preprocess": ["demo"],
}
"""Enough arguments for each command to get as far as its options."""

MEANINGS = {
    "--store": "Zarr epoch store written by `physioex preprocess`",
    "--fold": "Cross-validation fold",
    "--out": "Where this command writes its results",
    "--timings": "Write the run's wall-clock time to this JSON file (outside --out, which holds no timings)",
    "--progress": "Show a progress bar",
    "--channels": "Channel names to use",
    "--subjects": "Subjects to use",
    "--jobs": "Parallel workers",
    "--timeout": "Seconds to wait for a connection and for each answer",
    "--batch-size": "Windows (sequences of L epochs) per batch",
    "--checkpoint": "Trained model written by `physioex train`",
    "--stride": "Epochs between the starts of the model's windows",
    "--seed": "Seed of this command's random draws",
}
"""Every option name used by more than one command, with the one meaning its help starts with there."""


def _options() -> dict[str, dict[str, str]]:
    """``{--name: {command: help}}`` over every option of every command (``--help`` left out)."""
    table: dict[str, dict[str, str]] = {}
    for command, cmd in COMMANDS.items():
        for param in cmd.params:
            if getattr(param, "param_type_name", "") != "option":
                continue
            for name in param.opts:
                if name.startswith("--") and name != "--help":
                    table.setdefault(name, {})[command] = param.help or ""
    return table


@pytest.mark.parametrize(("command", "option", "kind"), CHOICES, ids=lambda v: getattr(v, "__name__", v))
def test_help_lists_the_choices(command: str, option: str, kind: type[Choice]) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "250", "TERMINAL_WIDTH": "250"})
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.lstrip("│ ").startswith(f"{option} "))
    assert "|".join(names(kind)) in line, line


@pytest.mark.parametrize(("command", "option", "kind"), CHOICES, ids=lambda v: getattr(v, "__name__", v))
def test_a_wrong_choice_is_one_usage_line_naming_the_option(
    command: str,
    option: str,
    kind: type[Choice],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.setattr(sys, "argv", ["physioex", command, *REQUIRED[command], option, "bogus"])
    with pytest.raises(SystemExit) as exit_info:
        run_app(app)
    captured = capsys.readouterr()
    result = subprocess.CompletedProcess(sys.argv, exit_info.value.code, captured.out, captured.err)
    line = assert_one_error(result, 2)
    assert line.startswith(f"error: {option}: must be one of {', '.join(names(kind))}, got 'bogus'")


def test_a_wrong_choice_in_a_preset_is_refused_the_same_way(tmp_path: Path) -> None:
    preset = tmp_path / "p.yaml"
    preset.write_text("explain:\n  method: shap\n")
    args = ["--preset", str(preset), "explain", *REQUIRED["explain"]]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "--method: must be one of integrated-gradients, deeplift" in result.output


def test_the_library_accepts_the_same_names() -> None:
    from physioex.explain.bands import BAND_NAMES
    from physioex.explain.methods import BASELINES, METHODS
    from physioex.models import MODELS
    from physioex.original import EXPERIMENTS
    from physioex.preprocess.crop import CROPS
    from physioex.store.layout import COMPRESSIONS
    from physioex.train.config import TrainConfig

    assert set(MODELS) == set(EXPERIMENTS) == set(names(Model))
    assert tuple(METHODS) == names(Method) and tuple(BASELINES) == names(Baseline)
    assert names(Band) == BAND_NAMES
    assert set(CROPS) == set(names(Crop)) and names(Compression) == COMPRESSIONS
    assert TrainConfig(model=Model.TINYSLEEPNET, normalisation="none").model == "tinysleepnet"
    assert type(TrainConfig(model=Model.TINYSLEEPNET).model) is str  # plain strings reach checkpoints


def test_one_option_name_has_one_meaning() -> None:
    table = _options()
    shared = {name for name, helps in table.items() if len(helps) > 1}
    assert shared - {"--no-progress"} == set(MEANINGS), "name the meaning of every shared option in MEANINGS"
    for name in shared - {"--no-progress"}:
        for command, text in table[name].items():
            assert text.startswith(MEANINGS[name]), (name, command, text)
    assert COMMANDS["verify"].params[0].help.startswith(MEANINGS["--store"])  # its STORE argument


def test_renamed_options_say_what_they_are() -> None:
    table = _options()
    assert set(table["--max-epochs"]) == {"train"}  # passes over the training data
    assert set(table["--epoch-limit"]) == {"explain"}  # the first N epochs of each night
    assert set(table["--seed"]) == {"train", "explain"}  # each its own draws; data seeds are named
    assert set(table["--demo-seed"]) == {"download"}
    assert set(table["--fold-seed"]) == {"preprocess"}
    assert set(table["--n-folds"]) == {"preprocess"}
    assert "--folds" not in table


def test_folds_means_one_thing_in_params_and_presets() -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert isinstance(params["folds"], list) and all(isinstance(k, int) for k in params["folds"])
    for preset in sorted((ROOT / "pipelines").glob("*.yaml")):
        sections = yaml.safe_load(preset.read_text())
        assert all("folds" not in (options or {}) for options in sections.values()), preset.name
        assert isinstance(sections["preprocess"]["n-folds"], int), preset.name


def _dvc_outs(dataset: str) -> dict[str, Path]:
    """``{command: its --out in dvc.yaml}`` with ``${dataset}`` substituted."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    commands = {"download": "download", "preprocess": "preprocess", "train": "train", "evaluate": "test"}
    commands["explain"] = "explain"
    outs = {}
    for stage, command in commands.items():
        cmd = stages[stage].get("cmd") or stages[stage]["do"]["cmd"]
        match = re.search(r"--out (\S+)", cmd)
        assert match is not None, f"dvc.yaml stage {stage} names no --out"
        outs[command] = Path(match.group(1).replace("${dataset}", dataset))
    return outs


def test_every_out_default_is_the_path_dvc_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from physioex.store.writer import init_store, write_root_attrs

    monkeypatch.delenv("PHYSIOEX_DATA", raising=False)
    store = tmp_path / "any-name.zarr"  # the dataset comes from the store's root attributes
    init_store(store, "demo")
    write_root_attrs(store, {"dataset": "demo"})
    args = {
        "download": ["demo"],
        "preprocess": ["demo"],
        "train": ["--store", str(store)],
        "test": ["--checkpoint", "m", "--store", str(store)],
        "explain": ["--checkpoint", "m.ckpt", "--store", str(store)],
    }
    outs = _dvc_outs("demo")
    assert set(outs) == set(args)
    for command, argv in args.items():
        ctx = COMMANDS[command].make_context(command, list(argv))
        assert ctx.params["out"] == outs[command], command
    ctx = COMMANDS["train"].make_context("train", ["--store", str(store), "--out", str(tmp_path / "m")])
    assert ctx.params["out"] == tmp_path / "m"  # a given --out wins


def test_a_store_without_attributes_is_named_by_its_folder(tmp_path: Path) -> None:
    from physioex.paths import store_dataset

    assert store_dataset(tmp_path / "sleepedf-20.zarr") == "sleepedf-20"  # missing: the command says so
    assert store_dataset("s3://bucket/stores/dodh.zarr/") == "dodh"
