"""Shared fixtures: the real SC4001 night (skipped when ../shared is absent) and a small demo mirror."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED_SLEEPEDF = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sleep-edf"


@pytest.fixture(scope="session")
def sleepedf_mirror() -> Path:
    """Folder laid out like PhysioNet's sleep-edfx tree holding the real SC4001 night."""
    if not (SHARED_SLEEPEDF / "SHA256SUMS.txt").is_file():
        pytest.skip("real Sleep-EDF night not available (../shared/data/sleep-edf is absent)")
    return SHARED_SLEEPEDF


@pytest.fixture(scope="session")
def demo_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small deterministic demo mirror: 4 subjects x 2 nights, Sleep-EDF and Dreem layouts."""
    from physioex.synth import generate_mirror

    return generate_mirror(
        tmp_path_factory.mktemp("demo") / "mirror", subjects=4, nights=2, seed=0, hours=3.0
    )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 HTTP API (moto's server mode) on loopback with a bucket ``physioex``; yields its URL."""
    import logging
    import os

    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket="physioex")
    yield url
    server.stop()
