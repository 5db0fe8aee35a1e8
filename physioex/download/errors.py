"""Why fetching one file failed: each error's message names the file and the problem."""

from __future__ import annotations

NETWORK_HINT = "check the network, or pass --mirror with a reachable URL or a local folder"


class FetchError(Exception):
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


class UnreachableError(FetchError):
    """The mirror cannot be reached at all (connection refused, DNS failure, no network)."""


class RangeNotSatisfiable(Exception):
    """The offset is at or past the end of the remote file (HTTP 416): restart from 0."""
