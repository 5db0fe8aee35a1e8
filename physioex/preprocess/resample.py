"""Bring a channel to the store rate (default 100 Hz) and optionally band-pass it.

``scipy.signal.resample_poly`` applies a polyphase anti-aliasing (or anti-imaging) FIR filter, so
250 Hz Dreem EEG becomes 100 Hz without aliasing. The band-pass is a zero-phase Butterworth
(``sosfiltfilt``), off by default so signals stay as recorded.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def resample(x: np.ndarray, rate: float, target: float) -> np.ndarray:
    """Resample 1-D ``x`` from ``rate`` Hz to ``target`` Hz (float64 out; identity when equal)."""
    if rate == target:
        return np.asarray(x, dtype=np.float64)
    from scipy.signal import resample_poly

    ratio = Fraction(target / rate).limit_denominator(1000)
    if abs(float(ratio) - target / rate) > 1e-9:
        raise ValueError(f"cannot resample {rate} Hz to {target} Hz with a small rational ratio")
    return resample_poly(np.asarray(x, dtype=np.float64), ratio.numerator, ratio.denominator)


def bandpass(x: np.ndarray, rate: float, low: float, high: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth band-pass of 1-D ``x`` (Hz)."""
    from scipy.signal import butter, sosfiltfilt

    if not 0 < low < high < rate / 2:
        raise ValueError(f"band-pass {low}-{high} Hz must satisfy 0 < low < high < {rate / 2} Hz")
    sos = butter(order, [low, high], btype="bandpass", fs=rate, output="sos")
    return sosfiltfilt(sos, np.asarray(x, dtype=np.float64))
