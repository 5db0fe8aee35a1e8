"""Faithfulness checks reported with every explain run.

* Completeness of Integrated Gradients: the attributions of an epoch must add up to the change of
  the explained score between the baseline and the input (Captum's convergence delta).
* Model-randomisation sanity check (Adebayo et al., NeurIPS 2018): attributions of the trained model
  and of the same architecture with re-initialised weights must differ; we report the Spearman rank
  correlation of their absolute values per epoch (near 1 means the method ignores the weights).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn


def randomised_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """Deep copy of ``model`` with every layer's weights re-initialised (``reset_parameters``), eval mode."""
    clone = copy.deepcopy(model)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for module in clone.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    finally:
        torch.random.set_rng_state(generator_state)
    return clone.eval()


def completeness_summary(delta: np.ndarray, score_change: np.ndarray) -> dict[str, float | int]:
    """Summary of convergence deltas ``(epochs,)`` relative to the score changes they should match.

    ``relative`` = |delta| / |score change| (epochs whose change is below 1e-6 are left out of it).
    """
    ok = np.isfinite(delta) & np.isfinite(score_change)
    d = np.abs(delta[ok]).astype(np.float64)
    change = np.abs(score_change[ok]).astype(np.float64)
    big = change > 1e-6
    rel = d[big] / change[big]
    return {
        "n_epochs": int(ok.sum()),
        "mean_abs_delta": float(d.mean()) if d.size else float("nan"),
        "max_abs_delta": float(d.max()) if d.size else float("nan"),
        "mean_abs_score_change": float(change.mean()) if change.size else float("nan"),
        "median_relative_delta": float(np.median(rel)) if rel.size else float("nan"),
        "p95_relative_delta": float(np.percentile(rel, 95)) if rel.size else float("nan"),
    }


def rank_correlation(trained: np.ndarray, random: np.ndarray) -> np.ndarray:
    """Spearman correlation per epoch of |attributions| ``(epochs, channels, samples)`` of two models.

    Epochs where either map is constant (correlation undefined) give NaN.
    """
    out = np.full(trained.shape[0], np.nan)
    for i, (a, b) in enumerate(zip(trained, random, strict=True)):
        a, b = np.abs(a).ravel(), np.abs(b).ravel()
        if np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and a.std() > 0 and b.std() > 0:
            out[i] = spearmanr(a, b).statistic
    return out


def sample_epochs(counts: list[int], n: int) -> list[np.ndarray]:
    """Evenly spaced epoch indices, ``n`` in total over recordings with ``counts`` epochs each."""
    total = sum(counts)
    if total == 0:
        return [np.zeros(0, dtype=np.int64) for _ in counts]
    picks = np.unique(np.linspace(0, total - 1, num=min(n, total)).round().astype(np.int64))
    offsets = np.cumsum([0, *counts])
    return [
        picks[(picks >= lo) & (picks < hi)] - lo for lo, hi in zip(offsets[:-1], offsets[1:], strict=True)
    ]
