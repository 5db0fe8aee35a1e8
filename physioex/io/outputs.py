"""Output paths never replace inputs: the check every command runs before doing any work."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from physioex.errors import InputError


def _key(path: Path) -> Path:
    return Path(os.path.realpath(path))


def refuse_overwriting_inputs(inputs: Iterable[str | Path], outputs: Iterable[str | Path]) -> None:
    """Raise ``InputError`` if an output path is, contains or lies inside one of the input paths.

    Paths are compared after resolving symlinks and ``..``, so ``night.edf`` and ``./x/../night.edf``
    are the same file. Call it with every path a command reads and every path it will write.
    """
    ins = [(Path(p), _key(Path(p))) for p in inputs]
    for out in outputs:
        out_key = _key(Path(out))
        for given, in_key in ins:
            if out_key == in_key or in_key in out_key.parents or out_key in in_key.parents:
                raise InputError(
                    f"{out}: this output would overwrite the input {given}; choose another output path"
                )
