"""Which recordings, and how many epochs of each, an explain run explains."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from physioex.explain.errors import ExplainError

if TYPE_CHECKING:
    from physioex.store import EpochStore


def choose_recordings(
    st: EpochStore, fold: int | None, recordings: list[str] | None, store: str | Path
) -> list[str]:
    """The requested recordings (checked to exist), else the test recordings of ``fold``."""
    if recordings:
        missing = [r for r in recordings if r not in st.recordings]
        if missing:
            raise ExplainError(
                f"--recordings: store {store} has no recording(s) {missing}; it holds {st.recordings}"
            )
        return list(recordings)
    if fold is None:
        raise ExplainError(
            "no --fold given and the checkpoint does not name one; pass --fold or --recordings"
        )
    try:
        test = st.fold(int(fold)).test
    except (IndexError, KeyError, ValueError):
        raise ExplainError(f"--fold: store {store} has no fold {fold} ({len(st.folds)} folds)") from None
    recs = st.recordings_of(test)
    if not recs:
        raise ExplainError(f"--fold: fold {fold} of store {store} has no test recordings; pass --recordings")
    return recs


def epochs_to_explain(st: EpochStore, recordings: list[str], max_epochs: int | None) -> list[int]:
    """Epochs explained per recording: all, or the first ``max_epochs``."""
    return [min(st.n_epochs(r), max_epochs) if max_epochs else st.n_epochs(r) for r in recordings]
