"""The root attributes of an epoch store, built in one place (docs/store-format.md, "Root attributes").

``physioex preprocess`` and the synthetic test store both write ``RootAttrs(...).to_dict()``; the keys
that follow from others (channel keys, samples per epoch, stages, label codes, format version) are
derived here, so no writer can get them out of step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from physioex import EPOCH_SECONDS, STAGES, __version__
from physioex.store import layout
from physioex.store.folds import Fold

ROOT_KEYS: tuple[str, ...] = (
    "dataset",
    "physioex_version",
    "source_format",
    "channels",
    "channel_keys",
    "sampling_rate",
    "samples_per_epoch",
    "epoch_seconds",
    "stages",
    "label_codes",
    "preprocessing",
    "params_hash",
    "folds",
    "fold_seed",
    "recordings",
    "failed",
    "format_version",
)
"""Every root attribute, in the order written to ``zarr.json`` (the index ``recordings`` is the one readers
need to trust: the whole file is replaced atomically)."""

INDEX_KEYS: tuple[str, ...] = ("subject", "night", "n_epochs")
"""Keys of one entry of the ``recordings`` index."""

LABEL_CODES: dict[str, int] = {
    **{stage: code for code, stage in enumerate(STAGES)},
    "unscored": layout.LABEL_UNSCORED,
    "movement": layout.LABEL_MOVEMENT,
}
"""Stored label value of each stage, and of unscored and movement epochs."""


def params_hash(parameters: Mapping[str, Any]) -> str:
    """Hex sha256 of JSON ``parameters`` with sorted keys: equal parameters give equal hashes."""
    return hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()


def index_entry(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``recordings`` index entry ``{subject, night, n_epochs}`` of a recording's attributes."""
    return {key: attrs[key] for key in INDEX_KEYS}


@dataclass(frozen=True)
class RootAttrs:
    """What a store's root says about itself; ``to_dict()`` is the ``zarr.json`` attributes."""

    dataset: str
    source_format: str
    """Reader format of the sources (``sleepedf``, ``dreem``; ``synthetic`` for the test store)."""
    channels: Sequence[str]
    """Channel names in store order."""
    sampling_rate: float
    """Common sampling rate of every stored signal, Hz."""
    preprocessing: Mapping[str, Any]
    """All parameters the signals were made with; ``params_hash`` is their hash."""
    params_hash: str
    """Equal to every stored recording's ``params_hash`` (checked by the reader)."""
    recordings: Mapping[str, Mapping[str, Any]]
    """Index ``{rec: {subject, night, n_epochs}}`` of the complete recordings."""
    folds: Sequence[Fold] = ()
    fold_seed: int = 0
    failed: Mapping[str, str] = field(default_factory=dict)
    """``{rec: "<file>: <reason>"}`` of the run that wrote this root."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON attributes with exactly the keys ``ROOT_KEYS``, in that order."""
        channels = list(self.channels)
        return {
            "dataset": self.dataset,
            "physioex_version": __version__,
            "source_format": self.source_format,
            "channels": channels,
            "channel_keys": [layout.channel_key(c) for c in channels],
            "sampling_rate": float(self.sampling_rate),
            "samples_per_epoch": int(round(self.sampling_rate * EPOCH_SECONDS)),
            "epoch_seconds": EPOCH_SECONDS,
            "stages": list(STAGES),
            "label_codes": dict(LABEL_CODES),
            "preprocessing": dict(self.preprocessing),
            "params_hash": self.params_hash,
            "folds": [f.to_dict() for f in self.folds],
            "fold_seed": int(self.fold_seed),
            "recordings": {rec: index_entry(e) for rec, e in sorted(self.recordings.items())},
            "failed": dict(sorted(self.failed.items())),
            "format_version": layout.FORMAT_VERSION,
        }
