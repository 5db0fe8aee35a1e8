"""Write a scored night as CSV (one row per 30-s epoch) and as EDF+ annotations; summarise it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from physioex import EPOCH_SECONDS, STAGES
from physioex.io.atomic import atomic_path

EDF_STAGE_TEXT = {
    "W": "Sleep stage W",
    "N1": "Sleep stage N1",
    "N2": "Sleep stage N2",
    "N3": "Sleep stage N3",
    "REM": "Sleep stage R",
}
"""EDF+ annotation text per stage (AASM names; Sleep-EDF's R&K files use 1-4 and R)."""


def hypnogram_table(proba: np.ndarray, epoch_seconds: float = EPOCH_SECONDS, onset_s: float = 0.0) -> Any:
    """pandas DataFrame: onset_s, duration_s, stage, p_W..p_REM for probabilities ``(epochs, 5)``."""
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
) -> Path:
    """Write an annotation-only EDF+ file (``Sleep stage W|N1|N2|N3|R``, merged runs) atomically.

    ``start`` is the PSG's start date and time, so viewers align the hypnogram with the signals.
    """
    import edfio

    annotations = [
        edfio.EdfAnnotation(onset_s + onset, duration, EDF_STAGE_TEXT[s])
        for onset, duration, s in stage_runs(stages, epoch_seconds)
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


def sleep_summary(stages: list[str], epoch_seconds: float = EPOCH_SECONDS) -> dict[str, float]:
    """Time in bed, total sleep time, sleep efficiency, latency, WASO and minutes per stage.

    Time in bed is the whole scored recording; sleep efficiency = TST / TIB (0..1); sleep onset
    latency = minutes to the first non-W epoch; WASO = wake minutes between first and last sleep.
    """
    arr = np.array(stages)
    minutes = epoch_seconds / 60.0
    sleep = arr != "W"
    tib = len(arr) * minutes
    tst = float(sleep.sum()) * minutes
    out: dict[str, float] = {"time_in_bed_min": tib, "total_sleep_time_min": tst}
    out["sleep_efficiency"] = round(tst / tib, 4) if tib else 0.0
    idx = np.flatnonzero(sleep)
    if idx.size:
        out["sleep_onset_latency_min"] = float(idx[0]) * minutes
        out["waso_min"] = float((~sleep[idx[0] : idx[-1] + 1]).sum()) * minutes
    else:
        out["sleep_onset_latency_min"] = float("nan")
        out["waso_min"] = 0.0
    for s in STAGES:
        out[f"{s}_min"] = float((arr == s).sum()) * minutes
    return out
