"""Evaluation figures (matplotlib, Agg backend): confusion matrix and true-vs-predicted hypnograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from physioex import EPOCH_SECONDS, STAGES
from physioex.io.atomic import atomic_path

# Plot order from top to bottom, as sleep researchers draw hypnograms.
_HYPNO_ORDER = ["W", "REM", "N1", "N2", "N3"]


def _save(fig: object, path: Path) -> Path:
    """Save ``fig`` as PNG at ``path`` atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    return path


def plot_confusion(cm: np.ndarray, path: Path, title: str = "") -> Path:
    """Row-normalised confusion matrix (true rows, predicted columns) annotated with counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=np.float64)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5, 4.3))
    im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                f"{int(cm[i, j])}\n{norm[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(len(STAGES)), STAGES)
    ax.set_yticks(range(len(STAGES)), STAGES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (scorer)")
    ax.set_title(title or "Confusion matrix (rows normalised)")
    fig.colorbar(im, ax=ax, fraction=0.046)
    out = _save(fig, Path(path))
    plt.close(fig)
    return out


def _hypno_y(labels: np.ndarray) -> np.ndarray:
    y = np.full(labels.shape, np.nan)
    for k, s in enumerate(STAGES):
        y[labels == k] = _HYPNO_ORDER.index(s)
    return y


def plot_hypnograms(y_true: np.ndarray, y_pred: np.ndarray, path: Path, title: str = "") -> Path:
    """True (scorer) hypnogram above the predicted one, hours on the x axis; unscored epochs blank."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = np.arange(len(y_true)) * EPOCH_SECONDS / 3600.0
    fig, axes = plt.subplots(2, 1, figsize=(10, 3.6), sharex=True, sharey=True)
    for ax, lab, name in ((axes[0], y_true, "scorer"), (axes[1], y_pred, "model")):
        ax.step(hours, _hypno_y(np.asarray(lab)), where="post", lw=0.9, color="k")
        ax.set_yticks(range(len(_HYPNO_ORDER)), _HYPNO_ORDER)
        ax.set_ylim(len(_HYPNO_ORDER) - 0.5, -0.5)
        ax.set_ylabel(name)
    axes[1].set_xlabel("time from first stored epoch (h)")
    axes[0].set_title(title)
    out = _save(fig, Path(path))
    plt.close(fig)
    return out
