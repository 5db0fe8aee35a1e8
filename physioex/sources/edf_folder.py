"""``edf-folder``: a lab's own recordings, a folder of EDF PSGs and scoring files.

Two ways to pair them (docs/datasets.md, "edf-folder"):

- **a manifest**: ``manifest.csv`` at the folder root, one row per recording, columns ``psg``,
  ``hypnogram`` (or ``scoring``), ``subject`` and optionally ``night``, ``lights_off``, ``lights_on``
  (s from the PSG start), ``scoring_format`` (a ``physioex.scoring`` format), ``vocabulary`` (a YAML
  vocabulary file) and ``scored_epoch_s``; paths relative to the folder;
- **file names**, without a manifest: ``<stem>.edf`` pairs with the one file of the same folder named
  ``<stem>`` plus a suffix of :data:`SCORING_SUFFIXES`; each PSG is its own subject, night 1.

A ``vocabulary.yaml`` at the folder root applies to every scoring that names none. A PSG without a
scoring is a problem (``physioex predict`` scores it; training needs the scoring). The manifest's
content decides the pairing, so the source reads it first through :meth:`EdfFolderSource.prepare`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, ClassVar

from physioex.errors import InputError
from physioex.sources.base import DatasetSpec, Recording, Selection, Source, TextReader

MANIFEST = "manifest.csv"
VOCABULARY = "vocabulary.yaml"

SCORING_SUFFIXES: tuple[str, ...] = (
    ".csv",
    ".tsv",
    "_events.tsv",
    ".txt",
    ".xml",
    "-nsrr.xml",
    "-hypnogram.edf",
    "_hypnogram.edf",
    "-scoring.edf",
    "_scoring.edf",
)
"""Scoring file names of a PSG ``<stem>.edf`` without a manifest: ``<stem>`` + one of these (case
ignored), in the PSG's folder."""

_OPTIONAL = ("night", "lights_off", "lights_on", "scoring_format", "vocabulary", "scored_epoch_s")


@dataclass
class _Row:
    line: int
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class _Manifest:
    where: str
    rows: list[_Row]


def _float(where: str, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        raise InputError(
            f"{where}: line {line}: {column} {text!r} is not a number of seconds >= 0 (from the PSG start)"
        )
    return value


def _need(where: str, line: int, values: dict[str, str], column: str, listing: dict[str, str]) -> str:
    """The file a manifest row names in ``column``; ``InputError`` naming manifest, line and file if not."""
    path = values.get(column, "")
    if path not in listing:
        raise InputError(
            f"{where}: line {line}: {column} file {path!r} is not in the folder; fix the path (relative to "
            "the manifest's folder) or add the file"
        )
    return path


def parse_manifest(text: str, where: str) -> _Manifest:
    """The rows of a manifest (``where`` names it in messages); ``InputError`` for a malformed one."""
    lines = text.splitlines()
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "scoring" in header and "hypnogram" not in header:
        header[header.index("scoring")] = "hypnogram"
    for needed in ("psg", "subject"):
        if needed not in header:
            raise InputError(
                f"{where}: line 1: no {needed!r} column (columns: {', '.join(header) or 'none'}); a manifest "
                f"needs psg, hypnogram, subject and optionally {', '.join(_OPTIONAL)}"
            )
    reader.fieldnames = header
    rows = []
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k is not None and isinstance(v, str)}
        if not any(values.values()):
            continue
        rows.append(_Row(line, values))
    if not rows:
        raise InputError(f"{where}: holds no recordings (one row per PSG after the header line)")
    return _Manifest(where, rows)


class EdfFolderSource(Source):
    """A lab's folder: pairs from ``manifest.csv`` (read by :meth:`prepare`) or from file names."""

    listing_from_glob: ClassVar[tuple[str, ...]] = ("*",)
    """A folder without ``SHA256SUMS.txt`` gets its listing by hashing every file in it."""

    def __init__(self, spec: DatasetSpec) -> None:
        super().__init__(spec)
        self.mirror_subdir = spec.folder
        self._manifest: _Manifest | None = None
        self._prepared = False
        self._downloaded = False

    def missing_mirror_message(self) -> str:
        return (
            f"{self.name} reads your own recordings: pass --mirror FOLDER (a folder of EDF PSGs and their "
            f"scorings, optionally with a {MANIFEST}; docs/datasets.md) or set {self.spec.mirror_env}"
        )

    def prepare(self, mirror: TextReader, *, downloaded: bool = False) -> None:
        """Read the folder's manifest (if any) before :meth:`select`; ``InputError`` if malformed.

        ``downloaded``: the listing will be a download's (``physioex preprocess``), which may hold only
        some subjects (``download --subjects``): rows none of whose files it holds are skipped (noted as
        problems) instead of being an error; in the mirror itself a missing file is always an error.
        """
        text = mirror.read_text(MANIFEST)
        self._manifest = None if text is None else parse_manifest(text, mirror.describe(MANIFEST))
        self._prepared = True
        self._downloaded = downloaded

    def select(
        self, listing: dict[str, str], subjects: list[int] | None = None, nights: list[int] | None = None
    ) -> Selection:
        """Recordings of the folder; ``subjects`` are numeric subject ids. See the module docstring."""
        if MANIFEST in listing and not self._prepared:
            raise InputError(
                f"{MANIFEST}: the manifest was not read; call {type(self).__name__}.prepare first"
            )
        vocabulary = VOCABULARY if VOCABULARY in listing else None
        if self._manifest is not None:
            selection = self._from_manifest(self._manifest, listing, vocabulary)
        else:
            selection = self._from_names(listing, vocabulary)
        if nights:
            selection.recordings = [r for r in selection.recordings if r.night in nights]
        if subjects is not None:
            ids = {r.subject for r in selection.recordings}
            if not all(s.isdigit() for s in ids):
                raise ValueError(
                    f"{self.name}: --subjects picks numeric subject ids, and this folder's are text "
                    f"({', '.join(sorted(ids)[:5])}); give numeric ids in the manifest's subject column"
                )
            missing = sorted(set(subjects) - {int(s) for s in ids})
            if missing:
                raise ValueError(
                    f"{self.name}: subjects {', '.join(map(str, missing))} are not in this folder"
                )
            selection.recordings = [r for r in selection.recordings if int(r.subject) in subjects]
        return selection

    def _recording(
        self, psg: str, scoring: str, subject: str, night: int, options: dict[str, Any]
    ) -> Recording:
        files = {"psg": psg, "scoring": scoring}
        if "vocabulary" in options:
            files["vocabulary"] = options["vocabulary"]
        if self._manifest is not None:
            files["manifest"] = MANIFEST  # its line decides subject, night, lights: a change re-processes
        return Recording(
            id=PurePosixPath(psg).stem,
            subject=subject,
            night=night,
            files=files,
            format=self.spec.format,
            scoring=options,
        )

    def _from_names(self, listing: dict[str, str], vocabulary: str | None) -> Selection:
        selection = Selection()
        lower = {path.lower(): path for path in listing}
        for path in sorted(listing):
            if not path.lower().endswith(".edf") or any(path.lower().endswith(s) for s in SCORING_SUFFIXES):
                continue
            stem = path[:-4]
            found = [lower[stem.lower() + s] for s in SCORING_SUFFIXES if stem.lower() + s in lower]
            if not found:
                selection.problems.append(
                    f"{path}: PSG without scoring (no {PurePosixPath(stem).name}"
                    f"{{{','.join(SCORING_SUFFIXES)}}} "
                    f"beside it, no {MANIFEST}); `physioex predict` can score it, training needs a scoring"
                )
                continue
            if len(found) > 1:
                selection.problems.append(
                    f"{path}: several scorings ({', '.join(found)}); name the one to use in a {MANIFEST}"
                )
                continue
            options = {"vocabulary": vocabulary} if vocabulary else {}
            rec = self._recording(path, found[0], PurePosixPath(stem).name, 1, options)
            selection.recordings.append(rec)
        return selection

    def _from_manifest(
        self, manifest: _Manifest, listing: dict[str, str], vocabulary: str | None
    ) -> Selection:
        selection = Selection()
        where = manifest.where
        seen: dict[tuple[str, int], int] = {}
        for row in manifest.rows:
            v, line = row.values, row.line

            named = [v[c] for c in ("psg", "hypnogram", "vocabulary") if v.get(c)]
            if self._downloaded and named and not any(path in listing for path in named):
                selection.problems.append(f"{where}, line {line}: {named[0]} was not downloaded; skipped")
                continue
            psg = _need(where, line, v, "psg", listing)
            subject = v.get("subject", "")
            if not subject:
                raise InputError(f"{where}: line {line}: empty subject; give every row a subject id")
            night_text = v.get("night") or "1"
            if not night_text.isdigit() or int(night_text) < 1:
                raise InputError(f"{where}: line {line}: night {night_text!r} is not a number >= 1")
            night = int(night_text)
            if (subject, night) in seen:
                raise InputError(
                    f"{where}: line {line}: subject {subject} night {night} again (also line "
                    f"{seen[(subject, night)]}); number the nights"
                )
            seen[(subject, night)] = line
            if not v.get("hypnogram"):
                selection.problems.append(
                    f"{psg}: no scoring ({where}, line {line}); `physioex predict` can score it, training "
                    "needs a scoring"
                )
                continue
            options: dict[str, Any] = {}
            if v.get("scoring_format"):
                options["format"] = v["scoring_format"]
            if v.get("vocabulary"):
                options["vocabulary"] = _need(where, line, v, "vocabulary", listing)
            elif vocabulary:
                options["vocabulary"] = vocabulary
            for column, key in (
                ("lights_off", "lights_off_s"),
                ("lights_on", "lights_on_s"),
                ("scored_epoch_s", "scored_epoch_s"),
            ):
                if v.get(column):
                    options[key] = _float(where, line, column, v[column])
            selection.recordings.append(
                self._recording(psg, _need(where, line, v, "hypnogram", listing), subject, night, options)
            )
        return selection


SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="edf-folder",
        title="your own recordings: a folder of EDF PSGs and scorings (manifest.csv or file names)",
        source=EdfFolderSource,
        format="edf",
        channels=("EEG Fpz-Cz",),
        mirror_env="PHYSIOEX_EDF_FOLDER",
    ),
)
"""The lab-folder dataset: no default location (``--mirror FOLDER``); pass ``--channels`` for your
montage (the default is Sleep-EDF's ``EEG Fpz-Cz``)."""
