"""Faithfulness checks reported with every explain run (``faithfulness.json``).

* **Completeness / convergence delta.** Integrated Gradients, DeepLift and GradientShap promise that an
  epoch's attributions add up to the change of the explained score between the baseline and the
  input; the convergence delta is the gap. It is summarised relative to the score change, for the
  run's method and for Integrated Gradients (run alongside on a sample when the method is another),
  with a warning when the median relative delta exceeds :data:`DELTA_WARNING`.
* **Model randomisation** (:mod:`physioex.explain.randomisation`).
* **Context**: how much of the score change the own epoch carries vs the whole window.

Thresholds and their reasons: ``docs/explanation-checks.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from physioex.explain.randomisation import RandomisationChecks, Step, summarise_randomisation

if TYPE_CHECKING:
    from physioex.explain.attribute import RecordingExplanation

WITH_DELTA = ("integrated-gradients", "deeplift", "gradient-shap")
"""Methods with a convergence delta (attributions that should add up to the score change)."""
DELTA_WARNING = 0.1
"""Warn when the median |delta| / |score change| exceeds this (a tenth of the change unexplained)."""
MIN_CHANGE = 1e-6
"""Epochs whose |score change| is below this are left out of the relative delta (0/0)."""


def completeness_summary(delta: np.ndarray, score_change: np.ndarray) -> dict[str, float | int]:
    """Summary of convergence deltas ``(epochs,)`` relative to the score changes they should match.

    ``relative`` = |delta| / |score change| (epochs whose change is below :data:`MIN_CHANGE` are left
    out of it); median, 95th percentile and maximum over epochs.
    """
    ok = np.isfinite(delta) & np.isfinite(score_change)
    d = np.abs(delta[ok]).astype(np.float64)
    change = np.abs(score_change[ok]).astype(np.float64)
    big = change > MIN_CHANGE
    rel = d[big] / change[big]
    nan = float("nan")
    return {
        "n_epochs": int(ok.sum()),
        "mean_abs_delta": float(d.mean()) if d.size else nan,
        "max_abs_delta": float(d.max()) if d.size else nan,
        "mean_abs_score_change": float(change.mean()) if change.size else nan,
        "median_relative_delta": float(np.median(rel)) if rel.size else nan,
        "p95_relative_delta": float(np.percentile(rel, 95)) if rel.size else nan,
        "max_relative_delta": float(rel.max()) if rel.size else nan,
    }


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
    """Convergence delta of each explained epoch (chosen method; NaN if it has none)."""
    own: list[np.ndarray] = field(default_factory=list)
    """Score change from the own-epoch baseline to the input, per explained epoch."""
    window: list[np.ndarray] = field(default_factory=list)
    """Score change from the whole-window baseline to the input, per explained epoch."""
    ig: list[np.ndarray] = field(default_factory=list)
    """``(2, epochs)`` IG delta and score change on sampled epochs (methods other than IG)."""
    randomisation: RandomisationChecks = field(default_factory=RandomisationChecks)

    def add_explained(self, res: RecordingExplanation) -> None:
        """Add the epochs of one recording that were explained (target >= 0)."""
        done = res.targets >= 0
        self.delta.append(res.delta[done])
        self.own.append((res.score - res.own_baseline_score)[done])
        self.window.append((res.score - res.window_baseline_score)[done])


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts, axis=-1) if parts else np.zeros(0)


def _delta_warning(method: str, summary: dict[str, Any], advice: str) -> str | None:
    rel = summary.get("median_relative_delta")
    if rel is None or not np.isfinite(rel) or rel <= DELTA_WARNING:
        return None
    return (
        f"{method}: median |convergence delta| is {rel:.3g} of the score change (> {DELTA_WARNING}): "
        f"its attributions do not add up to the model's change; {advice}"
    )


def summarise_faithfulness(method: str, checks: FaithfulnessChecks, steps: list[Step]) -> dict[str, Any]:
    """Completeness, convergence delta, randomisation, context and warnings for ``faithfulness.json``."""
    delta, own, window = _cat(checks.delta), _cat(checks.own), _cat(checks.window)
    warnings: list[str] = []
    if method == "integrated-gradients":
        comp: dict[str, Any] = dict(completeness_summary(delta, own))
        comp["scope"] = "all explained epochs"
    else:
        ig = _cat(checks.ig) if checks.ig else np.zeros((2, 0))
        comp = dict(completeness_summary(ig[0], ig[1]))
        comp["scope"] = "sample of epochs (Integrated Gradients run alongside the chosen method)"
    ig_warning = _delta_warning("integrated-gradients", comp, "raise --n-steps")
    convergence: dict[str, Any] | None = None
    if method in WITH_DELTA:
        convergence = {"method": method, "scope": "all explained epochs", **completeness_summary(delta, own)}
        convergence["threshold"] = DELTA_WARNING
        advice = "raise --n-steps" if method == "integrated-gradients" else "prefer integrated-gradients"
        warning = _delta_warning(method, convergence, advice)
        convergence["large"] = warning is not None
        warnings += [warning] if warning else []
    if ig_warning and method != "integrated-gradients":
        warnings.append(ig_warning)
    randomisation = summarise_randomisation(checks.randomisation, steps)
    v = randomisation["verdict"]
    if not v["n_epochs"]:
        warnings.append(f"{method}: model-randomisation check: no epoch could be checked")
    elif not randomisation["passed"]:
        warnings.append(
            f"{method}: model-randomisation check failed: the trained and fully randomised model's maps "
            f"share a partial rank correlation of {v['partial_mean']:.3g} beyond the input term "
            f"(upper bound {v['partial_upper_95']:.3g} >= {v['threshold']}): the maps do not show what "
            "the model learnt"
        )
    return {
        "completeness": comp,
        "convergence_delta": convergence,
        "randomisation": randomisation,
        "context": {
            "mean_abs_own_epoch_change": float(np.abs(own).mean()) if own.size else float("nan"),
            "mean_abs_whole_window_change": float(np.abs(window).mean()) if window.size else float("nan"),
        },
        "warnings": warnings,
    }
