"""``physioex test``: the command-line face of :func:`physioex.inference.run.evaluate`."""

from __future__ import annotations

from typing import Annotated

import typer

from physioex.cli.options import (
    CheckpointOrFolder,
    Fold,
    InferenceBatchSize,
    Progress,
    Store,
    Stride,
    TestOut,
)


def test(
    checkpoint: CheckpointOrFolder,
    store: Store,
    fold: Fold = None,
    out: TestOut = None,
    batch_size: InferenceBatchSize = None,
    stride: Stride = None,
    plots: Annotated[
        bool, typer.Option(help="Draw the confusion matrix and one hypnogram per night.")
    ] = True,
    progress: Progress = True,
) -> None:
    """Score every epoch of the test nights of a fold and report accuracy, macro F1 and Cohen's kappa.

    Metrics are pooled over all test epochs (of all folds with --fold all), as in the literature,
    with per-class F1 (W, N1, N2, N3, REM), the confusion matrix and a per-night table.
    Unscored and movement epochs are left out. Each epoch is scored exactly once, from windows of
    L epochs --stride epochs apart (default L); metrics.json records both. --out may not be, hold
    or lie inside --store or --checkpoint.
    """

    from physioex.inference.run import evaluate

    report = evaluate(
        checkpoint,
        store,
        fold=fold,
        out=out,
        batch_size=batch_size,
        stride=stride,
        plots=plots,
        progress=progress,
    )
    m = report.metrics
    per_class = ", ".join(f"{k} {v:.3f}" for k, v in m["f1_per_class"].items())
    typer.echo(
        f"{report.n_recordings} nights, {report.n_epochs} epochs (windows of L={m['seq_len']} epochs, "
        f"stride {m['stride']}): accuracy {m['accuracy']:.3f}, macro F1 {m['f1_macro']:.3f}, "
        f"kappa {m['kappa']:.3f}\nper-class F1: {per_class}\nreport written to {report.out}"
    )
