"""Faithfulness checks reported with every explain run.

* Completeness of Integrated Gradients: the attributions of an epoch must add up to the change of
  the explained score between the baseline and the input (Captum's convergence delta).
* Model-randomisation sanity check (Adebayo et al., NeurIPS 2018): attributions of the trained model
  and of the same architecture with re-initialised weights must differ; we report the Spearman rank
  correlation of their absolute values per epoch (near 1 means the method ignores the weights).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

if TYPE_CHECKING:
    from physioex.explain.attribute import RecordingExplanation


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


@dataclass
class FaithfulnessChecks:
    """Per-recording check values collected during a run, summarised by ``summarise_faithfulness``."""

    delta: list[np.ndarray] = field(default_factory=list)
    """Convergence delta of each explained epoch (chosen method)."""
    own: list[np.ndarray] = field(default_factory=list)
    """Score change from the own-epoch baseline to the input, per explained epoch."""
    window: list[np.ndarray] = field(default_factory=list)
    """Score change from the whole-window baseline to the input, per explained epoch."""
    rho: list[np.ndarray] = field(default_factory=list)
    """Spearman correlation, trained vs randomised model, per sampled epoch."""
    ig: list[np.ndarray] = field(default_factory=list)
    """``(2, epochs)`` IG delta and score change on sampled epochs (methods other than IG)."""

    def add_explained(self, res: RecordingExplanation) -> None:
        """Add the epochs of one recording that were explained (target >= 0)."""
        done = res.targets >= 0
        self.delta.append(res.delta[done])
        self.own.append((res.score - res.own_baseline_score)[done])
        self.window.append((res.score - res.window_baseline_score)[done])


def summarise_faithfulness(method: str, checks: FaithfulnessChecks, threshold: float) -> dict[str, Any]:
    """Completeness, randomisation and context numbers for ``faithfulness.json``."""
    cat = {k: (np.concatenate(v, axis=-1) if v else np.zeros(0)) for k, v in vars(checks).items()}
    if method == "integrated-gradients":
        comp: dict[str, Any] = dict(completeness_summary(cat["delta"], cat["own"]))
        comp["scope"] = "all explained epochs"
    else:
        ig = cat["ig"] if cat["ig"].size else np.zeros((2, 0))
        comp = dict(completeness_summary(ig[0], ig[1]))
        comp["scope"] = "sample of epochs (Integrated Gradients run alongside the chosen method)"
        if method in ("deeplift", "gradient-shap"):
            comp["method_mean_abs_delta"] = (
                float(np.nanmean(np.abs(cat["delta"]))) if cat["delta"].size else None
            )
    rho = cat["rho"][np.isfinite(cat["rho"])] if cat["rho"].size else np.zeros(0)
    mean_rho = float(rho.mean()) if rho.size else float("nan")
    own, window = np.abs(cat["own"]), np.abs(cat["window"])
    return {
        "completeness": comp,
        "randomisation": {
            "n_epochs": int(rho.size),
            "mean_spearman": mean_rho,
            "median_spearman": float(np.median(rho)) if rho.size else float("nan"),
            "threshold": threshold,
            "passed": bool(rho.size and mean_rho < threshold),
        },
        "context": {
            "mean_abs_own_epoch_change": float(own.mean()) if own.size else float("nan"),
            "mean_abs_whole_window_change": float(window.mean()) if window.size else float("nan"),
        },
    }
