"""A PSG's channels as ``preprocess`` stores them: the same reader, resampling and band-pass, no labels.

``preprocess`` (``recording.py``) conditions every resampled or filtered channel with
``condition_channel``; ``predict`` reads a new night with ``read_edf_signals`` driven by the
preprocessing parameters of the store its model was trained on, so the model sees the same signals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from physioex import EPOCH_SECONDS
from physioex.preprocess.errors import PreprocessError
from physioex.preprocess.params import PreprocessParams
from physioex.preprocess.resample import bandpass, resample


def samples_per_epoch(rate: float, file: Path, name: str) -> int:
    """Samples in a 30-s epoch at ``rate`` Hz; ``PreprocessError`` naming ``file`` and channel ``name``
    when it is not a whole number."""
    spe = rate * EPOCH_SECONDS
    if abs(spe - round(spe)) > 1e-6:
        raise PreprocessError(file, f"channel {name!r} at {rate} Hz has no whole number of samples per 30 s")
    return int(round(spe))


def condition_channel(
    name: str, x: np.ndarray, rate: float, unit: str, params: PreprocessParams, file: Path, attrs: dict
) -> tuple[np.ndarray, dict]:
    """Resample (+ optional band-pass) a full-length channel ``x`` at ``rate`` Hz to the store rate.

    Returns the float64 samples and ``attrs`` plus ``source_sampling_rate``, ``resampled``, ``unit``.
    """
    target = params.sampling_rate
    if rate < target and not params.allow_upsampling:
        raise PreprocessError(
            file,
            f"channel {name!r} is sampled at {rate:g} Hz, below the store rate {target:g} Hz "
            "(e.g. Sleep-EDF's 1 Hz EMG envelope); allow upsampling explicitly to interpolate it",
        )
    y = resample(x, rate, target)
    if params.bandpass:
        y = bandpass(y, target, *params.bandpass)
    return y, {**attrs, "source_sampling_rate": rate, "resampled": rate != target, "unit": unit}


@dataclass(frozen=True)
class PsgSignals:
    """Whole 30-s epochs of the selected channels: ``data`` float32 ``(epochs, channels, samples)``
    (uV for voltage channels) at the store rate, and the PSG's start date and time."""

    data: np.ndarray
    start_time: datetime


def edf_labels(path: str | Path) -> list[str]:
    """Signal labels of the EDF/EDF+ file at ``path`` (``PreprocessError`` when it is not readable)."""
    from physioex.preprocess.channels import _edf_labels  # header-only label read (one place)
    from physioex.preprocess.edf_reader import PsgFile

    path = Path(path)
    with PsgFile(path, []):  # the checks preprocess applies: size against header, pyedflib opens it
        pass
    labels = _edf_labels(path)
    if labels is None:
        raise PreprocessError(path, "unreadable EDF header")
    return labels


def read_edf_signals(path: str | Path, channels: list[str], params: PreprocessParams) -> PsgSignals:
    """``channels`` (exact EDF labels) of the PSG at ``path``, whole-night conditioned as ``preprocess``
    does (``condition_channel``), cut into whole 30-s epochs (trailing samples dropped).

    Parameters
    ----------
    path : str or Path
        An EDF/EDF+ PSG.
    channels : list[str]
        Labels to read, in the order of the returned channel axis.
    params : PreprocessParams
        Store rate, band-pass and upsampling rule (the training store's ``preprocessing``).

    Returns
    -------
    PsgSignals
        ``data`` ``(epochs, channels, samples)`` float32; 0 epochs when shorter than 30 s.
    """
    from physioex.preprocess.edf_reader import PsgFile

    path = Path(path)
    spe = samples_per_epoch(params.sampling_rate, path, "store")
    conditioned = []
    with PsgFile(path, channels) as psg:
        for name in channels:
            c = psg.read(name)
            y, _ = condition_channel(name, c.physical(), c.sampling_rate, c.unit, params, path, c.attrs)
            conditioned.append(y)
        start = psg.start_time
    n = min(len(y) for y in conditioned) // spe if conditioned else 0
    data = np.stack([y[: n * spe].reshape(n, spe) for y in conditioned], axis=1).astype(np.float32)
    return PsgSignals(np.ascontiguousarray(data), start)
