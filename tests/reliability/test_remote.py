"""Remote stores fail fast and clearly: real loopback servers that refuse, never answer, or answer 404.

Every failure is one line naming the URL (without credentials) and the cause, after bounded retries
with a short configured timeout, so these tests finish in seconds instead of hanging.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_error, run_physioex

from physioex.errors import InputError
from physioex.store import open_store
from physioex.store.errors import MissingChunkError, RemoteStoreError, StoreNotFoundError
from physioex.store.verify import verify_store

REC = "SC4001E0"
SECRET = "s3cr3t-never-printed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte; yields its port."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(srv.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    srv.close()


@pytest.fixture
def bucket_store(built_store: Path, s3_endpoint: str) -> Iterator[str]:
    """The built store uploaded to a fresh prefix of the moto bucket; yields its s3:// URL."""
    import uuid

    import fsspec

    fs = fsspec.filesystem("s3", endpoint_url=s3_endpoint, skip_instance_cache=True)
    prefix = f"physioex/rel-{uuid.uuid4().hex[:8]}/demo.zarr"
    fs.put(str(built_store), prefix, recursive=True)
    yield f"s3://{prefix}"
    fs.rm(prefix, recursive=True)


def _opts(endpoint: str) -> dict[str, str]:
    return {"endpoint_url": endpoint}


def test_s3_store_reads_like_the_local_one(bucket_store: str, s3_endpoint: str, built_store: Path) -> None:
    remote = open_store(bucket_store, _opts(s3_endpoint), timeout=5)
    local = open_store(built_store)
    assert remote.recordings == local.recordings
    np.testing.assert_array_equal(remote.signals(REC, 250, 270), local.signals(REC, 250, 270))
    np.testing.assert_array_equal(remote.labels(REC), local.labels(REC))
    report = verify_store(bucket_store, _opts(s3_endpoint), timeout=5)
    assert report.ok and report.chunks == verify_store(built_store).chunks


def test_s3_missing_key_and_bucket_are_one_line(s3_endpoint: str) -> None:
    for url in ("s3://physioex/no/such.zarr", "s3://no-such-bucket/demo.zarr"):
        with pytest.raises(StoreNotFoundError) as err:
            open_store(url, _opts(s3_endpoint), timeout=5)
        assert isinstance(err.value, InputError)
        msg = str(err.value)
        assert msg.startswith(f"store {url}: no Zarr store there") and "\n" not in msg


def test_s3_missing_chunk_names_it(bucket_store: str, s3_endpoint: str) -> None:
    import fsspec

    fs = fsspec.filesystem("s3", endpoint_url=s3_endpoint, skip_instance_cache=True)
    fs.rm(f"{bucket_store[5:]}/recordings/{REC}/signals/EEG_Fpz-Cz/c/1/0")
    with pytest.raises(MissingChunkError) as err:
        open_store(bucket_store, _opts(s3_endpoint), timeout=5)
    msg = str(err.value)
    assert msg.startswith(f"store {bucket_store}, recording {REC}, array signals/EEG_Fpz-Cz, chunk c/1/0:")
    report = verify_store(bucket_store, _opts(s3_endpoint), timeout=5)
    assert report.problems == [msg]


def test_http_store_without_listing_still_checks_chunks(built_store: Path, tmp_path: Path) -> None:
    from http_server import LoopbackServer  # tests/ is on sys.path

    copy = tmp_path / "demo.zarr"
    shutil.copytree(built_store, copy)
    with LoopbackServer(tmp_path) as server:
        url = server.url + "demo.zarr"
        assert open_store(url, timeout=5).labels(REC).shape == (open_store(copy).n_epochs(REC),)
        (copy / "recordings" / REC / "labels" / "c" / "0").unlink()
        with pytest.raises(
            MissingChunkError, match=f"store {url}, recording {REC}, array labels, chunk c/0:"
        ):
            open_store(url, timeout=5)
        with pytest.raises(StoreNotFoundError, match="no Zarr store there"):
            open_store(server.url + "nothing.zarr", timeout=5)


@pytest.mark.parametrize("scheme", ["http", "s3"])
def test_refused_connection_is_one_line_without_credentials(scheme: str) -> None:
    port = _free_port()
    if scheme == "http":
        url, opts = f"http://reader:{SECRET}@127.0.0.1:{port}/demo.zarr?token={SECRET}", None
        shown = f"http://127.0.0.1:{port}/demo.zarr"
    else:
        url, opts = (
            "s3://physioex/demo.zarr",
            {
                "endpoint_url": f"http://127.0.0.1:{port}",
                "key": "testing",
                "secret": SECRET,
            },
        )
        shown = url
    with pytest.raises(RemoteStoreError) as err:
        open_store(url, opts, timeout=1)
    msg = str(err.value)
    assert msg.startswith(f"store {shown}: reading zarr.json failed after 3 attempts: connection refused"), (
        msg
    )
    assert SECRET not in msg and "\n" not in msg


@pytest.mark.parametrize("scheme", ["http", "s3"])
def test_server_that_never_answers_times_out(scheme: str, silent_server: int) -> None:
    endpoint = f"http://127.0.0.1:{silent_server}"
    url, opts = (f"{endpoint}/demo.zarr", None) if scheme == "http" else ("s3://b/demo.zarr", _opts(endpoint))
    started = time.monotonic()
    with pytest.raises(RemoteStoreError) as err:
        open_store(url, opts, timeout=0.5)
    elapsed = time.monotonic() - started
    assert f"store {url}: reading zarr.json failed after 3 attempts: no answer within 0.5 s" in str(err.value)
    assert elapsed < 30  # bounded: 3 attempts x 0.5 s + backoff, instead of hanging for minutes


def test_cli_against_refused_and_silent_s3_endpoints(silent_server: int) -> None:
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": SECRET, "PHYSIOEX_STORE_TIMEOUT": "0.5"}
    for endpoint, cause in (
        (f"http://127.0.0.1:{_free_port()}", "connection refused"),
        (f"http://127.0.0.1:{silent_server}", "no answer within 0.5 s"),
    ):
        proc = run_physioex("verify", "s3://physioex/demo.zarr", env={**env, "AWS_ENDPOINT_URL": endpoint})
        line = assert_one_error(proc, 1, cause)  # no ContextVar tracebacks, no retry noise
        assert line.startswith("error: store s3://physioex/demo.zarr: reading zarr.json failed")
        assert SECRET not in proc.stderr + proc.stdout


def test_cli_s3_404_and_bad_timeout_setting(s3_endpoint: str) -> None:
    env = {"AWS_ENDPOINT_URL": s3_endpoint}
    proc = run_physioex("verify", "s3://physioex/missing.zarr", env=env)
    assert assert_one_error(proc, 2) == (
        "error: store s3://physioex/missing.zarr: no Zarr store there (no zarr.json); check the URL or path, "
        "or create it with `physioex preprocess`"
    )
    bad = run_physioex("verify", "s3://physioex/missing.zarr", env={**env, "PHYSIOEX_STORE_TIMEOUT": "soon"})
    assert (
        assert_one_error(bad, 2) == "error: $PHYSIOEX_STORE_TIMEOUT='soon' is not a number; set it to e.g. 20"
    )
