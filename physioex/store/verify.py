"""``physioex verify``: read every chunk of every recording and report every problem at once.

Checks, per store: the root ``zarr.json`` and format version, that every indexed recording has its
folder and every recording folder is indexed; per recording: its ``zarr.json``, its ``params_hash``
against the root's, its chunk manifest against the files (presence and size), array shapes, and
finally every chunk decoded through its crc32c checksum. Problems are one line each, in the same
words the reader would raise them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from physioex.store import layout
from physioex.store.errors import REPAIR, StoreError


@dataclass
class VerifyReport:
    """Outcome of ``verify_store``: what was read, and one line per problem."""

    store: str
    recordings: int = 0
    chunks: int = 0
    epochs: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: ``store S: N recordings, C chunks, E epochs read, no problems`` (or the count)."""
        what = "no problems" if self.ok else f"{len(self.problems)} problem(s)"
        return (
            f"store {self.store}: {self.recordings} recordings, {self.chunks} chunks, {self.epochs} epochs "
            f"checked, {what}"
        )


def verify_store(
    path: str | Path,
    storage_options: dict[str, Any] | None = None,
    *,
    timeout: float | None = None,
    progress: bool = False,
) -> VerifyReport:
    """Check the whole store at ``path`` (local or URL); never stops at the first problem.

    Raises only when the store cannot be opened at all (``StoreNotFoundError``, an unreachable server,
    an invalid root ``zarr.json``); everything else is collected in ``VerifyReport.problems``.
    """
    from tqdm.auto import tqdm

    from physioex.store.reader import open_store

    st = open_store(path, storage_options, timeout=timeout, check=False)
    report = VerifyReport(store=st.name)
    recs = st.recordings
    listing = st._list_files(layout.RECORDINGS)
    if listing is not None:
        folders = {k.split("/", 1)[0] for k in listing if k.count("/") == 1 and k.endswith("/zarr.json")}
        for orphan in sorted(folders - set(recs)):
            report.problems.append(
                f"store {st.name}, recording {orphan}: its folder is not in the store's index (left by an "
                "interrupted `physioex preprocess`?); remove the folder or re-run `physioex preprocess`"
            )
    problems, sound = st.problems_of(recs)
    report.problems += [str(p) for p in problems]
    for rec in tqdm(recs, desc="verify", unit="rec", disable=not progress):
        report.recordings += 1
        if rec not in sound:
            continue
        try:
            arrays = st.arrays(rec)
        except StoreError as exc:
            report.problems.append(str(exc))
            continue
        for name, arr in arrays.items():
            for i in range(-(-int(arr.shape[0]) // int(arr.chunks[0]))):
                try:
                    st.read_chunk(rec, name, i)
                except StoreError as exc:
                    report.problems.append(str(exc))
                report.chunks += 1
        report.epochs += st.n_epochs(rec)
    if not recs:
        report.problems.append(f"store {st.name}: the index lists no recordings; {REPAIR}")
    return report
