"""Smoke test of ``python -m benchmarks run``: every benchmark on a tiny input so the code cannot rot.

Peers (PhysioEx, braindecode) are skipped here: their venvs are never part of the default test run.
Timings are not asserted (the machine is shared); structure, sizes and the memory probe are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks.common import ChildError, dir_bytes, machine_info, run_child


def test_run_child_measures_the_childs_own_peak_memory() -> None:
    code = (
        "import numpy as np; from benchmarks.common import emit; "
        "a = np.ones(64 * 2**20 // 8); emit({'n': int(a.size)})"
    )
    res = run_child([sys.executable, "-c", code])
    assert res.data["n"] == 64 * 2**20 // 8
    assert 64 <= res.peak_rss_mb < 1024, res.peak_rss_mb  # the 64 MB array, not the parent's peak
    assert res.data["self_peak_rss_mb"] >= 64


def test_run_child_reports_a_failing_child() -> None:
    with pytest.raises(ChildError, match="boom"):
        run_child([sys.executable, "-c", "raise SystemExit('boom')"])


def test_machine_info_records_cores_cpu_and_versions() -> None:
    info = machine_info()
    assert info["cores"] >= 1 and info["cpu_model"]
    assert info["libraries"]["torch"].startswith("2.")


@pytest.mark.slow
def test_quick_run_writes_results_and_table(demo_mirror: Path, tmp_path: Path) -> None:
    from benchmarks.__main__ import run
    from benchmarks.report import main as report_main

    out = tmp_path / "results.json"
    results = run(out, quick=True, peers=False, real_night=False, mirror=demo_mirror)

    saved = json.loads(out.read_text())
    assert saved["machine"]["cores"] >= 1 and saved["quick"] is True
    sections = saved["sections"]
    assert set(sections) == {"preprocess", "train", "explain", "peers", "scaling"}
    for name, sec in sections.items():
        assert "error" not in sec, (name, sec.get("error"))
    for name, sec in sections["peers"].items():
        assert not (isinstance(sec, dict) and sec.get("error")), (name, sec)
    assert sections["peers"]["physioex"]["skipped"] and sections["peers"]["braindecode"]["skipped"]

    pre = sections["preprocess"]
    assert pre["physioex"]["epochs"] >= pre["mne"]["epochs"] > 0  # MNE's Epochs drop the unscored ones
    assert 0 < pre["physioex"]["bytes"] < pre["physioex"]["epochs"] * 3000 * 4  # smaller than float32
    e2e = sections["peers"]["ours_e2e"]
    assert e2e["test"]["n_epochs"] > 0 and 0.0 <= e2e["test"]["accuracy"] <= 1.0
    scaling = sections["scaling"]
    assert [p["recordings"] for p in scaling["preprocess"]] == [1, 2, 2]
    assert all(p["peak_rss_mb"] > 0 and p["store_bytes"] > 0 for p in scaling["preprocess"])
    assert [t["recordings"] for t in scaling["train"]] == [1, 2]

    figures = {f["name"]: f for f in results["figures"]}
    mne = next(f for n, f in figures.items() if n.startswith("preprocess vs MNE"))
    assert mne["ratio"] == pytest.approx(mne["ours"] / mne["baseline"])
    assert all(f["ratio"] is None or f["ratio"] > 0 for f in figures.values())
    groups = {f["group"] for f in figures.values()}
    assert {"preprocess", "train", "inference", "explain", "scaling"} <= groups

    md = (tmp_path / "RESULTS.md").read_text()
    assert "| preprocess | preprocess vs MNE path" in md and "cores" in md
    assert "peers.physioex" in md  # skipped peers are listed, not silently missing

    (tmp_path / "RESULTS.md").unlink()
    report_main([str(out), str(tmp_path / "RESULTS.md")], echo=lambda _: None)
    assert (tmp_path / "RESULTS.md").read_text() == md
    assert dir_bytes(tmp_path) > 0


def test_peer_harnesses_are_valid_python() -> None:
    import py_compile

    peers = Path(__file__).resolve().parents[1] / "benchmarks" / "peers"
    for name in ("physioex_harness.py", "braindecode_harness.py"):
        py_compile.compile(str(peers / name), doraise=True)


def test_torchaudio_libs_are_disabled_in_a_peer_venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.peers import venvs

    lib = tmp_path / "braindecode" / "lib" / "python3.11" / "site-packages" / "torchaudio" / "lib"
    lib.mkdir(parents=True)
    (lib / "_torchaudio.abi3.so").write_bytes(b"\x7fELF")
    (lib / "__init__.py").write_text("")
    monkeypatch.setattr(venvs, "VENV_ROOT", tmp_path)
    renamed = venvs.disable_torchaudio_libs("braindecode")
    assert [p.name for p in renamed] == ["_torchaudio.abi3.so.disabled"]
    assert sorted(p.name for p in lib.iterdir()) == ["__init__.py", "_torchaudio.abi3.so.disabled"]
    assert not venvs.is_ready("braindecode")  # no marker: an unfinished install is retried
    with pytest.raises(ValueError, match="unknown peer"):
        venvs.ensure_venv("nope")
