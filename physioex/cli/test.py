"""``physioex test``: the command-line face of :func:`physioex.train.evaluate.test`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def test(
    checkpoint: Annotated[
        Path,
        typer.Option(help="A .ckpt file, or the `physioex train` output folder (uses fold-K/best.ckpt)."),
    ],
    store: Annotated[str, typer.Option(help="Zarr epoch store holding the test recordings (path or URL).")],
    fold: Annotated[
        str | None,
        typer.Option(
            help="Fold to test (with a folder: which fold-K; 'all' pools every fold). "
            "Default: the checkpoint's own fold, or all folds of a folder."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Report folder: metrics.json, per_recording.csv, plots.")] = Path(
        "reports"
    ),
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Windows per inference batch (>= 1). Default: ~48 epochs on CPU (fastest), 64 on GPU."
        ),
    ] = None,
    plots: Annotated[
        bool, typer.Option(help="Draw the confusion matrix and one hypnogram per night.")
    ] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar over test nights.")] = True,
) -> None:
    """Score every epoch of the test nights of a fold and report accuracy, macro F1 and Cohen's kappa.

    Metrics are pooled over all test epochs (of all folds with --fold all), as in the literature,
    with per-class F1 (W, N1, N2, N3, REM), the confusion matrix and a per-night table.
    Unscored and movement epochs are left out. --out may not be, hold or lie inside --store or
    --checkpoint.
    """

    from physioex.train.evaluate import test as run_test

    m = run_test(checkpoint, store, fold=fold, out=out, batch_size=batch_size, plots=plots, progress=progress)
    per_class = ", ".join(f"{k} {v:.3f}" for k, v in m["f1_per_class"].items())
    typer.echo(
        f"{m['n_recordings']} nights, {m['n_epochs']} epochs: accuracy {m['accuracy']:.3f}, "
        f"macro F1 {m['f1_macro']:.3f}, kappa {m['kappa']:.3f}\nper-class F1: {per_class}\n"
        f"report written to {out}"
    )
