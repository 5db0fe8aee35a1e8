"""The one small interface every raw-data source shares, and the declaration of a dataset.

A :class:`DatasetSpec` states everything about one dataset in one place (title, reader, subjects,
default channels and folds, default mirror, legacy PhysioEx names, the :class:`Source` class that pairs
its files into recordings); CLI help, defaults and the legacy mapping are derived from it.
A source knows (1) where its files live by default (a mirror URL or folder holding
``SHA256SUMS.txt`` and the original tree), (2) which recordings make up a subset and
which files and checksums belong to each, and (3) which reader turns a recording into
signals and labels later (``Recording.format``).
"""

from __future__ import annotations

import logging
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol

from physioex.paths import mirror_dir

log = logging.getLogger(__name__)

DEFAULT_FOLDS = 5
"""Subject-wise folds of a dataset that declares none (fewer when there are fewer subjects)."""

FORMATS: tuple[str, ...] = ("sleepedf", "dreem", "edf")
"""Readers ``physioex preprocess`` has (``physioex/preprocess/recording.py``): ``sleepedf`` (EDF PSG +
EDF+ hypnogram, Sleep-EDF's layout), ``dreem`` (HDF5) and ``edf`` (EDF PSG + a scoring file in any
format ``physioex.scoring`` reads: EDF+, NSRR XML, CSV/TSV/BIDS, epoch text)."""

PER_DATASET_CHANNELS: tuple[str, ...] = ("edf",)
"""Formats whose datasets each declare their own default channels (HMC ``EEG C4-M1``, SHHS ``EEG``, ...);
the other formats share one default per format (``physioex.sources.default_channels``)."""

SCORING_OPTIONS: tuple[str, ...] = (
    "format",
    "vocabulary",
    "scored_epoch_s",
    "reepoch",
    "lights_off_s",
    "lights_on_s",
)
"""Keys of :attr:`Recording.scoring`: ``format``, ``vocabulary``, ``scored_epoch_s`` and ``reepoch`` go to
``physioex.scoring.read_scoring``; ``lights_off_s``/``lights_on_s`` (s from the PSG start) override the
scoring file's lights markers."""

RECORDING_ID_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
"""A recording id is a folder name in the store: letters, digits, ``.``, ``_``, ``-`` (at most 200),
not starting with ``.`` (so never empty, ``.``, ``..``, hidden, or holding a path separator)."""


def recording_id_problem(rec_id: str) -> str | None:
    """Why ``rec_id`` cannot name a recording in the store, or None when it can."""
    if RECORDING_ID_RE.fullmatch(rec_id):
        return None
    if not rec_id:
        return "gives an empty recording id"
    return (
        f"gives the recording id {rec_id!r}, which is not a safe store folder name (allowed: letters, "
        "digits, '.', '_', '-', not starting with '.')"
    )


def format_ranges(ids: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"`` for compact messages."""
    if not ids:
        return "none"
    parts: list[str] = []
    start = prev = ids[0]
    for i in [*ids[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ", ".join(parts)


def refuse_absent_subjects(dataset: str, subjects: list[int] | None, present: set[int]) -> None:
    """``ValueError`` naming the requested ``subjects`` that the listing does not hold (and those it does)."""
    missing = sorted(set(subjects or ()) - present)
    if missing:
        raise ValueError(
            f"{dataset}: subjects {', '.join(map(str, missing))} are not in the listing "
            f"(subjects present: {format_ranges(sorted(present))})"
        )


class TextReader(Protocol):
    """What :meth:`Source.prepare` needs of a mirror (``physioex.download.mirror.Mirror``)."""

    def read_text(self, relpath: str) -> str | None: ...

    def describe(self, relpath: str) -> str: ...


@dataclass(frozen=True)
class Recording:
    """One night of one subject, as files relative to the mirror root."""

    id: str
    """Stable recording id, e.g. ``SC4001E0`` or a Dreem UUID."""
    subject: str
    """Subject id as text (``"0"``..``"82"`` for Sleep-EDF SC); folds split on it."""
    night: int
    """1-based night number within the subject."""
    files: dict[str, str] = field(hash=False)
    """Role -> relative POSIX path: ``{"psg", "hypnogram"}`` for ``sleepedf``, ``{"h5"}`` for ``dreem``,
    ``{"psg", "scoring"}`` for ``edf``."""
    format: str = "sleepedf"
    """Reader to use later: one of :data:`FORMATS`."""
    scoring: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """Keyword options for reading its scoring file (keys: :data:`SCORING_OPTIONS`), e.g.
    ``{"format": "table", "vocabulary": "lab.yaml", "lights_off_s": 600.0}``; empty: detect the format,
    the built-in vocabulary, 30-s epochs, lights from the file's markers. A relative ``vocabulary`` path
    is relative to the raw folder, like ``files``."""


@dataclass
class Selection:
    """Recordings of a subset, and files or requests that could not be used (never silently dropped)."""

    recordings: list[Recording] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Human-readable notes, each naming the file, e.g. ``"...-PSG.edf: PSG without hypnogram"``."""

    @property
    def files(self) -> list[str]:
        """All relative paths the recordings need, sorted."""
        return sorted({path for rec in self.recordings for path in rec.files.values()})


@dataclass(frozen=True)
class DatasetSpec:
    """Everything physioex knows about one dataset; registered in ``physioex/sources/__init__.py``."""

    name: str
    """Command-line name, also the default folder names (``data/raw/NAME``, ``data/stores/NAME.zarr``)."""
    title: str
    """One line for help texts and messages, e.g. ``"Sleep-EDF-78: all 153 Sleep Cassette nights"``."""
    source: type[Source]
    """How the mirror's files pair into recordings: the class whose ``select`` reads the listing."""
    format: str
    """Reader of its recordings (one of :data:`FORMATS`), stored as ``Recording.format``."""
    channels: tuple[str, ...]
    """Default channels in store order (``physioex preprocess --channels``)."""
    folds: int = DEFAULT_FOLDS
    """Default number of subject-wise folds (``--n-folds``), capped at the number of subjects."""
    fold_seed: int = 0
    """Default ``--fold-seed``. A subject's fold depends only on its id and this seed, so a dataset
    with very few subjects (the 3-record Dreem demo) may need a seed that tests someone in every fold."""
    subjects: tuple[int, ...] | None = None
    """Subject ids of this subset (Sleep-EDF-20: 0-19); None: every subject the listing holds."""
    folder: str = ""
    """Where its files sit in the mirror tree: a listing folder (Sleep-EDF ``sleep-cassette``) or, for
    Dreem, a sub-folder with its own ``SHA256SUMS.txt`` (``dreem`` inside the demo mirror)."""
    prefix: str = ""
    """File-name prefix of its recordings (Sleep-EDF: ``SC4`` cassette, ``ST7`` telemetry)."""
    mirror: str = ""
    """Default mirror URL or folder (``""``: none public, ``--mirror`` needed); for a generated dataset,
    the name of its folder under ``data/mirror/``."""
    mirror_env: str | None = None
    """Environment variable that overrides ``mirror`` (an institutional copy, a local folder)."""
    generated: bool = False
    """``download`` generates the mirror locally first (the offline demo) when no ``--mirror`` is given."""
    legacy: tuple[tuple[str, str | None], ...] = ()
    """Original PhysioEx ``(--dataset, --version)`` pairs naming it (version None: none needed)."""

    def default_mirror(self) -> str:
        """``$mirror_env`` if set, else ``mirror``; a generated dataset's is its folder in ``data/mirror``."""
        if self.generated:
            return str(mirror_dir(self.mirror))
        return (os.environ.get(self.mirror_env) if self.mirror_env else None) or self.mirror

    def make(self) -> Source:
        """A fresh source object for this dataset."""
        return self.source(self)


class Source(ABC):
    """A dataset that ``physioex download`` can fetch and ``physioex preprocess`` can read."""

    checksum_file: str = "SHA256SUMS.txt"
    """Listing at the mirror root: one ``<sha256> <relative path>`` per line."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.name!r})"

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def generated(self) -> bool:
        """``download`` generates the mirror first when no ``--mirror`` is given."""
        return self.spec.generated

    @property
    def default_mirror(self) -> str:
        """URL (``https://``, ``file://``) or local folder holding the original tree; ``""`` if none."""
        return self.spec.default_mirror()

    def prepare(self, mirror: TextReader, *, downloaded: bool = False) -> None:
        """Read what pairing needs beyond the listing before :meth:`select` (edf-folder: its manifest);
        nothing for most sources. ``downloaded``: ``mirror`` is a finished download, not the mirror."""
        return None

    @abstractmethod
    def select(
        self, listing: dict[str, str], subjects: list[int] | None = None, nights: list[int] | None = None
    ) -> Selection:
        """Recordings of this subset found in ``listing`` (relative path -> sha256), with problems."""

    def recordings(
        self, listing: dict[str, str], subjects: list[int] | None = None, nights: list[int] | None = None
    ) -> list[Recording]:
        """Recordings of this subset; problems (unpaired files, ...) are logged as warnings."""
        selection = self.select(listing, subjects, nights)
        for problem in selection.problems:
            log.warning("%s: %s", self.name, problem)
        return selection.recordings
