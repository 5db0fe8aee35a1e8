"""Command-line usage mistakes (bad types, unknown commands/options, missing arguments): one line, exit 2."""

from __future__ import annotations

import pytest
from helpers import assert_one_error, run_physioex

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
    run = run_physioex(*args)
    assert_one_error(run, 2, needle, "--help")
    assert "╭" not in run.stderr


def test_no_arguments_shows_the_help() -> None:
    run = run_physioex()
    assert run.returncode == 0
    assert "preprocess" in run.stdout and "verify" in run.stdout
