"""Fixtures shared by the reliability tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 subjects x 1 night of demo data, downloaded and preprocessed by the real pipeline (read-only:
    copy it before changing anything)."""
    from physioex.download.run import download
    from physioex.preprocess.run import preprocess
    from physioex.synth import generate_mirror

    root = tmp_path_factory.mktemp("reliability-store")
    mirror = generate_mirror(root / "mirror", subjects=3, nights=1, seed=0, hours=2.5, other_layouts=False)
    download("demo", mirror=str(mirror), out=root / "raw", progress=False)
    assert preprocess("demo", raw=root / "raw", out=root / "demo.zarr", progress=False).ok
    return root / "demo.zarr"
