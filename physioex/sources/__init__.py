"""Raw-data sources: Sleep-EDF Expanded, Dreem DOD-H/DOD-O and the offline demo.

``get_source(name)`` returns the source of a dataset name; ``source.recordings(listing, subjects)``
lists its recordings (files relative to the mirror root, checksums from ``SHA256SUMS.txt``).
"""

from __future__ import annotations

from collections.abc import Callable

from physioex.sources.base import Recording, Selection, Source
from physioex.sources.demo import DemoDreemSource, DemoSource
from physioex.sources.dreem import DreemSource
from physioex.sources.sleepedf import PHYSIONET_MIRROR, SleepEDFSource

_REGISTRY: dict[str, Callable[[], Source]] = {
    "demo": DemoSource,
    "demo-dreem": DemoDreemSource,
    "sleepedf-20": lambda: SleepEDFSource("sleepedf-20", preset_subjects=range(20)),
    "sleepedf-78": lambda: SleepEDFSource("sleepedf-78"),
    "sleepedf-st": lambda: SleepEDFSource("sleepedf-st", folder="sleep-telemetry", prefix="ST7"),
    "dodh": lambda: DreemSource(
        "dodh", title="DOD-H (Dreem Open Dataset, healthy)", env="PHYSIOEX_DODH_MIRROR"
    ),
    "dodo": lambda: DreemSource(
        "dodo", title="DOD-O (Dreem Open Dataset, apnea)", env="PHYSIOEX_DODO_MIRROR"
    ),
}

DATASETS: tuple[str, ...] = tuple(_REGISTRY)
"""Dataset names accepted by ``get_source`` and ``physioex download``."""


def get_source(name: str) -> Source:
    """The source for dataset ``name`` (one of :data:`DATASETS`); a fresh object each call."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}") from None
    return factory()


__all__ = [
    "DATASETS",
    "PHYSIONET_MIRROR",
    "DemoDreemSource",
    "DemoSource",
    "DreemSource",
    "Recording",
    "Selection",
    "SleepEDFSource",
    "Source",
    "get_source",
]
