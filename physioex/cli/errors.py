"""How every command reports a ``PhysioexError``: one line on stderr and its exit code, no traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from physioex.errors import PhysioexError

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    """Wrap a Typer command: ``InputError`` exits 2, ``RunError`` exits 1, both as ``error: <message>``.

    Other exceptions are not caught: they are bugs and keep their traceback.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PhysioexError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]
