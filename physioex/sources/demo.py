"""The embedded offline demo: synthetic nights generated into ``mirror_dir("demo")``.

``demo`` reads the Sleep-EDF layout (``sleep-cassette/``) of that mirror, ``demo-dreem`` its Dreem
layout (``dreem/``). Both are fetched through the same download code as real data, so they reuse the
Sleep-EDF and Dreem sources with ``generated=True``.
"""

from __future__ import annotations

from physioex.sources.base import DatasetSpec
from physioex.sources.dreem import DreemSource
from physioex.sources.sleepedf import SleepEDFSource

DEMO_MIRROR_NAME = "demo"
"""Both demo datasets share one generated mirror tree (``data/mirror/demo``)."""

SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="demo",
        title="synthetic nights in Sleep-EDF's EDF PSG + EDF+ hypnogram formats",
        source=SleepEDFSource,
        format="sleepedf",
        channels=("EEG Fpz-Cz",),
        folder="sleep-cassette",
        prefix="SC4",
        mirror=DEMO_MIRROR_NAME,
        generated=True,
        legacy=(("demo", None), ("demo", "demo")),
    ),
    DatasetSpec(
        name="demo-dreem",
        title="synthetic nights in Dreem's HDF5 layout",
        source=DreemSource,
        format="dreem",
        channels=("C3_M2",),
        folds=3,
        folder="dreem",
        mirror=DEMO_MIRROR_NAME,
        generated=True,
    ),
)
"""The demo datasets: every generated subject and the real datasets' channels; 3 folds for the Dreem
layout, which the generator fills with at most 3 records (``physioex.synth.generate_mirror``)."""
