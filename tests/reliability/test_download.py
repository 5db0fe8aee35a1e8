"""Reliability of ``physioex download``: re-runs, concurrent runs, kill -9, hostile servers, bad parameters.

Everything is real: a demo mirror from the generator, loopback HTTP servers (``tests/http_server.py``),
the CLI in subprocesses (killed with SIGKILL where a test says so), files checked by SHA-256 on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import assert_one_error, run_physioex, start_physioex
from http_server import LoopbackServer, SilentServer

from physioex.download.listing import LISTING_NAME, format_listing, parse_listing
from physioex.download.run import DownloadReport, download
from physioex.io.atomic import TMP_PREFIX
from physioex.io.hashing import sha256_file
from physioex.io.lock import lock_path

PSG0 = "sleep-cassette/SC4001E0-PSG.edf"
HYP0 = "sleep-cassette/SC4001EV-Hypnogram.edf"
PSG1 = "sleep-cassette/SC4011E0-PSG.edf"
HYP1 = "sleep-cassette/SC4011EC-Hypnogram.edf"
PSG2 = "sleep-cassette/SC4021E0-PSG.edf"
HYP2 = "sleep-cassette/SC4021EJ-Hypnogram.edf"
ALL = [PSG0, HYP0, PSG1, HYP1, PSG2, HYP2]


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo mirror, Sleep-EDF layout only: 3 subjects x 1 night of 2.5 h (the generator's minimum)."""
    from physioex.synth import generate_mirror

    return generate_mirror(
        tmp_path_factory.mktemp("demo") / "mirror",
        subjects=3,
        nights=1,
        seed=0,
        hours=2.5,
        dreem_records=0,
        other_layouts=False,
    )


@pytest.fixture(scope="module")
def sums(mirror: Path) -> dict[str, str]:
    """The mirror's listing: relative path -> sha256."""
    listing = parse_listing((mirror / LISTING_NAME).read_text())
    assert sorted(listing) == sorted(ALL)
    return listing


@pytest.fixture
def server(mirror: Path) -> Iterator[LoopbackServer]:
    with LoopbackServer(mirror) as srv:
        yield srv


@pytest.fixture
def mirror_copy(mirror: Path, tmp_path: Path) -> Path:
    """A private copy of the mirror (hard links: cheap; replace files by unlinking them first)."""
    copy = tmp_path / "mirror-copy"
    shutil.copytree(mirror, copy, copy_function=os.link)
    return copy


# ----------------------------------------------------------------------------------------------- helpers


def cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m physioex.cli download ARGS --no-progress`` in a subprocess, data root under ``cwd``."""
    return run_physioex(
        "download", *args, "--no-progress", cwd=cwd, env={"PHYSIOEX_DATA": str(cwd / "data")}, timeout=timeout
    )


def fetch_cli(
    mirror: str | Path, out: Path, *args: str, cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """:func:`cli` downloading ``demo`` from ``mirror`` into ``out``, with further ``args``."""
    return cli("demo", "--mirror", str(mirror), "--out", str(out), *args, cwd=cwd, timeout=timeout)


def start_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Like :func:`cli` but running in the background, as the leader of its own process group."""
    return start_physioex(
        "download", *args, "--no-progress", cwd=cwd, env={"PHYSIOEX_DATA": str(cwd / "data")}
    )


def tree(root: Path) -> dict[str, str]:
    """Every file below ``root`` (hidden ones too) -> its sha256; symlinks -> their target text."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[key] = "-> " + os.readlink(path)
        elif path.is_file():
            out[key] = sha256_file(path)
    return out


def assert_complete(out: Path, sums: dict[str, str], relpaths: list[str]) -> None:
    """``out`` holds exactly ``relpaths`` (verified by sha256), a listing of exactly them, no leftovers."""
    for relpath in relpaths:
        assert sha256_file(out / relpath) == sums[relpath], relpath
    assert parse_listing((out / LISTING_NAME).read_text()) == {p: sums[p] for p in relpaths}
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert files == {*relpaths, LISTING_NAME}, files  # no .part, no temporary file, nothing else


def assert_cut(out: Path, sums: dict[str, str], cut: str, kept: str) -> None:
    """``cut`` was refused mid-body: neither it nor its ``.part`` is left, and ``kept`` is the only file
    in the listing."""
    assert not (out / cut).exists() and not (out / (cut + ".part")).exists()
    assert parse_listing((out / LISTING_NAME).read_text()) == {kept: sums[kept]}


def fetch(url: str | Path, out: Path, **kwargs: object) -> DownloadReport:
    return download("demo", mirror=str(url), out=out, progress=False, backoff=0.01, **kwargs)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def holder_pid(out: Path) -> int | None:
    try:
        return json.loads(lock_path(out.resolve()).read_text() or "{}").get("pid")
    except (OSError, ValueError):
        return None


def part_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


# ------------------------------------------------------------- 1. re-runs keep what is already verified


def test_second_subset_keeps_the_first_in_the_listing(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path
) -> None:
    """Subject 0, then subject 1: the listing preprocess reads holds both (it used to hold only the last)."""
    out = tmp_path / "out"
    assert fetch(server.url, out, subjects=[0]).ok
    second = fetch(server.url, out, subjects=[1])
    assert second.ok, second.errors
    assert sorted(second.downloaded) == [PSG1, HYP1]
    assert sorted(second.skipped) == [PSG0, HYP0]  # re-verified by hash, not downloaded again
    assert len(server.requests_for(PSG0)) == 1 and len(server.requests_for(HYP0)) == 1
    assert_complete(out, sums, [PSG0, HYP0, PSG1, HYP1])


def test_earlier_file_that_no_longer_verifies_is_fetched_again(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path
) -> None:
    """A file an earlier run listed whose bytes changed on disk is re-fetched, never listed as verified."""
    out = tmp_path / "out"
    assert fetch(server.url, out, subjects=[0]).ok
    size = (out / HYP0).stat().st_size
    (out / HYP0).write_bytes(b"\0" * size)  # same size, other content, listing still claims it
    report = fetch(server.url, out, subjects=[1])
    assert report.ok, report.errors
    assert HYP0 in report.downloaded and len(server.requests_for(HYP0)) == 2
    assert_complete(out, sums, [PSG0, HYP0, PSG1, HYP1])


def test_earlier_file_deleted_is_dropped_from_listing_with_a_warning(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert fetch(server.url, out, subjects=[0, 1]).ok
    (out / PSG0).unlink()
    result = fetch_cli(server.url, out, "--subjects", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: "), lines
    assert str(out / PSG0) in lines[0] and "dropped from" in lines[0]
    assert_complete(out, sums, [HYP0, PSG1, HYP1])


# ------------------------------------------------------------------------- 2. one run per folder at once


def test_concurrent_run_is_refused_naming_the_holder(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path
) -> None:
    """A second run while the first is provably inside the lock exits 1 naming it and touches nothing;
    temporary files are only cleaned by a run that holds the lock."""
    out = tmp_path / "out"
    server.throttle[PSG0] = 0.2  # 17 s for the 5.5 MB PSG, until released: provably inside the lock
    first = start_cli("demo", "--mirror", server.url, "--out", str(out), "--jobs", "2", cwd=tmp_path)
    try:
        part = out / (PSG0 + ".part")
        wait_for(lambda: holder_pid(out) == first.pid and part_size(part) > 0, "the first run to be fetching")
        stale = out / f"{TMP_PREFIX}{LISTING_NAME}.999999.deadbeef"
        stale.write_text("half a listing")

        second = fetch_cli(server.url, out, cwd=tmp_path)
        assert_one_error(second, 1, str(out), f"pid {first.pid}", "is being written by")
        assert stale.read_text() == "half a listing"  # not the second run's to remove
        assert first.poll() is None  # the first one was still running all along
    finally:
        server.throttle.clear()
        stdout, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr
    assert "6 downloaded" in stdout
    assert stale.exists()  # the first run cleaned up before it was planted

    third = fetch_cli(server.url, out, cwd=tmp_path)
    assert third.returncode == 0 and third.stderr == "", third.stderr
    assert "0 downloaded" in third.stdout
    assert not stale.exists()
    assert_complete(out, sums, ALL)
    assert all(len(server.requests_for(p)) == 1 for p in ALL)


# ------------------------------------------------------------------------------------- 3. kill -9, re-run


@pytest.mark.parametrize("kill", ["process-group", "process-alone"])
def test_kill_9_then_rerun_gives_complete_verified_result(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path, kill: str
) -> None:
    """SIGKILL mid-download (to the whole group, or to the process alone), then a re-run: every file
    verified, the cut file resumed from its ``.part`` (also when the re-run asks for another subset), stale
    temporary files removed, the listing complete."""
    out = tmp_path / "out"
    server.throttle[PSG1] = 0.2  # 17 s for the PSG, until released
    run = start_cli("demo", "--mirror", server.url, "--out", str(out), "--jobs", "2", cwd=tmp_path)
    part = out / (PSG1 + ".part")
    try:
        wait_for(
            lambda: part_size(part) > 200_000 and all((out / p).is_file() for p in ALL if p != PSG1),
            "the other files to finish while the slow PSG is half-way",
        )
    finally:
        if kill == "process-group":
            os.killpg(run.pid, signal.SIGKILL)
        else:
            os.kill(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)
    assert run.returncode == -signal.SIGKILL
    assert not (out / PSG1).exists() and not (out / LISTING_NAME).exists()  # killed before the end
    kept = part.stat().st_size
    assert 0 < kept < (server.root / PSG1).stat().st_size
    # what a kill during an atomic write leaves behind, at the top and in a sub-folder
    leftovers = [
        out / f"{TMP_PREFIX}{LISTING_NAME}.{run.pid}.0badc0de",
        out / "sleep-cassette" / f"{TMP_PREFIX}SC4011E0-PSG.edf.{run.pid}.0badc0de",
    ]
    for path in leftovers:
        path.write_bytes(b"partial")
    server.throttle.clear()

    subset = ["--subjects", "0"] if kill == "process-alone" else []
    again = fetch_cli(server.url, out, *subset, cwd=tmp_path)
    assert "Traceback" not in again.stderr
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert "0 downloaded, 1 resumed" in again.stdout
    assert server.requests_for(PSG1) == [None, f"bytes={kept}-"]  # resumed, not restarted
    assert_complete(out, sums, ALL)
    assert not any(p.exists() for p in leftovers)


# ------------------------------------------------------------------------------------ 4. bounded bodies


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "no-length"])
def test_endless_body_is_cut_at_its_bound(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path, announced: bool
) -> None:
    """A server that never stops sending: refused quickly, at most the bound written, nothing kept."""
    size = (server.root / HYP0).stat().st_size
    server.endless[HYP0] = size if announced else None
    out = tmp_path / "out"
    report = fetch(server.url, out, subjects=[0], max_file_bytes=300_000)
    assert not report.ok and list(report.failed) == [HYP0]
    message = report.failed[HYP0]
    assert message.startswith(f"{HYP0}: ") and f"{server.url}{HYP0}" in message
    if announced:  # http.client stops at Content-Length; the hash then refuses the junk
        assert "checksum mismatch" in message
    else:
        assert "without announcing a size" in message and "--max-file-mb" in message
    assert report.bytes - (out / PSG0).stat().st_size <= (size if announced else 300_000)
    assert_cut(out, sums, HYP0, PSG0)


def test_body_longer_than_its_announced_total_is_cut(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path
) -> None:
    """A resumed transfer whose ``Content-Range`` announces a total the body then exceeds is refused."""
    out = tmp_path / "out"
    (out / "sleep-cassette").mkdir(parents=True)
    (out / (PSG0 + ".part")).write_bytes((server.root / PSG0).read_bytes()[:1000])
    server.lie_total[PSG0] = 2000
    report = fetch(server.url, out, subjects=[0])
    assert list(report.failed) == [PSG0]
    assert report.failed[PSG0] == (
        f"{PSG0}: {server.url}{PSG0} sent more than the 2,000 bytes it announced; "
        "cut there, partial file deleted"
    )
    assert server.requests_for(PSG0) == ["bytes=1000-"]
    assert report.bytes - (out / HYP0).stat().st_size <= 1000
    assert_cut(out, sums, PSG0, HYP0)


def test_endless_body_without_length_cli(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path
) -> None:
    server.endless[HYP1] = None
    out = tmp_path / "out"
    result = fetch_cli(server.url, out, "--subjects", "1", "--max-file-mb", "1", cwd=tmp_path)
    assert_one_error(result, 1, HYP1, f"{server.url}{HYP1}", "more than 1,000,000 bytes", "--max-file-mb")
    assert sha256_file(out / PSG1) == sums[PSG1]
    assert_cut(out, sums, HYP1, PSG1)


# ------------------------------------------------------------------------------ 5. HTML instead of a file


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/octet-stream"])
def test_html_page_instead_of_a_file_is_named(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path, content_type: str
) -> None:
    """Announced as HTML, or only starting with ``<!DOCTYPE``: one line saying so, nothing written."""
    server.html[HYP0] = content_type
    out = tmp_path / "out"
    result = fetch_cli(server.url, out, "--subjects", "0", cwd=tmp_path)
    assert_one_error(
        result, 1, f"{HYP0}: {server.url}{HYP0} answered an HTML page, not the file: check the mirror URL"
    )
    assert not (out / HYP0).exists() and not (out / (HYP0 + ".part")).exists()
    assert parse_listing((out / LISTING_NAME).read_text()) == {PSG0: sums[PSG0]}


def test_html_page_instead_of_the_listing_is_named(server: LoopbackServer, tmp_path: Path) -> None:
    server.html[LISTING_NAME] = "text/html"
    out = tmp_path / "out"
    result = fetch_cli(server.url, out, cwd=tmp_path)
    assert_one_error(result, 1, f"{server.url}{LISTING_NAME} answered an HTML page, not the listing")
    assert not out.exists()


# -------------------------------------------------------------------- 6. redirects, timeouts, refusals


def test_moved_mirror_is_followed(server: LoopbackServer, sums: dict[str, str], tmp_path: Path) -> None:
    server.moved = "old/"
    out = tmp_path / "out"
    report = fetch(server.url + "old/", out, subjects=[2])
    assert report.ok, report.errors
    assert server.requests_for(f"old/{PSG2}") == [None] and server.requests_for(PSG2) == [None]
    assert_complete(out, sums, [PSG2, HYP2])


def test_redirect_loop_is_named(server: LoopbackServer, sums: dict[str, str], tmp_path: Path) -> None:
    server.redirects[PSG0] = PSG0
    out = tmp_path / "out"
    result = fetch_cli(server.url, out, "--subjects", "0", cwd=tmp_path)
    assert_one_error(result, 1, f"{PSG0}: redirect loop at {server.url}{PSG0}", "check the mirror URL")
    assert 10 <= len(server.requests_for(PSG0)) <= 12  # bounded, not forever
    assert parse_listing((out / LISTING_NAME).read_text()) == {HYP0: sums[HYP0]}


def test_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with SilentServer() as silent:
        result = fetch_cli(
            silent.url, tmp_path / "out", "--timeout", "0.5", "--retries", "1", cwd=tmp_path, timeout=30
        )
    assert_one_error(
        result, 1, f"no answer from {silent.url}{LISTING_NAME} within the 0.5 s timeout", "--timeout"
    )
    assert not (tmp_path / "out").exists()


def test_file_that_is_never_answered_times_out(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path
) -> None:
    server.stall.add(PSG0)
    out = tmp_path / "out"
    result = fetch_cli(
        server.url, out, "--subjects", "0", "--timeout", "0.5", "--retries", "0", cwd=tmp_path, timeout=30
    )
    assert_one_error(result, 1, f"{PSG0}: no answer from {server.url}{PSG0} within the 0.5 s timeout")
    assert parse_listing((out / LISTING_NAME).read_text()) == {HYP0: sums[HYP0]}
    assert not (out / PSG0).exists()


def test_body_that_goes_silent_is_resumed(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path
) -> None:
    """A read timeout mid-body is a cut transfer: resumed with Range in the same run."""
    server.stall_after[PSG0] = 100_000
    out = tmp_path / "out"
    report = fetch(server.url, out, subjects=[0], timeout=0.5, retries=0)
    assert report.ok, report.errors
    assert report.resumed == [PSG0]
    assert server.requests_for(PSG0) == [None, "bytes=100000-"]
    assert_complete(out, sums, [PSG0, HYP0])


def test_refused_connection_names_the_url(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    result = fetch_cli(url, tmp_path / "out", "--retries", "0", cwd=tmp_path)
    assert_one_error(result, 1, f"cannot reach {url}{LISTING_NAME} (connection refused)", "--mirror")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------ 7. local mirrors and symlinks


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_symlink_out_of_a_local_mirror_is_refused(
    mirror_copy: Path, sums: dict[str, str], tmp_path: Path, as_url: bool
) -> None:
    """A mirror entry linking outside the mirror is refused by name; the outside file is never read."""
    secret = tmp_path / "secret.edf"
    secret.write_bytes(b"private bytes outside the mirror" * 100)
    (mirror_copy / HYP0).unlink()
    (mirror_copy / HYP0).symlink_to(secret)
    out = tmp_path / "out"
    location = mirror_copy.as_uri() if as_url else str(mirror_copy)
    result = fetch_cli(location, out, "--subjects", "0", cwd=tmp_path)
    assert_one_error(result, 1, f"{HYP0}: ", "leading outside the mirror folder", "refused")
    assert sha256_file(secret) not in result.stdout + result.stderr
    assert not (out / HYP0).exists() and not (out / (HYP0 + ".part")).exists()
    assert parse_listing((out / LISTING_NAME).read_text()) == {PSG0: sums[PSG0]}


def test_symlinks_inside_a_local_mirror_are_followed(
    mirror_copy: Path, sums: dict[str, str], tmp_path: Path
) -> None:
    (mirror_copy / "elsewhere").mkdir()
    os.replace(mirror_copy / PSG2, mirror_copy / "elsewhere" / "psg.edf")
    (mirror_copy / PSG2).symlink_to(Path("..") / "elsewhere" / "psg.edf")
    report = fetch(mirror_copy, tmp_path / "out", subjects=[2])
    assert report.ok, report.errors
    assert_complete(tmp_path / "out", sums, [PSG2, HYP2])


def test_folder_symlink_out_of_a_local_mirror_is_refused(mirror: Path, tmp_path: Path) -> None:
    """The whole ``sleep-cassette`` folder linked from elsewhere: each file refused, none copied."""
    root = tmp_path / "m"
    root.mkdir()
    shutil.copy(mirror / LISTING_NAME, root / LISTING_NAME)
    (root / "sleep-cassette").symlink_to(mirror / "sleep-cassette")
    report = fetch(root, tmp_path / "out")
    assert sorted(report.failed) == sorted(ALL)
    assert all("leading outside the mirror folder" in m for m in report.failed.values())
    assert not (tmp_path / "out" / "sleep-cassette").exists() or not any(
        (tmp_path / "out" / "sleep-cassette").iterdir()
    )
    assert parse_listing((tmp_path / "out" / LISTING_NAME).read_text()) == {}


def test_listing_symlink_out_of_a_local_mirror_is_refused(mirror_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside-sums.txt"
    shutil.copy(mirror_copy / LISTING_NAME, outside)
    (mirror_copy / LISTING_NAME).unlink()
    (mirror_copy / LISTING_NAME).symlink_to(outside)
    result = fetch_cli(mirror_copy, tmp_path / "out", cwd=tmp_path)
    assert_one_error(
        result, 1, f"{LISTING_NAME}: {mirror_copy / LISTING_NAME} is a symlink", "outside the mirror"
    )
    assert not (tmp_path / "out").exists()


def test_unlisted_dreem_folder_never_hashes_outside_files(tmp_path: Path) -> None:
    """A Dreem folder without listing is hashed to make one; a ``.h5`` linking outside is not hashed."""
    root = tmp_path / "dod"
    root.mkdir()
    inside, outside = "7d6b0c9a-1111-4aaa-8bbb-000000000001", "7d6b0c9a-1111-4aaa-8bbb-000000000002"
    (root / f"{inside}.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(5000))
    secret = tmp_path / "secret.h5"
    secret.write_bytes(b"\x89HDF\r\n\x1a\n" + b"private" * 700)
    (root / f"{outside}.h5").symlink_to(secret)
    out = tmp_path / "out"
    result = run_physioex(
        "download", "dodo", "--mirror", root, "--out", out, "--no-progress", cwd=tmp_path, timeout=60
    )
    assert_one_error(result, 1, str(root / f"{outside}.h5"), "outside the mirror folder", "refused")
    assert sha256_file(secret) not in result.stdout + result.stderr
    digest = sha256_file(root / f"{inside}.h5")
    assert sorted(tree(out)) == sorted([LISTING_NAME, f"{inside}.h5"]) and tree(out)[f"{inside}.h5"] == digest
    assert parse_listing((out / LISTING_NAME).read_text()) == {f"{inside}.h5": digest}


# --------------------------------------------------------------------------------- 8. bad parameters


DEMO = ["demo", "--mirror", "{mirror}", "--out", "{out}"]
BAD_PARAMETERS: dict[str, tuple[list[str], list[str]]] = {
    "unknown-dataset": (["nosuch", "--mirror", "{mirror}", "--out", "{out}"], ["unknown dataset 'nosuch'"]),
    "jobs-0": ([*DEMO, "--jobs", "0"], ["--jobs", "got 0"]),
    "negative-timeout": ([*DEMO, "--timeout", "-1"], ["--timeout"]),
    "zero-timeout": ([*DEMO, "--timeout", "0"], ["--timeout"]),
    "negative-retries": ([*DEMO, "--retries", "-1"], ["--retries"]),
    "zero-max-file": ([*DEMO, "--max-file-mb", "0"], ["--max-file-mb"]),
    "subjects-syntax": ([*DEMO, "--subjects", "5-a"], ["--subjects", "5-a"]),
    "nights-syntax": ([*DEMO, "--nights", "x"], ["--nights", "'x'"]),
    "subject-not-listed": ([*DEMO, "--subjects", "7"], ["subjects 7"]),
    "missing-mirror": (["demo", "--mirror", "{work}/nowhere", "--out", "{out}"], ["--mirror {work}/nowhere"]),
    "mirror-is-a-file": (
        ["demo", "--mirror", "{file}", "--out", "{out}"],
        ["--mirror {file}", "not a folder"],
    ),
    "bad-scheme": (
        ["demo", "--mirror", "ftp://127.0.0.1/x", "--out", "{out}"],
        ["--mirror ftp://127.0.0.1/x"],
    ),
    "out-is-a-file": (["demo", "--mirror", "{mirror}", "--out", "{file}"], ["--out {file}", "existing file"]),
    "out-below-a-file": (["demo", "--mirror", "{mirror}", "--out", "{file}/sub"], ["--out {file}/sub"]),
    "out-is-the-mirror": (["demo", "--mirror", "{mirror}", "--out", "{mirror}"], ["{mirror}", "overwrite"]),
    "out-inside-mirror": (
        ["demo", "--mirror", "{mirror}", "--out", "{mirror}/raw"],
        ["{mirror}/raw", "overwrite"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_PARAMETERS))
def test_bad_parameter_exits_2_with_one_line_and_touches_nothing(
    mirror_copy: Path, tmp_path: Path, case: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("a regular file, not a folder\n")
    names = {
        "mirror": str(mirror_copy),
        "out": str(work / "out"),
        "file": str(work / "notes.txt"),
        "work": str(work),
    }
    args, needles = BAD_PARAMETERS[case]
    before = {**tree(work), **{f"mirror/{k}": v for k, v in tree(mirror_copy).items()}}
    result = cli(*[a.format(**names) for a in args], cwd=work)
    assert_one_error(result, 2, *[n.format(**names) for n in needles])
    assert {**tree(work), **{f"mirror/{k}": v for k, v in tree(mirror_copy).items()}} == before
    assert not (work / "data").exists()


def test_listing_of_an_earlier_run_stays_when_a_run_is_refused(
    server: LoopbackServer, sums: dict[str, str], tmp_path: Path
) -> None:
    """A bad parameter on a folder holding a complete download changes nothing in it."""
    out = tmp_path / "out"
    assert fetch(server.url, out, subjects=[0]).ok
    before = tree(out)
    result = fetch_cli(server.url, out, "--subjects", "0-a", cwd=tmp_path)
    assert_one_error(result, 2, "--subjects", "0-a")
    assert tree(out) == before
    assert_complete(out, sums, [PSG0, HYP0])
    assert format_listing({PSG0: sums[PSG0], HYP0: sums[HYP0]}) == (out / LISTING_NAME).read_text()
