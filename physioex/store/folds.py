"""Subject-wise K-fold cross-validation: every night of a subject lands on the same side of a split.

Assignment is seeded and depends only on the sorted set of subject ids, ``k`` and the seed, so the
same store built twice has the same folds. Each fold: ``test`` = one of K disjoint subject groups,
``valid`` = a seeded draw (at least one subject, about 10%) from the other subjects, ``train`` = the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from physioex.sources import default_folds

VALID_FRACTION = 0.1
"""Share of the non-test subjects drawn for validation (at least one)."""


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold as lists of subject ids (strings)."""

    index: int
    train: list[str]
    valid: list[str]
    test: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fold:
        return cls(
            index=int(d["index"]),
            train=[str(s) for s in d["train"]],
            valid=[str(s) for s in d["valid"]],
            test=[str(s) for s in d["test"]],
        )


def _subject_sort_key(s: str) -> tuple[int, int | str]:
    return (0, int(s)) if s.isdigit() else (1, s)


def sort_subjects(subjects: Iterable[str]) -> list[str]:
    """Unique subject ids, numeric ids in numeric order ("2" before "10"), then the others."""
    return sorted({str(s) for s in subjects}, key=_subject_sort_key)


def default_n_folds(dataset: str, n_subjects: int) -> int:
    """The dataset's declared folds (``DatasetSpec.folds``; 5 if unknown), capped at ``n_subjects``.

    Returns 0 when there are fewer than 3 subjects (no train/valid/test split is possible).
    """
    if n_subjects < 3:
        return 0
    return min(default_folds(dataset), n_subjects)


def make_folds(subjects: Iterable[str], k: int, seed: int = 0) -> list[Fold]:
    """Seeded subject-wise K-fold: disjoint test groups covering every subject once.

    Raises ``ValueError`` when ``k`` < 2 or there are too few subjects for train, valid and test.
    """
    subs = sort_subjects(subjects)
    if k < 2:
        raise ValueError(f"need at least 2 folds, got {k}")
    if len(subs) < 3:
        raise ValueError(f"need at least 3 subjects for train/valid/test folds, got {len(subs)}")
    if k > len(subs):
        raise ValueError(f"cannot make {k} subject-wise folds from {len(subs)} subjects")
    rng = np.random.default_rng(seed)
    order = [subs[i] for i in rng.permutation(len(subs))]
    groups = [list(g) for g in np.array_split(np.array(order, dtype=object), k)]
    folds = []
    for i, test in enumerate(groups):
        rest = [s for s in subs if s not in set(test)]
        n_valid = max(1, round(VALID_FRACTION * len(rest)))
        n_valid = min(n_valid, len(rest) - 1)
        valid = set(rng.choice(np.array(rest, dtype=object), size=n_valid, replace=False).tolist())
        folds.append(
            Fold(
                index=i,
                train=[s for s in rest if s not in valid],
                valid=sort_subjects(valid),
                test=sort_subjects(test),
            )
        )
    return folds
