"""Evaluation on a store's test subjects: which checkpoints, whether they fit the store, per-night
scores and the report files (``metrics.json``, ``per_recording.csv``, ``predictions.csv``, plots).

``physioex.inference.run.evaluate`` (``physioex test``) puts these together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from physioex import STAGES
from physioex.errors import InputError
from physioex.inference.checkpoint import LoadedModel
from physioex.inference.errors import CheckpointError
from physioex.inference.leakage import refuse_seen_subjects
from physioex.io.atomic import atomic_path, write_text_atomic


def resolve_checkpoints(checkpoint: Path, fold: str | int | None) -> list[Path]:
    """Checkpoint files to test: a file as is, or ``<dir>/fold-<k>/best.ckpt`` for ``fold`` N/all."""
    from physioex.train.fit import check_fold

    checkpoint = Path(checkpoint)
    if fold is not None:
        fold = check_fold(fold)
    if checkpoint.is_file():
        return [checkpoint]
    if not checkpoint.is_dir():
        raise CheckpointError(
            f"--checkpoint {checkpoint}: does not exist; give a .ckpt or a `physioex train` --out"
        )
    if fold is None or fold == "all":
        found = sorted(
            (p for p in checkpoint.glob("fold-*/best.ckpt") if re.fullmatch(r"fold-\d+", p.parent.name)),
            key=lambda p: int(p.parent.name.split("-")[1]),
        )
        if not found:
            raise CheckpointError(
                f"--checkpoint {checkpoint}: no fold-*/best.ckpt in this folder; run `physioex train` first"
            )
        return found
    path = checkpoint / f"fold-{fold}" / "best.ckpt"
    if not path.is_file():
        raise CheckpointError(
            f"--checkpoint {checkpoint}: has no fold-{fold}/best.ckpt; was fold {fold} trained?"
        )
    return [path]


@dataclass(frozen=True)
class FoldModel:
    """A checkpoint checked against the store: its model, the store indices of its channels, its fold
    and that fold's test recordings."""

    loaded: LoadedModel
    channel_index: list[int]
    fold: int
    recordings: list[str]


def fold_model(path: Path, st: Any, store: str | Path, fold: str | int | None) -> FoldModel:
    """Load ``path`` and check it fits store ``st``: its fold (and ``fold``), rate and channels."""
    from physioex.inference.checkpoint import load_checkpoint

    loaded = load_checkpoint(path)
    k = loaded.meta.fold
    if fold is not None and str(fold).lower() != "all" and int(fold) != k:
        raise CheckpointError(
            f"checkpoint {path}: was trained on fold {k}; testing it on fold {fold} "
            "would score subjects it was trained on"
        )
    if abs(st.sampling_rate - loaded.sampling_rate) > 1e-6:
        raise CheckpointError(
            f"checkpoint {path}: expects {loaded.sampling_rate} Hz "
            f"but store {store} is at {st.sampling_rate} Hz"
        )
    idx = loaded.check_channels(st.channels, f"store {store}")
    if k >= len(st.folds):
        raise CheckpointError(
            f"checkpoint {path}: was trained on fold {k}; store {store} has {len(st.folds)} folds"
        )
    recs = st.recordings_of(st.fold(k).test)
    if not recs:
        raise InputError(f"--store {store}: fold {k} has no test recordings")
    refuse_seen_subjects(loaded.meta, st, recs, path, store)
    return FoldModel(loaded, idx, k, recs)


@dataclass(frozen=True)
class ScoredNight:
    """One test night: scored labels (int64, negative = unscored) and predicted stages ``(epochs,)``."""

    recording: str
    subject: str
    fold: int
    y_true: np.ndarray
    y_pred: np.ndarray


def score_night(
    fm: FoldModel, st: Any, rec: str, batch_size: int | None, stride: int | None = None
) -> ScoredNight:
    """Predict every epoch of test night ``rec`` of store ``st`` exactly once (windows ``stride``
    epochs apart, default L: ``physioex.inference.windows``)."""
    signals = st.signals(rec)[:, fm.channel_index]
    proba = fm.loaded.predict_proba(signals, batch_size=batch_size, stride=stride)
    return ScoredNight(
        rec, st.subject_of(rec), fm.fold, st.labels(rec).astype(np.int64), proba.argmax(axis=1)
    )


def distribution(values: list[float]) -> dict[str, float]:
    """Mean, std, median, min and max of per-night values (empty when there are none)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return {}
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std()),
        "median": float(np.median(arr)),
        "min": float(arr.min()),
        "max": float(arr.max()),
    }


def per_recording_row(night: ScoredNight) -> dict[str, Any]:
    """One row of ``per_recording.csv``: counts, and accuracy/macro F1/kappa when the night is scored."""
    from physioex.inference.metrics import staging_metrics

    row: dict[str, Any] = {
        "recording": night.recording,
        "subject": night.subject,
        "fold": night.fold,
        "n_epochs": int(night.y_true.size),
        "n_scored": int((night.y_true >= 0).sum()),
    }
    if row["n_scored"]:
        m = staging_metrics(night.y_true, night.y_pred)
        row.update({k: m[k] for k in ("accuracy", "f1_macro", "f1_weighted", "kappa")})
    return row


def metrics_report(
    nights: list[ScoredNight], rows: list[dict[str, Any]], checkpoints: list[Path], model: str
) -> dict[str, Any]:
    """The ``metrics.json`` content: pooled metrics, per fold, and the per-night distribution."""
    from physioex.inference.metrics import bootstrap_ci, confusion, staging_metrics

    folds = sorted({n.fold for n in nights})
    per_fold = {
        str(k): staging_metrics(
            np.concatenate([n.y_true for n in nights if n.fold == k]),
            np.concatenate([n.y_pred for n in nights if n.fold == k]),
        )
        for k in folds
    }
    pooled = staging_metrics(
        np.concatenate([n.y_true for n in nights]), np.concatenate([n.y_pred for n in nights])
    )
    scored_rows = [r for r in rows if r["n_scored"]]
    return {
        **pooled,
        "n_recordings": len(rows),
        "folds": per_fold,
        "per_recording": {
            m: distribution([r[m] for r in scored_rows])
            for m in ("accuracy", "f1_macro", "f1_weighted", "kappa")
        },
        "bootstrap_ci_95": bootstrap_ci([confusion(n.y_true, n.y_pred) for n in nights]),
        "checkpoints": [str(p) for p in checkpoints],
        "model": model,
    }


def write_tables(out: Path, nights: list[ScoredNight], rows: list[dict[str, Any]]) -> tuple[Path, Path]:
    """Write ``per_recording.csv`` and ``predictions.csv`` (scored epochs only) atomically."""
    import pandas as pd

    per_recording, predictions = out / "per_recording.csv", out / "predictions.csv"
    with atomic_path(per_recording) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    preds = pd.concat(
        [
            pd.DataFrame(
                {
                    "recording": n.recording,
                    "fold": n.fold,
                    "epoch": np.arange(n.y_true.size),
                    "true": [STAGES[v] if v >= 0 else "?" for v in n.y_true],
                    "pred": [STAGES[v] for v in n.y_pred],
                }
            )
            for n in nights
        ],
        ignore_index=True,
    )
    with atomic_path(predictions) as tmp:
        preds[preds["true"] != "?"].to_csv(tmp, index=False)
    return per_recording, predictions


def write_metrics(out: Path, metrics: dict[str, Any]) -> Path:
    """Write ``metrics.json`` atomically (last, so a complete one means a complete report)."""
    path = out / "metrics.json"
    write_text_atomic(path, json.dumps(metrics, indent=2) + "\n")
    return path
