"""Command-line usage mistakes (bad types, unknown commands/options, missing arguments): one line, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

CASES = [
    (["download", "demo", "--jobs", "abc"], "--jobs"),
    (["preprocess", "demo", "--chunk-epochs", "many"], "--chunk-epochs"),
    (["bogus"], "bogus"),
    (["download", "demo", "--bogus", "1"], "--bogus"),
    (["preprocess"], "dataset"),
    (["train", "--seq-len", "x"], "--seq-len"),
]


@pytest.mark.parametrize(("args", "needle"), CASES)
def test_usage_mistake_is_one_line(args: list[str], needle: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "physioex.cli", *args], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and needle in lines[0] and "--help" in lines[0]
    assert "Traceback" not in run.stderr + run.stdout and "╭" not in run.stderr


def test_no_arguments_shows_the_help() -> None:
    run = subprocess.run([sys.executable, "-m", "physioex.cli"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0
    assert "preprocess" in run.stdout and "verify" in run.stdout
