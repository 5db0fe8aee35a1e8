"""The ``physioex`` command line: one sub-command per pipeline stage.

Each stage module in this package holds only the Typer signature and imports its
heavy implementation (torch, lightning, mne, zarr) inside the command body, so that
``physioex --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    rich_markup_mode="markdown",
)


@app.callback()
def _root(
    ctx: typer.Context,
    preset: Annotated[
        Path | None,
        typer.Option(
            help=(
                "YAML file of option defaults, one section per command (for example "
                "pipelines/sleepedf-20.yaml). Options given on the command line win."
            ),
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Explainable deep-learning sleep staging."""
    if preset is not None:
        from physioex.errors import InputError
        from physioex.presets import load_preset, preset_commands

        try:  # every section and key is checked against the commands' real options
            ctx.default_map = load_preset(preset, preset_commands(ctx.command))
        except InputError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None


def _register() -> None:
    """Add the stage commands in pipeline order."""
    from physioex.cli import download, explain, predict, preprocess, test, train, verify
    from physioex.cli.errors import reports_errors

    app.command("download")(reports_errors(download.download))
    app.command("preprocess")(reports_errors(preprocess.preprocess))
    app.command("verify")(reports_errors(verify.verify))
    app.command("train")(reports_errors(train.train))
    app.command("test")(reports_errors(test.test))
    app.command("predict")(reports_errors(predict.predict))
    app.command("explain")(reports_errors(explain.explain))


_register()


def main() -> None:
    """Console-script entry point: a usage mistake is one ``error:`` line (exit 2), not a framed box."""
    run_app(app)


def run_app(application: typer.Typer) -> None:
    """Run ``application``; Click's usage errors become one line naming the command's ``--help``.

    Typer vendors its own copy of Click in recent versions, so the exceptions are recognised by class
    name (``UsageError``, ``ClickException``, ``Abort``) rather than imported from ``click``.
    """
    import sys

    try:
        code = application(standalone_mode=False)
    except Exception as exc:
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        ctx = getattr(exc, "ctx", None)
        if "NoArgsIsHelpError" in kinds and ctx is not None:
            typer.echo(ctx.get_help())
            sys.exit(0)
        if "UsageError" in kinds:
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            typer.echo(f"error: {exc.format_message()}{hint}", err=True)  # type: ignore[attr-defined]
            sys.exit(2)
        if "ClickException" in kinds:
            typer.echo(f"error: {exc.format_message()}", err=True)  # type: ignore[attr-defined]
            sys.exit(int(getattr(exc, "exit_code", 1)))
        if "Abort" in kinds:
            typer.echo("Aborted.", err=True)
            sys.exit(130)
        raise
    sys.exit(code if isinstance(code, int) else 0)
