"""Sleep-stage labels per 30-s epoch of a PSG, from its scoring file, with the lights-off..on window.

:func:`scoring_labels` is what preprocessing uses for every EDF source (Sleep-EDF, HMC, NSRR, a lab's
folder): ``physioex.scoring.read_scoring`` reads any scoring format (docs/scoring-formats.md) and aligns
it to the PSG; a bad scoring file becomes a per-recording ``PreprocessError`` naming the file.
Convention (docs/conventions.md section 1): W->0, 1->N1 (1), 2->N2 (2), 3 and 4->N3 (3), R->REM (4);
``Sleep stage ?`` and epochs without annotation -> -1 (unscored); ``Movement time`` -> -2.
Labels are truncated to the signal length (the last Sleep-EDF ``?`` runs past the PSG end).

:func:`labels_from_annotations` is the former Sleep-EDF-only mapping, kept as the independent reference
the tests compare ``read_scoring`` with (same labels on the real SC4001 night).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from physioex import EPOCH_SECONDS, STAGES
from physioex.errors import InputError
from physioex.preprocess.errors import PreprocessError
from physioex.sources.base import SCORING_OPTIONS
from physioex.store.layout import LABEL_MOVEMENT, LABEL_UNSCORED

log = logging.getLogger(__name__)

ANNOTATION_CODES: dict[str, int] = {
    "Sleep stage W": 0,
    "Sleep stage 1": 1,
    "Sleep stage 2": 2,
    "Sleep stage 3": 3,
    "Sleep stage 4": 3,
    "Sleep stage R": 4,
    "Sleep stage N1": 1,
    "Sleep stage N2": 2,
    "Sleep stage N3": 3,
    "Sleep stage ?": LABEL_UNSCORED,
    "Movement time": LABEL_MOVEMENT,
}
"""Every annotation string we understand; anything else is an error naming the file and string."""

SLEEP_CODES = (1, 2, 3, 4)
"""N1, N2, N3, REM: the stages that count as sleep for the wake crop."""

_GRID_TOLERANCE_S = 1e-3

_READ_OPTIONS = ("format", "vocabulary", "scored_epoch_s", "reepoch")
"""``Recording.scoring`` keys passed on to ``read_scoring``; the lights keys are applied here."""


@dataclass(frozen=True)
class EpochLabels:
    """A PSG's labels and lights window, in 30-s epochs from its first sample.

    Attributes
    ----------
    stages
        int8 ``(n_epochs,)``: 0..4 W..REM, -1 unscored, -2 movement.
    lights
        ``(first, stop)`` epochs of lights-off..lights-on (the whole epochs inside it), None when
        neither time is known; a known lights-off alone runs to the end, a lights-on alone from 0.
    """

    stages: np.ndarray
    lights: tuple[int, int] | None


def lights_window(
    off_s: float | None, on_s: float | None, n_epochs: int, file: str | Path
) -> tuple[int, int] | None:
    """Whole epochs inside lights-off..lights-on (s from the PSG start), clipped to ``[0, n_epochs)``.

    Raises ``PreprocessError`` naming ``file`` when lights-on is not after lights-off or no whole epoch
    lies between them inside the PSG.
    """
    if off_s is None and on_s is None:
        return None
    off = 0.0 if off_s is None else float(off_s)
    on = n_epochs * EPOCH_SECONDS if on_s is None else float(on_s)
    if not (math.isfinite(off) and math.isfinite(on)) or on <= off:
        raise PreprocessError(file, f"lights-on ({on:g} s) is not after lights-off ({off:g} s)")
    tol = _GRID_TOLERANCE_S / EPOCH_SECONDS
    first = max(0, math.ceil(off / EPOCH_SECONDS - tol))
    stop = min(n_epochs, math.floor(on / EPOCH_SECONDS + tol))
    if stop <= first:
        raise PreprocessError(
            file,
            f"no whole 30-s epoch of the PSG ({n_epochs} epochs) lies between lights-off ({off:g} s) and "
            f"lights-on ({on:g} s)",
        )
    return first, stop


def scoring_labels(
    path: Path,
    *,
    psg: Path,
    psg_start: datetime,
    n_epochs: int,
    options: Mapping[str, Any] | None = None,
    raw: Path | None = None,
) -> EpochLabels:
    """Labels of the ``n_epochs`` 30-s epochs of ``psg`` from its scoring file ``path``.

    Parameters
    ----------
    path
        The scoring file (any format ``physioex.scoring`` reads).
    psg, psg_start, n_epochs
        The PSG (for messages), the clock time of its first sample and its length in whole epochs.
    options
        ``Recording.scoring`` (keys ``physioex.sources.base.SCORING_OPTIONS``): ``format``,
        ``vocabulary`` (a YAML file, relative to ``raw``), ``scored_epoch_s``, ``reepoch`` go to
        ``read_scoring``; ``lights_off_s``/``lights_on_s`` (s from the PSG start) win over the file's
        lights markers.
    raw
        Folder that relative vocabulary paths are relative to.

    Raises
    ------
    PreprocessError
        Any problem of the scoring file or of its fit to the PSG, naming the scoring file: an unknown
        label (``unknown annotation ...``), a scoring outside the PSG (``PSG/hypnogram mismatch``), no
        scored epoch inside the PSG, an unknown option, bad lights times.
    """
    from physioex.scoring import ScoringMismatchError, UnknownLabelError, read_scoring

    options = dict(options or {})
    unknown = sorted(set(options) - set(SCORING_OPTIONS))
    if unknown:
        raise PreprocessError(
            path, f"unknown scoring option(s) {', '.join(unknown)}; use {', '.join(SCORING_OPTIONS)}"
        )
    kwargs = {k: options[k] for k in _READ_OPTIONS if options.get(k) is not None}
    if "vocabulary" in kwargs and raw is not None:
        kwargs["vocabulary"] = raw / kwargs["vocabulary"]
    try:
        hyp = read_scoring(path, psg_start=psg_start, n_epochs=n_epochs, **kwargs)
    except UnknownLabelError as exc:
        raise PreprocessError(
            path,
            f"unknown annotation {exc.label!r} at {exc.where}; map it in a vocabulary YAML file "
            "(docs/scoring-formats.md)",
        ) from None
    except ScoringMismatchError as exc:
        raise PreprocessError(path, f"PSG/hypnogram mismatch with {psg.name}: {exc.detail}") from None
    except InputError as exc:
        raise PreprocessError(path, str(exc).removeprefix(f"{path}: ")) from None
    for note in hyp.notes:
        log.info("%s", note)
    if not np.any(hyp.stages >= 0):
        raise PreprocessError(
            path, f"PSG/hypnogram mismatch with {psg.name}: no epoch inside the PSG is scored"
        )
    off = hyp.lights_off_s if options.get("lights_off_s") is None else options["lights_off_s"]
    on = hyp.lights_on_s if options.get("lights_on_s") is None else options["lights_on_s"]
    return EpochLabels(hyp.stages, lights_window(off, on, n_epochs, path))


def labels_from_annotations(
    annotations: Sequence[tuple[float, float, str]], n_epochs: int, file: str | Path, shift: float = 0.0
) -> np.ndarray:
    """int8 ``(n_epochs,)`` labels from ``(onset s, duration s, description)`` annotations.

    ``shift`` (s) is added to every onset (hypnogram start minus PSG start). Onsets and durations
    must lie on the 30-s grid; non-stage annotations are errors so a typo never silently vanishes.
    """
    labels = np.full(n_epochs, LABEL_UNSCORED, dtype=np.int8)
    for onset, duration, description in annotations:
        desc = description.strip()
        if desc not in ANNOTATION_CODES:
            raise PreprocessError(file, f"unknown annotation {desc!r} at {onset:g} s")
        start = (onset + shift) / EPOCH_SECONDS
        length = duration / EPOCH_SECONDS
        if abs(start - round(start)) * EPOCH_SECONDS > _GRID_TOLERANCE_S or (
            abs(length - round(length)) * EPOCH_SECONDS > _GRID_TOLERANCE_S
        ):
            raise PreprocessError(
                file,
                f"annotation {desc!r} at {onset:g} s lasting {duration:g} s is not on the 30-s epoch grid",
            )
        first, count = int(round(start)), int(round(length))
        lo, hi = max(first, 0), min(first + count, n_epochs)
        if hi > lo:
            labels[lo:hi] = ANNOTATION_CODES[desc]
    return labels


def label_counts(labels: np.ndarray) -> dict[str, int]:
    """Epoch counts per stage name plus ``unscored`` and ``movement``."""
    counts = {name: int(np.sum(labels == i)) for i, name in enumerate(STAGES)}
    counts["unscored"] = int(np.sum(labels == LABEL_UNSCORED))
    counts["movement"] = int(np.sum(labels == LABEL_MOVEMENT))
    return counts
