"""The one error type of preprocessing: a message naming the offending file and the problem."""

from __future__ import annotations

from pathlib import Path

from physioex.errors import RunError


class PreprocessError(RunError):
    """A recording cannot be preprocessed; ``str(err)`` is ``"<file>: <reason>"``.

    A run failure (exit 1): the run reports it per recording and stores the others.
    """

    def __init__(self, file: str | Path, reason: str) -> None:
        self.file = str(file)
        self.reason = reason
        super().__init__(f"{self.file}: {reason}")
