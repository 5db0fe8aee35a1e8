"""Labelled rows of any format to a :class:`Scoring`: every label through the vocabulary, lights apart.

Each reader only parses its format into :class:`Row` s (onset, duration, label, place in the file);
this is the one place that decides what a label means, so every format obeys the same rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from physioex.scoring.hypnogram import Scoring, StageEvent
from physioex.scoring.vocabulary import BUILTIN, Term, Vocabulary


@dataclass(frozen=True)
class Row:
    """One labelled entry of a scoring file: ``onset_s``/``duration_s`` in seconds (duration None when
    the file gives none, allowed for lights markers and ignored labels only)."""

    onset_s: float
    duration_s: float | None
    label: str
    where: str


def build_scoring(
    path: str,
    format: str,
    rows: Iterable[Row],
    vocabulary: Vocabulary | None = None,
    *,
    start_time: dt.datetime | None = None,
    epoch_s: float | None = None,
) -> Scoring:
    """Classify ``rows`` with ``vocabulary`` (default: built-in) into stage events and lights times.

    Lights-off is the first ``lights_off`` marker, lights-on the last ``lights_on`` one; ``ignore``
    labels are dropped.

    Raises
    ------
    InputError
        An unknown label, or a stage without a duration, naming file and place.
    """
    from physioex.errors import InputError

    vocabulary = vocabulary or BUILTIN
    events: list[StageEvent] = []
    lights_off: list[float] = []
    lights_on: list[float] = []
    for row in rows:
        term = vocabulary.classify(row.label, path, row.where)
        if term is Term.IGNORE:
            continue
        if term is Term.LIGHTS_OFF:
            lights_off.append(row.onset_s)
        elif term is Term.LIGHTS_ON:
            lights_on.append(row.onset_s)
        else:
            code = term.code
            assert code is not None
            if row.duration_s is None:
                raise InputError(
                    f"{path}: {row.where}: stage {row.label!r} at {row.onset_s:g} s has no duration; give "
                    "its duration in seconds"
                )
            events.append(StageEvent(row.onset_s, row.duration_s, code, row.label, row.where))
    return Scoring(
        path=path,
        format=format,
        events=tuple(events),
        start_time=start_time,
        epoch_s=epoch_s,
        lights_off_s=min(lights_off) if lights_off else None,
        lights_on_s=max(lights_on) if lights_on else None,
    )
