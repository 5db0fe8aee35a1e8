"""``physioex predict``: the command-line face of :func:`physioex.inference.run.predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from physioex.cli.options import Checkpoint, InferenceBatchSize, PredictOut, Stride


def predict(
    psg: Annotated[
        Path, typer.Argument(help="The night to stage: an EDF/EDF+ PSG file.", show_default=False)
    ],
    checkpoint: Checkpoint,
    out: PredictOut = None,
    edf_out: Annotated[
        Path | None, typer.Option(help="EDF+ annotation file to write. Default: the CSV path with .edf.")
    ] = None,
    channel_map: Annotated[
        list[str] | None,
        typer.Option(
            help="Map a model channel onto this PSG's channel name: 'MODEL CHANNEL=PSG CHANNEL', "
            "e.g. 'EEG Fpz-Cz=Fpz'. Repeat (or separate with commas) for several channels."
        ),
    ] = None,
    batch_size: InferenceBatchSize = None,
    stride: Stride = None,
    summary_out: Annotated[
        Path | None,
        typer.Option(help="JSON sleep statistics to write. Default: the CSV path with .json."),
    ] = None,
    lights_off: Annotated[
        str | None,
        typer.Option(
            help="Start of the sleep period (time in bed): a clock time 23:10 or 23:10:30 (on the "
            "recording's start date, the next day if earlier than its start) or seconds from the "
            "recording start. Wins over a 'Lights off' annotation.",
            show_default=False,
        ),
    ] = None,
    lights_on: Annotated[
        str | None,
        typer.Option(
            help="End of the sleep period, as --lights-off. Wins over a 'Lights on' annotation.",
            show_default=False,
        ),
    ] = None,
    annotations: Annotated[
        Path | None,
        typer.Option(
            help="The PSG's EDF+ hypnogram/annotation file: its 'Lights off'/'Lights on' annotations "
            "set the sleep period (as do the PSG's own EDF+ annotations).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Stage a whole night with a trained model and write the hypnogram.

    The channels the model was trained on are read from the PSG (resampled if the rate differs)
    and normalised exactly as at training. Writes a CSV (onset_s, duration_s, stage,
    p_W..p_REM, in_period, one row per 30-s epoch), an EDF+ annotation file and the AASM sleep
    statistics as JSON, and prints them. The statistics cover the sleep period: lights-off..on
    (options, else annotations), else the training store's crop applied to the predicted
    hypnogram, else the whole recording. No output may be an input.
    """

    from physioex import EPOCH_SECONDS
    from physioex.inference.predict import parse_channel_map
    from physioex.inference.run import predict as run_predict

    r = run_predict(
        psg,
        checkpoint,
        out=out,
        edf_out=edf_out,
        channel_map=parse_channel_map(channel_map),
        batch_size=batch_size,
        stride=stride,
        summary_out=summary_out,
        lights_off=lights_off,
        lights_on=lights_on,
        annotations=annotations,
    )
    typer.echo(
        f"{r.n_epochs} epochs scored ({r.n_epochs * EPOCH_SECONDS / 60:.1f} min)\n{r.statistics.describe()}\n"
        f"wrote {r.csv}, {r.edf} and {r.summary_json}"
    )
