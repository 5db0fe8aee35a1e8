"""Small validators for parameters and paths where they enter (CLI, params.yaml, Python API).

Each raises :class:`physioex.errors.InputError` with one line: ``<where>: <problem>``, where ``where``
names the option, the params.yaml key or the function argument the value came from.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from physioex.errors import InputError
from physioex.io.outputs import refuse_overwriting_inputs


def is_url(location: str | Path) -> bool:
    """True for fsspec URLs (``s3://...``, ``https://...``): no local path checks apply to them."""
    return "://" in str(location)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean X?)`` for a close match among ``known``, else ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def integer(value: Any, where: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int (bools and fractional numbers are refused) within ``[minimum, maximum]``."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        parts = [f">= {minimum}"] if minimum is not None else []
        parts += [f"<= {maximum}"] if maximum is not None else []
        bounds = (" " + " and ".join(parts)) if parts else ""
        raise InputError(f"{where}: must be an integer{bounds}, got {value!r}")
    return int(value)


def number(
    value: Any,
    where: str,
    minimum: float | None = None,
    *,
    exclusive: bool = False,
    maximum: float | None = None,
) -> float:
    """``value`` as a float (numeric strings such as YAML's ``1e-3`` accepted) within the bounds."""
    parsed: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        parsed = float(value)
    elif isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            parsed = None
    if parsed is not None and parsed != parsed:  # NaN
        parsed = None
    low_ok = parsed is not None and (
        minimum is None or (parsed > minimum if exclusive else parsed >= minimum)
    )
    if parsed is None or not low_ok or (maximum is not None and parsed > maximum):
        parts = []
        if minimum is not None:
            parts.append(f"{'>' if exclusive else '>='} {minimum:g}")
        if maximum is not None:
            parts.append(f"<= {maximum:g}")
        bounds = (" " + " and ".join(parts)) if parts else ""
        raise InputError(f"{where}: must be a number{bounds}, got {value!r}")
    return parsed


def choice(value: Any, where: str, allowed: Iterable[str]) -> str:
    """``value`` as a plain string if it is one of ``allowed`` (an Enum member gives its value)."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
        raise InputError(f"{where}: must be one of {', '.join(allowed)}, got {value!r}{hint}")
    return str(value)


def optional_batch_size(value: Any, where: str) -> int | None:
    """None (the default) or an integer >= 1."""
    return None if value is None else integer(value, where, 1)


def _file_ancestor(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a folder (so nothing can be created below it)."""
    for parent in path.absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def output_file(path: str | Path, where: str) -> Path:
    """A file path that can be written: not an existing folder, no file where a parent folder must be."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{where} {path}: is an existing folder; give a file path")
    blocker = _file_ancestor(path)
    if blocker is not None:
        raise InputError(f"{where} {path}: {blocker} is a file, not a folder; choose another path")
    return path


def output_dir(path: str | Path, where: str) -> Path:
    """A folder path that can be written: not an existing file, no file where a parent folder must be."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{where} {path}: is an existing file; give a folder path")
    blocker = _file_ancestor(path)
    if blocker is not None:
        raise InputError(f"{where} {path}: {blocker} is a file, not a folder; choose another path")
    return path


def input_store(store: str | Path, where: str = "--store") -> str:
    """The store location; a local one must be an existing folder (``physioex preprocess`` writes it)."""
    location = str(store)
    if not is_url(location):
        p = Path(location)
        if not p.exists():
            raise InputError(f"{where} {location}: does not exist; run `physioex preprocess` first")
        if not p.is_dir():
            raise InputError(f"{where} {location}: is a file, not a Zarr store folder")
    return location


def same_path(a: str | Path, b: str | Path) -> bool:
    """True if ``a`` and ``b`` name the same file (after resolving symlinks and ``..``)."""
    return os.path.realpath(a) == os.path.realpath(b)


def not_an_input(
    output: str | Path, where: str, inputs: Iterable[str | Path | None], *, derived: str = ""
) -> None:
    """``InputError`` naming ``where`` if ``output`` is, holds or lies inside one of the local ``inputs``."""
    local = [p for p in inputs if p is not None and not is_url(p)]
    try:
        refuse_overwriting_inputs(local, [output])
    except InputError as exc:
        note = f" ({derived})" if derived else ""
        raise InputError(f"{where}{note}: {exc}") from None
