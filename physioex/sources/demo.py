"""The embedded offline demo: synthetic nights generated into ``mirror_dir("demo")``.

``demo`` reads the Sleep-EDF layout (``sleep-cassette/``) of that mirror, ``demo-dreem`` its Dreem
layout (``dreem/``). Both are fetched through the same download code as real data, so they reuse the
Sleep-EDF and Dreem sources with ``generated=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from physioex.sources.base import DatasetSpec
from physioex.sources.dreem import dreem_spec
from physioex.sources.edf_folder import EdfFolderSource
from physioex.sources.hmc import hmc_spec
from physioex.sources.nsrr import SHHS, nsrr_source, nsrr_spec
from physioex.sources.sleepedf import sleepedf_spec

DEMO_MIRROR_NAME = "demo"
"""Both demo datasets share one generated mirror tree (``data/mirror/demo``)."""


def _generated(family: Callable[..., DatasetSpec], **fields: Any) -> DatasetSpec:
    """A demo dataset of ``family`` (``sleepedf_spec``, ``dreem_spec``): generated into the demo mirror."""
    return family(mirror=DEMO_MIRROR_NAME, generated=True, **fields)


SPECS: tuple[DatasetSpec, ...] = (
    _generated(
        sleepedf_spec,
        name="demo",
        title="synthetic nights in Sleep-EDF's EDF PSG + EDF+ hypnogram formats",
        legacy=(("demo", None), ("demo", "demo")),
    ),
    _generated(
        dreem_spec,
        name="demo-dreem",
        title="synthetic nights in Dreem's HDF5 layout",
        folds=3,
        fold_seed=9,  # the first seed whose stable rule tests one of the 3 generated records per fold
        folder="dreem",
    ),
    _generated(
        hmc_spec,
        name="demo-hmc",
        title="synthetic nights in HMC's layout (256 Hz EDF + EDF+ scoring with lights-off/on)",
        folds=4,  # 4 patients SN001-SN004: seed 0 tests one of them per fold
        folder="hmc",
    ),
    _generated(
        nsrr_spec,
        name="demo-nsrr",
        title="synthetic nights in an NSRR cohort's layout (SHHS EDF + NSRR XML)",
        source=nsrr_source(SHHS),
        channels=("C4-M1",),  # the EDF label EEG, through the alias table, as for shhs
        folds=3,  # 3 participants (200001-200003): seed 0 tests one of them per fold
        folder="nsrr",
    ),
    _generated(
        DatasetSpec,
        name="demo-folder",
        title="synthetic nights as a lab's own folder (EDF + CSV scorings + manifest.csv)",
        source=EdfFolderSource,
        format="edf",
        channels=("EEG Fpz-Cz",),
        folds=3,  # 3 subjects, the first with two nights
        folder="folder",
    ),
)
"""The demo datasets: every generated subject and the real datasets' channels; 3 folds for the Dreem
layout, which the generator fills with at most 3 records (``physioex.synth.generate_mirror``)."""
