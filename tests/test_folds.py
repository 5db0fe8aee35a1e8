"""Subject-wise folds: disjoint, covering, seeded, presets."""

from __future__ import annotations

import pytest

from physioex.store.folds import default_n_folds, make_folds


@pytest.mark.parametrize(("n_subjects", "k"), [(20, 20), (78, 10), (4, 4), (7, 3)])
def test_folds_partition_subjects(n_subjects: int, k: int) -> None:
    subjects = [str(s) for s in range(n_subjects)]
    folds = make_folds(subjects, k, seed=1)
    assert len(folds) == k and [f.index for f in folds] == list(range(k))
    tests = [s for f in folds for s in f.test]
    assert sorted(tests, key=int) == subjects  # every subject tested exactly once
    for f in folds:
        train, valid, test = set(f.train), set(f.valid), set(f.test)
        assert not (train & valid) and not (train & test) and not (valid & test)
        assert train | valid | test == set(subjects)
        assert valid and train and test
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 1


def test_folds_are_seeded() -> None:
    subs = [str(s) for s in range(20)]
    assert make_folds(subs, 5, seed=3) == make_folds(list(reversed(subs)), 5, seed=3)
    assert make_folds(subs, 5, seed=3) != make_folds(subs, 5, seed=4)


def test_presets_and_limits() -> None:
    assert default_n_folds("sleepedf-20", 20) == 20
    assert default_n_folds("sleepedf-78", 78) == 10
    assert default_n_folds("demo", 4) == 4
    assert default_n_folds("dodh", 25) == 5
    assert default_n_folds("demo", 2) == 0
    with pytest.raises(ValueError, match="at least 3 subjects"):
        make_folds(["a", "b"], 3)
    with pytest.raises(ValueError, match="cannot make 5"):
        make_folds(["1", "2", "3", "4"], 5)
