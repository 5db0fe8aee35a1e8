"""PNG figures of an explain run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from physioex import STAGES

if TYPE_CHECKING:
    from physioex.explain.attribute import RecordingExplanation


@dataclass
class Example:
    """One explained epoch to draw: signal in uV and attributions, both ``(channels, samples)``."""

    stage: int
    recording: str
    epoch: int
    probability: float
    label: int
    signal: np.ndarray
    attribution: np.ndarray


def keep_best_examples(
    examples: dict[int, Example],
    rec: str,
    res: RecordingExplanation,
    uv: np.ndarray,
    labels: np.ndarray,
) -> None:
    """Keep in ``examples``, per explained stage, the most confident epoch (preferring scorer-agreed ones).

    ``uv`` is the recording's signal ``(epochs, channels, samples)``; ``labels`` its scored stages.
    """
    for k in range(len(STAGES)):
        idx = np.flatnonzero(res.targets == k)
        if idx.size == 0:
            continue
        key = (labels[idx] == k) * 2.0 + res.probabilities[idx, k]
        best = int(idx[np.argmax(key)])
        old = examples.get(k)
        if old is None or key.max() > (old.label == k) * 2.0 + old.probability:
            examples[k] = Example(
                k,
                rec,
                best,
                float(res.probabilities[best, k]),
                int(labels[best]),
                uv[best].copy(),
                res.attributions[best].copy(),
            )


def _pyplot():  # noqa: ANN202 - matplotlib's module type
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_examples(examples: list[Example], channels: list[str], sampling_rate: float, path: Path) -> None:
    """One row per stage and channel: the signal (uV) with its attribution drawn over it in colour.

    Red shading marks samples that raised the explained stage's score, blue ones that lowered it
    (attributions smoothed over 0.25 s and scaled to the row's maximum).
    """
    plt = _pyplot()
    rows = max(1, len(examples) * len(channels))
    fig, axes = plt.subplots(rows, 1, figsize=(12, 1.6 * rows + 0.5), squeeze=False)
    width = max(1, int(0.25 * sampling_rate))
    kernel = np.ones(width) / width
    for e, ex in enumerate(examples):
        t = np.arange(ex.signal.shape[1]) / sampling_rate
        for c, ch in enumerate(channels):
            ax = axes[e * len(channels) + c, 0]
            sig = ex.signal[c]
            att = np.convolve(np.nan_to_num(ex.attribution[c]), kernel, mode="same")
            scale = np.abs(att).max() or 1.0
            lo, hi = float(sig.min()), float(sig.max())
            span = hi - lo or 1.0
            ax.fill_between(t, lo, lo + span * np.clip(att / scale, 0, 1), color="tab:red", alpha=0.35, lw=0)
            ax.fill_between(
                t, lo, lo + span * np.clip(-att / scale, 0, 1), color="tab:blue", alpha=0.35, lw=0
            )
            ax.plot(t, sig, color="black", lw=0.5)
            label = STAGES[ex.label] if 0 <= ex.label < len(STAGES) else "unscored"
            ax.set_ylabel(f"{ch}\n(uV)", fontsize=7)
            if c == 0:
                ax.set_title(
                    f"{STAGES[ex.stage]}: {ex.recording} epoch {ex.epoch} "
                    f"(p={ex.probability:.2f}, scored {label})",
                    fontsize=8,
                    loc="left",
                )
            ax.set_xlim(0, t[-1] if t.size else 1)
            ax.tick_params(labelsize=6)
    axes[-1, 0].set_xlabel("time within the 30-s epoch (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_heatmap(table: np.ndarray, columns: list[str], title: str, label: str, path: Path) -> None:
    """Stage x column heat map with the values written in the cells (bands or channels)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(columns) + 2.5, 3.2))
    finite = table[np.isfinite(table)]
    vmax = float(np.abs(finite).max()) if finite.size else 1.0
    im = ax.imshow(np.nan_to_num(table), cmap="RdBu_r", vmin=-vmax or -1, vmax=vmax or 1, aspect="auto")
    ax.set_xticks(range(len(columns)), columns, rotation=30, ha="right")
    ax.set_yticks(range(len(STAGES)), STAGES)
    for (i, j), v in np.ndenumerate(table):
        ax.text(j, i, "n/a" if not np.isfinite(v) else f"{v:.3f}", ha="center", va="center", fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label=label)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_time(table: np.ndarray, epoch_seconds: float, path: Path) -> None:
    """Mean |attribution| per stage over time within the epoch, one line per stage."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    centres = (np.arange(table.shape[1]) + 0.5) * epoch_seconds / table.shape[1]
    for k, stage in enumerate(STAGES):
        if np.isfinite(table[k]).any():
            ax.plot(centres, table[k], marker=".", label=stage)
    ax.set_xlabel("time within the 30-s epoch (s)")
    ax.set_ylabel("mean |attribution|")
    ax.set_title("Where in the epoch the evidence lies, per explained stage", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_randomisation(steps: list[dict[str, Any]], control: float | None, path: Path) -> None:
    """Rank correlation of |attributions| (trained vs randomised) per step, cascading and independent,
    with the trained maps' correlation with the weight-free control as a dashed line."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True)
    for ax, mode in zip(axes, ("cascading", "independent"), strict=True):
        rows = [r for r in steps if r["mode"] == mode]
        pos = np.arange(len(rows))

        def values(key: str, rows: list[dict[str, Any]] = rows) -> np.ndarray:
            return np.array([np.nan if r[key] is None else r[key] for r in rows], dtype=float)

        ax.plot(pos, values("spearman_abs_mean"), marker="o", label="Spearman |attr|, trained vs random")
        ax.plot(pos, values("partial_given_control_mean"), marker="s", label="partial, given the control")
        if control is not None:
            ax.axhline(control, color="grey", ls="--", lw=1, label="trained vs control")
        ax.set_xticks(pos, [r["layer"] for r in rows], rotation=30, ha="right", fontsize=7)
        ax.set_title(
            f"{mode} randomisation" + (" (from the head down)" if mode == "cascading" else ""), fontsize=9
        )
        ax.set_ylim(-0.2, 1.05)
    axes[0].set_ylabel("rank correlation")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
