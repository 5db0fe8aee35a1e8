"""Sleep-EDF Expanded (PhysioNet ``sleep-edfx``): SC (``sleep-cassette/``) and ST (``sleep-telemetry/``).

Files are paired on the first 7 characters of their names (``SC4ssN`` + a letter); the subject id is
characters 3-4 and the night character 5 (docs/conventions.md section 1). A PSG without hypnogram, or the
reverse, is reported in :attr:`Selection.problems` rather than silently dropped.
"""

from __future__ import annotations

import re
from functools import partial

from physioex.sources.base import (
    DatasetSpec,
    Recording,
    Selection,
    Source,
    format_ranges,
    refuse_absent_subjects,
)

PHYSIONET_MIRROR = "https://physionet.org/files/sleep-edfx/1.0.0/"
"""PhysioNet's own copy; any mirror holding the same tree (``SHA256SUMS.txt``, folders) works."""

MIRROR_ENV = "PHYSIOEX_SLEEPEDF_MIRROR"
"""Environment variable overriding the default mirror (an institutional copy, a local folder)."""


class SleepEDFSource(Source):
    """A subset of one Sleep-EDF study (SC or ST, ``spec.folder``/``spec.prefix``), maybe some subjects."""

    def __init__(self, spec: DatasetSpec) -> None:
        super().__init__(spec)
        self.folder = spec.folder.strip("/")
        self.prefix = spec.prefix
        self.preset_subjects = None if spec.subjects is None else sorted(set(spec.subjects))
        p = re.escape(spec.prefix)
        self._psg = re.compile(rf"^({p}(\d\d)(\d)[A-Z])0-PSG\.edf$")
        self._hyp = re.compile(rf"^({p}(\d\d)(\d)[A-Z])[A-Z0-9]-Hypnogram\.edf$")

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
                    format=self.spec.format,
                )
            )
        refuse_absent_subjects(self.name, subjects, present)
        return selection

    def _wanted_subjects(self, subjects: list[int] | None) -> set[int] | None:
        if subjects is None:
            return None if self.preset_subjects is None else set(self.preset_subjects)
        if self.preset_subjects is not None:
            outside = sorted(set(subjects) - set(self.preset_subjects))
            if outside:
                raise ValueError(
                    f"{self.name}: subjects {', '.join(map(str, outside))} are outside this preset "
                    f"(subjects {format_ranges(self.preset_subjects)}); use a larger preset such as "
                    "sleepedf-78"
                )
        return set(subjects)


sleepedf_spec = partial(
    DatasetSpec,
    source=SleepEDFSource,
    format="sleepedf",
    channels=("EEG Fpz-Cz",),
    folder="sleep-cassette",
    prefix="SC4",
)
"""``DatasetSpec`` of a dataset in Sleep-EDF's layout (EDF PSG + EDF+ hypnogram, the literature's Fpz-Cz
channel), the Sleep Cassette files unless ``folder``/``prefix`` say otherwise; the demo uses it too."""

_physionet_spec = partial(sleepedf_spec, mirror=PHYSIONET_MIRROR, mirror_env=MIRROR_ENV)


def _legacy(version: str) -> tuple[tuple[str, str], ...]:
    """The original PhysioEx names of Sleep-EDF version ``version``: both of its ``--dataset`` spellings."""
    return (("sleep_physionet", version), ("sleepedf", version))


SPECS: tuple[DatasetSpec, ...] = (
    _physionet_spec(
        name="sleepedf-20",
        title="Sleep-EDF-20: the 2013 Sleep Cassette subset of the papers, 39 nights",
        folds=20,
        subjects=tuple(range(20)),
        legacy=_legacy("2013"),
    ),
    _physionet_spec(
        name="sleepedf-78",
        title="Sleep-EDF-78: all 153 Sleep Cassette nights of 78 subjects",
        folds=10,
        legacy=_legacy("2018"),
    ),
    _physionet_spec(
        name="sleepedf-st",
        title="Sleep-EDF Sleep Telemetry: 44 nights of 22 subjects",
        folder="sleep-telemetry",
        prefix="ST7",
    ),
)
"""Sleep-EDF's datasets: the literature's Fpz-Cz channel and folds (docs/conventions.md section 3)."""
