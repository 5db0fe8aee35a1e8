"""What the original PhysioEx README promised: `train --experiment --dataset --version`, and the
README's Python example for explanations, executed as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def workdir(demo_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A working folder whose data/raw/demo holds a (small) verified demo download, nothing else."""
    from physioex.download import download

    cwd = tmp_path_factory.mktemp("original")
    assert download("demo", mirror=str(demo_mirror), out=cwd / "data" / "raw" / "demo", progress=False).ok
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PHYSIOEX_DATA"] = str(cwd / "data")
    env["OMP_NUM_THREADS"] = "1"
    return cwd, env


def run_train(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    quick = [
        "--max-epochs",
        "1",
        "--seq-len",
        "5",
        "--batch-size",
        "8",
        "--num-workers",
        "0",
        "--no-progress",
    ]
    return subprocess.run(
        ["train", *args, *quick], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_original_train_invocation_preprocesses_then_trains(workdir: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workdir
    proc = run_train(cwd, env, "--experiment", "chambon2018", "--dataset", "demo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    store = cwd / "data" / "stores" / "demo.zarr"
    assert (store / "zarr.json").is_file()
    assert (cwd / "data" / "models" / "demo" / "chambon2018" / "fold-0" / "best.ckpt").is_file()

    # A second run reuses the store (no preprocessing) and `physioex train` takes the same options.
    before = (store / "zarr.json").stat().st_mtime_ns
    proc = subprocess.run(
        ["physioex", "train", "--experiment", "chambon2018", "--dataset", "demo", "--out", "data/models/demo",
         "--max-epochs", "1", "--seq-len", "5", "--batch-size", "8", "--num-workers", "0", "--no-progress"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (store / "zarr.json").stat().st_mtime_ns == before
    assert (cwd / "data" / "models" / "demo" / "fold-0" / "best.ckpt").is_file()


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        (["--experiment", "seqsleepnet", "--dataset", "demo"], "chambon2018, tinysleepnet"),
        (["--experiment", "chambon2018", "--dataset", "shhs"], "sleep_physionet, sleepedf, dreem, demo"),
        (["--experiment", "chambon2018", "--dataset", "sleep_physionet", "--version", "2020"], "2013, 2018"),
        (["--experiment", "chambon2018", "--dataset", "dreem"], "dodo, dodh"),
    ],
)
def test_unknown_values_list_the_valid_ones(args: list[str], listed: str) -> None:
    from physioex.cli import app

    result = CliRunner().invoke(app, ["train", *args])
    assert result.exit_code == 2  # a bad --experiment/--dataset/--version is bad input
    assert listed in result.output


def test_original_names_map_onto_the_pipeline() -> None:
    from physioex.original import resolve

    assert resolve("chambon2018", "sleep_physionet", "2013") == ("chambon2018", "sleepedf-20")
    assert resolve("TinySleepNet", "sleepedf", "2018") == ("tinysleepnet", "sleepedf-78")
    assert resolve("tinysleepnet", "dreem", "dodh") == ("tinysleepnet", "dodh")
    assert resolve("chambon2018", "demo", None) == ("chambon2018", "demo")


@pytest.mark.slow
def test_readme_explanation_example_runs(workdir: tuple[Path, dict[str, str]]) -> None:
    """The README's Python example, verbatim, where `dvc repro` would have left its outputs."""
    cwd, env = workdir
    if not (cwd / "data" / "models" / "demo" / "fold-0" / "best.ckpt").is_file():
        pytest.skip("needs the checkpoint of test_original_train_invocation_preprocesses_then_trains")
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- explain-example -->\s*```python\n(.*?)```", readme, re.S)
    assert block, "README.md has no explain-example block"
    script = cwd / "readme_example.py"
    script.write_text(block.group(1))
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (cwd / "epoch_attribution.png").stat().st_size > 10_000
