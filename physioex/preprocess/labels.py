"""Sleep-stage labels per 30-s epoch: R&K/AASM annotation strings to the AASM classes 0..4.

Convention (docs/conventions.md section 1): W->0, 1->N1 (1), 2->N2 (2), 3 and 4->N3 (3), R->REM (4);
``Sleep stage ?`` and epochs without annotation -> -1 (unscored); ``Movement time`` -> -2.
Labels are truncated to the signal length (the last Sleep-EDF ``?`` runs past the PSG end).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from physioex import EPOCH_SECONDS, STAGES
from physioex.preprocess.errors import PreprocessError
from physioex.store.layout import LABEL_MOVEMENT, LABEL_UNSCORED

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
