"""End-to-end preprocessing on the demo mirror: folds, plain zarr, bad files, re-runs, interruption, CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from physioex.download.listing import parse_listing
from physioex.preprocess.params import PreprocessParams
from physioex.preprocess.run import preprocess, preprocess_recordings
from physioex.sources import get_source
from physioex.store import open_store
from physioex.store.reader import StoreError


def _link_tree(src: Path, dst: Path) -> Path:
    """A raw folder whose files are symlinks to the (session-shared, never modified) demo mirror."""
    for path in src.rglob("*"):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, target)
    return dst


def _replace_file(path: Path, data: bytes) -> None:
    path.unlink()  # drop the symlink, write a real (damaged) copy
    path.write_bytes(data)


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def raw(demo_mirror: Path, tmp_path: Path) -> Path:
    return _link_tree(demo_mirror, tmp_path / "raw")


@pytest.mark.filterwarnings("ignore:Numcodecs codecs are not in the Zarr version 3 specification")
def test_demo_store_folds_and_plain_zarr(raw: Path, tmp_path: Path) -> None:
    import csv

    import zarr

    report = preprocess("demo", raw=raw, out=tmp_path / "demo.zarr", jobs=2, progress=False)
    assert report.ok and len(report.written) == 8 and report.n_folds == 4
    store = open_store(tmp_path / "demo.zarr")
    assert store.subjects == ["0", "1", "2", "3"] and len(store.recordings) == 8
    tested = []
    for fold in store.folds:
        parts = [set(fold.train), set(fold.valid), set(fold.test)]
        assert all(parts) and set.union(*parts) == set(store.subjects)
        assert sum(len(p) for p in parts) == 4  # disjoint by subject
        tested += fold.test
        # both nights of every subject on the same side
        for split in parts:
            for rec in store.recordings_of(split):
                assert store.subject_of(rec) in split
    assert sorted(tested) == store.subjects
    with open(tmp_path / "demo.zarr" / "folds.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {(int(r["fold"]), r["split"], r["subject"]) for r in rows} == {
        (f.index, split, s)
        for f in store.folds
        for split in ("train", "valid", "test")
        for s in getattr(f, split)
    }
    root = zarr.open_group(str(tmp_path / "demo.zarr"), mode="r")
    for rec in store.recordings:
        eeg = root[f"recordings/{rec}/signals/EEG_Fpz-Cz"][:]
        np.testing.assert_array_equal(eeg, store.signals(rec)[:, 0])
        assert eeg.shape == (store.n_epochs(rec), 3000)
        assert 5.0 < float(eeg.std()) < 200.0  # EEG-like amplitude in uV
        labels = root[f"recordings/{rec}/labels"][:]
        assert set(np.unique(labels).tolist()) <= {-2, -1, 0, 1, 2, 3, 4}


def test_bad_recordings_are_reported_and_others_stored(raw: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from physioex.cli import app

    sc = raw / "sleep-cassette"
    truncated = sc / "SC4011E0-PSG.edf"
    _replace_file(truncated, truncated.read_bytes()[:3_000_000])
    renamed = sc / "SC4021E0-PSG.edf"
    data = renamed.read_bytes()
    _replace_file(renamed, data[:256] + data[256:2048].replace(b"EEG Fpz-Cz", b"EEG Fpz-Cx", 1) + data[2048:])
    unknown = sc / "SC4031EC-Hypnogram.edf"
    _replace_file(unknown, unknown.read_bytes().replace(b"Sleep stage W", b"Sleep stage X", 1))
    shifted = sc / "SC4002EV-Hypnogram.edf"
    data = shifted.read_bytes()
    hh = int(data[176:178])
    _replace_file(shifted, data[:176] + b"%02d" % ((hh + 2) % 24) + data[178:])  # starts 2 h after the PSG

    out = tmp_path / "bad.zarr"
    result = CliRunner().invoke(
        app, ["preprocess", "demo", "--raw", str(raw), "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 1, result.output
    store = open_store(out)
    assert store.recordings == ["SC4001E0", "SC4012E0", "SC4022E0", "SC4032E0"]
    failed = store.attrs["failed"]
    assert set(failed) == {"SC4011E0", "SC4021E0", "SC4031E0", "SC4002E0"}
    assert "SC4011E0-PSG.edf: truncated EDF" in failed["SC4011E0"]
    assert "SC4021E0-PSG.edf: channel(s) 'EEG Fpz-Cz' not found" in failed["SC4021E0"]
    assert "SC4031EC-Hypnogram.edf: unknown annotation 'Sleep stage X'" in failed["SC4031E0"]
    assert "SC4002EV-Hypnogram.edf: PSG/hypnogram mismatch" in failed["SC4002E0"]
    for rec, msg in failed.items():
        assert f"FAILED {rec}: {msg}" in result.output
    assert not (out / ".staging").exists()


def test_rerun_skips_unchanged_and_rewrites_changed(raw: Path, tmp_path: Path) -> None:
    recs = get_source("demo").recordings(parse_listing((raw / "SHA256SUMS.txt").read_text()))[:3]
    out = tmp_path / "s.zarr"
    first = preprocess_recordings(recs, raw, out, dataset="demo", progress=False)
    assert len(first.written) == 3
    again = preprocess_recordings(recs, raw, out, dataset="demo", progress=False)
    assert again.written == [] and len(again.skipped) == 3
    params = PreprocessParams(crop_minutes=10)
    changed = preprocess_recordings(recs, raw, out, dataset="demo", params=params, progress=False)
    assert len(changed.written) == 3
    # A smaller selection keeps the other stored recording (indexed) unless pruning is asked for.
    fewer = preprocess_recordings(recs[:2], raw, out, dataset="demo", params=params, progress=False)
    assert len(fewer.skipped) == 2 and fewer.others == [recs[2].id] and fewer.pruned == []
    assert open_store(out).recordings == [r.id for r in recs]
    pruned = preprocess_recordings(
        recs[:2], raw, out, dataset="demo", params=params, progress=False, prune=True
    )
    assert pruned.pruned == [recs[2].id] and f"PRUNED {recs[2].id}" in pruned.summary()
    assert open_store(out).recordings == [r.id for r in recs[:2]]
    assert not (out / "recordings" / recs[2].id).exists()


def test_interrupted_run_then_rerun_equals_clean_run(raw: Path, tmp_path: Path) -> None:
    clean, crashed = tmp_path / "clean.zarr", tmp_path / "crashed.zarr"
    assert preprocess("demo", raw=raw, out=clean, progress=False).ok
    code = (
        "from physioex.preprocess.run import preprocess\n"
        f"preprocess('demo', raw={str(raw)!r}, out={str(crashed)!r}, progress=False)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((crashed / "recordings").glob("SC*"))) < 1:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 1 <= len(list((crashed / "recordings").glob("SC*"))) < 8  # killed mid-run
    with pytest.raises(StoreError, match="not a complete physioex store"):
        open_store(crashed)
    rerun = preprocess("demo", raw=raw, out=crashed, progress=False)
    assert rerun.ok and len(rerun.skipped) >= 1 and len(rerun.written) + len(rerun.skipped) == 8
    assert _tree_bytes(crashed) == _tree_bytes(clean)


def test_non_wake_crop_of_the_demo_matches_its_labels(demo_mirror: Path, tmp_path: Path) -> None:
    """`--crop non-wake` keeps first/last non-W epoch +- 30 min of the whole night's labels, as stored."""
    from physioex.download.run import download
    from physioex.preprocess.run import preprocess
    from physioex.store import open_store

    raw = tmp_path / "raw"
    assert download("demo", mirror=demo_mirror, out=raw, subjects=[0], progress=False).ok
    stores = {}
    for crop in ("none", "non-wake"):
        stores[crop] = tmp_path / f"{crop}.zarr"
        assert preprocess("demo", raw=raw, out=stores[crop], crop=crop, progress=False).ok
    whole, cropped = open_store(stores["none"]), open_store(stores["non-wake"])
    for rec in whole.recordings:
        labels = whole.labels(rec)
        anchors = np.flatnonzero(labels != 0)
        start, stop = max(0, anchors[0] - 60), min(labels.size, anchors[-1] + 61)
        np.testing.assert_array_equal(cropped.labels(rec), labels[start:stop])
        np.testing.assert_array_equal(cropped.signals(rec, 0, 3), whole.signals(rec, start, start + 3))
