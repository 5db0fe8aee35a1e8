"""Local mirrors: a folder or ``file://`` URL holding the tree; copying resumes like HTTP ``Range``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from physioex.download.errors import FetchError, NotFoundError, RangeNotSatisfiable, UnreachableError
from physioex.download.mirror import CHUNK_BYTES, Mirror, Stream


class LocalMirror(Mirror):
    """A local folder (or ``file://`` URL) holding the tree; copying can resume like HTTP."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = root.resolve().as_uri() + "/"

    def local_root(self) -> Path:
        return self.root

    def describe(self, relpath: str) -> str:
        return str(self.root / relpath)

    def read_text(self, relpath: str) -> str | None:
        path = self.root / relpath
        if not self.root.is_dir():
            raise UnreachableError(
                relpath,
                f"mirror folder {self.root} does not exist; pass --mirror with an existing folder or a URL",
            )
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None

    def open(self, relpath: str, offset: int = 0) -> Stream:
        path = self.root / relpath
        if not path.is_file():
            raise NotFoundError(relpath, f"not found in mirror folder {self.root}")
        size = path.stat().st_size
        if offset >= size and offset > 0:
            raise RangeNotSatisfiable(relpath)
        return Stream(start=offset, size=size, chunks=_read(relpath, path, offset))


def _read(relpath: str, path: Path, offset: int) -> Iterator[bytes]:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            while chunk := fh.read(CHUNK_BYTES):
                yield chunk
    except OSError as exc:
        raise FetchError(relpath, f"cannot read {path}: {exc.strerror or exc}") from exc
