"""The ``physioex`` command line: one sub-command per pipeline stage.

Each stage module in this package holds only the Typer signature and imports its
heavy implementation (torch, lightning, mne, zarr) inside the command body, so that
``physioex --help`` stays fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="physioex",
    help=(
        "Explainable deep-learning sleep staging.\n\n"
        "Pipeline: download -> preprocess -> train -> test -> explain "
        "(each also a DVC stage; run them all with `dvc repro`)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _register() -> None:
    from physioex.cli import download

    app.command("download")(download.download)


_register()


def main() -> None:
    """Console-script entry point."""
    app()
