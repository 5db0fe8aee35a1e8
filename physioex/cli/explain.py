"""``physioex explain``: the command-line face of :func:`physioex.explain.run.explain`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

_BAND_NAMES = ("delta", "theta", "alpha", "sigma", "beta", "gamma")


def explain(
    checkpoint: Annotated[
        Path, typer.Option(help="Trained model (best.ckpt written by `physioex train`).", show_default=False)
    ],
    store: Annotated[
        str,
        typer.Option(
            help="Zarr epoch store (path or URL) holding the recordings to explain.", show_default=False
        ),
    ],
    method: Annotated[
        str,
        typer.Option(
            help="How evidence is measured. integrated-gradients: the reference; attributions add up exactly "
            "to the change of the stage's probability between the baseline and the real signal. "
            "deeplift: a fast approximation of it. gradient-shap: integrated gradients averaged over "
            "noisy baselines (smoother maps). saliency: where a tiny change of the signal would change "
            "the score most (sensitivity, not contribution). occlusion: replace 0.5 s of one channel by "
            "the baseline and measure the drop (model-agnostic, slower)."
        ),
    ] = "integrated-gradients",
    fold: Annotated[
        int | None,
        typer.Option(
            help="Fold whose test recordings are explained. Default: the fold the checkpoint was trained on."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder, replaced atomically. Default: data/explain/foldN.")
    ] = None,
    target: Annotated[
        str,
        typer.Option(
            help="Stage explained for each epoch: predicted (why did the model say this?) or true (what in "
            "the signal supports the scorer's stage?; unscored epochs are skipped)."
        ),
    ] = "predicted",
    baseline: Annotated[
        str,
        typer.Option(
            help="Reference signal an attribution is measured against: zeros (flat 0 uV), mean (flat line at "
            "each channel's night mean), band-removed (the same signal without the --baseline-band bands, "
            "so attributions show what those rhythms contributed)."
        ),
    ] = "zeros",
    baseline_band: Annotated[
        list[str] | None,
        typer.Option(
            help="Band(s) removed for --baseline band-removed (repeatable). Default: all six bands."
        ),
    ] = None,
    recordings: Annotated[
        list[str] | None,
        typer.Option(
            "--recordings", "--recording", help="Recording id(s) to explain instead of the fold's test set."
        ),
    ] = None,
    max_epochs: Annotated[
        int | None,
        typer.Option(help="Explain only the first N epochs of each recording (quick look)."),
    ] = None,
    shapley: Annotated[
        bool,
        typer.Option(
            help="Also compute exact Shapley values over the six bands (64 band combinations per epoch), "
            "which share out interactions between bands fairly."
        ),
    ] = False,
    output: Annotated[
        str, typer.Option(help="Score explained: probability of the stage (default) or its logit.")
    ] = "probability",
    n_steps: Annotated[int, typer.Option(help="Integration steps for integrated-gradients (>= 2).")] = 32,
    check_epochs: Annotated[
        int, typer.Option(help="Epochs used for the faithfulness checks of the run (>= 1).")
    ] = 32,
    metrics: Annotated[
        Path | None,
        typer.Option(help="Also write the faithfulness numbers to this JSON file (e.g. a DVC metrics file)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar over epochs.")] = True,
) -> None:
    """Show which parts of the signal drove each scored 30-s epoch, and check that the picture is faithful.

    An attribution gives each sample of an epoch (per channel) its share of the model's evidence.

    Units are the explained stage's probability: red/positive pushed towards the stage, blue/negative away.

    Evidence is measured against a baseline signal (--baseline) for the epoch's own 30 s of signal.

    The neighbouring epochs the model also sees are held as recorded.

    Band importance: probability drop when delta, theta, alpha, sigma, beta or gamma is removed.

    Faithfulness: completeness of integrated gradients, and a random-weight model must give other maps.

    Writes attributions.zarr, CSV tables, PNG plots, faithfulness.json and index.html to --out
    (which may not be, hold or lie inside --store or --checkpoint).
    """

    from physioex.explain.methods import MethodConfig
    from physioex.explain.run import explain as run_explain

    result = run_explain(
        checkpoint,
        store,
        method=method,
        fold=fold,
        out=out,
        target=target,
        baseline=baseline,
        baseline_bands=tuple(baseline_band) if baseline_band else _BAND_NAMES,
        recordings=recordings or None,
        max_epochs=max_epochs,
        shapley=shapley,
        output=output,
        config=MethodConfig(n_steps=n_steps),
        check_epochs=check_epochs,
        progress=progress,
        metrics=metrics,
    )
    faith = json.loads((result / "faithfulness.json").read_text())
    failures = json.loads((result / "run.json").read_text()).get("failures") or {}
    comp, rnd = faith["completeness"], faith["randomisation"]
    typer.echo(
        f"explained {faith['n_epochs_explained']} epochs -> {result / 'index.html'}\n"
        f"completeness: median relative delta {comp.get('median_relative_delta')}, "
        f"randomisation: mean Spearman {rnd.get('mean_spearman')} (passed: {rnd.get('passed')})"
    )
    for rec, err in failures.items():
        typer.echo(f"failed: {rec}: {err}", err=True)
    if failures:
        raise typer.Exit(1)
