"""`train`, `test` and `explain` read an epoch store straight from object storage (an fsspec
``s3://`` URL on a real S3 API served on loopback), without copying it locally."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def local_store(demo_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from physioex.download import download
    from physioex.preprocess.run import preprocess

    root = tmp_path_factory.mktemp("remote-store")
    raw = root / "raw"
    download("demo", mirror=str(demo_mirror), out=raw, progress=False)
    out = root / "demo.zarr"
    report = preprocess("demo", raw=raw, out=out, folds=4, progress=False)
    assert report.ok
    return out


@pytest.mark.slow
def test_train_test_explain_from_s3(local_store: Path, s3_endpoint: str, tmp_path: Path) -> None:
    import fsspec

    env = dict(os.environ)
    env["AWS_ENDPOINT_URL"] = s3_endpoint  # how s3fs/botocore find a non-AWS endpoint (MinIO, Ceph, ...)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["OMP_NUM_THREADS"] = "1"
    fs = fsspec.filesystem("s3", endpoint_url=s3_endpoint)
    fs.put(str(local_store), "physioex/stores/demo.zarr", recursive=True)
    url = "s3://physioex/stores/demo.zarr"

    def physioex(*args: str) -> str:
        proc = subprocess.run(["physioex", *args], env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    models = tmp_path / "models"
    physioex(
        "train", "--store", url, "--fold", "0", "--out", str(models), "--max-epochs", "1",
        "--seq-len", "5", "--batch-size", "8", "--num-workers", "1", "--no-progress",
    )  # fmt: skip
    ckpt = models / "fold-0" / "best.ckpt"
    assert ckpt.is_file()
    physioex(
        "test", "--checkpoint", str(ckpt), "--store", url, "--out", str(tmp_path / "eval"), "--no-progress"
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["n_epochs"] > 0
    physioex(
        "explain", "--checkpoint", str(ckpt), "--store", url, "--out", str(tmp_path / "explain"),
        "--epoch-limit", "6", "--n-steps", "4", "--check-epochs", "4", "--no-progress",
    )  # fmt: skip
    assert (tmp_path / "explain" / "index.html").is_file()
    # Nothing was copied next to the outputs: the store exists only in the bucket.
    assert not [p for p in tmp_path.rglob("demo.zarr")]
