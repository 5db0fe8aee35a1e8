"""Fetch one file: resume ``<name>.part``, hash while writing, rename only after the SHA-256 matches.

The body is bounded: never more bytes than the mirror announced (``Content-Length``, ``Content-Range`` or
the local file's size) or, when it announced nothing, than a per-file limit; an HTML page where a binary
file was expected is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from physioex.download.errors import (
    ChecksumError,
    HtmlPageError,
    OversizeError,
    RangeNotSatisfiable,
    TruncatedError,
)
from physioex.download.mirror import Mirror, Stream, looks_like_html
from physioex.io.hashing import sha256_file

PART_SUFFIX = ".part"

MAX_FILE_BYTES = 2_000_000_000
"""Default bound (bytes) on a body whose size the mirror does not announce (largest real file: ~1 GB)."""


@dataclass
class FetchResult:
    """Outcome of one verified file: ``action`` is ``"skipped"``, ``"downloaded"`` or ``"resumed"``."""

    relpath: str
    action: str
    bytes: int = 0
    """Bytes received over the mirror in this call."""


def part_path(target: Path) -> Path:
    """Where the partial download of ``target`` lives (same folder, so the final rename is atomic)."""
    return target.with_name(target.name + PART_SUFFIX)


def fetch_file(
    mirror: Mirror,
    relpath: str,
    target: Path,
    sha256: str,
    *,
    on_size: Callable[[int], None] = lambda n: None,
    on_bytes: Callable[[int], None] = lambda n: None,
    max_bytes: int = MAX_FILE_BYTES,
) -> FetchResult:
    """Make ``target`` hold ``relpath`` from ``mirror`` with hash ``sha256``.

    Skips a target that already verifies; resumes an existing ``.part`` from its size (a server that
    ignores ``Range`` restarts it from 0; a resumed file that fails the hash is fetched once more from
    scratch, since the stale partial is the likely culprit). Raises ``TruncatedError`` (partial kept) or
    ``ChecksumError``, ``OversizeError`` or ``HtmlPageError`` (partial deleted). ``on_size`` gets the bytes
    still to come, ``on_bytes`` each received chunk size; ``max_bytes`` bounds a body of unannounced size.
    """
    if target.is_file():
        if sha256_file(target) == sha256:
            return FetchResult(relpath, "skipped")
        target.unlink()  # an unverified file must not sit under the final name
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    offset, digest = _partial(part)
    if offset and digest.hexdigest() == sha256:  # complete but never renamed (e.g. interrupted run)
        os.replace(part, target)
        return FetchResult(relpath, "resumed")
    try:
        stream = mirror.open(relpath, offset)
    except RangeNotSatisfiable:  # the partial is as long as the file or longer, yet wrong: start over
        part.unlink(missing_ok=True)
        offset, digest = 0, hashlib.sha256()
        stream = mirror.open(relpath, 0)
    if stream.start == 0 and offset:  # Range ignored: the body is the whole file again
        offset, digest = 0, hashlib.sha256()
    if stream.size is not None:
        on_size(stream.size - stream.start)
    received = _append(relpath, stream, part, offset, digest, on_bytes, max_bytes)
    actual = digest.hexdigest()
    if actual != sha256:
        part.unlink(missing_ok=True)
        if offset:
            result = fetch_file(
                mirror, relpath, target, sha256, on_size=on_size, on_bytes=on_bytes, max_bytes=max_bytes
            )
            return FetchResult(relpath, result.action, received + result.bytes)
        raise ChecksumError(
            relpath,
            f"checksum mismatch: expected sha256 {sha256}, got {actual} from {stream.where}; "
            "the partial file was deleted",
        )
    os.replace(part, target)
    return FetchResult(relpath, "resumed" if offset else "downloaded", received)


def _partial(part: Path) -> tuple[int, hashlib._Hash]:
    """Size of an existing ``.part`` file and the running SHA-256 of its bytes (0 and empty if none)."""
    digest = hashlib.sha256()
    if not part.is_file():
        return 0, digest
    with open(part, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return part.stat().st_size, digest


def _append(
    relpath: str,
    stream: Stream,
    part: Path,
    offset: int,
    digest: hashlib._Hash,
    on_bytes: Callable[[int], None],
    max_bytes: int,
) -> int:
    """Write ``stream`` into ``part`` from ``offset`` while hashing; returns bytes received.

    A body shorter than announced raises ``TruncatedError`` with the ``.part`` file kept for resuming; one
    longer than announced (or than ``max_bytes`` if unannounced) is cut before the excess is written and
    raises ``OversizeError``; an HTML page raises ``HtmlPageError`` (both delete the partial file).
    """
    binary = not relpath.lower().endswith((".html", ".htm"))
    html = HtmlPageError(relpath, f"{stream.where} answered an HTML page, not the file: check the mirror URL")
    if binary and looks_like_html(stream.content_type, b""):
        stream.close()
        raise html
    limit = stream.size if stream.size is not None else max_bytes
    received, head = 0, b""
    try:
        with open(part, "ab" if offset else "wb") as fh:
            for chunk in stream.chunks:
                if binary and offset == 0 and len(head) < 64:  # sniff the first bytes, however they arrive
                    head += chunk[:64]
                    if looks_like_html(None, head):
                        raise html
                if offset + received + len(chunk) > limit:
                    raise OversizeError(relpath, _oversize(stream, limit))
                fh.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                on_bytes(len(chunk))
    except (HtmlPageError, OversizeError):
        part.unlink(missing_ok=True)
        raise
    except TruncatedError as exc:
        raise TruncatedError(
            relpath, f"{exc.problem}; {_have(offset + received, stream.size)}, kept as {part.name} to resume"
        ) from exc
    finally:
        stream.close()
    if stream.size is not None and offset + received < stream.size:
        raise TruncatedError(
            relpath, f"truncated body: {_have(offset + received, stream.size)}, kept as {part.name} to resume"
        )
    return received


def _oversize(stream: Stream, limit: int) -> str:
    if stream.size is not None:
        return (
            f"{stream.where} sent more than the {limit:,} bytes it announced; cut there, partial file deleted"
        )
    return (
        f"{stream.where} sent more than {limit:,} bytes without announcing a size (the per-file limit); "
        "cut there, partial file deleted: raise --max-file-mb if the file really is larger"
    )


def _have(have: int, size: int | None) -> str:
    return f"received {have:,} of {size:,} bytes" if size is not None else f"received {have:,} bytes"
