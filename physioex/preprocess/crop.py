"""Which epochs of a night to keep: all, the lights-off..lights-on window, or sleep +- N minutes of wake.

Every epoch inside the chosen window is kept (unscored ones keep label -1/-2), so consecutive stored
epochs are consecutive in time. The default ``sleep`` crop keeps 30 min of wake before the first and
after the last sleep epoch (SC4001 -> 841 epochs). ``non-wake`` is the reference rule of DeepSleepNet and
TinySleepNet's Sleep-EDF preparation: it anchors the same margins on the first and last epoch that is
not scored W, so unscored (``?``) and movement epochs count as anchors (a night ending in unscored
epochs keeps them and up to 30 min after); those scripts then drop the unscored and movement epochs,
which physioex keeps, labelled -1/-2 and ignored by losses and metrics, so stored epochs stay
consecutive in time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from physioex import EPOCH_SECONDS
from physioex.choices import Crop, names
from physioex.preprocess.errors import PreprocessError
from physioex.preprocess.labels import SLEEP_CODES

WAKE = 0
"""Label code of W (the ``non-wake`` crop anchors on every other code, -1 and -2 included)."""

CROPS = names(Crop)
"""``auto``: ``lights`` where the source knows it (Dreem records span lights-off..on), else ``sleep``."""


def crop_window(
    labels: np.ndarray,
    crop: str,
    *,
    minutes: float = 30.0,
    lights: tuple[int, int] | None = None,
    file: str | Path = "",
) -> tuple[int, int]:
    """Epoch window ``[start, stop)`` to keep, from the labels ``(epochs,)`` and the crop mode.

    ``lights`` is the lights-off..lights-on window in epochs when the source knows it.
    """
    n = int(labels.shape[0])
    if crop == "auto":
        crop = "lights" if lights is not None else "sleep"
    if crop == "none":
        return 0, n
    if crop == "lights":
        if lights is None:
            raise PreprocessError(
                file, "lights-off/on times are unknown for this recording; use crop sleep or none"
            )
        return max(0, lights[0]), min(n, lights[1])
    if crop in ("sleep", "non-wake"):
        anchors = np.flatnonzero(np.isin(labels, SLEEP_CODES) if crop == "sleep" else labels != WAKE)
        if anchors.size == 0:
            what = "sleep epoch is scored" if crop == "sleep" else "epoch is other than wake"
            raise PreprocessError(file, f"no {what}; cannot crop around sleep (use crop none)")
        margin = int(round(minutes * 60.0 / EPOCH_SECONDS))
        return max(0, int(anchors[0]) - margin), min(n, int(anchors[-1]) + 1 + margin)
    raise ValueError(f"unknown crop {crop!r}; choose one of {', '.join(CROPS)}")
