"""A damaged store is an error naming store, recording, array and chunk, never a value.

Every test corrupts a copy of a real store built by the real ``physioex preprocess`` on demo data.
"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_error, run_physioex

from physioex.errors import InputError, RunError
from physioex.store import errors, open_store
from physioex.store.verify import verify_store

REC = "SC4001E0"
SIG = "signals/EEG_Fpz-Cz"


@pytest.fixture
def store(built_store: Path, tmp_path: Path) -> Path:
    """A private copy of the built store, free to corrupt."""
    copy = tmp_path / "demo.zarr"
    shutil.copytree(built_store, copy)
    return copy


def _rec(store: Path, rec: str = REC) -> Path:
    return store / "recordings" / rec


def _edit_attrs(store: Path, rec: str, **changes: object) -> None:
    path = _rec(store, rec) / "zarr.json"
    meta = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            meta["attributes"].pop(key, None)
        else:
            meta["attributes"][key] = value
    path.write_text(json.dumps(meta))


def _names(msg: str, store: Path, *parts: str) -> None:
    assert "\n" not in msg and f"store {store}" in msg, msg
    for part in parts:
        assert part in msg, (part, msg)


def test_manifest_lists_exactly_the_written_chunks(store: Path) -> None:
    st = open_store(store)
    for rec in st.recordings:
        manifest = st.recording_info(rec)["manifest"]
        folder = _rec(store, rec)
        on_disk = {
            p.relative_to(folder).as_posix(): p.stat().st_size
            for p in folder.rglob("*")
            if p.is_file() and "/c/" in p.as_posix()
        }
        listed = {f"{a}/{k}": size for a, chunks in manifest["arrays"].items() for k, size in chunks.items()}
        assert listed == on_disk and len(listed) >= 3
        assert set(manifest["arrays"]) == {"labels", SIG}


def test_deleted_signal_chunk_raises_instead_of_reading_zeros(store: Path) -> None:
    ok = open_store(store).signals(REC)
    assert np.abs(ok[256:]).max() > 0  # the chunk holds real signal, not zeros
    (_rec(store) / SIG / "c/1/0").unlink()
    with pytest.raises(errors.MissingChunkError) as err:
        open_store(store)
    _names(str(err.value), store, f"recording {REC}", f"array {SIG}", "chunk c/1/0", "physioex preprocess")
    assert isinstance(err.value, RunError) and err.value.exit_code == 1
    # a reader that skipped the check at open (a DataLoader worker) still refuses before reading
    lazy = open_store(store, check=False)
    np.testing.assert_array_equal(lazy.labels("SC4011E0"), open_store(store, check=False).labels("SC4011E0"))
    with pytest.raises(errors.MissingChunkError, match="chunk c/1/0"):
        lazy.signals(REC, 0, 5)


def test_deleted_labels_chunk_raises_instead_of_all_wake(store: Path) -> None:
    (_rec(store) / "labels/c/0").unlink()
    with pytest.raises(errors.MissingChunkError) as err:
        open_store(store)
    _names(str(err.value), store, f"recording {REC}", "array labels", "chunk c/0")


def test_chunk_deleted_after_open_is_caught_in_an_unpickled_copy(built_store: Path, store: Path) -> None:
    st = open_store(store)
    (_rec(store) / "labels/c/0").unlink()
    worker = pickle.loads(pickle.dumps(st))
    with pytest.raises(errors.MissingChunkError, match="array labels, chunk c/0"):
        worker.labels(REC)


def test_truncated_chunk_is_caught_by_its_size(store: Path) -> None:
    chunk = _rec(store) / SIG / "c/0/0"
    chunk.write_bytes(chunk.read_bytes()[:1000])
    with pytest.raises(errors.MissingChunkError) as err:
        open_store(store)
    _names(str(err.value), store, f"recording {REC}", f"array {SIG}", "chunk c/0/0", "1000 bytes")


def test_flipped_byte_names_the_chunk(store: Path) -> None:
    chunk = _rec(store) / SIG / "c/1/0"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x01
    chunk.write_bytes(bytes(data))
    st = open_store(store)  # same size: only the checksum can tell
    assert st.signals(REC, 0, 10).shape == (10, 1, 3000)  # chunk 0 is intact
    with pytest.raises(errors.StoreCorruptError) as err:
        st.signals(REC, 250, 270)  # spans chunks 0 and 1
    _names(str(err.value), store, f"recording {REC}", f"array {SIG}", "chunk c/1/0", "crc32c checksum")
    assert isinstance(err.value, RunError)


def test_missing_recording_folder(store: Path) -> None:
    shutil.rmtree(_rec(store, "SC4011E0"))
    with pytest.raises(errors.RecordingMissingError) as err:
        open_store(store)
    _names(str(err.value), store, "recording SC4011E0", "missing", "physioex preprocess")
    with pytest.raises(errors.RecordingMissingError):
        open_store(store, check=False).labels("SC4011E0")


@pytest.mark.parametrize("which", ["root", "recording", "array"])
def test_truncated_zarr_json(store: Path, which: str) -> None:
    path = {
        "root": store / "zarr.json",
        "recording": _rec(store) / "zarr.json",
        "array": _rec(store) / "labels" / "zarr.json",
    }[which]
    path.write_text(path.read_text()[: len(path.read_text()) // 2])
    with pytest.raises(errors.StoreCorruptError) as err:
        open_store(store).labels(REC)
    msg = str(err.value)
    _names(msg, store, "not valid JSON" if which != "array" else "zarr.json is unreadable")
    if which != "root":
        _names(msg, store, f"recording {REC}")
    if which == "array":
        _names(msg, store, "array labels")


def test_params_hash_mismatch_names_the_recordings(store: Path) -> None:
    _edit_attrs(store, "SC4011E0", params_hash="0" * 64)
    _edit_attrs(store, "SC4021E0", params_hash=None)
    with pytest.raises(errors.ParamsMismatchError) as err:
        open_store(store)
    _names(str(err.value), store, "SC4011E0", "SC4021E0", "other parameters", "physioex preprocess")
    assert REC not in str(err.value)


def test_store_without_manifest_opens_and_falls_back_to_the_chunk_grid(store: Path) -> None:
    for rec in ("SC4001E0", "SC4011E0", "SC4021E0"):
        _edit_attrs(store, rec, manifest=None)
    st = open_store(store)
    assert st.signals(REC).shape == (st.n_epochs(REC), 1, 3000)
    (_rec(store) / SIG / "c/1/0").unlink()
    with pytest.raises(errors.MissingChunkError) as err:
        open_store(store)
    _names(str(err.value), store, f"recording {REC}", f"array {SIG}", "chunk c/1/0", "no chunk manifest")


def test_missing_store_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(errors.StoreNotFoundError) as err:
        open_store(tmp_path / "nothing.zarr")
    assert isinstance(err.value, InputError) and isinstance(err.value, errors.StoreError)
    assert err.value.exit_code == 2 and "nothing.zarr" in str(err.value)


def test_unknown_recording_is_an_input_error(store: Path) -> None:
    with pytest.raises(InputError, match="recording 'NOPE' is not in store") as err:
        open_store(store).labels("NOPE")
    assert isinstance(err.value, KeyError)


def test_verify_store_reads_everything_and_reports_every_problem(store: Path) -> None:
    clean = verify_store(store)
    n_chunks = sum(1 for p in store.rglob("*") if p.is_file() and "/c/" in p.as_posix())
    assert clean.ok and clean.recordings == 3 and clean.chunks == n_chunks
    assert clean.epochs == sum(open_store(store).n_epochs(r) for r in open_store(store).recordings)

    (_rec(store) / "labels/c/0").unlink()
    chunk = _rec(store, "SC4011E0") / SIG / "c/1/0"
    data = bytearray(chunk.read_bytes())
    data[10] ^= 0xFF
    chunk.write_bytes(bytes(data))
    shutil.copytree(_rec(store, "SC4021E0"), store / "recordings" / "ORPHAN")
    _edit_attrs(store, "SC4021E0", params_hash="f" * 64)
    report = verify_store(store)
    assert not report.ok and len(report.problems) == 4, report.problems
    joined = "\n".join(report.problems)
    assert f"recording {REC}, array labels, chunk c/0: chunk file is missing" in joined
    assert f"recording SC4011E0, array {SIG}, chunk c/1/0: fails its crc32c checksum" in joined
    assert "recording ORPHAN: its folder is not in the store's index" in joined
    assert "recording SC4021E0: preprocessed with other parameters" in joined


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_physioex(*args, env={"OMP_NUM_THREADS": "1"}, timeout=300)


def test_cli_verify(store: Path, tmp_path: Path) -> None:
    ok = _cli("verify", str(store), "--no-progress")
    assert ok.returncode == 0, ok.stderr
    assert "3 recordings" in ok.stdout and "no problems" in ok.stdout and ok.stderr == ""

    (_rec(store) / SIG / "c/1/0").unlink()
    shutil.rmtree(_rec(store, "SC4011E0"))
    bad = _cli("verify", str(store), "--no-progress")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    problems = [line for line in bad.stderr.splitlines() if line.startswith("error: ")]
    assert len(problems) == 2, bad.stderr
    _names(problems[0], store, f"recording {REC}", f"array {SIG}", "chunk c/1/0")
    _names(problems[1], store, "recording SC4011E0", "missing")
    assert "2 problem(s)" in bad.stderr

    missing = _cli("verify", str(tmp_path / "nothing.zarr"))
    assert assert_one_error(missing, 2) == (
        f"error: store {tmp_path / 'nothing.zarr'} does not exist; check the path, or create it with "
        "`physioex preprocess`"
    )


def test_cli_train_refuses_a_store_with_a_missing_labels_chunk(store: Path, tmp_path: Path) -> None:
    """The issue's case: a deleted labels chunk read as all-Wake and training went on (exit 0)."""
    (_rec(store, "SC4011E0") / "labels/c/0").unlink()
    proc = _cli(
        "train", "--store", str(store), "--fold", "0", "--out", str(tmp_path / "models"), "--max-epochs", "1",
        "--seq-len", "3", "--batch-size", "4", "--num-workers", "0", "--no-progress",
    )  # fmt: skip
    _names(
        assert_one_error(proc, 1),
        store,
        "recording SC4011E0",
        "array labels",
        "chunk c/0",
        "physioex preprocess",
    )
    assert not (tmp_path / "models" / "fold-0" / "best.ckpt").exists()
