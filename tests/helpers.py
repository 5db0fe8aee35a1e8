"""Small helpers shared by several test modules (``tests/`` is on sys.path: pytest's prepend import mode)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
