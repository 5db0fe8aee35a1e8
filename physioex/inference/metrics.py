"""Sleep-staging metrics over scored epochs only (classes W, N1, N2, N3, REM), one F1 convention.

Macro F1 averages the classes present in the truth or the prediction of what is scored (a perfectly
scored night without N3 scores 1.0, as torchmetrics' validation F1 does); pooled over many nights all
five classes are present, so the pooled value is the usual one. ``f1_weighted`` is the support-weighted
F1 (averaged per record, it is the Dreem protocol's metric). ``bootstrap_ci`` resamples recordings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from physioex import STAGES

LABELS = list(range(len(STAGES)))


def scored(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep only epochs with a stage label (drop unscored -1 and movement -2)."""
    y_true = np.asarray(y_true)
    keep = y_true >= 0
    return y_true[keep].astype(np.int64), np.asarray(y_pred)[keep].astype(np.int64)


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Confusion matrix ``(5, 5)`` of the scored epochs, rows true, columns predicted (int64)."""
    t, p = scored(y_true, y_pred)
    cm = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def metrics_from_confusion(cm: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro F1 (present classes), support-weighted F1, Cohen's kappa and per-class F1 of ``cm``."""
    cm = np.asarray(cm, dtype=np.float64)
    n = cm.sum()
    if n == 0:
        raise ValueError("no scored epochs to compute metrics on")
    tp = np.diag(cm)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    present = denom > 0
    expected = float((support * predicted).sum()) / (n * n)
    observed = float(tp.sum()) / n
    kappa = (observed - expected) / (1 - expected) if expected < 1 else (1.0 if observed == 1 else 0.0)
    return {
        "n_epochs": int(n),
        "accuracy": observed,
        "f1_macro": float(f1[present].mean()),
        "f1_weighted": float((f1 * support).sum() / support.sum()),
        "kappa": float(kappa),
        "f1_per_class": {s: float(v) for s, v in zip(STAGES, f1, strict=True)},
        "confusion_matrix": cm.astype(np.int64).tolist(),
    }


def staging_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """:func:`metrics_from_confusion` of the scored epochs of ``y_true`` against ``y_pred``."""
    return metrics_from_confusion(confusion(y_true, y_pred))


def bootstrap_ci(
    matrices: Sequence[np.ndarray], *, n_resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, list[float]]:
    """Percentile confidence intervals of the pooled accuracy, macro F1 and kappa over recordings.

    Each resample draws as many recordings as there are, with replacement, and pools their epochs
    (sums their confusion matrices ``(5, 5)``), so a night weighs by its length as in the pooled value.
    """
    cms = np.stack([np.asarray(m, dtype=np.int64) for m in matrices])
    rng = np.random.default_rng(seed)
    keys = ("accuracy", "f1_macro", "kappa")
    values: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(n_resamples):
        pooled = cms[rng.integers(0, len(cms), len(cms))].sum(axis=0)
        if pooled.sum() == 0:
            continue
        m = metrics_from_confusion(pooled)
        for k in keys:
            values[k].append(m[k])
    tail = (1 - level) / 2 * 100
    return {
        k: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] for k, v in values.items()
    }
