"""The one small interface every raw-data source shares.

A source knows (1) where its files live by default (a mirror URL or folder holding
``SHA256SUMS.txt`` and the original tree), (2) which recordings make up a subset and
which files and checksums belong to each, and (3) which reader turns a recording into
signals and labels later (``Recording.format``).
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

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
    """Role -> relative POSIX path: ``{"psg", "hypnogram"}`` for EDF, ``{"h5"}`` for Dreem."""
    format: str = "sleepedf"
    """Reader to use later: ``"sleepedf"`` (EDF PSG + EDF+ hypnogram) or ``"dreem"`` (HDF5)."""


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


class Source(ABC):
    """A dataset that ``physioex download`` can fetch and ``physioex preprocess`` can read."""

    name: str
    default_mirror: str
    """URL (``https://``, ``file://``) or local folder holding the original tree."""
    checksum_file: str = "SHA256SUMS.txt"
    """Listing at the mirror root: one ``<sha256> <relative path>`` per line."""

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
