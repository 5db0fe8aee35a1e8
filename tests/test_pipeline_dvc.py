"""End to end through real DVC: `dvc repro` on a tiny demo configuration in a fresh git repository,
a no-op second repro, push to a local-folder remote and to an S3 API on loopback, pulls into new
clones with byte-identical outputs, and an experiment with the other model."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

TINY = {
    "download": {"demo-subjects": 5, "demo-nights": 1, "hours": 2.5},
    "preprocess": {"jobs": 1},
    "train": {
        "model": "chambon2018",
        "seq_len": 5,
        "batch_size": 8,
        "max_epochs": 1,
        "limit_train_batches": 4,
        "num_workers": 0,
        "seed": 0,
    },
    "explain": {"method": "integrated-gradients", "epoch-limit": 10, "n-steps": 4, "check-epochs": 4},
}


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run a command, fail the test with its output if it fails; return stdout + stderr."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{out[-4000:]}"
    return out


def tree_digest(path: Path) -> dict[str, str]:
    """sha256 of every file below ``path`` (or of the file itself), keyed by relative path."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e.pop("PHYSIOEX_DATA", None)
    e["GIT_AUTHOR_NAME"] = e["GIT_COMMITTER_NAME"] = "physioex-test"
    e["GIT_AUTHOR_EMAIL"] = e["GIT_COMMITTER_EMAIL"] = "test@example.invalid"
    e["HOME"] = str(tmp_path_factory.mktemp("home"))
    e["OMP_NUM_THREADS"] = "1"
    return e


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Path:
    """A fresh git repository holding the project's tracked files, configured tiny."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    repo = tmp_path_factory.mktemp("project") / "physioex"
    for rel in files:
        src = ROOT / rel
        if src.is_file() and not rel.startswith("data/") and rel != "dvc.lock":
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section] = values
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "tiny demo configuration"], repo, env)
    return repo


@pytest.mark.slow
def test_repro_status_push_pull_and_experiment(
    project: Path, env: dict[str, str], s3_endpoint: str, tmp_path: Path
) -> None:
    run(["dvc", "repro"], project, env)
    data = project / "data"
    metrics = json.loads((data / "evaluation" / "demo" / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert (data / "explain" / "demo" / "index.html").is_file()

    status = run(["dvc", "status"], project, env)
    assert "up to date" in status, status
    again = run(["dvc", "repro"], project, env)
    assert "Running stage" not in again, again

    run(["git", "add", "-A"], project, env)
    run(["git", "commit", "-qm", "pipeline outputs"], project, env)

    local_remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "local", str(local_remote)], project, env)
    run(["dvc", "remote", "add", "s3", "s3://physioex/dvcstore"], project, env)
    run(["dvc", "remote", "modify", "s3", "endpointurl", s3_endpoint], project, env)
    run(["git", "commit", "-qam", "remotes"], project, env)
    run(["dvc", "push", "-r", "local"], project, env)
    run(["dvc", "push", "-r", "s3"], project, env)

    shared = ["data/stores/demo.zarr", "data/models/demo/fold-0/best.ckpt", "data/raw/demo"]
    expected = {p: tree_digest(project / p) for p in shared}
    for remote in ("local", "s3"):
        clone = tmp_path / f"clone-{remote}"
        run(["git", "clone", "-q", str(project), str(clone)], tmp_path, env)
        run(["dvc", "pull", "-r", remote], clone, env)
        for p in shared:
            assert tree_digest(clone / p) == expected[p], f"{p} differs after pull from {remote}"
        assert "up to date" in run(["dvc", "status"], clone, env)

    # Same parameters and seed on CPU -> the same metrics, to the bit (retrain in the pulled clone).
    clone = tmp_path / "clone-local"
    run(["dvc", "repro", "--force", "--downstream", "train@0"], clone, env)
    metrics_file = "data/evaluation/demo/metrics.json"
    assert (clone / metrics_file).read_text() == (project / metrics_file).read_text()
    # ... and byte-identical versioned outputs in another folder: checkpoints, DVCLive files,
    # evaluation and explanations hash as before, so dvc.lock (and git) see no change.
    assert run(["git", "status", "--porcelain"], clone, env).strip() == ""

    run(["dvc", "exp", "run", "-S", "train.model=tinysleepnet", "-n", "tiny-tsn"], project, env)
    assert "tiny-tsn" in run(["dvc", "exp", "list"], project, env)
    shown = run(["dvc", "metrics", "show", "--json"], project, env)
    (workspace,) = json.loads(shown[shown.index("{") :]).values()
    assert workspace["data"]["data/evaluation/demo/metrics.json"]["data"]["model"] == "tinysleepnet"
    table = run(["dvc", "exp", "show", "--csv"], project, env)
    assert "tiny-tsn" in table and "accuracy" in table
