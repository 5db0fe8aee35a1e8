"""The error of inference: a checkpoint that cannot be used on the data it is applied to."""

from __future__ import annotations

from physioex.errors import InputError


class CheckpointError(InputError):
    """The checkpoint is missing, unreadable, or incompatible with the data it is applied to (exit 2)."""
