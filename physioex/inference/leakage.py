"""A checkpoint never scores a subject it was trained or validated on, whatever the store's folds say now.

Folds are recomputed from the subjects a store holds, so a store re-preprocessed with other subjects
or another fold seed can move a training subject into a fold's test split. Checkpoints record the
subjects they saw (``CheckpointMeta.train_subjects``/``valid_subjects``); ``physioex test`` and
``physioex explain`` check every recording they are about to score against them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from physioex.errors import InputError
from physioex.inference.meta import CheckpointMeta


def refuse_seen_subjects(
    meta: CheckpointMeta, st: Any, recordings: Iterable[str], checkpoint: str | Path, store: str | Path
) -> None:
    """Raise ``InputError`` naming the first recording of ``recordings`` whose subject ``meta`` saw.

    Checkpoints older than the recorded subject lists (``None``) cannot be checked and pass.
    """
    seen = {
        str(s): split
        for split, subjects in (("trained", meta.train_subjects), ("validated", meta.valid_subjects))
        for s in subjects or ()
    }
    for rec in recordings:
        subject = str(st.subject_of(rec))
        if subject in seen:
            raise InputError(
                f"checkpoint {checkpoint}: was {seen[subject]} on subject {subject}, so it cannot score "
                f"recording {rec} of store {store} (the store's folds no longer match the ones it was "
                "trained with); retrain on this store, or use the checkpoint of the fold that tests it"
            )
