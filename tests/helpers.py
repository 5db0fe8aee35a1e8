"""Small helpers shared by several test modules (``tests/`` is on sys.path: pytest's prepend import mode)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

from physioex.sources.base import Recording

SC4001 = Recording(
    id="SC4001E0",
    subject="0",
    night=1,
    files={
        "psg": "sleep-cassette/SC4001E0-PSG.edf",
        "hypnogram": "sleep-cassette/SC4001EC-Hypnogram.edf",
    },
    format="sleepedf",
)
"""The real first Sleep-EDF night, as ``sleepedf-20`` pairs its PSG and hypnogram."""


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Tiny tensors on a shared 2-core machine: OpenMP threads only add contention (100x slower LSTMs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def assert_one_error(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Exit ``code``, no traceback, stderr exactly one line (blank ones count): ``error: ...`` holding every
    needle. Returns that line."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def run_physioex(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m physioex.cli ARGS`` in a subprocess in ``cwd``, with this environment plus ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "physioex.cli", *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_physioex(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Like :func:`run_physioex`, but in the background, as the leader of its own process group (so it
    can be killed as a group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "physioex.cli", *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
