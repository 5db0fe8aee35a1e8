"""Local mirrors: a folder or ``file://`` URL holding the tree; copying resumes like HTTP ``Range``.

Every entry is resolved before it is read: a symlink (or a folder symlink above it) that leads outside the
mirror folder is refused by name, so a mirror can never make us copy, hash or print anything outside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from physioex.download.errors import (
    DownloadInputError,
    FetchError,
    NotFoundError,
    RangeNotSatisfiable,
    UnsafeMirrorPathError,
)
from physioex.download.mirror import CHUNK_BYTES, LISTING_MAX_BYTES, Mirror, Stream


class LocalMirror(Mirror):
    """A local folder (or ``file://`` URL) holding the tree; raises ``DownloadInputError`` if it is none."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            what = "is not a folder" if root.exists() else "does not exist"
            raise DownloadInputError(
                f"--mirror {root}: the mirror folder {what}; pass an existing folder or an http(s):// URL"
            )
        self.root = root
        self._real_root = root.resolve()
        self.location = self._real_root.as_uri() + "/"

    def local_root(self) -> Path:
        return self.root

    def describe(self, relpath: str) -> str:
        return str(self.root / relpath)

    def inside(self, relpath: str) -> Path:
        """The real path of ``relpath``, refusing one that resolves outside the mirror folder."""
        real = Path(os.path.realpath(self.root / relpath))
        if real != self._real_root and self._real_root not in real.parents:
            raise UnsafeMirrorPathError(
                relpath,
                f"{self.root / relpath} is a symlink (or lies under one) leading outside the mirror folder "
                f"{self.root}; refused: copy the file into the mirror instead",
            )
        return real

    def read_text(self, relpath: str) -> str | None:
        real = self.inside(relpath)
        if not real.is_file():
            return None
        with open(real, "rb") as fh:
            data = fh.read(LISTING_MAX_BYTES + 1)
        if len(data) > LISTING_MAX_BYTES:
            raise FetchError(
                relpath, f"{self.root / relpath} is larger than {LISTING_MAX_BYTES:,} bytes: not a listing"
            )
        return data.decode("utf-8", errors="replace")

    def open(self, relpath: str, offset: int = 0) -> Stream:
        real = self.inside(relpath)
        if not real.is_file():
            raise NotFoundError(relpath, f"not found in mirror folder {self.root}")
        size = real.stat().st_size
        if offset >= size and offset > 0:
            raise RangeNotSatisfiable(relpath)
        where = str(self.root / relpath)
        return Stream(start=offset, size=size, chunks=_read(relpath, real, offset, where), where=where)


def _read(relpath: str, path: Path, offset: int, where: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            while chunk := fh.read(CHUNK_BYTES):
                yield chunk
    except OSError as exc:
        raise FetchError(relpath, f"cannot read {where}: {exc.strerror or exc}") from exc
