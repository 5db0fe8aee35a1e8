"""Reliability of ``physioex preprocess``: complete data never disappears, one store has one set of
parameters, one writer at a time, kill -9 anywhere then a re-run equals a clean run, no output over an
input, and every bad parameter is one ``error:`` line with exit 2 and nothing written.

Everything is real: a generated demo mirror downloaded with ``physioex download``'s code, the CLI in
subprocesses, SIGKILL to the process group or to the parent alone, the store compared file for file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import pytest
from helpers import assert_one_error, run_physioex, start_physioex

from physioex.io.atomic import TMP_PREFIX
from physioex.preprocess.run import preprocess
from physioex.store import open_store

REPO = Path(__file__).resolve().parents[2]
RECORDINGS = ["SC4001E0", "SC4002E0", "SC4011E0", "SC4012E0", "SC4021E0", "SC4022E0", "SC4031E0", "SC4032E0"]
CHUNK = 16
"""Small chunks: more files per recording, so a kill lands inside a recording write more easily."""
COMMON = ["--no-progress", "--chunk-epochs", str(CHUNK)]


# -- fixtures and helpers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Mirror, verified download, and clean stores built with the default and with other parameters."""
    from physioex.download.run import download
    from physioex.synth import generate_mirror

    root = tmp_path_factory.mktemp("reliability-preprocess")
    mirror = generate_mirror(
        root / "mirror", subjects=4, nights=2, seed=0, hours=2.5, dreem_records=0, other_layouts=False
    )
    report = download("demo", mirror=mirror, out=root / "raw", progress=False)
    assert not report.failed and not report.refused
    clean = root / "clean.zarr"
    assert preprocess("demo", raw=root / "raw", out=clean, progress=False, chunk_epochs=CHUNK).ok
    clean10 = root / "clean10.zarr"
    assert preprocess(
        "demo", raw=root / "raw", out=clean10, progress=False, chunk_epochs=CHUNK, crop_minutes=10
    ).ok
    return {"root": root, "mirror": mirror, "raw": root / "raw", "clean": clean, "clean10": clean10}


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``physioex preprocess ARGS`` in a subprocess; returns the finished process."""
    return run_physioex("preprocess", *args, cwd=REPO)


def start(*args: str | Path) -> subprocess.Popen[str]:
    """Start ``physioex preprocess ARGS`` in its own process group (so it can be killed as a group)."""
    return start_physioex("preprocess", *args, cwd=REPO)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones included) by relative path -> bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_equal_stores(store: Path, clean: Path) -> None:
    """``store`` is the clean run's store: same files, same bytes, same arrays through the reader."""
    assert tree(store) == tree(clean)
    a, b = open_store(store), open_store(clean)
    assert a.recordings == b.recordings == RECORDINGS
    for rec in RECORDINGS:
        np.testing.assert_array_equal(a.signals(rec), b.signals(rec))
        np.testing.assert_array_equal(a.labels(rec), b.labels(rec))
    assert not (store / ".staging").exists()
    assert not [p for p in store.parent.iterdir() if p.name.startswith(TMP_PREFIX + store.name)]


def wait_for(
    condition: Callable[[], bool], proc: subprocess.Popen[str], what: str, timeout: float = 60
) -> None:
    """Poll ``condition`` every millisecond until true; fail if ``proc`` ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timeout waiting for {what}")
        time.sleep(0.001)


def n_entries(folder: Path, pattern: str = "*") -> int:
    try:
        return sum(1 for _ in folder.glob(pattern))
    except OSError:
        return 0


def copy_store(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def link_raw(raw: Path, dst: Path) -> Path:
    """A private raw folder: symlinks to the shared download (never modified) plus its own listing."""
    for path in raw.rglob("*"):
        if path.is_file():
            target = dst / path.relative_to(raw)
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.name == "SHA256SUMS.txt":
                shutil.copyfile(path, target)
            else:
                os.symlink(path, target)
    return dst


def damage(raw: Path, rel: str, data: bytes) -> None:
    """Replace ``raw/rel`` by ``data`` and put its new sha256 in the listing (as a new download would)."""
    path = raw / rel
    path.unlink()
    path.write_bytes(data)
    listing = raw / "SHA256SUMS.txt"
    digest = hashlib.sha256(data).hexdigest()
    lines = [f"{digest}  {rel}" if line.endswith(rel) else line for line in listing.read_text().splitlines()]
    listing.write_text("\n".join(lines) + "\n")


def params_hashes(store: Path) -> set[str]:
    """The root's params hash and every recording's (one value for a consistent store)."""
    root = json.loads((store / "zarr.json").read_text())["attributes"]
    hashes = {root["params_hash"]}
    for rec in root["recordings"]:
        meta = json.loads((store / "recordings" / rec / "zarr.json").read_text())
        hashes.add(meta["attributes"]["params_hash"])
    return hashes


# -- 6. bad parameters: exit 2, one line naming the parameter, nothing written -------------------------------


ECHOED = [
    ("--chunk-epochs", "0"),
    ("--sampling-rate", "0"),
    ("--sampling-rate", "33.33"),
    ("--bandpass", "35,0.3"),
    ("--bandpass", "0.3,50"),
    ("--n-folds", "1"),
    ("--n-folds", "9"),
    ("--jobs", "0"),
]
"""Bad numbers refused with a line naming the option and the value as given (``--jobs 0``)."""

BAD = [
    (["nope"], "unknown dataset 'nope'"),
    (["demo", "--channels", "EEG Fpz-Cx"], "--channels: 'EEG Fpz-Cx' is in none of the 8 recordings"),
    *((["demo", option, value], f"{option} {value}") for option, value in ECHOED),
    (["demo", "--bandpass", "a,b"], "--bandpass 'a,b'"),
    (
        ["demo", "--compression", "lz5"],
        "--compression: must be one of blosc-zstd, blosc-lz4, zstd, none, got 'lz5'",
    ),
    (["demo", "--crop", "dawn"], "--crop: must be one of auto, sleep, non-wake, lights, none, got 'dawn'"),
    (["demo", "--subjects", "x"], "--subjects 'x'"),
    (["demo", "--subjects", "7"], "--subjects: demo: subjects 7 are not in the listing"),
]


@pytest.fixture(scope="module")
def victim(data: dict[str, Path]) -> Path:
    """A complete store that every bad invocation targets (and must leave byte for byte as it is)."""
    return copy_store(data["clean"], data["root"] / "victim.zarr")


@pytest.mark.parametrize(("args", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_parameter_exits_2_and_leaves_store_unchanged(
    data: dict[str, Path], victim: Path, args: list[str], needle: str
) -> None:
    before = tree(victim)
    result = cli(*COMMON, *args, "--raw", data["raw"], "--out", victim)  # the later option wins
    assert_one_error(result, 2, needle)
    assert tree(victim) == before
    assert not list(victim.parent.glob(f".{victim.name}.lock"))


def test_bad_raw_and_out_paths_exit_2_and_write_nothing(data: dict[str, Path], tmp_path: Path) -> None:
    raw, out = data["raw"], tmp_path / "s.zarr"
    raw_before = tree(raw)
    assert_one_error(cli("demo", "--raw", tmp_path / "missing", "--out", out), 2, "--raw", "missing")
    (tmp_path / "empty").mkdir()
    assert_one_error(cli("demo", "--raw", tmp_path / "empty", "--out", out), 2, "--raw", "SHA256SUMS.txt")
    assert not out.exists()

    regular = tmp_path / "file.zarr"
    regular.write_bytes(b"not a store")
    assert_one_error(cli("demo", "--raw", raw, "--out", regular), 2, f"--out {regular}", "existing file")
    assert regular.read_bytes() == b"not a store"
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert_one_error(cli("demo", "--raw", raw, "--out", other), 2, f"--out {other}", "not a physioex store")
    assert tree(other) == {"notes.txt": b"mine"}
    zarr_group = tmp_path / "plain.zarr"
    zarr_group.mkdir()
    (zarr_group / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group", "attributes": {}}')
    assert_one_error(
        cli("demo", "--raw", raw, "--out", zarr_group), 2, f"--out {zarr_group}", "format_version"
    )

    # 5. no command writes to a path it reads: --out equal to, inside or containing --raw
    for target in (raw, raw / "sleep-cassette" / "s.zarr", raw.parent):
        assert_one_error(
            cli("demo", "--raw", raw, "--out", target, *COMMON), 2, str(target), "overwrite the input"
        )
    assert tree(raw) == raw_before


# -- 1. failing or changed re-runs never remove complete data ---------------------------------------------


def _write_dreem(path: Path, hypnogram: np.ndarray, fs: float = 250.0) -> None:
    """A small DOD-shaped HDF5 record (C3_M2 at 250 Hz + the description attribute)."""
    import h5py

    t = np.arange(int(len(hypnogram) * 30 * fs)) / fs
    with h5py.File(path, "w") as h5:
        h5.create_dataset("hypnogram", data=hypnogram.astype(np.int64))
        h5.create_dataset("signals/eeg/C3_M2", data=(40.0 * np.sin(2 * np.pi * 10.0 * t)).astype(np.float32))
        h5.attrs["description"] = json.dumps([{"path": "/signals/eeg/C3_M2", "fs": fs, "unit": "uV"}])


def _listing(raw: Path) -> None:
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(raw).as_posix()}"
        for p in sorted(raw.rglob("*.h5"))
    ]
    (raw / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")


def test_bad_recording_ids_fail_alone_and_never_touch_other_recordings(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "d.zarr"
    (raw / "dreem").mkdir(parents=True)
    hyp = np.array([0, 0, 1, 2, 2, 3, 3, 4, 2, 0], dtype=np.int64)
    for name in ("a", "b", "c"):
        _write_dreem(raw / "dreem" / f"{name}.h5", hyp)
    _listing(raw)
    folds = ("--fold-seed", "8")  # a seed whose stable rule tests one of a, b, c in each of the 3 folds
    first = cli("demo-dreem", "--raw", raw, "--out", out, "--no-progress", *folds)
    assert first.returncode == 0, first.stderr
    recordings_before = tree(out / "recordings")

    for name in (".h5", "..h5", "...h5"):
        shutil.copyfile(raw / "dreem" / "a.h5", raw / "dreem" / name)
    _listing(raw)
    result = cli("demo-dreem", "--raw", raw, "--out", out, "--no-progress", *folds)
    assert_one_error(result, 1, str(out), "3 recording(s) failed")
    for name, rec_id in ((".h5", ""), ("..h5", "."), ("...h5", "..")):
        line = next(line for line in result.stdout.splitlines() if f"dreem/{name}:" in line)
        assert line.startswith(f"  FAILED {rec_id}: dreem/{name}: ") and "rename the file" in line
    assert tree(out / "recordings") == recordings_before
    assert open_store(out).recordings == ["a", "b", "c"]


def test_failed_reprocessing_keeps_the_previous_version(data: dict[str, Path], tmp_path: Path) -> None:
    raw = link_raw(data["raw"], tmp_path / "raw")
    out = copy_store(data["clean"], tmp_path / "s.zarr")
    before = tree(out / "recordings" / "SC4011E0")
    psg = "sleep-cassette/SC4011E0-PSG.edf"
    damage(raw, psg, (raw / psg).read_bytes()[:3_000_000])  # a truncated re-download
    result = cli("demo", "--raw", raw, "--out", out, *COMMON)
    assert_one_error(result, 1, "1 recording(s) failed", "previous versions kept: SC4011E0")
    assert f"FAILED SC4011E0: {raw / psg}: truncated EDF" in result.stdout
    assert "(previous version kept)" in result.stdout
    assert tree(out / "recordings" / "SC4011E0") == before
    store = open_store(out)
    assert store.recordings == RECORDINGS and "SC4011E0" in store.attrs["failed"]
    for rec in RECORDINGS:
        np.testing.assert_array_equal(store.signals(rec), open_store(data["clean"]).signals(rec))


def test_recordings_leave_only_with_prune(data: dict[str, Path], tmp_path: Path) -> None:
    out = copy_store(data["clean"], tmp_path / "s.zarr")
    result = cli("demo", "--raw", data["raw"], "--out", out, "--subjects", "0-2", *COMMON)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    assert "kept, not in this run's selection: SC4031E0, SC4032E0" in result.stdout
    assert_equal_stores(out, data["clean"])  # the same store, index and folds included

    result = cli("demo", "--raw", data["raw"], "--out", out, "--subjects", "0-2", "--prune", *COMMON)
    assert result.returncode == 0, result.stderr
    assert "PRUNED SC4031E0" in result.stdout and "PRUNED SC4032E0" in result.stdout
    store = open_store(out)
    assert store.recordings == RECORDINGS[:6] and store.subjects == ["0", "1", "2"]
    assert sorted(p.name for p in (out / "recordings").iterdir() if p.is_dir()) == RECORDINGS[:6]
    for rec in RECORDINGS[:6]:
        assert tree(out / "recordings" / rec) == tree(data["clean"] / "recordings" / rec)


# -- 2. one store, one set of parameters ---------------------------------------------------------------


def test_new_parameters_with_a_failure_leave_the_old_store_unless_prune(
    data: dict[str, Path], tmp_path: Path
) -> None:
    raw = link_raw(data["raw"], tmp_path / "raw")
    out = copy_store(data["clean"], tmp_path / "s.zarr")
    before = tree(out)
    hyp = "sleep-cassette/SC4031EC-Hypnogram.edf"
    damage(raw, hyp, (raw / hyp).read_bytes().replace(b"Sleep stage W", b"Sleep stage X", 1))
    result = cli("demo", "--raw", raw, "--out", out, "--crop-minutes", "10", *COMMON)
    assert_one_error(result, 1, "failed with the new parameters", "left exactly as it was", "--prune")
    assert "FAILED SC4031E0:" in result.stdout and "unknown annotation 'Sleep stage X'" in result.stdout
    assert tree(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TMP_PREFIX)]

    result = cli("demo", "--raw", raw, "--out", out, "--crop-minutes", "10", "--prune", *COMMON)
    assert_one_error(result, 1, "1 recording(s) failed")
    assert "PRUNED SC4031E0" in result.stdout
    store = open_store(out)
    assert store.recordings == [r for r in RECORDINGS if r != "SC4031E0"]
    assert store.attrs["preprocessing"]["crop_minutes"] == 10
    assert len(params_hashes(out)) == 1
    for rec in store.recordings:
        assert tree(out / "recordings" / rec) == tree(data["clean10"] / "recordings" / rec)


def test_new_parameters_need_prune_to_drop_unselected_recordings(
    data: dict[str, Path], tmp_path: Path
) -> None:
    out = copy_store(data["clean"], tmp_path / "s.zarr")
    before = tree(out)
    result = cli(
        "demo", "--raw", data["raw"], "--out", out, "--subjects", "0-2", "--crop-minutes", "10", *COMMON
    )
    assert_one_error(result, 2, f"--out {out}", "SC4031E0, SC4032E0", "--prune")
    assert tree(out) == before


def test_kill_during_rebuild_leaves_old_store_then_rerun_completes(
    data: dict[str, Path], tmp_path: Path
) -> None:
    out = copy_store(data["clean"], tmp_path / "s.zarr")
    before = tree(out)
    proc = start("demo", "--raw", data["raw"], "--out", out, "--crop-minutes", "10", *COMMON)

    def half_built() -> bool:
        builds = [p for p in tmp_path.iterdir() if p.name.startswith(TMP_PREFIX + out.name)]
        return any(n_entries(b / "recordings", "SC*") >= 2 for b in builds)

    wait_for(half_built, proc, "half of the new store was built")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert tree(out) == before  # the old store, exactly
    assert open_store(out).attrs["preprocessing"]["crop_minutes"] == 30
    result = cli("demo", "--raw", data["raw"], "--out", out, "--crop-minutes", "10", *COMMON)
    assert result.returncode == 0, result.stderr
    assert_equal_stores(out, data["clean10"])


# -- 3. concurrent runs -------------------------------------------------------------------------------


def test_second_concurrent_run_exits_1_naming_the_holder(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "s.zarr"
    first = start("demo", "--raw", data["raw"], "--out", out, *COMMON)
    wait_for(lambda: n_entries(out / ".staging") > 0, first, "the first run started writing")
    os.kill(first.pid, signal.SIGSTOP)  # hold it mid-run, lock held
    try:
        second = cli("demo", "--raw", data["raw"], "--out", out, *COMMON)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert_one_error(second, 1, str(out), f"pid {first.pid}")
    assert first.wait(timeout=120) == 0, first.stderr.read()
    assert_equal_stores(out, data["clean"])


def test_two_simultaneous_runs_never_lose_recordings(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "s.zarr"
    procs = [start("demo", "--raw", data["raw"], "--out", out, *COMMON) for _ in range(2)]
    codes = [p.wait(timeout=120) for p in procs]
    errors = [p.stderr.read() for p in procs]
    assert 0 in codes, errors
    for code, err in zip(codes, errors, strict=True):
        assert code == 0 or (code == 1 and "is being written by pid" in err and "Traceback" not in err), err
    assert_equal_stores(out, data["clean"])


# -- 4. kill -9 at several points, then a re-run equals a clean run -----------------------------------------


def _worker_pids(parent: int) -> list[int]:
    try:
        return [c.pid for c in psutil.Process(parent).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("point", ["recording-write", "index-write", "parent-alone-jobs-2"])
def test_kill9_then_rerun_equals_clean_run(data: dict[str, Path], tmp_path: Path, point: str) -> None:
    out = tmp_path / "s.zarr"
    jobs = ["--jobs", "2"] if point == "parent-alone-jobs-2" else []
    for _attempt in range(3):  # the index write is short: retry if the run finished before the kill
        shutil.rmtree(out, ignore_errors=True)
        proc = start("demo", "--raw", data["raw"], "--out", out, *COMMON, *jobs)
        if point == "recording-write":
            wait_for(
                lambda: n_entries(out / ".staging") > 0 and n_entries(out / "recordings", "SC*") >= 2,
                proc,
                "a recording write",
            )
            os.killpg(proc.pid, signal.SIGKILL)
        elif point == "index-write":
            wait_for(lambda: (out / "folds.csv").exists(), proc, "the index write", timeout=60)
            os.killpg(proc.pid, signal.SIGKILL)
        else:

            def two_workers_writing(pid: int = proc.pid) -> bool:
                return (
                    len(_worker_pids(pid)) == 2
                    and n_entries(out / ".staging") > 0
                    and n_entries(out / "recordings", "SC*") >= 1
                )

            wait_for(two_workers_writing, proc, "two workers writing")
            workers = _worker_pids(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)  # the parent alone: its workers must die with it
        proc.wait()
        if proc.returncode == -signal.SIGKILL:
            break
    assert proc.returncode == -signal.SIGKILL, "the run always finished before it could be killed"

    if point == "parent-alone-jobs-2":
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not [pid for pid in workers if _alive(pid)], "a worker outlived its killed parent"
        survivors = [
            p.pid
            for p in psutil.process_iter(["cmdline", "status"])
            if str(out) in " ".join(p.info["cmdline"] or []) and p.info["status"] != psutil.STATUS_ZOMBIE
        ]
        assert survivors == []
        frozen = tree(out)
        time.sleep(0.5)
        assert tree(out) == frozen  # nobody writes after the kill
    if point != "index-write":
        assert 1 <= n_entries(out / "recordings", "SC*") < len(RECORDINGS)
    result = cli("demo", "--raw", data["raw"], "--out", out, *COMMON, *jobs)
    assert result.returncode == 0, result.stderr
    assert_equal_stores(out, data["clean"])


def test_rebuild_killed_between_its_renames_is_restored(data: dict[str, Path], tmp_path: Path) -> None:
    """The one instant of a swap with no store at ``--out``: the next run puts the old version back."""
    out = tmp_path / "s.zarr"
    aside = tmp_path / f"{TMP_PREFIX}{out.name}.999999.0123abcd.old"  # as atomic_dir names the old version
    copy_store(data["clean"], aside)
    half_new = tmp_path / f"{TMP_PREFIX}{out.name}.999999.4567cdef"
    copy_store(data["clean10"], half_new)
    shutil.rmtree(half_new / "recordings" / "SC4001E0")
    result = cli("demo", "--raw", data["raw"], "--out", out, *COMMON)
    assert result.returncode == 0, result.stderr
    assert "8 unchanged (skipped)" in result.stdout  # the old version was restored, not rebuilt
    assert_equal_stores(out, data["clean"])
