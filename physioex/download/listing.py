"""``SHA256SUMS.txt`` listings: parse, format, check paths, hash a folder without one.

Format as published by PhysioNet and ``sha256sum``: one ``<64 hex digits>  <relative path>`` per line
(an optional ``*`` before the path marks binary mode).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from physioex.errors import InputError
from physioex.io.hashing import sha256_file

LISTING_NAME = "SHA256SUMS.txt"

_LINE = re.compile(r"^([0-9a-fA-F]{64})[ \t]+\*?(.+?)\s*$")


class ListingError(InputError):
    """A malformed listing line (an ``InputError``, hence also a ``ValueError``)."""


class UnsafePathError(InputError):
    """A listing entry that is absolute or would resolve outside the target folder."""


def parse_listing(text: str, *, source: str = "SHA256SUMS.txt") -> dict[str, str]:
    """``{relative path: lower-case sha256}`` from listing ``text``; blank and ``#`` lines are ignored.

    Raises ``ListingError`` naming ``source`` and the line for malformed lines or one path listed twice
    with different hashes. Paths are not checked here (see :func:`safe_target`).
    """
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            raise ListingError(f"{source}, line {number}: expected '<sha256>  <path>', got {line[:80]!r}")
        digest, path = m.group(1).lower(), m.group(2)
        if entries.get(path, digest) != digest:
            raise ListingError(f"{source}, line {number}: {path} listed twice with different sha256")
        entries[path] = digest
    return entries


def format_listing(entries: Mapping[str, str]) -> str:
    """Listing text for ``entries`` (sorted by path, ``sha256sum`` style, trailing newline)."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(entries.items()))


def safe_target(root: Path, relpath: str) -> Path:
    """``root / relpath`` if ``relpath`` is a plain relative path that stays inside ``root``.

    Refuses absolute paths, drive letters, backslashes, ``..`` and ``.`` components and empty names,
    so a hostile listing can never make us write outside the target folder.
    """
    pure = PurePosixPath(relpath)
    problem = None
    if not relpath or relpath != relpath.strip():
        problem = "empty or padded path"
    elif pure.is_absolute() or relpath.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", relpath):
        problem = "absolute path"
    elif "\\" in relpath or "\x00" in relpath:
        problem = "backslash or NUL in path"
    elif any(part in ("..", ".", "") for part in relpath.split("/")):
        problem = "'..', '.' or empty path component"
    if problem is None:
        root_resolved = root.resolve()
        target = (root / pure).resolve()
        if root_resolved != target and root_resolved not in target.parents:
            problem = "resolves outside the target folder"
    if problem is not None:
        raise UnsafePathError(f"{relpath!r}: refused listing entry ({problem})")
    return root / pure


def split_safe(root: Path, listing: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Entries of ``listing`` that are safe below ``root``, and one refusal message per unsafe entry."""
    safe: dict[str, str] = {}
    refused: list[str] = []
    for relpath, digest in listing.items():
        try:
            safe_target(root, relpath)
        except UnsafePathError as exc:
            refused.append(str(exc))
        else:
            safe[relpath] = digest
    return safe, refused


def hash_folder(root: Path, pattern: str) -> tuple[dict[str, str], list[str]]:
    """Listing built by hashing the files under ``root`` matching ``pattern`` (for folders without one).

    Returns the listing and one refusal message per match that resolves outside ``root`` (a symlink out
    of the mirror folder): such files are neither hashed nor listed.
    """
    real_root = Path(os.path.realpath(root))
    listing: dict[str, str] = {}
    refused: list[str] = []
    for path in sorted(root.rglob(pattern)):
        relpath = path.relative_to(root).as_posix()
        real = Path(os.path.realpath(path))
        if real_root not in real.parents:
            refused.append(
                f"{path}: refused: a symlink (or under one) leading outside the mirror folder {root}"
            )
        elif real.is_file():
            listing[relpath] = sha256_file(real)
    return listing, refused
