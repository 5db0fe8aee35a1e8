"""``physioex preprocess``: the command-line face of :func:`physioex.preprocess.run.preprocess`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _bandpass(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: expected LOW,HIGH in Hz, e.g. 0.3,35", param_hint="--bandpass"
        ) from None
    return low, high


def preprocess(
    dataset: Annotated[
        str,
        typer.Argument(
            help="Dataset downloaded with `physioex download`: demo, demo-dreem, sleepedf-20, sleepedf-78, "
            "sleepedf-st, dodh or dodo.",
            show_default=False,
        ),
    ],
    raw: Annotated[
        Path | None,
        typer.Option(
            help="Folder with the verified download (holds SHA256SUMS.txt). Default: data/raw/DATASET."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Zarr store to create or update. Default: data/stores/DATASET.zarr.")
    ] = None,
    channels: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated channel names in store order, e.g. 'EEG Fpz-Cz,EOG horizontal'. "
            "Default: EEG Fpz-Cz (Sleep-EDF), C3_M2 (Dreem)."
        ),
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Recordings processed in parallel (processes).")] = 1,
    crop: Annotated[
        str,
        typer.Option(
            help="Epochs kept per night: sleep (first sleep epoch - N min .. last sleep epoch + N min), "
            "lights (lights-off..lights-on where known; Dreem: whole record), none (whole recording), "
            "auto (lights where known, else sleep)."
        ),
    ] = "auto",
    crop_minutes: Annotated[
        float, typer.Option(min=0, help="Wake kept around sleep for --crop sleep (min).")
    ] = 30.0,
    sampling_rate: Annotated[
        float, typer.Option(min=1, help="Common sampling rate (Hz); others are resampled with anti-aliasing.")
    ] = 100.0,
    bandpass: Annotated[
        str | None,
        typer.Option(help="Optional zero-phase band-pass LOW,HIGH in Hz. Default: none (as recorded)."),
    ] = None,
    allow_upsampling: Annotated[
        bool,
        typer.Option(
            help="Accept channels recorded below the store rate (Sleep-EDF's 1 Hz EMG envelope, resp, temp) "
            "and interpolate them; refused by default."
        ),
    ] = False,
    subjects: Annotated[str | None, typer.Option(help="Subjects to include, e.g. 0-9. Default: all.")] = None,
    folds: Annotated[
        int | None,
        typer.Option(help="Subject-wise folds. Default: 20 for sleepedf-20, 10 for sleepedf-78, else 5."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the fold assignment.")] = 0,
    compression: Annotated[
        str, typer.Option(help="Chunk compression: blosc-zstd, blosc-lz4, zstd or none.")
    ] = "blosc-zstd",
    chunk_epochs: Annotated[int, typer.Option(min=1, help="Epochs per stored chunk.")] = 256,
    progress: Annotated[bool, typer.Option(help="Show a progress bar over recordings.")] = True,
) -> None:
    """Cut raw recordings of DATASET into 30-s epochs and write them to a Zarr epoch store.

    Signals are stored in microvolts (lossless 16-bit codes for EDF), with AASM stage labels
    (W, N1, N2, N3 = R&K 3+4, REM; unscored and movement marked), per-recording metadata and
    subject-wise cross-validation folds (also in folds.csv). Unchanged recordings are skipped on
    re-runs. Exits with status 1 listing any recording that failed (the others are still stored).
    """
    from physioex.cli.download import parse_ids
    from physioex.preprocess.run import preprocess as run_preprocess

    names = [c.strip() for c in channels.split(",") if c.strip()] if channels else None
    try:
        report = run_preprocess(
            dataset,
            raw=raw,
            out=out,
            channels=names,
            jobs=jobs,
            subjects=parse_ids(subjects),
            folds=folds,
            seed=seed,
            progress=progress,
            crop=crop,
            crop_minutes=crop_minutes,
            sampling_rate=sampling_rate,
            bandpass=_bandpass(bandpass),
            allow_upsampling=allow_upsampling,
            compression=compression,
            chunk_epochs=chunk_epochs,
        )
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)
