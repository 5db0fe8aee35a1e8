"""The inputs of an explain run, resolved and checked against each other before any work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from physioex.explain.errors import ExplainError

if TYPE_CHECKING:
    from physioex.inference.checkpoint import LoadedModel
    from physioex.store import EpochStore


@dataclass
class ExplainInputs:
    """A loaded checkpoint, the store it is explained on, the chosen recordings and the output folder."""

    checkpoint: LoadedModel
    store: EpochStore
    location: str
    """The store as given (path or URL), checked to be readable."""
    channel_index: list[int]
    """Store channel index of each of the model's channels."""
    fold: int | None
    recordings: list[str]
    out: Path


def default_out(fold: int | None) -> Path:
    """``<data root>/explain/fold<N>`` (``explain/custom`` when no fold is known)."""
    from physioex.paths import data_root

    return data_root() / "explain" / (f"fold{fold}" if fold is not None else "custom")


def resolve_inputs(
    checkpoint: str | Path,
    store: str | Path,
    *,
    fold: int | None,
    recordings: list[str] | None,
    out: str | Path | None,
    metrics: str | Path | None,
    storage_options: dict[str, Any] | None,
    timings: str | Path | None = None,
) -> ExplainInputs:
    """Load the checkpoint, open the store, check they fit, choose the recordings and the output folder.

    Raises ``ExplainError`` (or the checkpoint's or store's error) naming what does not fit.
    """
    from physioex.explain.artifacts import check_outputs
    from physioex.explain.selection import choose_recordings
    from physioex.inference.checkpoint import load_checkpoint
    from physioex.inference.leakage import refuse_seen_subjects
    from physioex.store import open_store
    from physioex.train import checks

    location = checks.input_store(store)
    if out is not None:  # the default folder depends on the checkpoint's fold: checked once it is known
        check_outputs(Path(out), metrics, [location, checkpoint], timings)
    ckpt = load_checkpoint(checkpoint)
    # check=False: each recording is checked before its first read, so a damaged one is reported in
    # run.json while the others are explained
    st = open_store(location, storage_options=storage_options, check=False)
    channel_index = ckpt.check_channels(st.channels, f"store {store}")
    if abs(st.sampling_rate - ckpt.sampling_rate) > 1e-6 or st.samples_per_epoch != ckpt.samples_per_epoch:
        raise ExplainError(
            f"store {store} holds {st.samples_per_epoch} samples per epoch at {st.sampling_rate} Hz, "
            f"checkpoint {checkpoint} expects {ckpt.samples_per_epoch} at {ckpt.sampling_rate} Hz"
        )
    fold = fold if fold is not None else ckpt.meta.fold
    recs = choose_recordings(st, fold, recordings, store)
    refuse_seen_subjects(ckpt.meta, st, recs, checkpoint, store)
    if out is None:
        out = default_out(fold)
        check_outputs(out, metrics, [location, checkpoint], timings)
    return ExplainInputs(ckpt, st, location, channel_index, fold, recs, Path(out))
