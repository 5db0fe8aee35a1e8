"""Subject-wise K-fold cross-validation whose folds do not move when subjects come or go.

Every night of a subject lands on the same side of a split, and the fold that TESTS a subject is a
function of that subject's id, ``k`` and the seed only: adding a subject (another ``--subjects``)
or losing one (a recording that failed to preprocess) never moves any other subject to another
test fold, so a checkpoint trained on fold f never gets one of its training subjects as a test
subject of fold f after the store is rebuilt (``docs/windows-and-folds.md``).

Test fold of a subject (``fold_of``):

- numeric id ``i`` (Sleep-EDF's ``"0"`` .. ``"82"``): block ``b = i // k``, fold ``perm_b[i % k]``,
  where ``perm_b`` is the identity for seed 0 (so Sleep-EDF-20 with 20 folds tests subject k in
  fold k, as the papers do) and otherwise a permutation of ``0 .. k-1`` drawn from ``(seed, b)``.
  Each block of k consecutive ids fills every fold once, so contiguous ids are balanced (fold sizes
  differ by at most one) for every seed;
- any other id (Dreem's record UUIDs): ``sha256("physioex-fold", seed, id) mod k`` (a stable hash,
  not Python's per-process salted ``hash``); balanced only on average.

Validation subjects of fold f: the ``round(VALID_FRACTION * n)`` (at least 1, at most n - 1) of its
n non-test subjects with the smallest ``sha256("physioex-valid", seed, f, id)``; the others train.
A subject added later joins fold f's validation only if its own hash is among the smallest, so the
validation split changes by at most that subject (and by one when the count itself changes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from physioex.errors import InputError
from physioex.sources import default_folds

VALID_FRACTION = 0.1
"""Share of the non-test subjects drawn for validation (at least one)."""


class FoldError(InputError):
    """The subjects cannot be split into the requested folds (bad input: exit 2)."""


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


def _hash(*parts: object) -> int:
    """A 64-bit integer from sha256 of ``parts`` joined by NUL: the same on every machine and run."""
    text = "\0".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@lru_cache(maxsize=4096)
def _block_permutation(k: int, seed: int, block: int) -> tuple[int, ...]:
    """Fold of each position ``0 .. k-1`` of numeric-id block ``block``: identity for seed 0."""
    if seed == 0:
        return tuple(range(k))
    rng = np.random.default_rng(_hash("physioex-block", seed, block))
    return tuple(int(v) for v in rng.permutation(k))


def fold_of(subject: str, k: int, seed: int = 0) -> int:
    """The fold (``0 .. k-1``) whose test split holds ``subject``; depends on nothing else.

    Parameters
    ----------
    subject : str
        Subject id; a string of digits is numeric (block rule), anything else is hashed.
    k : int
        Number of folds (>= 1).
    seed : int
        Fold seed (``--fold-seed``); 0 puts numeric id ``i`` in fold ``i % k``.

    Returns
    -------
    int
        The test fold of ``subject``.
    """
    subject = str(subject)
    if subject.isdigit():
        i = int(subject)
        return _block_permutation(k, int(seed), i // k)[i % k]
    return _hash("physioex-fold", int(seed), subject) % k


def _check_counts(subs: list[str], k: int) -> None:
    if k < 2:
        raise FoldError(f"need at least 2 folds, got {k}")
    if len(subs) < 3:
        raise FoldError(f"need at least 3 subjects for train/valid/test folds, got {len(subs)}")
    if k > len(subs):
        raise FoldError(f"cannot make {k} subject-wise folds from {len(subs)} subjects")


def _groups(subs: list[str], k: int, seed: int) -> list[list[str]]:
    groups: list[list[str]] = [[] for _ in range(k)]
    for s in subs:
        groups[fold_of(s, k, seed)].append(s)
    return groups


def _empty_fold_error(subs: list[str], k: int, seed: int, empty: list[int]) -> FoldError:
    works = next((j for j in range(k - 1, 1, -1) if all(_groups(subs, j, seed))), None)
    hint = f"fewer folds ({works} works)" if works is not None else "fewer folds"
    shown = ", ".join(map(str, empty[:5])) + (", ..." if len(empty) > 5 else "")
    return FoldError(
        f"{len(subs)} subjects leave fold(s) {shown} of {k} without a test subject (fold seed {seed}; "
        f"a subject's test fold depends only on its id); use {hint} or another fold seed"
    )


def make_folds(subjects: Iterable[str], k: int, seed: int = 0) -> list[Fold]:
    """Subject-wise K-fold with stable test folds (see the module docstring for the rule).

    Parameters
    ----------
    subjects : iterable of str
        Subject ids (duplicates and order do not matter).
    k : int
        Number of folds (>= 2, at most the number of subjects).
    seed : int
        Fold seed: 0 = numeric id ``i`` tested in fold ``i % k``.

    Returns
    -------
    list[Fold]
        ``k`` folds; their test splits are disjoint and cover every subject once.

    Raises
    ------
    FoldError
        (an ``InputError``, hence a ``ValueError``) when ``k`` < 2, there are fewer than 3 subjects,
        more folds than subjects, or some fold would test no subject.
    """
    subs = sort_subjects(subjects)
    _check_counts(subs, k)
    groups = _groups(subs, k, seed)
    empty = [f for f, g in enumerate(groups) if not g]
    if empty:
        raise _empty_fold_error(subs, k, seed, empty)
    folds = []
    for f, test in enumerate(groups):
        tested = set(test)
        rest = [s for s in subs if s not in tested]
        n_valid = min(max(1, round(VALID_FRACTION * len(rest))), len(rest) - 1)
        valid = set(sorted(rest, key=lambda s: (_hash("physioex-valid", seed, f, s), s))[:n_valid])
        folds.append(
            Fold(
                index=f,
                train=[s for s in rest if s not in valid],
                valid=sort_subjects(valid),
                test=sort_subjects(test),
            )
        )
    return folds


def store_folds(subjects: Iterable[str], n_folds: int | None, dataset: str, seed: int = 0) -> list[Fold]:
    """The folds ``physioex preprocess`` writes into a store of ``subjects``.

    Parameters
    ----------
    subjects : iterable of str
        The store's subject ids.
    n_folds : int or None
        ``--n-folds``; None = ``default_n_folds(dataset, ...)``. Capped at the number of subjects
        (failed recordings may have removed some).
    dataset : str
        Dataset name, for its declared number of folds.
    seed : int
        ``--fold-seed``.

    Returns
    -------
    list[Fold]
        The folds; empty when there are fewer than 3 subjects.

    Raises
    ------
    FoldError
        Naming ``--n-folds`` when some fold would test no subject.
    """
    subs = sort_subjects(subjects)
    k = n_folds if n_folds is not None else default_n_folds(dataset, len(subs))
    k = min(k, len(subs)) if len(subs) >= 3 else 0
    if k < 2:
        return []
    try:
        return make_folds(subs, k, seed)
    except FoldError as exc:
        raise FoldError(f"--n-folds {k}: {exc}") from None
