"""The inference stages as plain functions: ``evaluate`` (``physioex test``) and ``predict``.

Each checks every input and output path before any work and returns a small report of what it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from physioex.errors import InputError
from physioex.train import checks


@dataclass(frozen=True)
class EvaluationReport:
    """What ``evaluate`` scored and wrote: ``metrics`` is the ``metrics.json`` content (pooled
    accuracy, macro F1, kappa, per-class F1, confusion matrix, per fold, per-night distribution)."""

    metrics: dict[str, Any]
    checkpoints: tuple[Path, ...]
    n_recordings: int
    n_epochs: int
    """Scored epochs (unscored and movement epochs are left out)."""
    out: Path
    files: tuple[Path, ...]
    """Every file written under ``out``."""


@dataclass(frozen=True)
class PredictionReport:
    """What ``predict`` scored and wrote: the CSV and EDF+ hypnograms and the sleep summary."""

    psg: Path
    checkpoint: Path
    csv: Path
    edf: Path
    n_epochs: int
    summary: dict[str, float]
    """``physioex.inference.hypnogram_io.sleep_summary``: minutes per stage, TST, efficiency, ..."""


def evaluate(
    checkpoint: str | Path,
    store: str | Path,
    *,
    fold: str | int | None = None,
    out: Path | None = None,
    batch_size: int | None = None,
    plots: bool = True,
    storage_options: dict[str, Any] | None = None,
    progress: bool = True,
) -> EvaluationReport:
    """Evaluate ``checkpoint`` on the test subjects of its fold in ``store``.

    Parameters
    ----------
    checkpoint : str or Path
        A ``.ckpt`` file, or a ``physioex train`` output folder (``fold-K/best.ckpt`` per ``fold``).
    store : str or Path
        The Zarr epoch store (path or fsspec URL).
    fold : str or int, optional
        A fold number or ``"all"``; default: the checkpoint's own fold, or every fold of a folder.
    out : Path, optional
        Report folder (default ``data/evaluation/<the store's dataset>``, as dvc.yaml); may not be,
        hold or lie inside the store or a checkpoint.
    batch_size : int, optional
        Windows per inference batch; default ``physioex.inference.scoring.default_batch_size``.
    plots : bool
        Draw ``confusion_matrix.png`` and ``hypnograms/<recording>.png``.
    storage_options : dict, optional
        fsspec options of a remote store.
    progress : bool
        Show a progress bar over test nights.

    Returns
    -------
    EvaluationReport
        Metrics pooled over every scored epoch of every test night (each scored exactly once,
        ``physioex.inference.windows``), and the files written.
    """
    from tqdm import tqdm

    from physioex.inference import evaluate as ev
    from physioex.inference.plots import plot_confusion, plot_hypnograms
    from physioex.store import open_store

    batch_size = checks.optional_batch_size(batch_size, "--batch-size")
    location = checks.input_store(store)
    paths = ev.resolve_checkpoints(Path(checkpoint), fold)
    if out is None:  # as `physioex test` and dvc.yaml: data/evaluation/<the store's dataset>
        from physioex.paths import default_out, store_dataset

        out = default_out("test", store_dataset(store))
    out = checks.output_dir(out, "--out")
    checks.not_an_input(out, "--out", [location, Path(checkpoint), *paths])
    st = open_store(location, storage_options)
    if not st.recordings:
        raise InputError(f"--store {store}: holds no recordings; run `physioex preprocess` first")
    models = [ev.fold_model(path, st, store, fold) for path in paths]  # every check before any write
    out.mkdir(parents=True, exist_ok=True)
    nights: list[ev.ScoredNight] = []
    files: list[Path] = []
    for fm in models:
        for rec in tqdm(fm.recordings, desc=f"test fold {fm.fold}", unit="night", disable=not progress):
            night = ev.score_night(fm, st, rec, batch_size)
            nights.append(night)
            if plots:
                files.append(
                    plot_hypnograms(
                        night.y_true,
                        night.y_pred,
                        out / "hypnograms" / f"{rec}.png",
                        title=f"{rec} (fold {fm.fold})",
                    )
                )
    rows = [ev.per_recording_row(n) for n in nights]
    metrics = ev.metrics_report(nights, rows, paths, models[0].loaded.meta.model)
    files += ev.write_tables(out, nights, rows)
    if plots:
        files.append(
            plot_confusion(
                metrics["confusion_matrix"],
                out / "confusion_matrix.png",
                title=f"{len(rows)} test nights, {metrics['n_epochs']} epochs",
            )
        )
    files.append(ev.write_metrics(out, metrics))
    return EvaluationReport(metrics, tuple(paths), len(rows), int(metrics["n_epochs"]), out, tuple(files))


def predict(
    psg: str | Path,
    checkpoint: str | Path,
    *,
    out: Path | None = None,
    edf_out: Path | None = None,
    channel_map: dict[str, str] | None = None,
    batch_size: int | None = None,
) -> PredictionReport:
    """Stage the whole night in ``psg`` with ``checkpoint``; write CSV + EDF+ hypnograms.

    Parameters
    ----------
    psg : str or Path
        An EDF/EDF+ PSG, read as ``preprocess`` read the model's training store (its recorded
        ``preprocessing``: rate, band-pass; other rates are resampled).
    checkpoint : str or Path
        A ``.ckpt`` written by ``physioex train``.
    out, edf_out : Path, optional
        CSV hypnogram (default ``<psg stem>-hypnogram.csv`` here) and EDF+ annotations (default:
        the CSV path with ``.edf``); neither may be the PSG or the checkpoint.
    channel_map : dict, optional
        ``{model channel: PSG channel}`` for another lab's labels.
    batch_size : int, optional
        Windows per inference batch.

    Returns
    -------
    PredictionReport
        Paths written, epochs scored and the sleep summary.
    """
    from physioex.inference.checkpoint import load_checkpoint
    from physioex.inference.hypnogram_io import (
        hypnogram_table,
        sleep_summary,
        write_csv,
        write_edf_annotations,
    )
    from physioex.inference.predict import check_channel_map, check_outputs, check_psg, read_psg_epochs

    psg = check_psg(psg)
    checkpoint = Path(checkpoint)
    batch_size = checks.optional_batch_size(batch_size, "--batch-size")
    csv_path, edf_path = check_outputs(psg, checkpoint, out, edf_out)
    loaded = load_checkpoint(checkpoint)
    check_channel_map(channel_map or {}, loaded.channels, checkpoint)
    x, start = read_psg_epochs(psg, loaded.channels, loaded.meta.preprocess_params(), channel_map)
    proba = loaded.predict_proba(x, batch_size=batch_size)
    table = hypnogram_table(proba)
    write_csv(table, csv_path)
    stages = table["stage"].tolist()
    write_edf_annotations(stages, edf_path, start=start)
    return PredictionReport(psg, checkpoint, csv_path, edf_path, len(stages), sleep_summary(stages))
