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
    """What ``predict`` scored and wrote: the CSV and EDF+ hypnograms and the sleep statistics."""

    psg: Path
    checkpoint: Path
    csv: Path
    edf: Path
    n_epochs: int
    statistics: Any
    """A ``physioex.inference.sleep_statistics.SleepStatistics``: AASM statistics over the sleep period
    (typed ``Any`` so that importing this module, as ``physioex test`` does, never imports them)."""
    summary_json: Path

    @property
    def summary(self) -> dict[str, float]:
        """The statistics' values (minutes, %, counts; ``sleep_statistics.UNITS``)."""
        values: dict[str, float] = self.statistics.values
        return values


def evaluate(
    checkpoint: str | Path,
    store: str | Path,
    *,
    fold: str | int | None = None,
    out: Path | None = None,
    batch_size: int | None = None,
    stride: int | None = None,
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
    stride : int, optional
        Epochs between window starts, 1 to the model's L (default L: non-overlapping windows);
        smaller strides score each epoch with more past context (``physioex.inference.windows``).
        Recorded in ``metrics.json`` (``stride``, ``seq_len``).
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
    from physioex.inference.scoring import resolve_stride
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
    strides = [resolve_stride(stride, fm.loaded.seq_len, str(p)) for fm, p in zip(models, paths, strict=True)]
    out.mkdir(parents=True, exist_ok=True)
    nights: list[ev.ScoredNight] = []
    files: list[Path] = []
    for fm, fm_stride in zip(models, strides, strict=True):
        for rec in tqdm(fm.recordings, desc=f"test fold {fm.fold}", unit="night", disable=not progress):
            night = ev.score_night(fm, st, rec, batch_size, fm_stride)
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
    lengths = [fm.loaded.seq_len for fm in models]  # one value per checkpoint when they differ
    metrics["seq_len"] = lengths[0] if len(set(lengths)) == 1 else lengths
    metrics["stride"] = strides[0] if len(set(strides)) == 1 else strides
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
    summary_out: Path | None = None,
    lights_off: str | float | None = None,
    lights_on: str | float | None = None,
    annotations: str | Path | None = None,
    stride: int | None = None,
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
    summary_out : Path, optional
        JSON sleep statistics (default: the CSV path with ``.json``).
    lights_off, lights_on : str or float, optional
        The sleep period's ends: ``23:10``/``23:10:30`` (on the recording's start date, the next day
        if earlier than its start) or seconds from the recording start; each wins over annotations.
    annotations : str or Path, optional
        The PSG's EDF+ hypnogram/annotation file: its ``Lights off``/``Lights on`` set the period
        (as do the PSG's own EDF+ annotations).
    stride : int, optional
        Epochs between window starts, 1 to the model's L (default L: non-overlapping windows);
        recorded in the JSON statistics (``stride``, ``seq_len``).

    Returns
    -------
    PredictionReport
        Paths written, epochs scored and the sleep statistics over the sleep period: lights-off..on
        when known, else the training store's crop applied to the predicted hypnogram, else the
        whole recording (docs/sleep-statistics.md).
    """
    from functools import partial

    import numpy as np

    from physioex.inference import predict as pr
    from physioex.inference.checkpoint import load_checkpoint
    from physioex.inference.hypnogram_io import (
        hypnogram_table,
        write_csv,
        write_edf_annotations,
        write_statistics_json,
    )
    from physioex.inference.scoring import resolve_stride
    from physioex.inference.sleep_statistics import sleep_statistics

    psg = pr.check_psg(psg)
    checkpoint = Path(checkpoint)
    batch_size = checks.optional_batch_size(batch_size, "--batch-size")
    annotations = pr.check_annotations(annotations)
    extra_inputs = (annotations,) if annotations is not None else ()
    csv_path, edf_path, json_path = pr.check_outputs(psg, checkpoint, out, edf_out, summary_out, extra_inputs)
    loaded = load_checkpoint(checkpoint)
    stride = resolve_stride(stride, loaded.seq_len, str(checkpoint))
    pr.check_channel_map(channel_map or {}, loaded.channels, checkpoint)
    x, start = pr.read_psg_epochs(psg, loaded.channels, loaded.meta.preprocess_params(), channel_map)
    lights, lights_file = pr.annotated_lights(psg, annotations, start)
    period_of = partial(
        pr.prediction_period,
        start=start,
        lights_off=lights_off,
        lights_on=lights_on,
        lights=lights,
        lights_file=lights_file,
        preprocessing=loaded.meta.preprocessing,
    )
    period_of(np.zeros(x.shape[0], np.int8))  # bad --lights-off/--lights-on fail before scoring
    proba = loaded.predict_proba(x, batch_size=batch_size, stride=stride)
    codes = proba.argmax(axis=1).astype(np.int8)
    period = period_of(codes)
    statistics = sleep_statistics(codes, period=period)
    table = hypnogram_table(proba, period=period)
    write_csv(table, csv_path)
    stages = table["stage"].tolist()
    ends = (period.start_s, period.end_s) if period.source == "lights" else None
    write_edf_annotations(stages, edf_path, start=start, lights=ends)
    write_statistics_json(
        statistics, json_path, psg=str(psg), checkpoint=str(checkpoint), seq_len=loaded.seq_len, stride=stride
    )
    return PredictionReport(psg, checkpoint, csv_path, edf_path, len(stages), statistics, json_path)
