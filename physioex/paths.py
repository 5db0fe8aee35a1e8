"""Where each pipeline stage reads and writes by default (all under ``data/``, owned by DVC)."""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    """Root of all pipeline data: ``$PHYSIOEX_DATA`` if set, else ``./data``."""
    return Path(os.environ.get("PHYSIOEX_DATA", "data"))


def mirror_dir(dataset: str) -> Path:
    """Locally generated mirror tree (used by the offline ``demo`` datasets)."""
    return data_root() / "mirror" / dataset


def raw_dir(dataset: str) -> Path:
    """Verified raw downloads of ``dataset``, same relative tree as its mirror."""
    return data_root() / "raw" / dataset


def store_path(dataset: str) -> Path:
    """Default Zarr epoch store of ``dataset``."""
    return data_root() / "stores" / f"{dataset}.zarr"
