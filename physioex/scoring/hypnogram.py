"""The two representations of a sleep scoring: what a file says (events) and what a store needs (epochs).

A :class:`Scoring` is a file read as it is: stage events ``(onset s, duration s, stage)`` on the file's
own time axis, plus the lights-off/lights-on times and the epoch length when the format carries them.
A :class:`Hypnogram` is that scoring aligned to one PSG: one int8 stage code per epoch, epoch 0 starting
at the PSG's first sample (``physioex.scoring.epoching.to_epochs`` turns the first into the second).

Stage codes are the store's (docs/scoring-formats.md): 0 W, 1 N1, 2 N2, 3 N3, 4 REM, -1 unscored,
-2 movement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from physioex import STAGES
from physioex.store.layout import LABEL_MOVEMENT, LABEL_UNSCORED


@dataclass(frozen=True)
class StageEvent:
    """One scored stretch of a scoring file.

    Attributes
    ----------
    onset_s, duration_s
        Start and length in seconds on the file's time axis (see :attr:`Scoring.start_time`).
    code
        Stage code: 0..4 (W, N1, N2, N3, REM), -1 unscored, -2 movement.
    label
        The label exactly as the file spells it (for messages).
    where
        Where it stands in the file, e.g. ``"line 12"`` or ``"annotation 3"`` (for messages).
    """

    onset_s: float
    duration_s: float
    code: int
    label: str
    where: str

    @property
    def end_s(self) -> float:
        """End in seconds on the file's time axis."""
        return self.onset_s + self.duration_s


@dataclass(frozen=True)
class Scoring:
    """A scoring file as read, before alignment to a PSG.

    Attributes
    ----------
    path
        The file (as given), named in every message.
    format
        Reader that produced it (one of ``physioex.scoring.FORMATS`` except ``"auto"``).
    events
        Stage events in file order.
    start_time
        Clock time of onset 0 when the file records it (EDF+ header); None when onsets count from the
        PSG start by convention (NSRR XML, tables, BIDS events, epoch text).
    epoch_s
        Epoch length in seconds the file declares (NSRR ``EpochLength``, the epoch length given for an
        epoch-per-line file); None when it declares none (EDF+, tables).
    lights_off_s, lights_on_s
        First lights-off and last lights-on in seconds on the file's time axis, None when absent.
    """

    path: str
    format: str
    events: tuple[StageEvent, ...]
    start_time: dt.datetime | None = None
    epoch_s: float | None = None
    lights_off_s: float | None = None
    lights_on_s: float | None = None


@dataclass(frozen=True)
class Hypnogram:
    """A scoring aligned to a PSG: ``stages[i]`` scores ``[i * epoch_s, (i + 1) * epoch_s)`` s after the
    PSG start.

    Attributes
    ----------
    stages
        int8 ``(n_epochs,)``: 0..4 W, N1, N2, N3, REM; -1 unscored (also gaps); -2 movement.
    epoch_s
        Epoch length in seconds.
    source
        The scoring file.
    lights_off_s, lights_on_s
        Lights-off/on in seconds from the PSG start (not rounded to epochs), None when unknown.
    notes
        What alignment changed, one sentence each (truncation at the PSG end, events before its start).
    """

    stages: np.ndarray
    epoch_s: float
    source: str
    lights_off_s: float | None = None
    lights_on_s: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def n_epochs(self) -> int:
        return int(self.stages.shape[0])

    def counts(self) -> dict[str, int]:
        """Epochs per stage name (``W`` .. ``REM``) plus ``unscored`` and ``movement``."""
        counts = {name: int(np.sum(self.stages == i)) for i, name in enumerate(STAGES)}
        counts["unscored"] = int(np.sum(self.stages == LABEL_UNSCORED))
        counts["movement"] = int(np.sum(self.stages == LABEL_MOVEMENT))
        return counts
