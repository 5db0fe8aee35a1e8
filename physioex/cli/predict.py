"""``physioex predict``: the command-line face of :func:`physioex.inference.run.predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from physioex.cli.options import Checkpoint, InferenceBatchSize, PredictOut


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
) -> None:
    """Stage a whole night with a trained model and write the hypnogram.

    The channels the model was trained on are read from the PSG (resampled if the rate differs)
    and normalised exactly as at training. Writes a CSV (onset_s, duration_s, stage,
    p_W..p_REM, one row per 30-s epoch) and an EDF+ annotation file, then prints total sleep
    time, sleep efficiency and minutes per stage. No output may be the PSG or the checkpoint.
    """

    from physioex.inference.predict import parse_channel_map
    from physioex.inference.run import predict as run_predict

    r = run_predict(
        psg,
        checkpoint,
        out=out,
        edf_out=edf_out,
        channel_map=parse_channel_map(channel_map),
        batch_size=batch_size,
    )
    s = r.summary
    stages = "  ".join(
        f"{k[:-4]} {v:.1f}"
        for k, v in s.items()
        if k.endswith("_min") and k[:-4] in ("W", "N1", "N2", "N3", "REM")
    )
    typer.echo(
        f"{r.n_epochs} epochs scored ({s['time_in_bed_min']:.1f} min)\n"
        f"total sleep time {s['total_sleep_time_min']:.1f} min, "
        f"sleep efficiency {100 * s['sleep_efficiency']:.1f} %, "
        f"sleep onset latency {s['sleep_onset_latency_min']:.1f} min, WASO {s['waso_min']:.1f} min\n"
        f"minutes per stage: {stages}\nwrote {r.csv} and {r.edf}"
    )
