"""A PSG's channels as ``preprocess`` stores them: the same reader, resampling and band-pass, no labels.

``preprocess`` (``recording.py``) conditions every resampled or filtered channel with
``condition_channel``; ``predict`` reads a new night with ``read_edf_signals`` driven by the
preprocessing parameters of the store its model was trained on, so the model sees the same signals.

Resampling rule (docs/store-format.md, "Preprocessing conventions"): a channel recorded below
``SLOW_RATE_HZ`` is a slow signal (Sleep-EDF SC's 1 Hz ``EMG submental`` envelope, ``Resp oro-nasal``,
``Temp rectal``, ``Event marker``), not a band-limited waveform; it is upsampled by linear
interpolation between its samples, which stays within the input's range and passes through every
input sample at its own instant. Polyphase (band-limited) upsampling of such a channel rings below an
envelope's minimum (physically impossible RMS values), around every step and at both ends of the
night. Every other rate change (Dreem's 250 Hz EEG to 100 Hz, 100 Hz EEG to a higher store rate)
stays polyphase, with its anti-aliasing / anti-imaging filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np

from physioex import EPOCH_SECONDS
from physioex.preprocess.errors import PreprocessError
from physioex.preprocess.params import PreprocessParams
from physioex.preprocess.resample import bandpass, resample

SLOW_RATE_HZ = 10.0
"""Channels recorded below this rate (Hz) are slow signals, upsampled by linear interpolation.

No waveform a sleep stager reads (EEG, EOG, raw EMG, ECG) is recorded this slowly; what is (envelopes,
temperature, markers, 1 Hz respiration) is a sequence of values of a slow quantity, not a band-limited
signal to be reconstructed with a sinc filter."""

UPSAMPLING_RULE = "linear-below-10Hz"
"""Names the rule above in the preprocessing hash: stores upsampled under another rule (the former
polyphase upsampling of 1 Hz channels) are recognised as different and rebuilt."""


def samples_per_epoch(rate: float, file: Path, name: str) -> int:
    """Samples in a 30-s epoch at ``rate`` Hz; ``PreprocessError`` naming ``file`` and channel ``name``
    when it is not a whole number."""
    spe = rate * EPOCH_SECONDS
    if abs(spe - round(spe)) > 1e-6:
        raise PreprocessError(file, f"channel {name!r} at {rate} Hz has no whole number of samples per 30 s")
    return int(round(spe))


def resampling_method(rate: float, target: float) -> str:
    """How a channel at ``rate`` Hz reaches the store rate ``target`` Hz.

    ``"none"`` (same rate), ``"linear"`` (upsampling a channel recorded below ``SLOW_RATE_HZ``) or
    ``"polyphase"`` (``scipy.signal.resample_poly`` with its anti-aliasing/anti-imaging FIR).
    """
    if rate == target:
        return "none"
    return "linear" if rate < target and rate < SLOW_RATE_HZ else "polyphase"


def interpolate_linear(x: np.ndarray, rate: float, target: float) -> np.ndarray:
    """Upsample 1-D ``x`` from ``rate`` Hz to ``target`` Hz by linear interpolation (float64 out).

    Input sample ``k`` sits at ``k / rate`` s and output sample ``j`` at ``j / target`` s (the grid
    ``resample_poly`` uses, and as many samples: ``ceil(len(x) * target / rate)``). Output samples at
    an input instant equal that input sample exactly; those between two input samples lie on the line
    joining them, so the output never leaves ``[x.min(), x.max()]``; those after the last input instant
    (the final input period) hold the last sample.

    Parameters
    ----------
    x : np.ndarray
        ``(samples,)`` at ``rate`` Hz, any unit.
    rate, target : float
        Input and output rates, Hz, with ``target > rate`` and a small rational ratio.

    Returns
    -------
    np.ndarray
        ``(ceil(samples * target / rate),)`` float64 in the unit of ``x``.
    """
    ratio = Fraction(target / rate).limit_denominator(1000)
    if abs(float(ratio) - target / rate) > 1e-9 or ratio <= 1:
        raise ValueError(f"cannot upsample {rate} Hz to {target} Hz with a small rational ratio")
    x = np.asarray(x, dtype=np.float64)
    n_out = -(-len(x) * ratio.numerator // ratio.denominator)
    # output instants in input-sample units, exact at multiples of the ratio (integer / integer)
    position = np.arange(n_out, dtype=np.float64) * ratio.denominator / ratio.numerator
    return np.interp(position, np.arange(len(x), dtype=np.float64), x)


def condition_channel(
    name: str, x: np.ndarray, rate: float, unit: str, params: PreprocessParams, file: Path, attrs: dict
) -> tuple[np.ndarray, dict]:
    """Resample (+ optional band-pass) a full-length channel ``x`` at ``rate`` Hz to the store rate.

    Returns the float64 samples and ``attrs`` plus ``source_sampling_rate``, ``resampled``,
    ``resampling`` (``resampling_method``) and ``unit``. Upsampling is refused unless
    ``params.allow_upsampling``.
    """
    target = params.sampling_rate
    if rate < target and not params.allow_upsampling:
        raise PreprocessError(
            file,
            f"channel {name!r} is sampled at {rate:g} Hz, below the store rate {target:g} Hz "
            "(e.g. Sleep-EDF's 1 Hz EMG envelope); allow upsampling explicitly to interpolate it",
        )
    method = resampling_method(rate, target)
    y = interpolate_linear(x, rate, target) if method == "linear" else resample(x, rate, target)
    if params.bandpass:
        y = bandpass(y, target, *params.bandpass)
    return y, {
        **attrs,
        "source_sampling_rate": rate,
        "resampled": rate != target,
        "resampling": method,
        "unit": unit,
    }


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
    """``channels`` (channel requests, docs/channels.md) of the PSG at ``path``, whole-night conditioned
    as ``preprocess`` does (``condition_channel``), cut into whole 30-s epochs (trailing samples dropped).

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
    with PsgFile(path, channels, params.aliases()) as psg:
        for name in channels:
            c = psg.read(name)
            y, _ = condition_channel(name, c.physical(), c.sampling_rate, c.unit, params, path, c.attrs)
            conditioned.append(y)
        start = psg.start_time
    n = min(len(y) for y in conditioned) // spe if conditioned else 0
    data = np.stack([y[: n * spe].reshape(n, spe) for y in conditioned], axis=1).astype(np.float32)
    return PsgSignals(np.ascontiguousarray(data), start)
