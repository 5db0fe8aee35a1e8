"""One error hierarchy for every stage: a user mistake (exit 2) versus a run that failed (exit 1).

Every command raises these with a message that names the file, URL or parameter, the problem and
what to do, on one line; the CLI (``physioex.cli.errors``) prints that line without a traceback.
Anything else (an out-of-memory, a shape bug) is a bug and keeps its traceback.
"""

from __future__ import annotations


class PhysioexError(Exception):
    """Base class: ``str(err)`` is the one line shown to the user."""

    exit_code = 1


class InputError(PhysioexError, ValueError):
    """Bad input: a wrong parameter, a missing or unreadable input file, an output path that is an input."""

    exit_code = 2


class RunError(PhysioexError):
    """The run failed on valid input: an unreachable server, corrupt stored data, a busy output."""

    exit_code = 1
