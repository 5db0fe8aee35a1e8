"""``physioex train``: the command-line face of :func:`physioex.train.run.train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from physioex.choices import Model, Normalisation, value_of
from physioex.cli.options import (
    BATCH_SIZE_HELP,
    Channels,
    Fold,
    OptionalStore,
    Progress,
    TrainOut,
    channel_names,
    choice_option,
)


def train(
    store: OptionalStore = None,
    model: Annotated[
        Model | None,
        choice_option(Model, "Model to train. Default: params.yaml train.model, else chambon2018."),
    ] = None,
    fold: Fold = "0",
    out: TrainOut = None,
    recipe: Annotated[
        str | None,
        typer.Option(
            help="Named set of hyper-parameters: tinysleepnet (the paper's: lr 1e-4, L 20, batch 15, "
            "200 passes, ...) or demo (a quick CPU budget); docs/recipes.md. The params file and the "
            "options below override its values. Default: params.yaml train.recipe, else none."
        ),
    ] = None,
    params: Annotated[
        Path | None, typer.Option(help="YAML file whose `train:` section sets hyper-parameters.")
    ] = Path("params.yaml"),
    experiment: Annotated[
        str | None,
        typer.Option(
            help="Original PhysioEx invocation: the model (chambon2018, tinysleepnet). With --dataset and "
            "--version, downloads and preprocesses what is missing, then trains.",
            rich_help_panel="Original PhysioEx invocation",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Original PhysioEx invocation: sleep_physionet (or sleepedf), dreem, or demo.",
            rich_help_panel="Original PhysioEx invocation",
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            help="Original PhysioEx invocation: 2013 (Sleep-EDF-20) or 2018 (Sleep-EDF-78) for "
            "sleep_physionet; dodo or dodh for dreem; none for demo.",
            rich_help_panel="Original PhysioEx invocation",
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from OUT/fold-K/last.ckpt if it exists.")] = False,
    channels: Channels = None,
    seq_len: Annotated[int | None, typer.Option(help="Epochs per sequence (L).")] = None,
    batch_size: Annotated[
        int | None, typer.Option(help=f"{BATCH_SIZE_HELP} in training (>= 1). Default: params.yaml, else 32.")
    ] = None,
    max_epochs: Annotated[
        int | None, typer.Option(help="Maximum passes over the training data (>= 1).")
    ] = None,
    patience: Annotated[
        int | None, typer.Option(help="Stop after this many passes without validation macro-F1 gain (>= 1).")
    ] = None,
    lr: Annotated[float | None, typer.Option(help="Adam learning rate.")] = None,
    normalisation: Annotated[
        Normalisation | None,
        choice_option(
            Normalisation, "global (train-subject mean/std per channel), recording (per night) or none."
        ),
    ] = None,
    augment: Annotated[
        bool | None, typer.Option("--augment/--no-augment", help="Signal shift and random sequence start.")
    ] = None,
    num_workers: Annotated[int | None, typer.Option(help="Data-loading worker processes.")] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of this command's random draws: weights, window order, augmentation "
            "(same seed, same run)."
        ),
    ] = None,
    accelerator: Annotated[str, typer.Option(help="Lightning accelerator: cpu, gpu, mps, auto.")] = "cpu",
    devices: Annotated[str, typer.Option(help="Lightning devices: 1, 4, 'auto', '0,1'.")] = "1",
    num_nodes: Annotated[int, typer.Option(help="Machines for multi-node DDP.")] = 1,
    strategy: Annotated[
        str, typer.Option(help="Lightning strategy: auto, ddp, ddp_spawn, fsdp ...")
    ] = "auto",
    precision: Annotated[
        str, typer.Option(help="Lightning precision: 32-true, 16-mixed, bf16-mixed.")
    ] = "32-true",
    progress: Progress = True,
    timings: Annotated[
        Path | None,
        typer.Option(
            help="Write the run's wall-clock time to this JSON file (outside --out, which holds no "
            "timings): seconds per fold and in all (docs/reproducibility.md)."
        ),
    ] = None,
) -> None:
    """Train a sleep-staging model on one fold (or all folds) of an epoch store.

    Sequences of L consecutive 30-s epochs from one night are fed to the model; normalisation
    statistics come from the fold's training subjects only. The checkpoint with the best
    validation macro F1 is kept as fold-K/best.ckpt. Hyper-parameters: a recipe (`--recipe`
    tinysleepnet is the paper's), then params.yaml (section `train:`), then command-line options.

    Multi-GPU / multi-node: the last five options go straight to PyTorch Lightning, e.g.
    `--accelerator gpu --devices 4 --num-nodes 2 --strategy ddp` (launch one process per node
    with torchrun or SLURM's srun, as Lightning documents).

    The original PhysioEx invocation also works: `train --experiment chambon2018 --dataset
    sleep_physionet --version 2018` downloads and preprocesses what is missing, then trains.
    """

    from physioex.errors import InputError

    dev: str | int = int(devices) if devices.strip().isdigit() else devices.strip()
    options: dict[str, Any] = dict(
        fold=fold,
        params=params,
        resume=resume,
        accelerator=accelerator,
        devices=dev,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=precision,
        progress=progress,
        timings=timings,
        overrides_from="cli",
        recipe=recipe,
        channels=channel_names(channels) or None,
        seq_len=seq_len,
        batch_size=batch_size,
        max_epochs=max_epochs,
        patience=patience,
        lr=lr,
        normalisation=value_of(normalisation),
        augment=augment,
        num_workers=num_workers,
        seed=seed,
    )
    if experiment is not None or dataset is not None:
        from physioex.original import train_original

        if experiment is None or dataset is None or store is not None or model is not None:
            raise InputError(
                "--experiment/--dataset: the original invocation is `train --experiment MODEL "
                "--dataset DATASET --version V` (without --store/--model); "
                "or use `--store STORE --model MODEL`"
            )
        report = train_original(experiment, dataset, version, out=out, **options)
    else:
        from physioex.train.run import train as run_train

        if store is None:
            raise InputError("--store: missing; give --store STORE (or --experiment/--dataset/--version)")
        report = run_train(store, model=value_of(model), out=out, **options)
    typer.echo(report.summary())


def main() -> None:
    """The `train` console script of the original PhysioEx README: the same command as `physioex train`."""
    from physioex.cli import run_app
    from physioex.cli.errors import reports_errors

    app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False, rich_markup_mode="markdown")
    app.command()(reports_errors(train))
    run_app(app)
