"""``physioex explain``: the command-line face of :func:`physioex.explain.run.explain`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from physioex.choices import Band, Baseline, Method, Output, Target, names
from physioex.cli.options import Checkpoint, ExplainOut, Fold, Progress, Store, choice_option


def explain(
    checkpoint: Checkpoint,
    store: Store,
    method: Annotated[
        Method,
        choice_option(
            Method,
            "How evidence is measured. integrated-gradients: the reference; attributions add up exactly "
            "to the change of the stage's probability between the baseline and the real signal. "
            "deeplift: a fast approximation of it. gradient-shap: integrated gradients averaged over "
            "noisy baselines (smoother maps). saliency: where a tiny change of the signal would change "
            "the score most (sensitivity, not contribution). occlusion: replace 0.5 s of one channel by "
            "the baseline and measure the drop (model-agnostic, slower).",
        ),
    ] = Method.INTEGRATED_GRADIENTS,
    fold: Fold = None,
    out: ExplainOut = None,
    target: Annotated[
        Target,
        choice_option(
            Target,
            "Stage explained for each epoch: predicted (why did the model say this?) or true (what in "
            "the signal supports the scorer's stage?; unscored epochs are skipped).",
        ),
    ] = Target.PREDICTED,
    baseline: Annotated[
        Baseline,
        choice_option(
            Baseline,
            "Reference signal an attribution is measured against: zeros (flat 0 uV), mean (flat line at "
            "each channel's night mean), band-removed (the same signal without the --baseline-band bands, "
            "so attributions show what those rhythms contributed).",
        ),
    ] = Baseline.ZEROS,
    baseline_band: Annotated[
        list[Band] | None,
        choice_option(
            Band, "Band(s) removed for --baseline band-removed (repeatable). Default: all six bands."
        ),
    ] = None,
    recordings: Annotated[
        list[str] | None,
        typer.Option(
            "--recordings", "--recording", help="Recording id(s) to explain instead of the fold's test set."
        ),
    ] = None,
    epoch_limit: Annotated[
        int | None,
        typer.Option(help="Explain only the first N epochs of each recording (quick look; >= 1)."),
    ] = None,
    shapley: Annotated[
        bool,
        typer.Option(
            help="Also compute exact Shapley values over the six bands (64 band combinations per epoch), "
            "which share out interactions between bands fairly."
        ),
    ] = False,
    output: Annotated[
        Output,
        choice_option(Output, "Score explained: probability of the stage (default) or its logit."),
    ] = Output.PROBABILITY,
    n_steps: Annotated[int, typer.Option(help="Integration steps for integrated-gradients (>= 2).")] = 32,
    check_epochs: Annotated[
        int, typer.Option(help="Epochs used for the faithfulness checks of the run (>= 1).")
    ] = 32,
    seed: Annotated[
        int,
        typer.Option(
            help="Seed of this command's random draws: gradient-shap's baselines and the randomised models "
            "(same seed, same files)."
        ),
    ] = 0,
    metrics: Annotated[
        Path | None,
        typer.Option(help="Also write the faithfulness numbers to this JSON file (e.g. a DVC metrics file)."),
    ] = None,
    timings: Annotated[
        Path | None,
        typer.Option(
            help="Write the run's wall-clock time to this JSON file (outside --out, which holds no timings)."
        ),
    ] = None,
    progress: Progress = True,
) -> None:
    """Show which parts of the signal drove each scored 30-s epoch, and check that the picture is faithful.

    An attribution gives each sample of an epoch (per channel) its share of the model's evidence.

    Units are the explained stage's probability: red/positive pushed towards the stage, blue/negative away.

    Evidence is measured against a baseline signal (--baseline) for the epoch's own 30 s of signal.

    The neighbouring epochs the model also sees are held as recorded.

    Band importance: probability drop when delta, theta, alpha, sigma, beta or gamma is removed.

    Faithfulness: completeness (convergence delta) of integrated gradients, deeplift and gradient-shap,
    and model randomisation: re-initialising the model's layers (from the head down, and one at a time)
    must change the maps more than a weight-free control explains.

    Writes attributions.zarr, CSV tables, PNG plots, faithfulness.json and index.html to --out
    (which may not be, hold or lie inside --store or --checkpoint); the same inputs, options and seed
    give byte-identical files.
    """

    from physioex.errors import InputError
    from physioex.explain.methods import MethodConfig
    from physioex.explain.run import explain as run_explain
    from physioex.train import checks

    if fold is not None and not fold.strip().isdigit():
        raise InputError(f"--fold: explain takes one fold number (0, 1, ...), got {fold!r}")
    if epoch_limit is not None:
        checks.integer(epoch_limit, "--epoch-limit", 1)

    report = run_explain(
        checkpoint,
        store,
        method=method.value,
        fold=None if fold is None else int(fold),
        out=out,
        target=target.value,
        baseline=baseline.value,
        baseline_bands=tuple(b.value for b in baseline_band) if baseline_band else names(Band),
        recordings=recordings or None,
        max_epochs=epoch_limit,
        shapley=shapley,
        output=output.value,
        config=MethodConfig(n_steps=n_steps),
        check_epochs=check_epochs,
        seed=seed,
        progress=progress,
        metrics=metrics,
        timings=timings,
    )
    typer.echo(report.summary())
    for rec, err in report.failures.items():
        typer.echo(f"failed: {rec}: {err}", err=True)
    if not report.ok:
        raise typer.Exit(1)
