"""NSRR cohorts (sleepdata.org: SHHS, MESA, MrOS, CFS, CHAT, ...): EDF PSG + NSRR annotation XML.

A local copy in the layout the NSRR downloader (the ``nsrr`` gem) writes, relative to the cohort folder::

    polysomnography/edfs/<visit folder>/<stem>.edf
    polysomnography/annotations-events-nsrr/<visit folder>/<stem>-nsrr.xml

(the visit folder is ``shhs1``/``shhs2`` for SHHS, ``visit1``/``visit2`` for MrOS,
``baseline``/``followup``/``nonrandomized`` for CHAT, none for MESA and CFS). A PSG pairs with the XML of
the same stem in the same visit folder. The stem names the participant and the visit
(:class:`Cohort` ``pattern``: ``shhs1-200001``, ``mesa-sleep-0001``, ``mros-visit1-aa0001``,
``cfs-visit5-800002``, ``chat-baseline-300001``): the subject is the participant's number (leading zeros
dropped, so visits of one person share a subject and hence a fold), the night the visit's number.
docs/datasets.md documents the layouts and channels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from physioex.sources.base import DatasetSpec, Recording, Selection, Source, format_ranges

EDF_ROOT = "polysomnography/edfs"
"""Folder of the PSG files inside a cohort's copy."""

XML_ROOT = "polysomnography/annotations-events-nsrr"
"""Folder of the NSRR-harmonised annotation XML files (not ``annotations-events-profusion``)."""

XML_SUFFIX = "-nsrr.xml"


@dataclass(frozen=True)
class Cohort:
    """How one NSRR cohort names its files."""

    slug: str
    """sleepdata.org's short name (``shhs``)."""
    pattern: str
    """Regular expression a PSG stem must match in full, with groups ``visit`` and ``id`` (digits)."""
    visits: dict[str, int]
    """Visit text (the ``visit`` group) -> night number (1-based)."""

    def parse(self, stem: str) -> tuple[str, int] | None:
        """``(subject, night)`` of a PSG stem, or None when it is not one of this cohort's names."""
        m = re.fullmatch(self.pattern, stem)
        if m is None or m.group("visit") not in self.visits:
            return None
        return str(int(m.group("id"))), self.visits[m.group("visit")]


SHHS = Cohort("shhs", r"(?P<visit>shhs[12])-(?P<id>\d+)", {"shhs1": 1, "shhs2": 2})
MESA = Cohort("mesa", r"mesa-(?P<visit>sleep)-(?P<id>\d+)", {"sleep": 1})
MROS = Cohort("mros", r"mros-(?P<visit>visit[12])-aa(?P<id>\d+)", {"visit1": 1, "visit2": 2})
CFS = Cohort("cfs", r"cfs-(?P<visit>visit5)-(?P<id>\d+)", {"visit5": 1})
CHAT = Cohort(
    "chat",
    r"chat-(?P<visit>baseline|followup|nonrandomized|baseline-nonrandomized)-(?P<id>\d+)",
    # the non-randomised children had one (baseline) study; their files are named either way
    {"baseline": 1, "followup": 2, "nonrandomized": 1, "baseline-nonrandomized": 1},
)


class NsrrSource(Source):
    """EDF + ``-nsrr.xml`` pairs of one cohort (``cohort``, set by :func:`nsrr_source`)."""

    cohort: ClassVar[Cohort] = SHHS
    listing_from_glob: ClassVar[tuple[str, ...]] = ("*.edf", "*" + XML_SUFFIX)
    """A local copy without ``SHA256SUMS.txt`` (as the NSRR downloader leaves it) gets its listing by
    hashing these files (``physioex download NAME --mirror FOLDER``; docs/datasets.md)."""

    def __init__(self, spec: DatasetSpec) -> None:
        super().__init__(spec)
        self.mirror_subdir = spec.folder
        """Sub-folder of the mirror holding the cohort tree (``nsrr`` inside the demo mirror)."""

    def __repr__(self) -> str:
        return f"NsrrSource({self.name!r}, cohort={self.cohort.slug!r})"

    def missing_mirror_message(self) -> str:
        """Why there is no default mirror and what to provide instead (``physioex download``)."""
        env = self.spec.mirror_env or "(none)"
        return MISSING_COPY.format(name=self.name, title=self.title, slug=self.cohort.slug, env=env)

    def select(
        self, listing: dict[str, str], subjects: list[int] | None = None, nights: list[int] | None = None
    ) -> Selection:
        """Pair each PSG with its XML; keep ``subjects`` (participant numbers) and ``nights`` (visits).

        A PSG without XML, an XML without PSG, a PSG whose name is not the cohort's and two files of one
        participant and visit are reported as problems. ``subjects`` the listing does not hold raise
        ``ValueError``.
        """
        psgs: dict[tuple[str, str], str] = {}
        xmls: dict[tuple[str, str], str] = {}
        selection = Selection()
        for relpath in sorted(listing):
            if relpath.startswith(EDF_ROOT + "/") and relpath.lower().endswith(".edf"):
                folder, _, name = relpath[len(EDF_ROOT) + 1 :].rpartition("/")
                psgs[(folder, name[:-4])] = relpath
            elif relpath.startswith(XML_ROOT + "/") and relpath.endswith(XML_SUFFIX):
                folder, _, name = relpath[len(XML_ROOT) + 1 :].rpartition("/")
                xmls[(folder, name.removesuffix(XML_SUFFIX))] = relpath
        wanted = None if subjects is None else {str(s) for s in subjects}
        present: set[str] = set()
        seen: dict[tuple[str, int], str] = {}
        for key in sorted(set(psgs) | set(xmls)):
            folder, stem = key
            parsed = self.cohort.parse(stem)
            path = psgs.get(key) or xmls[key]
            if parsed is None:
                selection.problems.append(
                    f"{path}: not a {self.cohort.slug} file name (expected {self.cohort.pattern!r} with a "
                    f"visit of {', '.join(self.cohort.visits)}); skipped"
                )
                continue
            subject, night = parsed
            present.add(subject)
            if (wanted is not None and subject not in wanted) or (nights and night not in nights):
                continue
            if key not in psgs:
                selection.problems.append(
                    f"{path}: annotation XML without PSG (no {EDF_ROOT}/.../{stem}.edf)"
                )
                continue
            if key not in xmls:
                selection.problems.append(
                    f"{path}: PSG without NSRR annotation XML (no {XML_ROOT}/.../{stem}{XML_SUFFIX}); "
                    "it can be scored by `physioex predict`, not stored for training"
                )
                continue
            if (subject, night) in seen:
                selection.problems.append(
                    f"{path}: participant {subject} visit {night} again (also "
                    f"{seen[(subject, night)]}); skipped"
                )
                continue
            seen[(subject, night)] = path
            selection.recordings.append(
                Recording(
                    id=stem,
                    subject=subject,
                    night=night,
                    files={"psg": psgs[key], "scoring": xmls[key]},
                    format=self.spec.format,
                    scoring={"format": "nsrr-xml"},
                )
            )
        if wanted is not None:
            missing = sorted(wanted - present, key=int)
            if missing:
                shown = (
                    format_ranges(sorted(int(s) for s in present)) if len(present) < 50 else f"{len(present)}"
                )
                raise ValueError(
                    f"{self.name}: participants {', '.join(missing)} are not in the listing "
                    f"(participants present: {shown})"
                )
        return selection


def nsrr_source(cohort: Cohort) -> type[NsrrSource]:
    """The :class:`NsrrSource` subclass reading ``cohort`` (a ``DatasetSpec.source``)."""
    return type(f"{cohort.slug.capitalize()}Source", (NsrrSource,), {"cohort": cohort})


nsrr_spec = partial(DatasetSpec, format="edf", folds=10)
"""``DatasetSpec`` of an NSRR cohort: EDF read through ``physioex.scoring`` (the NSRR XML reader)."""

MISSING_COPY = (
    "{name} ({title}) needs a data-use agreement with the NSRR: download it with the NSRR's own tool "
    "(`nsrr download {slug}/polysomnography/edfs` and `.../annotations-events-nsrr`, sleepdata.org), then "
    "pass --mirror FOLDER (the copy's {slug}/ folder, holding polysomnography/) or set {env}"
)


SPECS: tuple[DatasetSpec, ...] = (
    nsrr_spec(
        name="shhs",
        title="Sleep Heart Health Study (NSRR), SHHS1 and SHHS2 visits",
        source=nsrr_source(SHHS),
        channels=("C4-M1",),  # EDF label EEG (C4-A1, 125 Hz; EEG(sec) is C3-A2), by the alias table
        mirror_env="PHYSIOEX_SHHS_MIRROR",
    ),
    nsrr_spec(
        name="mesa",
        title="Multi-Ethnic Study of Atherosclerosis sleep exam (NSRR)",
        source=nsrr_source(MESA),
        channels=("EEG3",),  # C4-M1 (EEG1 Fz-Cz, EEG2 Cz-Oz)
        mirror_env="PHYSIOEX_MESA_MIRROR",
    ),
    nsrr_spec(
        name="mros",
        title="Osteoporotic Fractures in Men sleep study (NSRR), visits 1 and 2",
        source=nsrr_source(MROS),
        channels=("C4-M1",),  # C4 and A1 are recorded against Fpz: re-referenced, C4 minus A1
        mirror_env="PHYSIOEX_MROS_MIRROR",
    ),
    nsrr_spec(
        name="cfs",
        title="Cleveland Family Study (NSRR), visit 5",
        source=nsrr_source(CFS),
        channels=("C4-M1",),  # C4 and M1 are recorded against Fpz: re-referenced, C4 minus M1
        mirror_env="PHYSIOEX_CFS_MIRROR",
    ),
    nsrr_spec(
        name="chat",
        title="Childhood Adenotonsillectomy Trial (NSRR), baseline and follow-up",
        source=nsrr_source(CHAT),
        channels=("C4-M1",),  # re-referenced C4 minus M1 (labels as CFS's: not checked on CHAT files)
        mirror_env="PHYSIOEX_CHAT_MIRROR",
    ),
)
"""The NSRR cohorts: no public mirror (a data-use agreement and the NSRR downloader); 10 folds."""
