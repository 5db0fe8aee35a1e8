"""``physioex download`` against a real HTTP server on loopback, ``file://`` URLs and local folders."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from http_server import LoopbackServer
from typer.testing import CliRunner

from physioex.cli import app
from physioex.download.listing import (
    UnsafePathError,
    format_listing,
    parse_listing,
    safe_target,
)
from physioex.download.run import DownloadError, DownloadInputError, download
from physioex.io.hashing import sha256_file

PSG = "sleep-cassette/SC4001E0-PSG.edf"
HYP = "sleep-cassette/SC4001EC-Hypnogram.edf"
FILES = {  # relative path -> size in bytes (content is seeded random bytes)
    PSG: 600_000,
    HYP: 4_620,
    "sleep-cassette/SC4002E0-PSG.edf": 300_000,
    "sleep-cassette/SC4002EC-Hypnogram.edf": 4_000,
    "sleep-cassette/SC4362F0-PSG.edf": 250_000,
    "sleep-cassette/SC4362FC-Hypnogram.edf": 3_000,
}


def write_tree(root: Path, files: dict[str, bytes], listing: dict[str, str] | None = None) -> dict[str, str]:
    """Write ``files`` under ``root`` plus a SHA256SUMS.txt (``listing`` overrides the computed one)."""
    for relpath, data in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_bytes(data)
    listing = listing or {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}
    (root / "SHA256SUMS.txt").write_text(format_listing(listing))
    return listing


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    rng = random.Random(0)
    root = tmp_path / "mirror"
    write_tree(root, {p: rng.randbytes(n) for p, n in FILES.items()})
    return root


@pytest.fixture
def server(mirror: Path) -> Iterator[LoopbackServer]:
    with LoopbackServer(mirror) as srv:
        yield srv


def fetch(url: str | Path, out: Path, dataset: str = "sleepedf-78", **kwargs: object):
    return download(dataset, mirror=str(url), out=out, progress=False, backoff=0.01, **kwargs)


def assert_same_tree(out: Path, mirror: Path, relpaths: list[str]) -> None:
    for relpath in relpaths:
        assert (out / relpath).read_bytes() == (mirror / relpath).read_bytes(), relpath
    assert not list(out.rglob("*.part"))


def test_full_download_over_http(server: LoopbackServer, mirror: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = fetch(server.url, out, jobs=3)
    assert report.ok, report.errors
    assert sorted(report.downloaded) == sorted(FILES)
    assert report.bytes == sum(FILES.values())
    assert [r.id for r in report.recordings] == ["SC4001E0", "SC4002E0", "SC4362F0"]
    assert_same_tree(out, mirror, list(FILES))
    assert parse_listing((out / "SHA256SUMS.txt").read_text()) == parse_listing(
        (mirror / "SHA256SUMS.txt").read_text()
    )


def test_second_run_downloads_nothing(server: LoopbackServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert fetch(server.url, out).ok
    again = fetch(server.url, out)
    assert again.ok and again.downloaded == [] and again.bytes == 0
    assert sorted(again.skipped) == sorted(FILES)
    assert all(len(server.requests_for(p)) == 1 for p in FILES)


def test_subset_writes_listing_of_exactly_the_subset(server: LoopbackServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = fetch(server.url, out, subjects=[36])
    assert report.ok and [r.id for r in report.recordings] == ["SC4362F0"]
    listed = parse_listing((out / "SHA256SUMS.txt").read_text())
    assert sorted(listed) == ["sleep-cassette/SC4362F0-PSG.edf", "sleep-cassette/SC4362FC-Hypnogram.edf"]
    assert not (out / PSG).exists()


def test_cut_transfer_is_resumed_with_range(server: LoopbackServer, mirror: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    server.cut_once[PSG] = 200_000
    report = fetch(server.url, out)
    assert report.ok, report.errors
    assert PSG in report.resumed
    assert server.requests_for(PSG) == [None, "bytes=200000-"]
    assert sha256_file(out / PSG) == hashlib.sha256((mirror / PSG).read_bytes()).hexdigest()
    assert_same_tree(out, mirror, list(FILES))


def test_partial_is_kept_and_resumed_by_next_run(
    server: LoopbackServer, mirror: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    server.cut_once[PSG] = 123_456
    first = fetch(server.url, out, resume_passes=0)
    assert not first.ok
    assert "truncated body" in first.failed[PSG] and "SC4001E0-PSG.edf.part" in first.failed[PSG]
    assert not (out / PSG).exists()
    assert (out / (PSG + ".part")).stat().st_size == 123_456
    assert PSG not in parse_listing((out / "SHA256SUMS.txt").read_text())
    assert len(first.downloaded) == len(FILES) - 1  # the others finished

    second = fetch(server.url, out)
    assert second.ok and second.resumed == [PSG] and second.bytes == FILES[PSG] - 123_456
    assert server.requests_for(PSG) == [None, "bytes=123456-"]
    assert_same_tree(out, mirror, list(FILES))
    assert PSG in parse_listing((out / "SHA256SUMS.txt").read_text())


def test_server_ignoring_range_restarts_cleanly(server: LoopbackServer, mirror: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "sleep-cassette").mkdir(parents=True)
    (out / (PSG + ".part")).write_bytes((mirror / PSG).read_bytes()[:50_000])
    server.ignore_range = True
    report = fetch(server.url, out)
    assert report.ok, report.errors
    assert server.requests_for(PSG) == ["bytes=50000-"]
    assert_same_tree(out, mirror, list(FILES))


def test_checksum_mismatch_leaves_nothing_under_final_name(
    server: LoopbackServer, mirror: Path, tmp_path: Path
) -> None:
    expected = parse_listing((mirror / "SHA256SUMS.txt").read_text())[PSG]
    tampered = bytearray((mirror / PSG).read_bytes())
    tampered[1000] ^= 0xFF
    (mirror / PSG).write_bytes(bytes(tampered))
    out = tmp_path / "out"
    report = fetch(server.url, out)
    assert not report.ok
    message = report.failed[PSG]
    assert message.startswith(PSG) and "checksum mismatch" in message
    assert expected in message and hashlib.sha256(tampered).hexdigest() in message
    assert not (out / PSG).exists() and not (out / (PSG + ".part")).exists()
    assert sorted(report.downloaded) == sorted(set(FILES) - {PSG})
    assert PSG not in parse_listing((out / "SHA256SUMS.txt").read_text())


def test_404_is_named_and_cli_exits_nonzero_after_others(server: LoopbackServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    server.missing.add(HYP)
    result = CliRunner().invoke(
        app, ["download", "sleepedf-78", "--mirror", server.url, "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 1
    assert f"{HYP}: HTTP 404" in result.output
    for relpath in set(FILES) - {HYP}:
        assert (out / relpath).is_file(), relpath
    assert sorted(parse_listing((out / "SHA256SUMS.txt").read_text())) == sorted(set(FILES) - {HYP})


def test_transient_503_is_retried(server: LoopbackServer, mirror: Path, tmp_path: Path) -> None:
    server.fail_once[HYP] = [503, 429]
    report = fetch(server.url, tmp_path / "out")
    assert report.ok, report.errors
    assert server.requests_for(HYP) == [None, None, None]


def test_escaping_listing_entries_are_refused(tmp_path: Path) -> None:
    good = b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 40
    root = tmp_path / "srv" / "mirror"
    (root / "evil").mkdir(parents=True)
    (root / "evil" / "x.h5").write_bytes(good)
    (tmp_path / "srv" / "escape.h5").write_bytes(good)
    digest = hashlib.sha256(good).hexdigest()
    write_tree(
        root,
        {"a1b2c3d4-0000-4000-8000-000000000001.h5": good},
        {
            "a1b2c3d4-0000-4000-8000-000000000001.h5": digest,
            "../escape.h5": digest,
            "evil/../../escape2.h5": digest,
            "/tmp/absolute.h5": digest,
        },
    )
    out = tmp_path / "work" / "out"
    with LoopbackServer(root) as srv:
        report = fetch(srv.url, out, dataset="dodh")
    assert not report.ok
    refused = "\n".join(report.refused)
    assert "'../escape.h5': refused" in refused and "'/tmp/absolute.h5': refused" in refused
    assert "'evil/../../escape2.h5': refused" in refused
    assert report.downloaded == ["a1b2c3d4-0000-4000-8000-000000000001.h5"]
    assert not (tmp_path / "work" / "escape.h5").exists() and not (tmp_path / "escape2.h5").exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "SHA256SUMS.txt",
        "a1b2c3d4-0000-4000-8000-000000000001.h5",
    ]


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_local_folder_and_file_url_mirrors(mirror: Path, tmp_path: Path, as_url: bool) -> None:
    out = tmp_path / "out"
    report = fetch(mirror.as_uri() if as_url else mirror, out, subjects=[0])
    assert report.ok and sorted(report.downloaded) == sorted(p for p in FILES if "SC400" in p)
    assert_same_tree(out, mirror, report.downloaded)
    assert fetch(mirror, out, subjects=[0]).downloaded == []


def test_local_dreem_folder_without_listing_is_hashed(tmp_path: Path) -> None:
    root = tmp_path / "dod"
    root.mkdir()
    uuids = ["7d6b0c9a-1111-4aaa-8bbb-000000000001", "7d6b0c9a-1111-4aaa-8bbb-000000000002"]
    for i, u in enumerate(uuids):
        (root / f"{u}.h5").write_bytes(bytes([i]) * 5000)
    report = fetch(root, tmp_path / "out", dataset="dodo")
    assert report.ok and sorted(report.downloaded) == [f"{u}.h5" for u in uuids]
    assert [r.subject for r in report.recordings] == uuids
    with LoopbackServer(root) as srv, pytest.raises(DownloadError, match="sha256sum"):
        fetch(srv.url, tmp_path / "out2", dataset="dodo")


def test_dreem_without_mirror_explains_buckets_are_gone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PHYSIOEX_DODH_MIRROR", raising=False)
    with pytest.raises(DownloadInputError, match="buckets were removed"):
        download("dodh", out=tmp_path / "out", progress=False)


def test_unreachable_mirror_hints_at_mirror_option(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match=r"connection refused.*--mirror"):
        fetch(f"http://127.0.0.1:{port}/", tmp_path / "out", retries=1)
    result = CliRunner().invoke(
        app,
        [
            "download",
            "sleepedf-20",
            "--mirror",
            f"http://127.0.0.1:{port}/",
            "--out",
            str(tmp_path / "o"),
            "--retries",
            "0",
        ],
    )
    assert result.exit_code == 1 and "cannot reach" in result.output


def test_listing_parsing_and_path_safety(tmp_path: Path) -> None:
    text = f"# comment\n{'AB' * 32}  sleep-cassette/SC4001E0-PSG.edf\n\n{'cd' * 32} *RECORDS\n"
    assert parse_listing(text) == {"sleep-cassette/SC4001E0-PSG.edf": "ab" * 32, "RECORDS": "cd" * 32}
    with pytest.raises(ValueError, match="line 2"):
        parse_listing(f"{'ab' * 32}  a\nnot-a-hash  b\n", source="SHA256SUMS.txt")
    assert safe_target(tmp_path, "sleep-cassette/x.edf") == tmp_path / "sleep-cassette" / "x.edf"
    for bad in ["../x", "a/../../x", "/etc/passwd", "C:/x", "a\\..\\x", "./x", "a//b", ""]:
        with pytest.raises(UnsafePathError):
            safe_target(tmp_path, bad)


def test_real_sc4001_served_over_http(sleepedf_mirror: Path, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    with LoopbackServer(sleepedf_mirror) as srv:
        report = fetch(srv.url, out, dataset="sleepedf-20", subjects=[0])
    assert report.ok, report.errors
    assert [r.id for r in report.recordings] == ["SC4001E0"]
    listing = parse_listing((sleepedf_mirror / "SHA256SUMS.txt").read_text())
    assert parse_listing((out / "SHA256SUMS.txt").read_text()) == listing
    assert (out / PSG).stat().st_size == 48_338_048
    assert sha256_file(out / HYP) == listing[HYP]


def test_corrupt_file_under_final_name_is_replaced(
    server: LoopbackServer, mirror: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "sleep-cassette").mkdir(parents=True)
    (out / HYP).write_bytes(b"not the hypnogram")
    report = fetch(server.url, out, subjects=[0])
    assert report.ok and HYP in report.downloaded
    assert_same_tree(out, mirror, [PSG, HYP])


def test_demo_mirror_served_over_http(demo_mirror: Path, tmp_path: Path) -> None:
    with LoopbackServer(demo_mirror) as srv:
        demo = fetch(srv.url, tmp_path / "demo", dataset="demo")
        dreem = fetch(srv.url, tmp_path / "dreem", dataset="demo-dreem", subjects=[0])
    assert demo.ok and len(demo.recordings) == 8 and len(demo.downloaded) == 16
    assert {r.subject for r in demo.recordings} == {"0", "1", "2", "3"}
    assert parse_listing((tmp_path / "demo" / "SHA256SUMS.txt").read_text()) == parse_listing(
        (demo_mirror / "SHA256SUMS.txt").read_text()
    )
    assert dreem.ok and [r.format for r in dreem.recordings] == ["dreem"]
    h5 = dreem.recordings[0].files["h5"]
    assert (tmp_path / "dreem" / h5).read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    assert parse_listing((tmp_path / "dreem" / "SHA256SUMS.txt").read_text()) == {
        h5: parse_listing((demo_mirror / "dreem" / "SHA256SUMS.txt").read_text())[h5]
    }


def test_demo_without_mirror_uses_generated_mirror(
    demo_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --mirror: the generator runs on data/mirror/demo (here pre-filled with hard links to the session's
    demo mirror, so it recognises its own settings instead of spending seconds regenerating), then the
    files go through the normal download code."""
    data = tmp_path / "data"
    generated = data / "mirror" / "demo"
    shutil.copytree(demo_mirror, generated, copy_function=os.link)
    inode = (generated / "SHA256SUMS.txt").stat().st_ino
    monkeypatch.setenv("PHYSIOEX_DATA", str(data))
    args = ["download", "demo", "--demo-subjects", "4", "--demo-nights", "2", "--hours", "3", "--no-progress"]
    first = CliRunner().invoke(app, [*args, "--subjects", "1,3"])
    assert first.exit_code == 0, first.output
    assert (generated / "SHA256SUMS.txt").stat().st_ino == inode  # same settings: reused, not regenerated
    raw = data / "raw" / "demo"
    listing = parse_listing((raw / "SHA256SUMS.txt").read_text())
    assert len(listing) == 8 and {p[18:20] for p in listing} == {"01", "03"}
    assert all(sha256_file(raw / p) == h for p, h in listing.items())
    second = CliRunner().invoke(app, [*args, "--subjects", "1,3"])
    assert second.exit_code == 0 and "0 downloaded" in second.output and "8 already present" in second.output
    bad = CliRunner().invoke(app, [*args, "--subjects", "7"])
    assert bad.exit_code == 2 and "subjects 7 are not in the listing" in bad.output


def test_wrong_partials_restart_from_scratch(server: LoopbackServer, mirror: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "sleep-cassette").mkdir(parents=True)
    size = FILES[PSG]
    (out / (PSG + ".part")).write_bytes(b"\0" * size)  # full length but wrong: HTTP 416, then from 0
    (out / (HYP + ".part")).write_bytes(b"stale prefix")  # resumes, fails the hash, refetched whole
    report = fetch(server.url, out, subjects=[0])
    assert report.ok, report.errors
    assert server.requests_for(PSG) == [f"bytes={size}-", None]
    assert server.requests_for(HYP) == ["bytes=12-", None]
    assert_same_tree(out, mirror, [PSG, HYP])
