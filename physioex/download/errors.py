"""Why a download failed: each error's message names the file or URL, the problem and what to do.

``DownloadError`` (a ``RunError``, exit 1) stops a run that cannot start on valid input (unreachable mirror,
no usable listing); ``DownloadInputError`` (an ``InputError``, exit 2) is a bad parameter. ``FetchError``
and its subclasses describe one file; the run collects them so the other files still finish.
"""

from __future__ import annotations

from physioex.errors import InputError, RunError

NETWORK_HINT = "check the network, or pass --mirror with a reachable URL or a local folder"


class DownloadError(RunError):
    """The download could not start (mirror unreachable, no usable listing); exit 1."""


class DownloadInputError(InputError):
    """A bad parameter of ``download`` (unknown dataset, missing mirror folder, subset not in the listing)."""


class FetchError(RunError):
    """Fetching one file failed; the message names the file and the problem."""

    def __init__(self, relpath: str, problem: str) -> None:
        super().__init__(f"{relpath}: {problem}")
        self.relpath = relpath
        self.problem = problem


class NotFoundError(FetchError):
    """The mirror does not have the file (HTTP 404/410, or missing from the folder)."""


class TruncatedError(FetchError):
    """The transfer ended before the whole body arrived; the partial file is kept for resuming."""


class ChecksumError(FetchError):
    """The received bytes do not hash to the listed SHA-256; the partial file was deleted."""


class OversizeError(FetchError):
    """The body went past its announced size or the per-file limit; cut there and deleted."""


class HtmlPageError(FetchError):
    """The mirror answered an HTML page (login, error or index page) where a binary file was expected."""


class UnsafeMirrorPathError(FetchError):
    """A local mirror entry is a symlink (or under one) that leads outside the mirror folder: refused."""


class UnreachableError(FetchError):
    """The mirror cannot be reached at all (connection refused, DNS failure, no answer, redirect loop)."""


class RangeNotSatisfiable(Exception):
    """The offset is at or past the end of the remote file (HTTP 416): restart from 0 (control flow only)."""
