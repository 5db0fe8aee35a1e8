"""``physioex download``: fetch a dataset's raw files from a mirror, verified by SHA-256.

``listing`` parses and writes ``SHA256SUMS.txt``; ``mirror`` reads from HTTP(S), ``file://`` and local
folders with resume and retries; ``run.download`` fetches a subset in parallel into ``raw_dir(dataset)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from physioex.download.run import DownloadError, DownloadInputError, DownloadReport, download

__all__ = ["DownloadError", "DownloadInputError", "DownloadReport", "download"]


def __getattr__(name: str) -> Any:
    """Lazy re-exports, so ``import physioex.download.listing`` stays light."""
    if name in __all__:
        from physioex.download import run

        return getattr(run, name)
    raise AttributeError(name)
