"""Shared fixtures: the real SC4001 night (skipped when ../shared is absent) and a small demo mirror."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_SLEEPEDF = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sleep-edf"


@pytest.fixture(scope="session")
def sleepedf_mirror() -> Path:
    """Folder laid out like PhysioNet's sleep-edfx tree holding the real SC4001 night."""
    if not (SHARED_SLEEPEDF / "SHA256SUMS.txt").is_file():
        pytest.skip("real Sleep-EDF night not available (../shared/data/sleep-edf is absent)")
    return SHARED_SLEEPEDF


@pytest.fixture(scope="session")
def demo_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small deterministic demo mirror: 4 subjects x 2 nights, Sleep-EDF and Dreem layouts."""
    from physioex.synth import generate_mirror

    return generate_mirror(tmp_path_factory.mktemp("demo") / "mirror", subjects=4, nights=2, seed=0, hours=3.0)
