"""``physioex verify``: the command-line face of :func:`physioex.store.verify.verify_store`."""

from __future__ import annotations

from typing import Annotated

import typer

from physioex.cli.options import TIMEOUT_HELP, Progress, StoreArgument


def verify(
    store: StoreArgument,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=0.001, help=f"{TIMEOUT_HELP} Remote stores only; default: $PHYSIOEX_STORE_TIMEOUT or 20."
        ),
    ] = None,
    progress: Progress = True,
) -> None:
    """Read every chunk of every recording and check the manifest, params hashes and the index.

    Prints every problem on its own line (`error: ...`) and exits 1 if there is any, else prints a
    one-line summary and exits 0.
    """
    from physioex.store.verify import verify_store

    report = verify_store(store, timeout=timeout, progress=progress)
    for line in report.problems:
        typer.echo(f"error: {line}", err=True)
    if not report.ok:
        typer.echo(report.summary(), err=True)
        raise typer.Exit(1)
    typer.echo(report.summary())
