"""The one error type of preprocessing: a message naming the offending file and the problem."""

from __future__ import annotations

from pathlib import Path


class PreprocessError(Exception):
    """A recording cannot be preprocessed; ``str(err)`` is ``"<file>: <reason>"``."""

    def __init__(self, file: str | Path, reason: str) -> None:
        self.file = str(file)
        self.reason = reason
        super().__init__(f"{self.file}: {reason}")
