"""Errors of the epoch store, each a one-line message naming the store, recording, array and chunk.

``StoreError`` is a ``RunError`` (the CLI exits 1): stored data is missing, corrupt or unreachable.
``StoreNotFoundError`` and ``UnknownRecordingError`` are also ``InputError`` s (exit 2): the user named
a store or a recording that does not exist.
"""

from __future__ import annotations

from physioex.errors import InputError, RunError

REPAIR = "re-run `physioex preprocess` for it (or `dvc pull` if the store is tracked by DVC)"
"""What to do about missing or corrupt stored data."""


class StoreError(RunError):
    """The store is missing, incomplete, corrupt, unreachable or written by an incompatible version."""


class StoreNotFoundError(InputError, StoreError):
    """No store at the given path or URL (exit 2: the user named something that is not there)."""

    exit_code = 2


class UnknownRecordingError(InputError, KeyError):
    """A recording id that the store's index does not list."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StoreCorruptError(StoreError):
    """Stored data is unreadable: invalid ``zarr.json``, a chunk that fails its crc32c checksum, ..."""


class RecordingMissingError(StoreError):
    """The index lists a recording whose folder (or ``zarr.json``) is not in the store."""


class MissingChunkError(StoreCorruptError):
    """A chunk that was written (per the recording's manifest) is not in the store."""


class ParamsMismatchError(StoreError):
    """A recording was preprocessed with other parameters than the rest of the store."""


class RemoteStoreError(StoreError):
    """A remote store could not be reached or did not answer in time (after bounded retries)."""


def where(store: str, rec: str | None = None, array: str | None = None, chunk: str | None = None) -> str:
    """``store S, recording R, array A, chunk C`` prefix of a message (only the parts given)."""
    parts = [f"store {store}"]
    if rec is not None:
        parts.append(f"recording {rec}")
    if array is not None:
        parts.append(f"array {array}")
    if chunk is not None:
        parts.append(f"chunk {chunk}")
    return ", ".join(parts)
