"""Which epochs of a night to keep: all, the lights-off..lights-on window, or sleep +- N minutes of wake.

Every epoch inside the chosen window is kept (unscored ones keep label -1/-2), so consecutive stored
epochs are consecutive in time. The default ``sleep`` crop keeps 30 min of wake before the first and
after the last sleep epoch (TinySleepNet/DeepSleepNet convention; SC4001 -> 841 epochs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from physioex import EPOCH_SECONDS
from physioex.choices import Crop, names
from physioex.preprocess.errors import PreprocessError
from physioex.preprocess.labels import SLEEP_CODES

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
    if crop == "sleep":
        sleep = np.flatnonzero(np.isin(labels, SLEEP_CODES))
        if sleep.size == 0:
            raise PreprocessError(file, "no sleep epoch is scored; cannot crop around sleep (use crop none)")
        margin = int(round(minutes * 60.0 / EPOCH_SECONDS))
        return max(0, int(sleep[0]) - margin), min(n, int(sleep[-1]) + 1 + margin)
    raise ValueError(f"unknown crop {crop!r}; choose one of {', '.join(CROPS)}")
