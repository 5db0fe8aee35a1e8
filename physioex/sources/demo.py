"""The embedded offline demo: synthetic nights generated into ``mirror_dir("demo")``.

``demo`` reads the Sleep-EDF layout (``sleep-cassette/``) of that mirror, ``demo-dreem`` its Dreem
layout (``dreem/``). Both are fetched through the same download code as real data.
"""

from __future__ import annotations

from physioex.paths import mirror_dir
from physioex.sources.dreem import DreemSource
from physioex.sources.sleepedf import SleepEDFSource

DEMO_MIRROR_NAME = "demo"
"""Both demo datasets share one generated mirror tree."""


class DemoSource(SleepEDFSource):
    """Synthetic Sleep-EDF-layout nights (``SC4ssNE0-PSG.edf`` + hypnogram), all subjects."""

    generated = True
    """``download`` generates the mirror first when no ``--mirror`` is given."""

    def __init__(self) -> None:
        super().__init__("demo", folder="sleep-cassette", prefix="SC4")

    @property
    def default_mirror(self) -> str:  # type: ignore[override]
        return str(mirror_dir(DEMO_MIRROR_NAME))


class DemoDreemSource(DreemSource):
    """Synthetic Dreem-layout records under the demo mirror's ``dreem/`` folder."""

    generated = True

    def __init__(self) -> None:
        super().__init__("demo-dreem", title="The demo Dreem dataset", subdir="dreem")

    @property
    def default_mirror(self) -> str:  # type: ignore[override]
        return str(mirror_dir(DEMO_MIRROR_NAME))
