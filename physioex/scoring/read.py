"""The one entry point: any scoring file -> :class:`Scoring` (as read) or :class:`Hypnogram` (per epoch)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from physioex.errors import InputError
from physioex.scoring.detect import FORMATS, detect_format
from physioex.scoring.epoching import Reepoch, to_epochs
from physioex.scoring.hypnogram import Hypnogram, Scoring
from physioex.scoring.vocabulary import BUILTIN, Vocabulary


def load_vocabulary(vocabulary: Vocabulary | str | Path | None) -> Vocabulary:
    """A :class:`Vocabulary` as given, the built-in one for None, or a YAML file's over the built-in."""
    if vocabulary is None:
        return BUILTIN
    if isinstance(vocabulary, Vocabulary):
        return vocabulary
    return Vocabulary.from_yaml(vocabulary)


def read_events(
    path: str | Path,
    *,
    format: str = "auto",
    vocabulary: Vocabulary | str | Path | None = None,
    scored_epoch_s: float = 30.0,
) -> Scoring:
    """Read a scoring file as events on its own time axis.

    Parameters
    ----------
    path
        EDF+ annotations, NSRR XML, a CSV/TSV (BIDS) events table or an epoch-per-line text file.
    format
        One of :data:`FORMATS`; ``auto`` detects it (:func:`detect_format`).
    vocabulary
        A :class:`Vocabulary`, a YAML vocabulary file (over the built-in table) or None (built-in).
    scored_epoch_s
        Epoch length in seconds of an ``epoch-text`` file (the only format that cannot say it).

    Raises
    ------
    InputError
        An unknown format name and every reader's errors (naming the file).
    """
    if format not in FORMATS:
        raise InputError(f"scoring format {format!r}: use one of {', '.join(FORMATS)}")
    vocab = load_vocabulary(vocabulary)
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "edf":
        from physioex.scoring.edf_annotations import read_edf_annotations

        return read_edf_annotations(path, vocab)
    if fmt == "nsrr-xml":
        from physioex.scoring.nsrr_xml import read_nsrr_xml

        return read_nsrr_xml(path, vocab)
    if fmt == "table":
        from physioex.scoring.table import read_table

        return read_table(path, vocab)
    from physioex.scoring.epoch_text import read_epoch_text

    return read_epoch_text(path, scored_epoch_s, vocab)


def read_scoring(
    path: str | Path,
    format: str = "auto",
    vocabulary: Vocabulary | str | Path | None = None,
    epoch_s: float = 30.0,
    *,
    psg_start: dt.datetime | None = None,
    n_epochs: int | None = None,
    psg_duration_s: float | None = None,
    offset_s: float | None = None,
    scored_epoch_s: float | None = None,
    reepoch: Reepoch = "refuse",
) -> Hypnogram:
    """Read a scoring file and align it to a PSG: one stage per ``epoch_s`` epoch from the PSG start.

    Parameters
    ----------
    path, format, vocabulary
        As for :func:`read_events`.
    epoch_s
        Epoch length of the result in seconds (30 for AASM/R&K).
    psg_start
        Clock time of the PSG's first sample; with a file that records its own start (EDF+), the
        onsets are moved by the difference. Files without a start time count from the PSG start.
    n_epochs, psg_duration_s
        The PSG's length (epochs or seconds; at most one); None: up to the end of the scoring.
    offset_s
        Seconds to add to every onset, overriding the clock difference.
    scored_epoch_s
        Epoch length of an ``epoch-text`` file (default ``epoch_s``).
    reepoch
        ``"refuse"`` a scoring in other epochs (default) or ``"majority"`` (docs/scoring-formats.md).

    Returns
    -------
    Hypnogram
        int8 stages ``(n_epochs,)``, lights-off/on in s from the PSG start, notes on truncation.

    Raises
    ------
    InputError
        Any problem of the file or its alignment, on one line naming the file.
    """
    scoring = read_events(
        path,
        format=format,
        vocabulary=vocabulary,
        scored_epoch_s=epoch_s if scored_epoch_s is None else scored_epoch_s,
    )
    if offset_s is None:
        offset_s = 0.0
        if psg_start is not None and scoring.start_time is not None:
            offset_s = (scoring.start_time - psg_start).total_seconds()
    return to_epochs(
        scoring,
        epoch_s=epoch_s,
        n_epochs=n_epochs,
        psg_duration_s=psg_duration_s,
        offset_s=offset_s,
        reepoch=reepoch,
    )
