"""``physioex preprocess``: the command-line face of :func:`physioex.preprocess.run.preprocess`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from physioex.choices import Compression, Crop
from physioex.cli.options import (
    JOBS_HELP,
    Channels,
    PreprocessOut,
    Progress,
    Subjects,
    channel_names,
    choice_option,
)
from physioex.errors import InputError
from physioex.sources import DATASETS, fold_seeds_help, folds_help


def _bandpass(text: str | None) -> tuple[float, float] | None:
    """``"0.3,35"`` -> ``(0.3, 35.0)``; ranges are checked with the other parameters."""
    if not text:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--bandpass {text!r}: expected LOW,HIGH in Hz, e.g. 0.3,35") from None
    return low, high


def _subjects(text: str | None) -> list[int] | None:
    """``"0,1,5-7"`` -> ids, with a bad value reported as one ``--subjects`` line."""
    from physioex.cli.download import parse_ids

    try:
        return parse_ids(text)
    except typer.BadParameter as exc:
        raise InputError(f"--subjects {text!r}: {exc.message}; use ids and ranges like 0,1,5-7") from None


def preprocess(
    dataset: Annotated[
        str,
        typer.Argument(
            help=f"Dataset downloaded with `physioex download`: {', '.join(DATASETS)}.",
            show_default=False,
        ),
    ],
    raw: Annotated[
        Path | None,
        typer.Option(
            help="Folder with the verified download (holds SHA256SUMS.txt). Default: data/raw/DATASET."
        ),
    ] = None,
    out: PreprocessOut = None,
    channels: Channels = None,
    channel_aliases: Annotated[
        Path | None,
        typer.Option(
            help="YAML file of extra channel aliases, 'NAME: [EDF LABEL, ...]' (docs/channels.md): your "
            "lab's labels for a canonical name such as C4-M1, or new names. Default: the built-in table only."
        ),
    ] = None,
    jobs: Annotated[int, typer.Option(help=f"{JOBS_HELP}: recordings processed in parallel processes.")] = 1,
    crop: Annotated[
        Crop,
        choice_option(
            Crop,
            "Epochs kept per night: sleep (first sleep epoch - N min .. last sleep epoch + N min), "
            "non-wake (the same around the first and last epoch not scored W, unscored and movement "
            "included: TinySleepNet's rule), lights (lights-off..lights-on where known; Dreem: whole "
            "record), none (whole recording), auto (lights where known, else sleep).",
        ),
    ] = Crop.AUTO,
    crop_minutes: Annotated[
        float, typer.Option(help="Wake kept around sleep for --crop sleep and non-wake (min).")
    ] = 30.0,
    sampling_rate: Annotated[
        float, typer.Option(help="Common sampling rate (Hz); others are resampled with anti-aliasing.")
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
    subjects: Subjects = None,
    n_folds: Annotated[
        int | None,
        typer.Option(
            help=f"Number of subject-wise folds. Default: {folds_help()} (at most one per subject; "
            "none below 3 subjects)."
        ),
    ] = None,
    fold_seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the subject-to-fold assignment (a subject's fold depends only on its id and "
            f"this seed). Default: {fold_seeds_help()}."
        ),
    ] = None,
    compression: Annotated[
        Compression, choice_option(Compression, "Chunk compression.")
    ] = Compression.BLOSC_ZSTD,
    chunk_epochs: Annotated[int, typer.Option(help="Epochs per stored chunk (at least 1).")] = 256,
    prune: Annotated[
        bool,
        typer.Option(
            help="Remove stored recordings that are not in this run's selection (listed by name); without "
            "it they stay, indexed. When the parameters changed, also accept the new store without the "
            "recordings that failed (without it, any failure leaves the old store as it was)."
        ),
    ] = False,
    progress: Progress = True,
) -> None:
    """Cut raw recordings of DATASET into 30-s epochs and write them to a Zarr epoch store.

    Signals are stored in microvolts (lossless 16-bit codes for EDF), with AASM stage labels
    (W, N1, N2, N3 = R&K 3+4, REM; unscored and movement marked), per-recording metadata and
    subject-wise cross-validation folds (also in folds.csv). Unchanged recordings are skipped on
    re-runs; a recording whose re-processing fails keeps its previous version. With other
    parameters than the stored ones, the new store is built beside the old one and replaces it only
    when complete. One run per store at a time. Exits 2 on a bad parameter (nothing written), 1
    listing any recording that failed.
    """
    from physioex.errors import RunError
    from physioex.preprocess.channel_aliases import load_aliases
    from physioex.preprocess.run import preprocess as run_preprocess

    names = channel_names(channels)
    if names == []:
        raise InputError(f"--channels {channels!r}: no channel name given")
    report = run_preprocess(
        dataset,
        raw=raw,
        out=out,
        channels=names,
        jobs=jobs,
        subjects=_subjects(subjects),
        folds=n_folds,
        seed=fold_seed,
        progress=progress,
        prune=prune,
        crop=crop.value,
        crop_minutes=crop_minutes,
        sampling_rate=sampling_rate,
        bandpass=_bandpass(bandpass),
        allow_upsampling=allow_upsampling,
        compression=compression.value,
        chunk_epochs=chunk_epochs,
        channel_aliases=load_aliases(channel_aliases) if channel_aliases is not None else None,
    )
    typer.echo(report.summary())
    if not report.ok:
        raise RunError(report.error_line())
