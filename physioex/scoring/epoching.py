"""Stage events to one stage per epoch of a PSG: the alignment rules, in one place.

Rules (docs/scoring-formats.md, "From events to epochs"):

- onsets are moved to the PSG's time axis by ``offset_s`` (scoring start minus PSG start);
- an event covering several epochs scores each of them; time no event covers is unscored (-1);
- events must lie on the epoch grid (1 ms tolerance): a scoring in other epochs (MASS's 20-s
  epochs, an ``EpochLength`` other than ``epoch_s``) is refused, unless ``reepoch="majority"``:
  each epoch then takes the stage that covers more than half of it, else unscored;
- overlapping events with different stages are refused, naming both;
- a scoring that ends before the PSG starts (or starts after it ends) is refused;
- the part of a scoring before the PSG start or past its end is cut off, with a note; more than one
  epoch of *scored* time (not unscored) past the end is refused as a PSG/scoring mismatch.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from physioex.errors import InputError
from physioex.scoring.errors import ScoringMismatchError
from physioex.scoring.hypnogram import Hypnogram, Scoring, StageEvent
from physioex.store.layout import LABEL_UNSCORED

Reepoch = Literal["refuse", "majority"]
REEPOCH_RULES: tuple[str, ...] = ("refuse", "majority")
"""``refuse``: events off the epoch grid are an error; ``majority``: the stage covering > half an epoch."""

GRID_TOLERANCE_S = 1e-3
"""Onsets and durations within 1 ms of the epoch grid count as on it (EDF+ TALs carry 100-ns steps)."""


def to_epochs(
    scoring: Scoring,
    *,
    epoch_s: float = 30.0,
    n_epochs: int | None = None,
    psg_duration_s: float | None = None,
    offset_s: float = 0.0,
    reepoch: Reepoch = "refuse",
) -> Hypnogram:
    """Align ``scoring`` to a PSG: one stage code per ``epoch_s`` epoch from the PSG start.

    Parameters
    ----------
    scoring
        Stage events as read from a file.
    epoch_s
        Epoch length of the result in seconds.
    n_epochs, psg_duration_s
        Length of the PSG, as a number of epochs or in seconds (whole epochs count); at most one. With
        neither, the hypnogram runs from the PSG start to the end of the last event.
    offset_s
        Seconds added to every onset to put it on the PSG's time axis (scoring start minus PSG start).
    reepoch
        ``"refuse"`` (default) or ``"majority"``, see the module docstring.

    Returns
    -------
    Hypnogram
        ``stages`` int8 ``(n_epochs,)``; lights times moved by ``offset_s``; notes on what was cut.

    Raises
    ------
    InputError
        No stage event, an epoch-length mismatch, overlapping different stages, a scoring outside the
        PSG, or scored time more than one epoch past its end; each naming the file.
    """
    if epoch_s <= 0 or not math.isfinite(epoch_s):
        raise InputError(f"epoch length {epoch_s!r} s: give a positive number of seconds (30 for AASM)")
    if reepoch not in REEPOCH_RULES:
        raise InputError(f"re-epoching rule {reepoch!r}: use one of {', '.join(REEPOCH_RULES)}")
    if n_epochs is not None and psg_duration_s is not None:
        raise ValueError("give n_epochs or psg_duration_s, not both")
    file = scoring.path
    if not scoring.events:
        raise InputError(f"{file}: holds no sleep-stage event; is it a sleep scoring?")
    events = sorted(
        (
            StageEvent(e.onset_s + offset_s, e.duration_s, e.code, e.label, e.where)
            for e in scoring.events
            if e.duration_s > 0
        ),
        key=lambda e: (e.onset_s, e.end_s),
    )
    if not events:
        raise InputError(f"{file}: every sleep-stage event lasts 0 s; give each stage its duration")
    if reepoch == "refuse":
        _check_epoch_length(scoring, events, epoch_s)
    _check_overlaps(file, events)

    first, last = events[0].onset_s, max(e.end_s for e in events)
    if psg_duration_s is not None:
        n_epochs = int(math.floor(psg_duration_s / epoch_s + GRID_TOLERANCE_S / epoch_s))
    if n_epochs is None:
        n_epochs = max(0, int(math.ceil(last / epoch_s - GRID_TOLERANCE_S / epoch_s)))
    psg_end = n_epochs * epoch_s
    shifted = f" (onsets moved by {offset_s:g} s to the PSG's time axis)" if offset_s else ""
    if last <= GRID_TOLERANCE_S:
        raise ScoringMismatchError(
            file,
            f"the scoring ends at {last:g} s, before the PSG starts (0 s){shifted}; is it the scoring of "
            "this recording?",
        )
    if first >= psg_end - GRID_TOLERANCE_S:
        raise ScoringMismatchError(
            file,
            f"the scoring starts at {first:g} s, after the PSG ends ({psg_end:g} s){shifted}; is it the "
            "scoring of this recording?",
        )
    scored_end = max((e.end_s for e in events if e.code != LABEL_UNSCORED), default=0.0)
    if scored_end > psg_end + epoch_s + GRID_TOLERANCE_S:
        raise ScoringMismatchError(
            file,
            f"stages are scored up to {scored_end:g} s but the PSG holds {psg_end:g} s{shifted}; is it the "
            "scoring of this recording?",
            headline="PSG/scoring mismatch: ",
        )

    notes: list[str] = []
    if first < -GRID_TOLERANCE_S:
        notes.append(f"{file}: {-first:g} s of scoring before the PSG start were dropped")
    if last > psg_end + GRID_TOLERANCE_S:
        notes.append(f"{file}: scoring runs {last - psg_end:g} s past the PSG end ({psg_end:g} s); truncated")
    if reepoch == "majority":
        stages = _majority(events, n_epochs, epoch_s)
        declared = scoring.epoch_s or _typical_duration(events)
        if abs(declared - epoch_s) > GRID_TOLERANCE_S:
            notes.append(
                f"{file}: re-epoched from {declared:g}-s to {epoch_s:g}-s epochs (majority: the stage "
                f"covering more than {epoch_s / 2:g} s of an epoch, else unscored)"
            )
    else:
        stages = _on_grid(events, n_epochs, epoch_s)
    return Hypnogram(
        stages=stages,
        epoch_s=float(epoch_s),
        source=file,
        lights_off_s=None if scoring.lights_off_s is None else scoring.lights_off_s + offset_s,
        lights_on_s=None if scoring.lights_on_s is None else scoring.lights_on_s + offset_s,
        notes=tuple(notes),
    )


def _typical_duration(events: list[StageEvent]) -> float:
    """The shortest event duration: the scoring's epoch length when it declares none."""
    return min(e.duration_s for e in events)


def _off_grid(value: float, epoch_s: float) -> bool:
    return abs(value / epoch_s - round(value / epoch_s)) * epoch_s > GRID_TOLERANCE_S


def _check_epoch_length(scoring: Scoring, events: list[StageEvent], epoch_s: float) -> None:
    """Refuse a scoring in other epochs than ``epoch_s`` (declared, or events off the grid)."""
    fix = (
        "read it with epoch length {other:g} s, or choose the documented re-epoching rule "
        "'majority' (docs/scoring-formats.md); epoch lengths are never mixed silently"
    )
    if scoring.epoch_s is not None and abs(scoring.epoch_s - epoch_s) > GRID_TOLERANCE_S:
        raise InputError(
            f"{scoring.path}: scored in {scoring.epoch_s:g}-s epochs, not {epoch_s:g}-s; "
            + fix.format(other=scoring.epoch_s)
        )
    for e in events:
        if _off_grid(e.onset_s, epoch_s) or _off_grid(e.duration_s, epoch_s):
            other = _typical_duration(events)
            raise InputError(
                f"{scoring.path}: {e.where}: {e.label!r} at {e.onset_s:g} s lasting {e.duration_s:g} s is "
                f"not on the {epoch_s:g}-s epoch grid (the shortest event lasts {other:g} s); "
                + fix.format(other=other)
            )


def _check_overlaps(file: str, events: list[StageEvent]) -> None:
    """Refuse two events with different stages covering the same time (events sorted by onset)."""
    latest = events[0]
    for e in events[1:]:
        if e.onset_s < latest.end_s - GRID_TOLERANCE_S and e.code != latest.code:
            raise InputError(
                f"{file}: {e.where} ({e.label!r} from {e.onset_s:g} s) overlaps {latest.where} "
                f"({latest.label!r} until {latest.end_s:g} s); a time can have one stage only"
            )
        if e.end_s > latest.end_s:
            latest = e


def _on_grid(events: list[StageEvent], n_epochs: int, epoch_s: float) -> np.ndarray:
    stages = np.full(n_epochs, LABEL_UNSCORED, dtype=np.int8)
    for e in events:
        lo = max(int(round(e.onset_s / epoch_s)), 0)
        hi = min(int(round(e.end_s / epoch_s)), n_epochs)
        if hi > lo:
            stages[lo:hi] = e.code
    return stages


def _majority(events: list[StageEvent], n_epochs: int, epoch_s: float) -> np.ndarray:
    """Each epoch: the stage covering more than half of it, else unscored (gaps count as unscored)."""
    codes = sorted({e.code for e in events})
    cover = np.zeros((n_epochs, len(codes)))
    for e in events:
        k = codes.index(e.code)
        lo = max(int(math.floor(e.onset_s / epoch_s)), 0)
        hi = min(int(math.ceil(e.end_s / epoch_s)), n_epochs)
        for i in range(lo, hi):
            cover[i, k] += max(0.0, min(e.end_s, (i + 1) * epoch_s) - max(e.onset_s, i * epoch_s))
    stages = np.full(n_epochs, LABEL_UNSCORED, dtype=np.int8)
    if n_epochs and codes:
        best = cover.argmax(axis=1)
        won = cover[np.arange(n_epochs), best] > epoch_s / 2 + GRID_TOLERANCE_S
        stages[won] = np.asarray(codes, dtype=np.int8)[best[won]]
    return stages
