"""HMC: the Haaglanden Medisch Centrum sleep staging database (PhysioNet ``hmc-sleep-staging/1.1``).

Layout (docs/datasets.md): ``SHA256SUMS.txt`` at the mirror root lists ``recordings/SNxxx.edf`` (PSG,
256 Hz) and ``recordings/SNxxx_sleepscoring.edf`` (EDF+ annotations ``Sleep stage W|N1|N2|N3|R``,
``Lights off``/``Lights on`` linked to a channel as ``Lights off@@EEG F4-A1``), plus per-night ``.txt``
exports of the same scoring that physioex does not need. One night per patient: the subject id is the
number (``SN001`` -> ``"1"``), so the stable fold rule spreads consecutive patients over the folds.
A PSG without its scoring file, or the reverse, is a named problem, never silently dropped.
"""

from __future__ import annotations

import re
from functools import partial

from physioex.sources.base import DatasetSpec, Recording, Selection, Source, refuse_absent_subjects

PHYSIONET_MIRROR = "https://physionet.org/files/hmc-sleep-staging/1.1/"
"""PhysioNet's own copy (open access); any mirror holding the same tree works."""

MIRROR_ENV = "PHYSIOEX_HMC_MIRROR"
"""Environment variable overriding the default mirror (an institutional copy, a local folder)."""

RECORDINGS = "recordings"
"""Folder of the PSG and scoring files inside the tree."""

_PSG = re.compile(r"^(SN(\d{3}))\.edf$")
_SCORING = re.compile(r"^(SN(\d{3}))_sleepscoring\.edf$")


class HMCSource(Source):
    """HMC nights of a mirror: ``recordings/SNxxx.edf`` paired with ``recordings/SNxxx_sleepscoring.edf``."""

    def __init__(self, spec: DatasetSpec) -> None:
        super().__init__(spec)
        self.mirror_subdir = spec.folder
        """Sub-folder of the mirror holding the HMC tree (``""`` on PhysioNet, ``"hmc"`` in the demo)."""

    def select(
        self, listing: dict[str, str], subjects: list[int] | None = None, nights: list[int] | None = None
    ) -> Selection:
        """Pair the PSG and scoring files of ``recordings/`` and keep the requested subjects.

        Every patient has one night (1), so ``nights`` other than ``[1]`` select nothing. ``subjects``
        the listing does not hold raise ``ValueError`` naming them and the subjects present.
        """
        psgs: dict[str, str] = {}
        scorings: dict[str, str] = {}
        for relpath in sorted(listing):
            folder, _, name = relpath.rpartition("/")
            if folder != RECORDINGS:
                continue
            if m := _PSG.match(name):
                psgs[m.group(1)] = relpath
            elif m := _SCORING.match(name):
                scorings[m.group(1)] = relpath
        selection = Selection()
        present: set[int] = set()
        wanted = None if subjects is None else set(subjects)
        for key in sorted(set(psgs) | set(scorings)):
            subject = int(key[2:])
            present.add(subject)
            if (wanted is not None and subject not in wanted) or (nights and 1 not in nights):
                continue
            if key not in scorings:
                selection.problems.append(
                    f"{psgs[key]}: PSG without scoring file (no {RECORDINGS}/{key}_sleepscoring.edf)"
                )
                continue
            if key not in psgs:
                selection.problems.append(
                    f"{scorings[key]}: scoring file without PSG (no {RECORDINGS}/{key}.edf)"
                )
                continue
            selection.recordings.append(
                Recording(
                    id=key,
                    subject=str(subject),
                    night=1,
                    files={"psg": psgs[key], "scoring": scorings[key]},
                    format=self.spec.format,
                    scoring={"format": "edf"},
                )
            )
        refuse_absent_subjects(self.name, subjects, present)
        return selection


hmc_spec = partial(
    DatasetSpec,
    source=HMCSource,
    format="edf",
    channels=("EEG C4-M1",),
    folds=10,
)
"""``DatasetSpec`` of a dataset in HMC's layout (256 Hz EDF + EDF+ scoring; the C4-M1 derivation of the
AASM montage); the demo uses it too."""

SPECS: tuple[DatasetSpec, ...] = (
    hmc_spec(
        name="hmc",
        title="HMC: Haaglanden Medisch Centrum sleep staging database, 151 clinical nights (AASM)",
        mirror=PHYSIONET_MIRROR,
        mirror_env=MIRROR_ENV,
    ),
)
"""HMC: 151 patients, one night each, 10 subject-wise folds."""
