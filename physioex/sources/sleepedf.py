"""Sleep-EDF Expanded (PhysioNet ``sleep-edfx``): SC (``sleep-cassette/``) and ST (``sleep-telemetry/``).

Files are paired on the first 7 characters of their names (``SC4ssN`` + a letter); the subject id is
characters 3-4 and the night character 5 (design.md section 1). A PSG without hypnogram, or the
reverse, is reported in :attr:`Selection.problems` rather than silently dropped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from physioex.sources.base import Recording, Selection, Source

PHYSIONET_MIRROR = "https://physionet.org/files/sleep-edfx/1.0.0/"
"""PhysioNet's own copy; any mirror holding the same tree (``SHA256SUMS.txt``, folders) works."""

MIRROR_ENV = "PHYSIOEX_SLEEPEDF_MIRROR"
"""Environment variable overriding the default mirror (an institutional copy, a local folder)."""


class SleepEDFSource(Source):
    """A subset of one Sleep-EDF study (SC or ST), optionally restricted to some subjects."""

    def __init__(
        self,
        name: str,
        *,
        folder: str = "sleep-cassette",
        prefix: str = "SC4",
        preset_subjects: Iterable[int] | None = None,
        default_mirror: str | None = None,
    ) -> None:
        self.name = name
        self.folder = folder.strip("/")
        self.prefix = prefix
        self.preset_subjects = None if preset_subjects is None else sorted(set(preset_subjects))
        self._default_mirror = default_mirror
        p = re.escape(prefix)
        self._psg = re.compile(rf"^({p}(\d\d)(\d)[A-Z])0-PSG\.edf$")
        self._hyp = re.compile(rf"^({p}(\d\d)(\d)[A-Z])[A-Z0-9]-Hypnogram\.edf$")

    @property
    def default_mirror(self) -> str:  # type: ignore[override]
        """``$PHYSIOEX_SLEEPEDF_MIRROR`` if set, else PhysioNet (unless given at construction)."""
        return self._default_mirror or os.environ.get(MIRROR_ENV) or PHYSIONET_MIRROR

    def __repr__(self) -> str:
        return f"SleepEDFSource({self.name!r}, folder={self.folder!r})"

    def select(
        self, listing: dict[str, str], subjects: list[int] | None = None, nights: list[int] | None = None
    ) -> Selection:
        """Pair PSG and hypnogram files of ``self.folder`` and keep the requested subjects and nights.

        ``subjects`` must lie inside the preset (e.g. 0-19 for ``sleepedf-20``); ids the listing does
        not hold raise ``ValueError`` (Sleep-EDF SC has no subjects 39, 68, 69, 78, 79).
        """
        wanted = self._wanted_subjects(subjects)
        psgs: dict[str, str] = {}
        hyps: dict[str, list[str]] = {}
        for relpath in sorted(listing):
            folder, _, name = relpath.rpartition("/")
            if folder != self.folder:
                continue
            if m := self._psg.match(name):
                psgs[m.group(1)] = relpath
            elif m := self._hyp.match(name):
                hyps.setdefault(m.group(1), []).append(relpath)

        selection = Selection()
        present: set[int] = set()
        for key in sorted(set(psgs) | set(hyps)):
            subject, night = int(key[3:5]), int(key[5])
            present.add(subject)
            if (wanted is not None and subject not in wanted) or (nights and night not in nights):
                continue
            if key not in psgs:
                selection.problems.extend(
                    f"{h}: hypnogram without PSG (no {key}?0-PSG.edf)" for h in hyps[key]
                )
                continue
            if key not in hyps:
                selection.problems.append(f"{psgs[key]}: PSG without hypnogram (no {key}?-Hypnogram.edf)")
                continue
            if len(hyps[key]) > 1:
                selection.problems.append(
                    f"{psgs[key]}: several hypnograms ({', '.join(hyps[key])}); using {hyps[key][0]}"
                )
            psg = psgs[key]
            selection.recordings.append(
                Recording(
                    id=psg.rpartition("/")[2].removesuffix("-PSG.edf"),
                    subject=str(subject),
                    night=night,
                    files={"psg": psg, "hypnogram": hyps[key][0]},
                    format="sleepedf",
                )
            )
        if subjects is not None:
            missing = sorted(set(subjects) - present)
            if missing:
                raise ValueError(
                    f"{self.name}: subjects {', '.join(map(str, missing))} are not in the listing "
                    f"(subjects present: {_ranges(sorted(present))})"
                )
        return selection

    def _wanted_subjects(self, subjects: list[int] | None) -> set[int] | None:
        if subjects is None:
            return None if self.preset_subjects is None else set(self.preset_subjects)
        if self.preset_subjects is not None:
            outside = sorted(set(subjects) - set(self.preset_subjects))
            if outside:
                raise ValueError(
                    f"{self.name}: subjects {', '.join(map(str, outside))} are outside this preset "
                    f"(subjects {_ranges(self.preset_subjects)}); use a larger preset such as sleepedf-78"
                )
        return set(subjects)


def _ranges(ids: list[int]) -> str:
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
