"""Vectorised building blocks for synthetic physiology: coloured noise, band oscillations, event trains.

Everything works on whole-night arrays (samples along the last axis) with numpy/scipy FFTs and
``np.bincount`` scatter-adds; no per-sample Python loops.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def band_noise(
    rng: np.random.Generator, n: int, fs: float, bands: list[tuple[float, float]], *, pink: int = 0
) -> np.ndarray:
    """Unit-variance Gaussian noise, one row per band ``(centre Hz, width Hz)`` then ``pink`` rows of
    1/f noise above 0.3 Hz, shape ``(bands + pink, n)``; one batched FFT for all rows."""
    m = scipy.fft.next_fast_len(n, real=True)
    white = rng.standard_normal((len(bands) + pink, m), dtype=np.float32)
    spec = scipy.fft.rfft(white, axis=-1)
    f = np.fft.rfftfreq(m, 1.0 / fs)
    gains = [np.exp(-0.5 * ((f - centre) / (width / 2.0)) ** 2) for centre, width in bands]
    gains += [np.where(f > 0.3, 1.0, 0.0) / np.sqrt(np.maximum(f, 0.3))] * pink
    for i, g in enumerate(gains):
        # Unit output variance without a pass over the data: Parseval for an rfft of unit white noise.
        power = (g[0] ** 2 + 2.0 * np.sum(g[1:] ** 2)) / m
        spec[i] *= (g / np.sqrt(power + 1e-30)).astype(np.float32)
    out = scipy.fft.irfft(spec, n=m, axis=-1)[:, :n]
    return out.astype(np.float32, copy=False)


def epoch_envelope(
    values: np.ndarray,
    n: int,
    fs: float,
    epoch_s: float = 30.0,
    jitter_s: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Per-epoch values interpolated linearly between (jittered) epoch centres to ``n`` samples.

    Transitions therefore ramp over about one epoch instead of switching at the boundary.
    """
    centres = (np.arange(values.shape[-1]) + 0.5) * epoch_s
    if jitter_s and rng is not None:
        centres = centres + rng.uniform(-jitter_s, jitter_s, centres.size)
        centres = np.maximum.accumulate(centres)
    step = int(round(fs / 10.0))  # interpolate every 0.1 s and hold: envelopes change over seconds
    if step < 2 or not np.isclose(step, fs / 10.0):
        step = 1
    t = (np.arange(-(-n // step), dtype=np.float64) + 0.5) * (step / fs)
    coarse = np.interp(t, centres, values).astype(np.float32)
    return np.repeat(coarse, step)[:n] if step > 1 else coarse


def event_onsets(rng: np.random.Generator, rate_per_s: np.ndarray, fs: float, n: int) -> np.ndarray:
    """Poisson event onsets (sample indices) from a rate given per second, ``rate_per_s`` shape ``(s,)``."""
    counts = rng.poisson(np.clip(rate_per_s, 0.0, None))
    sec = np.repeat(np.arange(rate_per_s.size), counts)
    onsets = ((sec + rng.random(sec.size)) * fs).astype(np.int64)
    return onsets[onsets < n]


def scatter(n: int, onsets: np.ndarray, waves: np.ndarray) -> np.ndarray:
    """Sum event waveforms ``waves (events, L)`` placed at ``onsets`` into a length-``n`` float32 signal."""
    if onsets.size == 0:
        return np.zeros(n, dtype=np.float32)
    idx = onsets[:, None] + np.arange(waves.shape[1])[None, :]
    keep = idx < n
    out = np.zeros(n, dtype=np.float32)
    np.add.at(out, idx[keep], waves[keep].astype(np.float32))
    return out


def spindles(rng: np.random.Generator, k: int, fs: float, freq: float, amp: float) -> np.ndarray:
    """``k`` sleep spindles (waxing-waning 0.5-2 s bursts near ``freq`` Hz, ``amp`` uV), ``(k, 2.2 s)``."""
    t = np.arange(int(2.2 * fs)) / fs
    dur = rng.uniform(0.5, 2.0, (k, 1))
    f = freq + rng.uniform(-0.6, 0.6, (k, 1))
    a = amp * rng.uniform(0.6, 1.4, (k, 1))
    win = np.where(t < dur, np.sin(np.pi * np.minimum(t / dur, 1.0)) ** 2, 0.0)
    return a * win * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, (k, 1)))


def k_complexes(rng: np.random.Generator, k: int, fs: float, amp: float) -> np.ndarray:
    """``k`` K-complexes: sharp negative then slower positive wave, about ``amp`` uV, ``(k, 1.5 s)``."""
    t = np.arange(int(1.5 * fs)) / fs
    a = amp * rng.uniform(0.7, 1.4, (k, 1))
    w = rng.uniform(0.8, 1.2, (k, 1))
    neg = np.exp(-(((t - 0.35 * w) / (0.09 * w)) ** 2))
    pos = 0.55 * np.exp(-(((t - 0.8 * w) / (0.2 * w)) ** 2))
    return a * 0.65 * (pos - neg)


def vertex_waves(rng: np.random.Generator, k: int, fs: float, amp: float) -> np.ndarray:
    """``k`` vertex sharp waves of drowsiness/N1 (about 0.2 s, ``amp`` uV), ``(k, 0.6 s)``."""
    t = np.arange(int(0.6 * fs)) / fs
    a = amp * rng.uniform(0.6, 1.3, (k, 1))
    return -a * np.exp(-(((t - 0.2) / 0.05) ** 2)) + 0.3 * a * np.exp(-(((t - 0.35) / 0.08) ** 2))


def sawtooth_trains(rng: np.random.Generator, k: int, fs: float, amp: float) -> np.ndarray:
    """``k`` REM sawtooth-wave trains (2-6 Hz triangular waves for 1-3 s), ``(k, 3.5 s)``."""
    t = np.arange(int(3.5 * fs)) / fs
    f = rng.uniform(2.0, 6.0, (k, 1))
    dur = rng.uniform(1.0, 3.0, (k, 1))
    phase = (f * t) % 1.0
    tooth = np.where(phase < 0.8, phase / 0.8, (1.0 - phase) / 0.2) * 2.0 - 1.0
    win = np.where(t < dur, np.sin(np.pi * np.minimum(t / dur, 1.0)) ** 0.5, 0.0)
    return amp * rng.uniform(0.6, 1.3, (k, 1)) * tooth * win


def saccades(rng: np.random.Generator, k: int, fs: float, amp: float, hp_hz: float = 0.5) -> np.ndarray:
    """``k`` eye saccades as seen through the EOG high-pass (fast step, exponential decay), ``(k, 2 s)``."""
    t = np.arange(int(2.0 * fs)) / fs
    a = amp * rng.uniform(0.4, 1.3, (k, 1)) * rng.choice([-1.0, 1.0], (k, 1))
    tau = 1.0 / (2 * np.pi * hp_hz)
    return a * (1.0 - np.exp(-t / 0.03)) * np.exp(-t / tau)


def blinks(rng: np.random.Generator, k: int, fs: float, amp: float) -> np.ndarray:
    """``k`` eye blinks (monophasic 0.2-0.4 s bumps, ``amp`` uV), ``(k, 0.8 s)``."""
    t = np.arange(int(0.8 * fs)) / fs
    w = rng.uniform(0.05, 0.09, (k, 1))
    return amp * rng.uniform(0.6, 1.3, (k, 1)) * np.exp(-(((t - 0.3) / w) ** 2))


def pops(rng: np.random.Generator, k: int, fs: float, amp: float) -> np.ndarray:
    """``k`` electrode pops: an abrupt jump decaying over 0.3-1 s, random sign, ``(k, 3 s)``."""
    t = np.arange(int(3.0 * fs)) / fs
    tau = rng.uniform(0.3, 1.0, (k, 1))
    return amp * rng.uniform(0.5, 1.5, (k, 1)) * rng.choice([-1.0, 1.0], (k, 1)) * np.exp(-t / tau)


def burst_expand(rng: np.random.Generator, onsets: np.ndarray, fs: float, max_extra: int) -> np.ndarray:
    """Turn burst onsets into clusters of 1..``max_extra + 1`` events within about 1.5 s (phasic REM)."""
    m = 1 + rng.integers(0, max_extra + 1, onsets.size)
    base = np.repeat(onsets, m)
    first = np.repeat(np.cumsum(m) - m, m)
    order = np.arange(base.size) - first
    return np.sort(base + (order * rng.uniform(0.25, 0.5, base.size) * fs).astype(np.int64))
