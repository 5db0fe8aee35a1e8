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


def models_dir(dataset: str) -> Path:
    """Default ``physioex train`` output of ``dataset``: ``fold-K/`` checkpoints (dvc.yaml's ``train``)."""
    return data_root() / "models" / dataset


def evaluation_dir(dataset: str) -> Path:
    """Default ``physioex test`` report folder of ``dataset`` (dvc.yaml's ``evaluate``)."""
    return data_root() / "evaluation" / dataset


def explain_dir(dataset: str) -> Path:
    """Default ``physioex explain`` output folder of ``dataset`` (dvc.yaml's ``explain``)."""
    return data_root() / "explain" / dataset


DEFAULT_OUTS = {
    "download": raw_dir,
    "preprocess": store_path,
    "train": models_dir,
    "test": evaluation_dir,
    "explain": explain_dir,
}
"""Each command's default ``--out`` from the dataset name: the paths dvc.yaml uses."""


def default_out(command: str, dataset: str) -> Path:
    """Where ``physioex COMMAND`` writes for ``dataset`` when no ``--out`` is given."""
    return DEFAULT_OUTS[command](dataset)


def store_dataset(store: str | Path) -> str:
    """The dataset a store holds: its root attribute ``dataset`` (local stores), else its name less ``.zarr``.

    Reads only ``zarr.json`` (no zarr import, no network: remote stores use the name); a missing or
    unreadable store falls back to the name, and the command that opens it reports the problem.
    """
    import json

    location = str(store).rstrip("/")
    if "://" not in location:
        try:
            meta = json.loads((Path(location) / "zarr.json").read_text(encoding="utf-8"))
            dataset = meta["attributes"]["dataset"]
            if isinstance(dataset, str) and dataset:
                return dataset
        except (OSError, ValueError, KeyError, TypeError):
            pass
    name = location.rsplit("/", 1)[-1]
    return name[: -len(".zarr")] if name.endswith(".zarr") else name
