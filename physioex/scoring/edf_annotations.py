"""EDF+ annotations as a scoring: Sleep-EDF hypnograms, HMC ``*_sleepscoring.edf``, a lab's EDF+ files.

The annotation texts (``Sleep stage W|1|2|3|4|R|?``, ``Movement time``, HMC's ``Sleep stage
W|N1|N2|N3|R``, ``Lights off``/``Lights on``, which HMC links to a channel as ``Lights off@@EEG F4-A1``:
the ``@@channel`` suffix is dropped from the label) are parsed by MNE's ``read_annotations`` (EDF+C and
EDF+D time-stamped annotation lists); onsets count from the file's own start, which edfio reads from
the header (MNE returns no start time for EDF), so a scoring file that starts later than its PSG is
aligned by the clock.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from physioex.errors import InputError
from physioex.scoring.classify import Row, build_scoring
from physioex.scoring.hypnogram import Scoring
from physioex.scoring.vocabulary import Vocabulary

FORMAT = "edf"


def edf_start_time(path: str | Path) -> dt.datetime:
    """Start date and time of an EDF/EDF+ file from its header (naive local clock time, as EDF stores it).

    Raises
    ------
    InputError
        Not a readable EDF header, naming the file.
    """
    import edfio

    try:
        edf = edfio.read_edf(path, lazy_load_data=True)
        return dt.datetime.combine(edf.startdate, edf.starttime)
    except Exception as exc:  # edfio raises ValueError/EdfError/... on bad headers; all mean "not EDF"
        raise InputError(f"{path}: not a readable EDF/EDF+ file ({exc}); give an EDF+ scoring file") from None


CHANNEL_SEPARATOR = "@@"
"""EDF+ channel-linked annotation text: ``label@@channel`` (HMC writes ``Lights off@@EEG F4-A1``)."""


def _label_and_place(text: str, number: int, onset_s: float) -> tuple[str, str]:
    """``(label, where)`` of annotation ``number``: a ``@@channel`` suffix is not part of the label."""
    label, _, channel = text.partition(CHANNEL_SEPARATOR)
    linked = f" on {channel}" if channel else ""
    return label, f"annotation {number} (at {onset_s:g} s{linked})"


def read_edf_annotations(path: str | Path, vocabulary: Vocabulary | None = None) -> Scoring:
    """Stage events and lights markers of the EDF+ file ``path`` (annotation ``i`` is named
    ``"annotation i"``, 1-based, in messages).

    Parameters
    ----------
    path
        An EDF+ file holding annotations (a hypnogram file, or a PSG with embedded scoring).
    vocabulary
        Label lookup; default the built-in table.

    Raises
    ------
    InputError
        Missing or unreadable file, or an unknown annotation text (naming its number and onset).
    """
    import mne

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: scoring file not found")
    start = edf_start_time(path)
    try:
        with mne.utils.use_log_level("error"):
            annotations = mne.read_annotations(path)
    except Exception as exc:  # MNE's parsing errors are ValueError/RuntimeError/...: all mean "bad EDF+"
        raise InputError(f"{path}: cannot read its EDF+ annotations ({exc}); give an EDF+ file") from None
    rows = [
        Row(float(onset), float(duration), *_label_and_place(str(text), i, float(onset)))
        for i, (onset, duration, text) in enumerate(
            zip(annotations.onset, annotations.duration, annotations.description, strict=True), start=1
        )
    ]
    return build_scoring(str(path), FORMAT, rows, vocabulary, start_time=start)
