"""Errors of an explain run: inputs that do not fit together (exit 2), or nothing explainable (exit 1)."""

from __future__ import annotations

from physioex.errors import InputError, RunError


class ExplainError(InputError):
    """The inputs of an explain run do not fit together (checkpoint vs store, unknown names...): exit 2."""


class NothingExplainedError(ExplainError, RunError):
    """Every selected recording failed (corrupt data): the run failed, exit 1; still an ``ExplainError``."""

    exit_code = 1
