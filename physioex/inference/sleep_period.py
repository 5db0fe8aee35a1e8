"""Which epochs of a night the sleep statistics are computed over: the sleep period the user means.

AASM statistics are defined over time in bed, lights-off to lights-on. A recording rarely is exactly
that (a Sleep-EDF cassette runs about 22 h), so the period is chosen, in this order
(docs/sleep-statistics.md):

1. ``lights``: lights-off..lights-on, from ``--lights-off``/``--lights-on`` (clock times or seconds
   from the recording start) or else from EDF+ ``Lights off``/``Lights on`` annotations; an end that
   neither gives is the recording's own start or end;
2. ``crop``: the preprocessing crop the model's training store used (``physioex.preprocess.crop``),
   applied to the hypnogram (for ``predict``: the predicted one, anchored on predicted sleep);
3. ``recording``: the whole recording.

Times are rounded to the nearest epoch boundary: statistics are sums of whole epochs.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from physioex import EPOCH_SECONDS
from physioex.errors import InputError

PERIOD_SOURCES = ("lights", "crop", "recording")
"""Where a period comes from, in order of precedence."""

LIGHTS_OFF = "lights off"
LIGHTS_ON = "lights on"
"""EDF+ annotation texts (compared case-insensitively, spaces trimmed), as HMC and others write them."""

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$")


@dataclass(frozen=True)
class SleepPeriod:
    """Epochs ``[start_epoch, stop_epoch)`` of a hypnogram, where they came from and when they are.

    ``recording_start`` is the clock time of epoch 0 (``None`` when unknown: no clock times then).
    """

    source: str
    """``lights`` | ``crop`` | ``recording``."""
    start_epoch: int
    stop_epoch: int
    epoch_s: float = EPOCH_SECONDS
    recording_start: dt.datetime | None = None
    detail: str = ""
    """What set it, e.g. ``--lights-off 23:10, --lights-on 07:05`` or ``crop sleep +- 30 min``."""

    @property
    def n_epochs(self) -> int:
        return self.stop_epoch - self.start_epoch

    @property
    def start_s(self) -> float:
        """Start, seconds from the recording start."""
        return self.start_epoch * self.epoch_s

    @property
    def end_s(self) -> float:
        """End (exclusive), seconds from the recording start."""
        return self.stop_epoch * self.epoch_s

    def clock(self, seconds: float) -> dt.datetime | None:
        """The clock time ``seconds`` after the recording start (``None`` when that start is unknown)."""
        if self.recording_start is None:
            return None
        return self.recording_start + dt.timedelta(seconds=seconds)

    def to_dict(self) -> dict[str, Any]:
        """JSON values: source, detail, start/end in seconds from the recording start and as clock times."""
        start, end = self.clock(self.start_s), self.clock(self.end_s)
        return {
            "source": self.source,
            "detail": self.detail,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "start_clock": start.isoformat() if start else None,
            "end_clock": end.isoformat() if end else None,
            "epochs": self.n_epochs,
        }

    def describe(self) -> str:
        """One line: ``period: lights 3300-35100 s (23:10:00-07:00:00), from ...``."""
        start, end = self.clock(self.start_s), self.clock(self.end_s)
        clock = f" ({start:%H:%M:%S}-{end:%H:%M:%S})" if start and end else ""
        detail = f", {self.detail}" if self.detail else ""
        return f"period: {self.source} {self.start_s:g}-{self.end_s:g} s{clock}{detail}"


def parse_time(text: str | float, option: str, recording_start: dt.datetime | None) -> float:
    """Seconds from the recording start of ``text``: ``23:10`` / ``23:10:30`` or a number of seconds.

    A clock time is on the recording's start date, or the next day when it is earlier than the start
    time (a night runs past midnight). ``InputError`` naming ``option`` for anything else.
    """
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        value = str(text).strip()
        match = _CLOCK.match(value)
        if match:
            return _clock_seconds(value, match, option, recording_start)
        try:
            seconds = float(value)
        except ValueError:
            raise InputError(
                f"{option} {value!r}: not a time; give a clock time such as 23:10 or 23:10:30, "
                "or seconds from the recording start such as 3600"
            ) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"{option} {text!r}: must be 0 or more seconds from the recording start")
    return seconds


def _clock_seconds(value: str, match: re.Match[str], option: str, start: dt.datetime | None) -> float:
    hours, minutes, secs = int(match[1]), int(match[2]), float(match[3] or 0)
    if hours > 23 or minutes > 59 or secs >= 60:
        raise InputError(f"{option} {value!r}: not a clock time; use HH:MM or HH:MM:SS, e.g. 23:10")
    if start is None:
        raise InputError(
            f"{option} {value!r}: the recording's start time is unknown; give seconds from its start"
        )
    day = dt.datetime.combine(start.date(), dt.time(0), tzinfo=start.tzinfo)
    when = day + dt.timedelta(hours=hours, minutes=minutes, seconds=secs)
    if when < start:
        when += dt.timedelta(days=1)
    return (when - start).total_seconds()


def lights_from_annotations(
    annotations: Sequence[tuple[float, float, str]], shift_s: float = 0.0
) -> tuple[float | None, float | None]:
    """(lights-off, lights-on) in seconds from the recording start, from EDF+ annotations.

    ``annotations`` are ``(onset s, duration s, text)``; ``shift_s`` is the annotation file's start
    minus the recording's. The first ``Lights off`` and the last ``Lights on`` count.
    """
    off = [o + shift_s for o, _, text in annotations if text.strip().lower() == LIGHTS_OFF]
    on = [o + shift_s for o, _, text in annotations if text.strip().lower() == LIGHTS_ON]
    return (min(off) if off else None, max(on) if on else None)


def read_lights(path: Path, recording_start: dt.datetime | None) -> tuple[float | None, float | None]:
    """Lights-off/on annotations of the EDF+ file ``path`` (a PSG or its hypnogram), in seconds from
    ``recording_start`` (the file's own start when unknown). An EDF without annotations gives none."""
    from physioex.preprocess.edf_reader import read_annotations
    from physioex.preprocess.errors import PreprocessError

    try:
        start, annotations = read_annotations(path)
    except PreprocessError as exc:
        raise InputError(
            f"{path}: cannot read its EDF+ annotations ({exc.reason}); give an EDF+ file"
        ) from None
    shift = (start - recording_start).total_seconds() if recording_start is not None else 0.0
    return lights_from_annotations(annotations, shift)


def _epoch(seconds: float, epoch_s: float) -> int:
    """The epoch boundary nearest ``seconds`` (halves round up)."""
    return int(math.floor(seconds / epoch_s + 0.5))


def lights_period(
    lights_off_s: float | None,
    lights_on_s: float | None,
    n_epochs: int,
    *,
    epoch_s: float = EPOCH_SECONDS,
    recording_start: dt.datetime | None = None,
    detail: str = "",
    where: str = "--lights-off/--lights-on",
) -> SleepPeriod:
    """The ``lights`` period of a recording of ``n_epochs``: each time rounded to the nearest epoch
    boundary and clipped to the recording; a missing end is the recording's start or end.

    ``InputError`` naming ``where`` when lights-on is not after lights-off or the period holds no epoch.
    """
    start = 0 if lights_off_s is None else min(max(0, _epoch(lights_off_s, epoch_s)), n_epochs)
    stop = n_epochs if lights_on_s is None else min(max(0, _epoch(lights_on_s, epoch_s)), n_epochs)
    if lights_off_s is not None and lights_on_s is not None and lights_on_s <= lights_off_s:
        raise InputError(
            f"{where}: lights-on ({lights_on_s:g} s) is not after lights-off ({lights_off_s:g} s from the "
            "recording start); check the times (a clock time earlier than the start is on the next day)"
        )
    if stop <= start:
        raise InputError(
            f"{where}: lights-off..lights-on ({lights_off_s if lights_off_s is not None else 0:g}-"
            f"{lights_on_s if lights_on_s is not None else n_epochs * epoch_s:g} s) holds no 30-s epoch of "
            f"the recording (0-{n_epochs * epoch_s:g} s); give times inside the recording"
        )
    return SleepPeriod("lights", start, stop, epoch_s, recording_start, detail)


def crop_period(
    labels: np.ndarray,
    crop: str,
    minutes: float = 30.0,
    *,
    epoch_s: float = EPOCH_SECONDS,
    recording_start: dt.datetime | None = None,
) -> SleepPeriod | None:
    """The preprocessing crop ``crop`` (``physioex.preprocess.crop``) applied to ``labels`` (codes,
    ``(epochs,)``), or ``None`` when it does not pick a part of the night: ``none``; ``lights``
    (lights unknown here: the training records spanned lights-off..on); no sleep to anchor on.

    ``auto`` is ``sleep`` (lights are unknown once they reach this function).
    """
    from physioex.preprocess.crop import crop_window
    from physioex.preprocess.errors import PreprocessError

    mode = "sleep" if crop == "auto" else crop
    if mode in ("none", "lights"):
        return None
    try:
        # crop_window counts its margin in 30-s epochs: scale it for another epoch length
        start, stop = crop_window(np.asarray(labels), mode, minutes=minutes * EPOCH_SECONDS / epoch_s)
    except PreprocessError:  # nothing but wake (or unscored): no sleep to anchor the crop on
        return None
    return SleepPeriod("crop", start, stop, epoch_s, recording_start, f"crop {mode} +- {minutes:g} min")


def recording_period(
    n_epochs: int, *, epoch_s: float = EPOCH_SECONDS, recording_start: dt.datetime | None = None
) -> SleepPeriod:
    """The whole recording."""
    return SleepPeriod("recording", 0, n_epochs, epoch_s, recording_start, "whole recording")


def choose_period(
    labels: np.ndarray,
    *,
    epoch_s: float = EPOCH_SECONDS,
    recording_start: dt.datetime | None = None,
    lights_off: str | float | None = None,
    lights_on: str | float | None = None,
    annotated: tuple[float | None, float | None] = (None, None),
    annotations_file: str | Path = "",
    crop: str | None = None,
    crop_minutes: float = 30.0,
) -> SleepPeriod:
    """The period the statistics of ``labels`` (codes ``(epochs,)``) are computed over.

    Parameters
    ----------
    labels : ndarray
        Stage codes per epoch (0 W .. 4 REM, -1 unscored, -2 movement), from the recording start.
    epoch_s : float
        Epoch length, seconds.
    recording_start : datetime, optional
        Clock time of epoch 0 (needed for clock-time options and reported clock times).
    lights_off, lights_on : str or float, optional
        ``--lights-off``/``--lights-on``: ``23:10``, ``23:10:30`` or seconds from the start; each
        wins over its annotation.
    annotated : tuple
        (lights-off, lights-on) seconds from EDF+ annotations, ``None`` where absent.
    annotations_file : str or Path
        Where ``annotated`` came from (named in the period's detail and errors).
    crop, crop_minutes : str, float, optional
        The training store's crop mode and margin (minutes); ``None``: no crop recorded.

    Returns
    -------
    SleepPeriod
        ``lights`` if either end is known, else ``crop`` if the crop picks part of the night, else
        ``recording``.
    """
    n = int(np.asarray(labels).shape[0])
    off = parse_time(lights_off, "--lights-off", recording_start) if lights_off is not None else None
    on = parse_time(lights_on, "--lights-on", recording_start) if lights_on is not None else None
    parts = []
    if off is not None:
        parts.append(f"--lights-off {lights_off}")
    elif annotated[0] is not None:
        off = annotated[0]
        parts.append(f"Lights off annotation in {annotations_file}")
    if on is not None:
        parts.append(f"--lights-on {lights_on}")
    elif annotated[1] is not None:
        on = annotated[1]
        parts.append(f"Lights on annotation in {annotations_file}")
    if off is not None or on is not None:
        given = [p for p in parts if p.startswith("--")]
        where = ", ".join(given) if given else f"{annotations_file} (Lights off/on annotations)"
        return lights_period(
            off, on, n, epoch_s=epoch_s, recording_start=recording_start, detail=", ".join(parts), where=where
        )
    if crop is not None:
        period = crop_period(labels, crop, crop_minutes, epoch_s=epoch_s, recording_start=recording_start)
        if period is not None:
            return period
    return recording_period(n, epoch_s=epoch_s, recording_start=recording_start)
