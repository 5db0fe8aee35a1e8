"""Write a scored night as CSV (one row per 30-s epoch) and as EDF+ annotations, and its sleep statistics
as JSON (``physioex.inference.sleep_statistics``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from physioex import EPOCH_SECONDS, STAGES
from physioex.io.atomic import atomic_path

if TYPE_CHECKING:
    from physioex.inference.sleep_period import SleepPeriod
    from physioex.inference.sleep_statistics import SleepStatistics

EDF_STAGE_TEXT = {
    "W": "Sleep stage W",
    "N1": "Sleep stage N1",
    "N2": "Sleep stage N2",
    "N3": "Sleep stage N3",
    "REM": "Sleep stage R",
}
"""EDF+ annotation text per stage (AASM names; Sleep-EDF's R&K files use 1-4 and R)."""


EDF_LIGHTS_TEXT = ("Lights off", "Lights on")
"""EDF+ annotation texts of the sleep period's ends (written when it is lights-off..lights-on)."""


def hypnogram_table(
    proba: np.ndarray,
    epoch_seconds: float = EPOCH_SECONDS,
    onset_s: float = 0.0,
    period: SleepPeriod | None = None,
) -> Any:
    """pandas DataFrame: onset_s, duration_s, stage, p_W..p_REM for probabilities ``(epochs, 5)``, and
    ``in_period`` (1 for the epochs of ``period`` the sleep statistics count, 0 outside; all 1 without)."""
    import pandas as pd

    n = proba.shape[0]
    df = pd.DataFrame(
        {
            "onset_s": onset_s + np.arange(n) * epoch_seconds,
            "duration_s": np.full(n, epoch_seconds),
            "stage": [STAGES[i] for i in proba.argmax(axis=1)],
        }
    )
    for k, s in enumerate(STAGES):
        df[f"p_{s}"] = np.round(proba[:, k].astype(np.float64), 5)
    inside = np.ones(n, dtype=np.int8)
    if period is not None:
        inside[:] = 0
        inside[period.start_epoch : period.stop_epoch] = 1
    df["in_period"] = inside
    return df


def write_csv(df: Any, path: Path) -> Path:
    """Write ``df`` to ``path`` atomically (temp file, then rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path


def stage_runs(stages: list[str], epoch_seconds: float = EPOCH_SECONDS) -> list[tuple[float, float, str]]:
    """Merge consecutive equal stages into ``(onset_s, duration_s, stage)`` runs."""
    runs: list[tuple[float, float, str]] = []
    for i, s in enumerate(stages):
        if runs and runs[-1][2] == s:
            onset, dur, _ = runs[-1]
            runs[-1] = (onset, dur + epoch_seconds, s)
        else:
            runs.append((i * epoch_seconds, epoch_seconds, s))
    return runs


def write_edf_annotations(
    stages: list[str],
    path: Path,
    *,
    start: dt.datetime | None = None,
    epoch_seconds: float = EPOCH_SECONDS,
    onset_s: float = 0.0,
    lights: tuple[float, float] | None = None,
) -> Path:
    """Write an annotation-only EDF+ file (``Sleep stage W|N1|N2|N3|R``, merged runs) atomically.

    ``start`` is the PSG's start date and time, so viewers align the hypnogram with the signals;
    ``lights`` (lights-off, lights-on in seconds from it) adds ``Lights off``/``Lights on`` annotations.
    """
    import edfio

    annotations = [
        edfio.EdfAnnotation(onset_s + onset, duration, EDF_STAGE_TEXT[s])
        for onset, duration, s in stage_runs(stages, epoch_seconds)
    ]
    if lights is not None:
        annotations += [
            edfio.EdfAnnotation(t, None, text) for t, text in zip(lights, EDF_LIGHTS_TEXT, strict=True)
        ]
    kwargs: dict[str, Any] = {}
    if start is not None:
        kwargs["starttime"] = start.time().replace(microsecond=0)
        kwargs["recording"] = edfio.Recording(startdate=start.date())
    edf = edfio.Edf([], annotations=annotations, **kwargs)
    path = Path(path)
    with atomic_path(path) as tmp:
        edf.write(tmp)
    return path


def write_statistics_json(statistics: SleepStatistics, path: Path, **extra: Any) -> Path:
    """Write ``statistics.to_dict()`` (plus ``extra`` keys) as JSON atomically; NaN is written as null."""
    import json

    from physioex.io.atomic import write_text_atomic

    path = Path(path)
    write_text_atomic(path, json.dumps({**extra, **statistics.to_dict()}, indent=2, allow_nan=False) + "\n")
    return path
