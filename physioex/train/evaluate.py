"""``physioex test``: score every epoch of the test recordings of a fold and report pooled metrics.

Outputs in ``out``: ``metrics.json`` (pooled over all test epochs of all folds tested, plus
per-fold metrics and the per-recording distribution), ``per_recording.csv``,
``predictions.csv`` (one row per epoch; DVC confusion plot), ``confusion_matrix.png`` and
``hypnograms/<recording>.png`` (scorer above model).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from physioex import STAGES
from physioex.errors import InputError
from physioex.io.atomic import write_text_atomic
from physioex.train import checks


def resolve_checkpoints(checkpoint: Path, fold: str | int | None) -> list[Path]:
    """Checkpoint files to test: a file as is, or ``<dir>/fold-<k>/best.ckpt`` for ``fold`` N/all."""
    from physioex.train.checkpoint import CheckpointError
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


def _checked_model(
    path: Path, st: Any, store: str | Path, fold: str | int | None
) -> tuple[Any, list[int], int, list[str]]:
    """Load ``path`` and check it fits ``st``: its fold (and ``fold``), rate and channels; returns
    ``(model, channel indices, fold, test recordings)``."""
    from physioex.train.checkpoint import CheckpointError, load_checkpoint

    loaded = load_checkpoint(path)
    k = int(loaded.meta["fold"])
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
    return loaded, idx, k, recs


def _distribution(values: list[float]) -> dict[str, float]:
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


def test(
    checkpoint: str | Path,
    store: str | Path,
    *,
    fold: str | int | None = None,
    out: Path = Path("reports"),
    batch_size: int | None = None,
    plots: bool = True,
    storage_options: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate ``checkpoint`` (a file, or a ``physioex train`` output folder with ``fold``) on ``store``.

    Each checkpoint is tested on the test subjects of the fold it was trained on; every epoch of
    every test recording is scored exactly once (whole nights, non-overlapping windows, large
    batches). Returns the ``metrics.json`` content. ``out`` may not be, hold or lie inside the store
    or a checkpoint (``InputError`` before any work).
    """
    import pandas as pd
    from tqdm import tqdm

    from physioex.store import open_store
    from physioex.train.metrics import staging_metrics
    from physioex.train.plots import plot_confusion, plot_hypnograms

    batch_size = checks.optional_batch_size(batch_size, "--batch-size")
    location = checks.input_store(store)
    paths = resolve_checkpoints(Path(checkpoint), fold)
    out = checks.output_dir(out, "--out")
    checks.not_an_input(out, "--out", [location, Path(checkpoint), *paths])
    st = open_store(location, storage_options)
    if not st.recordings:
        raise InputError(f"--store {store}: holds no recordings; run `physioex preprocess` first")
    models = [_checked_model(path, st, store, fold) for path in paths]  # every check before any write
    out.mkdir(parents=True, exist_ok=True)
    all_true: list[np.ndarray] = []
    all_pred: list[np.ndarray] = []
    rows: list[dict[str, Any]] = []
    pred_frames: list[Any] = []
    per_fold: dict[str, Any] = {}
    for loaded, idx, k, recs in models:
        fold_true, fold_pred = [], []
        for rec in tqdm(recs, desc=f"test fold {k}", unit="night", disable=not progress):
            proba = loaded.predict_proba(st.signals(rec)[:, idx], batch_size=batch_size)
            y_true = st.labels(rec).astype(np.int64)
            y_pred = proba.argmax(axis=1)
            fold_true.append(y_true)
            fold_pred.append(y_pred)
            row: dict[str, Any] = {
                "recording": rec,
                "subject": st.subject_of(rec),
                "fold": k,
                "n_epochs": int(y_true.size),
                "n_scored": int((y_true >= 0).sum()),
            }
            if row["n_scored"]:
                m = staging_metrics(y_true, y_pred)
                row.update(accuracy=m["accuracy"], f1_macro=m["f1_macro"], kappa=m["kappa"])
            rows.append(row)
            pred_frames.append(
                pd.DataFrame(
                    {
                        "recording": rec,
                        "fold": k,
                        "epoch": np.arange(y_true.size),
                        "true": [STAGES[v] if v >= 0 else "?" for v in y_true],
                        "pred": [STAGES[v] for v in y_pred],
                    }
                )
            )
            if plots:
                plot_hypnograms(y_true, y_pred, out / "hypnograms" / f"{rec}.png", title=f"{rec} (fold {k})")
        per_fold[str(k)] = staging_metrics(np.concatenate(fold_true), np.concatenate(fold_pred))
        all_true += fold_true
        all_pred += fold_pred
    pooled = staging_metrics(np.concatenate(all_true), np.concatenate(all_pred))
    table = pd.DataFrame(rows)
    table.to_csv(out / ".per_recording.csv.tmp", index=False)
    os.replace(out / ".per_recording.csv.tmp", out / "per_recording.csv")
    preds = pd.concat(pred_frames, ignore_index=True)
    preds = preds[preds["true"] != "?"]
    preds.to_csv(out / ".predictions.csv.tmp", index=False)
    os.replace(out / ".predictions.csv.tmp", out / "predictions.csv")
    if plots:
        plot_confusion(
            np.array(pooled["confusion_matrix"]),
            out / "confusion_matrix.png",
            title=f"{len(rows)} test nights, {pooled['n_epochs']} epochs",
        )
    scored_rows = [r for r in rows if r["n_scored"]]
    result = {
        **pooled,
        "n_recordings": len(rows),
        "folds": per_fold,
        "per_recording": {
            m: _distribution([r[m] for r in scored_rows]) for m in ("accuracy", "f1_macro", "kappa")
        },
        "checkpoints": [str(p) for p in paths],
        "model": models[0][0].meta["model"],
    }
    write_text_atomic(out / "metrics.json", json.dumps(result, indent=2) + "\n")
    return result
