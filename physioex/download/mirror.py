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

from physioex.download.errors import DownloadInputError

CHUNK_BYTES = 1 << 20
"""Largest chunk handed over at a time (bytes)."""

LISTING_MAX_BYTES = 64 << 20
"""Largest ``SHA256SUMS.txt`` accepted (PhysioNet's whole sleep-edfx listing is about 40 kB)."""


def looks_like_html(content_type: str | None, head: bytes) -> bool:
    """True for a ``text/html`` media type or a body starting with ``<!DOCTYPE`` or ``<html``."""
    if content_type and content_type.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml"):
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:9].lower()
    return start.startswith((b"<!doctype", b"<html"))


@dataclass
class Stream:
    """An open file body: bytes from ``start`` to the end; ``size`` is the whole file's size if known.

    ``where`` is the URL or path the bytes come from (for messages); ``content_type`` the announced media
    type, if any (an HTML page where a binary file was expected is refused).
    """

    start: int
    size: int | None
    chunks: Iterator[bytes]
    where: str = ""
    content_type: str | None = None

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
    """A mirror for ``location``: ``http(s)://`` URL, ``file://`` URL or local folder path.

    ``timeout`` (s) bounds every connect and every read of an HTTP mirror; raises ``DownloadInputError``
    for an unsupported URL scheme.
    """
    text = str(location)
    scheme = urlsplit(text).scheme.lower()
    if scheme in ("http", "https"):
        from physioex.download.http_mirror import HttpMirror

        return HttpMirror(text, retries=retries, backoff=backoff, timeout=timeout, pool=pool)
    from physioex.download.local_mirror import LocalMirror

    local = local_path(text)
    if local is None:
        raise DownloadInputError(
            f"--mirror {text}: unsupported scheme {scheme!r}; "
            "use an http(s):// or file:// URL or a local folder"
        )
    return LocalMirror(local)


def local_path(location: str | Path) -> Path | None:
    """The folder a local mirror location (path or ``file://`` URL) names, else ``None`` (HTTP)."""
    text = str(location)
    scheme = urlsplit(text).scheme.lower()
    if scheme == "file":
        return Path(url2pathname(urlsplit(text).path))
    if scheme and len(scheme) > 1:
        return None
    return Path(text)


def join_location(location: str, subdir: str) -> str:
    """``location`` extended by the sub-folder ``subdir`` (URL or path), for sources nested in a mirror."""
    if not subdir:
        return location
    if urlsplit(location).scheme.lower() in ("http", "https", "file"):
        return location.rstrip("/") + "/" + quote(subdir.strip("/")) + "/"
    return str(Path(location) / subdir)
