"""Sleep-staging metrics (scikit-learn) over scored epochs only; classes always W, N1, N2, N3, REM."""

from __future__ import annotations

from typing import Any

import numpy as np

from physioex import STAGES

LABELS = list(range(len(STAGES)))


def scored(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep only epochs with a stage label (drop unscored -1 and movement -2)."""
    y_true = np.asarray(y_true)
    keep = y_true >= 0
    return y_true[keep].astype(np.int64), np.asarray(y_pred)[keep].astype(np.int64)


def staging_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro F1, Cohen's kappa, per-class F1 and confusion matrix (rows true, columns predicted)."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score

    t, p = scored(y_true, y_pred)
    if t.size == 0:
        raise ValueError("no scored epochs to compute metrics on")
    per_class = f1_score(t, p, labels=LABELS, average=None, zero_division=0)
    return {
        "n_epochs": int(t.size),
        "accuracy": float(accuracy_score(t, p)),
        "f1_macro": float(f1_score(t, p, labels=LABELS, average="macro", zero_division=0)),
        "kappa": float(cohen_kappa_score(t, p, labels=LABELS)),
        "f1_per_class": {s: float(v) for s, v in zip(STAGES, per_class, strict=True)},
        "confusion_matrix": confusion_matrix(t, p, labels=LABELS).tolist(),
    }
