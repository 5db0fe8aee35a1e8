"""Where raw files come from: an HTTP(S) server, a ``file://`` URL or a plain local folder.

A mirror opens one file as a byte stream, optionally from an offset (HTTP ``Range``) so a partial file
can be resumed; ``open_mirror`` picks the implementation (``http_mirror`` or ``local_mirror``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit
from urllib.request import url2pathname

CHUNK_BYTES = 1 << 20
"""Largest chunk handed over at a time (bytes)."""


@dataclass
class Stream:
    """An open file body: bytes from ``start`` to the end; ``size`` is the whole file's size if known."""

    start: int
    size: int | None
    chunks: Iterator[bytes]

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


class Mirror(ABC):
    """A root (URL or folder) holding a dataset's original tree."""

    location: str

    @abstractmethod
    def read_text(self, relpath: str) -> str | None:
        """Text of a small file (the listing), or ``None`` when the mirror does not have it."""

    @abstractmethod
    def open(self, relpath: str, offset: int = 0) -> Stream:
        """Stream ``relpath`` from byte ``offset`` (the mirror may restart at 0; see ``Stream.start``)."""

    def describe(self, relpath: str) -> str:
        """Where ``relpath`` lives, for messages."""
        return urljoin(self.location, quote(relpath))

    def local_root(self) -> Path | None:
        """The folder behind a local mirror, else ``None``."""
        return None


def open_mirror(
    location: str | Path, *, retries: int = 5, backoff: float = 0.5, timeout: float = 60.0, pool: int = 8
) -> Mirror:
    """A mirror for ``location``: ``http(s)://`` URL, ``file://`` URL or local folder path."""
    text = str(location)
    scheme = urlsplit(text).scheme.lower()
    if scheme in ("http", "https"):
        from physioex.download.http_mirror import HttpMirror

        return HttpMirror(text, retries=retries, backoff=backoff, timeout=timeout, pool=pool)
    from physioex.download.local_mirror import LocalMirror

    if scheme == "file":
        return LocalMirror(Path(url2pathname(urlsplit(text).path)))
    if scheme and len(scheme) > 1:
        raise ValueError(f"unsupported mirror {text!r}: use an http(s):// or file:// URL or a local folder")
    return LocalMirror(Path(text))


def join_location(location: str, subdir: str) -> str:
    """``location`` extended by the sub-folder ``subdir`` (URL or path), for sources nested in a mirror."""
    if not subdir:
        return location
    if urlsplit(location).scheme.lower() in ("http", "https", "file"):
        return location.rstrip("/") + "/" + quote(subdir.strip("/")) + "/"
    return str(Path(location) / subdir)
