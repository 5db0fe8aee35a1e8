"""Subject-wise folds: disjoint, covering, seeded, stable when subjects come or go, presets."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from helpers import assert_one_error, run_physioex

from physioex.errors import InputError
from physioex.store.folds import FoldError, default_n_folds, make_folds, store_folds
from physioex.store.folds import fold_of as assigned_fold

SLEEPEDF_78 = [str(s) for s in range(83) if s not in (39, 68, 69, 78, 79)]  # 78 subject ids with gaps
UUIDS = [str(uuid.UUID(int=(i + 1) * 0x9E3779B97F4A7C15)) for i in range(25)]  # Dreem-like ids


def _test_fold(folds: list, subject: str) -> int:
    (index,) = [f.index for f in folds if subject in f.test]
    return index


@pytest.mark.parametrize(("n_subjects", "k"), [(20, 20), (78, 10), (4, 4), (7, 3)])
def test_folds_partition_subjects(n_subjects: int, k: int) -> None:
    subjects = [str(s) for s in range(n_subjects)]
    for seed in (0, 1, 7):
        folds = make_folds(subjects, k, seed=seed)
        assert len(folds) == k and [f.index for f in folds] == list(range(k))
        tests = [s for f in folds for s in f.test]
        assert sorted(tests, key=int) == subjects  # every subject tested exactly once
        for f in folds:
            train, valid, test = set(f.train), set(f.valid), set(f.test)
            assert not (train & valid) and not (train & test) and not (valid & test)
            assert train | valid | test == set(subjects)
            assert valid and train and test
            assert len(valid) == max(1, round(0.1 * (n_subjects - len(test))))
        sizes = [len(f.test) for f in folds]
        assert max(sizes) - min(sizes) <= 1  # contiguous ids are balanced for every seed


def test_sleepedf_20_fold_k_tests_subject_k_as_the_papers_do() -> None:
    folds = make_folds([str(s) for s in range(20)], 20)
    assert [f.test for f in folds] == [[str(k)] for k in range(20)]


def test_demo_folds_are_balanced() -> None:
    folds = make_folds([str(s) for s in range(10)], 5)
    assert [f.test for f in folds] == [[str(k), str(k + 5)] for k in range(5)]


@pytest.mark.parametrize(
    ("subjects", "k", "seed"),
    [
        ([str(s) for s in range(20)], 20, 0),
        ([str(s) for s in range(20)], 5, 3),
        (SLEEPEDF_78, 10, 0),
        (SLEEPEDF_78, 10, 11),
        (UUIDS, 5, 0),
        (UUIDS, 5, 2),
    ],
)
def test_removing_or_adding_a_subject_never_moves_another_subjects_test_fold(
    subjects: list[str], k: int, seed: int
) -> None:
    base = make_folds(subjects, k, seed)
    where = {s: _test_fold(base, s) for s in subjects}
    assert where == {s: assigned_fold(s, k, seed) for s in subjects}
    for gone in subjects:
        rest = [s for s in subjects if s != gone]
        try:
            fewer = make_folds(rest, k, seed)
        except FoldError:  # the removed subject was its fold's only test subject: an error, not a reshuffle
            assert [s for s in subjects if where[s] == where[gone]] == [gone]
            continue
        assert {s: _test_fold(fewer, s) for s in rest} == {s: where[s] for s in rest}
    for new in ("99", "100", "7a", str(uuid.UUID(int=5))):
        more = make_folds([*subjects, new], k, seed)
        assert {s: _test_fold(more, s) for s in subjects} == where


def test_folds_are_seeded_and_deterministic() -> None:
    subs = [str(s) for s in range(20)]
    assert make_folds(subs, 5, seed=3) == make_folds(list(reversed(subs)), 5, seed=3)
    assert make_folds(subs, 5, seed=3) == make_folds([*subs, "3", "0"], 5, seed=3)  # duplicates collapse
    assert make_folds(subs, 5, seed=3) != make_folds(subs, 5, seed=4)
    assert [f.test for f in make_folds(subs, 5, seed=3)] != [f.test for f in make_folds(subs, 5, seed=0)]
    assert [f.test for f in make_folds(UUIDS, 5, seed=0)] != [f.test for f in make_folds(UUIDS, 5, seed=1)]
    # a stable hash, not Python's salted hash(): these values hold on every machine and in every run
    assert [assigned_fold(s, 5, 0) for s in UUIDS[:6]] == [1, 0, 2, 0, 0, 3]
    assert [assigned_fold(str(s), 5, 3) for s in range(10)] == [4, 1, 3, 2, 0, 0, 4, 1, 2, 3]


def test_validation_subjects_are_stable_too() -> None:
    subs = [str(s) for s in range(40)]
    base = make_folds(subs, 4, seed=5)
    more = make_folds([*subs, "40"], 4, seed=5)  # 10% of the non-test subjects: still 3 per fold
    for a, b in zip(base, more, strict=True):
        assert set(b.valid) - {"40"} <= set(a.valid) and len(set(a.valid) - set(b.valid)) <= 1
    for gone in ("0", "1", "2"):  # removing a training subject leaves every validation split as it was
        fewer = make_folds([s for s in subs if s != gone], 4, seed=5)
        assert all(a.valid == b.valid for a, b in zip(base, fewer, strict=True) if gone in a.train)
    # each fold draws its own 3 validation subjects (not the same few everywhere)
    assert len({s for f in base for s in f.valid}) >= 9


def test_a_fold_without_test_subject_is_an_error() -> None:
    with pytest.raises(FoldError, match=r"^3 subjects leave fold\(s\) 1, 2 of 3 without a test subject") as e:
        make_folds(["0", "3", "6"], 3)
    assert "fewer folds (2 works)" in str(e.value) and isinstance(e.value, InputError)
    assert len(make_folds(["0", "3", "6"], 2)) == 2
    with pytest.raises(FoldError, match=r"^--n-folds 3: 3 subjects leave"):
        store_folds(["0", "3", "6"], 3, "sleepedf-20")
    assert store_folds(["0", "1"], None, "sleepedf-20") == []  # too few subjects: no folds at all
    with pytest.raises(FoldError, match=r"^--n-folds 4: 4 subjects leave fold\(s\) 3 of 4 .*\(3 works\)"):
        store_folds(["0", "1", "2", "5"], None, "demo")  # the demo's 4 folds, subject 3 missing
    assert [f.test for f in store_folds(["0", "1", "2", "5"], 3, "demo")] == [["0"], ["1"], ["2", "5"]]


def test_preprocess_refuses_a_fold_without_test_subject_before_any_work(
    demo_mirror: Path, tmp_path: Path
) -> None:
    from physioex.download.run import download

    raw, store = tmp_path / "raw", tmp_path / "s.zarr"
    assert download("demo", mirror=demo_mirror, out=raw, subjects=[0, 2, 3], progress=False).ok
    args: list[str | Path] = [
        "preprocess",
        "demo",
        "--raw",
        raw,
        "--out",
        store,
        "--n-folds",
        "3",
        "--no-progress",
    ]
    assert_one_error(
        run_physioex(*args, cwd=tmp_path), 2, "--n-folds 3: 3 subjects", "fold(s) 1 of 3", "(2 works)"
    )
    assert not store.exists()


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
