"""Frequency-band importance: drop in the explained stage's probability when a band is removed.

Each band is removed with one batched real FFT: the input's spectrum is computed once, the band's
bins are zeroed for the whole batch and one inverse FFT plus one forward pass gives the scores. This
replaces the slow practice of running dozens of band-filtered copies of every input.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch
from torch import Tensor

#: EEG bands in Hz, ``[low, high)``; gamma runs up to the Nyquist frequency (inclusive).
BANDS: dict[str, tuple[float, float]] = {
    "delta": (0.5, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 12.0),
    "sigma": (12.0, 16.0),
    "beta": (16.0, 30.0),
    "gamma": (30.0, math.inf),
}
BAND_NAMES: tuple[str, ...] = tuple(BANDS)

ScoreFn = Callable[[Tensor], Tensor]
"""Maps epochs ``(N, channels, samples)`` to the explained stage's probability per epoch ``(N,)``."""


def band_masks(n_samples: int, sampling_rate: float, bands: tuple[str, ...] = BAND_NAMES) -> Tensor:
    """Boolean rFFT-bin masks ``(len(bands), n_samples // 2 + 1)``, True where a bin lies in the band."""
    freqs = torch.fft.rfftfreq(n_samples, d=1.0 / sampling_rate, dtype=torch.float64)
    rows = []
    for name in bands:
        if name not in BANDS:
            raise ValueError(f"unknown band {name!r}; choose from {', '.join(BAND_NAMES)}")
        lo, hi = BANDS[name]
        rows.append(
            (freqs >= lo) & ((freqs < hi) if math.isfinite(hi) else torch.ones_like(freqs, dtype=torch.bool))
        )
    return torch.stack(rows)


def remove_bands(x: Tensor, sampling_rate: float, bands: tuple[str, ...]) -> Tensor:
    """Copy of ``x`` (..., samples) with the given bands zeroed in its spectrum (one rFFT/irFFT)."""
    n = x.shape[-1]
    keep = ~band_masks(n, sampling_rate, bands).any(dim=0).to(x.device)
    spec = torch.fft.rfft(x, dim=-1)
    return torch.fft.irfft(spec * keep, n=n, dim=-1).to(x.dtype)


@torch.no_grad()
def band_drop(score: ScoreFn, x: Tensor, sampling_rate: float, bands: tuple[str, ...] = BAND_NAMES) -> Tensor:
    """Probability drop ``(N, len(bands))`` when each band is removed from epochs ``x`` (N, C, S).

    The spectrum is computed once; each band then costs one masked inverse FFT and one forward pass
    over the whole batch. Positive values mean the band supported the explained stage.
    """
    n = x.shape[-1]
    masks = band_masks(n, sampling_rate, bands).to(x.device)
    spec = torch.fft.rfft(x, dim=-1)
    full = score(x)
    drops = [full - score(torch.fft.irfft(spec * ~m, n=n, dim=-1).to(x.dtype)) for m in masks]
    return torch.stack(drops, dim=1)


@torch.no_grad()
def band_shapley(
    score: ScoreFn, x: Tensor, sampling_rate: float, bands: tuple[str, ...] = BAND_NAMES
) -> Tensor:
    """Exact Shapley values ``(N, len(bands))`` of the bands for the explained stage's probability.

    The value of a coalition is the probability with only its bands present (all other bands
    removed; content below 0.5 Hz is always kept). All ``2**len(bands)`` coalitions are evaluated
    (64 for six bands), each with one masked inverse FFT and one batched forward pass, instead of
    Captum's permutation enumeration (``n! * n`` evaluations). The values sum to
    ``p(x) - p(x with every band removed)`` for each epoch.
    """
    n_bands = len(bands)
    n = x.shape[-1]
    masks = band_masks(n, sampling_rate, bands).to(x.device)
    spec = torch.fft.rfft(x, dim=-1)
    values: dict[tuple[int, ...], Tensor] = {}
    for size in range(n_bands + 1):
        for coalition in itertools.combinations(range(n_bands), size):
            absent = [i for i in range(n_bands) if i not in coalition]
            keep = ~masks[absent].any(dim=0) if absent else torch.ones_like(masks[0])
            values[coalition] = score(torch.fft.irfft(spec * keep, n=n, dim=-1).to(x.dtype))
    phi = torch.zeros(x.shape[0], n_bands, dtype=torch.float64, device=x.device)
    for coalition, v in values.items():
        for i in range(n_bands):
            if i in coalition:
                continue
            s = len(coalition)
            weight = math.factorial(s) * math.factorial(n_bands - s - 1) / math.factorial(n_bands)
            with_i = tuple(sorted((*coalition, i)))
            phi[:, i] += weight * (values[with_i] - v).double()
    return phi.to(x.dtype)
