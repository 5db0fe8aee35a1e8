"""Side by side with the real peers, on the same raw EDF files, in the same run.

- PhysioEx 2.0.4 (its own venv): raw Sleep-EDF files -> one training pass of TinySleepNet -> test
  metrics, and whole-night inference speed (its bf16 autocast on CPU, and fp32), vs ours:
  ``preprocess`` + ``train --model tinysleepnet --max-epochs 1`` + ``test`` and ``predict_proba``.
- braindecode 1.8.1 (its own venv): SleepPhysionet-style windowing from the same local EDF files vs our
  preprocess; its ``SleepStagerChambon2018`` training step vs ours on the same number of epochs.

The data: the first night of every subject of a generated demo mirror (Sleep-EDF layout, so both
tools read the very same files), plus the real SC4001 night from ``../shared`` for inference when
present. Peers are skipped (with the reason recorded) when their venv cannot be created.

Run ``python -m benchmarks.bench_peers`` (creates the peer venvs on first use; needs PyPI).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ChildError,
    bench_main,
    demo_mirror,
    python_child,
    ratio,
    run_child,
    sleepedf_night,
)

MODULE = "benchmarks.bench_peers"
PEERS_DIR = Path(__file__).resolve().parent / "peers"
CHANNEL = "EEG Fpz-Cz"
SEQ_LEN = 21


# --------------------------------------------------------------------------------------------- data
def build_trees(
    mirror: Path, work: Path, night: Path | None, max_subjects: int | None = None
) -> dict[str, Any]:
    """Views of the same EDF files for each tool (symlinks, no copies).

    ``ours_raw``: a download folder (``SHA256SUMS.txt`` + ``sleep-cassette/``) holding the first night of
    every subject (the first ``max_subjects``); ``physioex_data``: ``$PHYSIOEX_DATA`` with
    ``physionet-sleep-data/`` holding the same
    files flat, as PhysioEx expects; the same two views of the real SC4001 night when present.
    """
    from physioex.download.listing import parse_listing
    from physioex.sources import get_source

    listing = parse_listing((mirror / "SHA256SUMS.txt").read_text())
    recs = sorted((r for r in get_source("demo").recordings(listing) if r.night == 1), key=lambda r: r.id)
    recs = recs[:max_subjects] if max_subjects else recs
    trees: dict[str, Any] = {"recordings": []}

    def views(name: str, src_root: Path, src_listing: dict[str, str], chosen: list[Any]) -> tuple[Path, Path]:
        ours = work / name / "raw"
        px = work / name / "physioex_data" / "physionet-sleep-data"
        px.mkdir(parents=True, exist_ok=True)
        lines = []
        for rec in chosen:
            for rel in rec.files.values():
                (ours / rel).parent.mkdir(parents=True, exist_ok=True)
                for link in (ours / rel, px / Path(rel).name):
                    if not link.exists():
                        link.symlink_to((src_root / rel).resolve())
                lines.append(f"{src_listing[rel]}  {rel}\n")
        (ours / "SHA256SUMS.txt").write_text("".join(sorted(lines)))
        return ours, px.parent

    trees["ours_raw"], trees["physioex_data"] = views("demo", mirror, listing, recs)
    trees["recordings"] = [
        {"id": r.id, "psg": str(mirror / r.files["psg"]), "hypnogram": str(mirror / r.files["hypnogram"])}
        for r in recs
    ]
    trees["subjects"] = sorted({r.subject for r in recs})
    if night is not None:
        real_listing = parse_listing((night / "SHA256SUMS.txt").read_text())
        real = get_source("sleepedf-20").recordings(real_listing)
        trees["night_raw"], trees["night_physioex_data"] = views("sc4001", night, real_listing, real)
    return trees


# ------------------------------------------------------------------------------------- our workers
def night_inference(ckpt: Path, store_path: Path, rec: str, repeats: int, slide: int) -> dict[str, Any]:
    """Whole-night ``predict_proba`` (fp32 and bf16 autocast) vs the batch-1 one-epoch-at-a-time loop."""
    import numpy as np
    import torch

    from benchmarks.bench_train import sliding_batch1_seconds
    from benchmarks.peers.harness_measure import median_time
    from physioex.inference.checkpoint import load_checkpoint
    from physioex.store import open_store

    loaded = load_checkpoint(ckpt)
    st = open_store(store_path)
    x = st.signals(rec)[:, loaded.check_channels(st.channels, str(store_path))]
    n = int(x.shape[0])

    def timed(fn: Any) -> float:
        return median_time(fn, repeats, warmup=1)["seconds"]

    fp32 = timed(lambda: loaded.predict_proba(x))

    def bf16_run() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loaded.predict_proba(x)

    bf16 = timed(bf16_run)
    xt = torch.from_numpy(np.ascontiguousarray(loaded.normalise(x)))
    k = min(slide, n)
    slide_s = sliding_batch1_seconds(loaded.model, xt, loaded.seq_len, k)
    return {
        "recording": rec,
        "epochs": n,
        "fp32_seconds": fp32,
        "bf16_autocast_seconds": bf16,
        "fp32_epochs_per_s": n / fp32,
        "bf16_epochs_per_s": n / bf16,
        "batch1_sliding_epochs_per_s": k / slide_s,
        "batch1_sliding_epochs_timed": k,
    }


def worker_ours_e2e(
    raw: Path, work: Path, night_raw: Path | None, repeats: int, slide: int, train_batches: int = 0
) -> dict[str, Any]:
    """Our pipeline end to end on ``raw``: preprocess, one pass of TinySleepNet, test; then inference.

    ``train_batches`` > 0 caps the pass (smoke tests); 0 = the whole pass.
    """
    import json as _json

    from physioex.inference.run import evaluate
    from physioex.preprocess.run import preprocess
    from physioex.train.run import train

    store = work / "store.zarr"
    t0 = time.perf_counter()
    report = preprocess("demo", raw=raw, out=store, channels=[CHANNEL], progress=False)
    t_pre = time.perf_counter() - t0
    if not report.ok:
        raise RuntimeError(report.summary())
    t1 = time.perf_counter()
    trained = train(
        store,
        model="tinysleepnet",
        fold="0",
        out=work / "models",
        params=None,
        progress=False,
        max_epochs=1,
        seq_len=SEQ_LEN,
        batch_size=32,
        limit_train_batches=train_batches or 1.0,
        **({"num_workers": 0} if train_batches else {}),
    )
    t_train = time.perf_counter() - t1
    t2 = time.perf_counter()
    metrics = evaluate(
        work / "models", store, fold="0", out=work / "reports", plots=False, progress=False
    ).metrics
    t_test = time.perf_counter() - t2
    ckpt = Path(trained.folds[0].best_checkpoint)
    from physioex.store import open_store
    from physioex.train.windows import train_windows_per_recording

    st = open_store(store)
    test_recs = st.recordings_of(st.fold(0).test)
    train_recs = st.recordings_of(st.fold(0).train)
    sequences = sum(train_windows_per_recording(st.n_epochs(r), SEQ_LEN, SEQ_LEN - 1) for r in train_recs)
    # the same night for both tools' inference timing: the first demo recording
    night_rec = "SC4001E0" if "SC4001E0" in st.recordings else test_recs[0]
    out: dict[str, Any] = {
        "preprocess_seconds": t_pre,
        "train_seconds": t_train,
        "test_seconds": t_test,
        "end_to_end_seconds": t_pre + t_train + t_test,
        "train_recordings": trained.folds[0].train_recordings,
        "valid_recordings": trained.folds[0].valid_recordings,
        "test_recordings": len(test_recs),
        "train_sequences_per_pass": int(sequences),
        "test": {k: metrics[k] for k in ("accuracy", "f1_macro", "kappa", "n_epochs")},
        "inference": [dict(night_inference(ckpt, store, night_rec, repeats, slide), night="demo")],
    }
    (work / "ours_e2e.json").write_text(_json.dumps(out))
    if night_raw is not None:
        night_store = work / "sc4001.zarr"
        t3 = time.perf_counter()
        rep = preprocess("sleepedf-20", raw=night_raw, out=night_store, channels=[CHANNEL], progress=False)
        out["sc4001_preprocess_seconds"] = time.perf_counter() - t3
        if rep.ok:
            rec = open_store(night_store).recordings[0]
            out["inference"].append(
                dict(night_inference(ckpt, night_store, rec, repeats, slide), night="sc4001")
            )
    return out


def worker_ours_chambon(epochs_per_step: int, repeats: int, steps: int = 3) -> dict[str, Any]:
    """Median seconds of one training step of our Chambon2018 on ``epochs_per_step`` epochs (L=21 windows)."""
    import torch

    from benchmarks.peers.harness_measure import step_time
    from physioex.models import build_model

    torch.manual_seed(0)
    batch = max(1, epochs_per_step // SEQ_LEN)
    net = build_model("chambon2018", n_channels=1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(batch, SEQ_LEN, 1, 3000)
    y = torch.randint(0, 5, (batch * SEQ_LEN,))
    net.train()

    def step() -> None:
        opt.zero_grad()
        loss_fn(net(x).reshape(-1, 5), y).backward()
        opt.step()

    return {
        **step_time(step, repeats, steps),
        "epochs_per_step": batch * SEQ_LEN,
        "parameters": sum(p.numel() for p in net.parameters()),
    }


# ---------------------------------------------------------------------------------------- the run
def _peer_python(peer: str, install: bool) -> tuple[Path | None, str | None]:
    from benchmarks.peers.venvs import ensure_venv, is_ready, venv_python

    if is_ready(peer):
        return venv_python(peer), None
    if not install:
        return (
            None,
            f"venv benchmarks/.venvs/{peer} not created (run python -m benchmarks.peers.venvs {peer})",
        )
    try:
        return ensure_venv(peer), None
    except Exception as exc:  # noqa: BLE001 - a failed peer install is reported, not fatal
        return None, f"could not create the {peer} venv: {exc}"


def _section(fn: Any) -> dict[str, Any]:
    try:
        return fn()
    except ChildError as exc:
        return {"error": str(exc)[-3000:]}
    except Exception as exc:  # noqa: BLE001 - one failing measurement must not lose the others
        return {"error": f"{type(exc).__name__}: {exc}"}


def run(
    tmp: Path,
    *,
    subjects: int = 8,
    hours: float = 3.0,
    repeats: int = 3,
    peers: bool = True,
    install: bool = True,
    slide: int = 120,
    epochs_per_step: int = 252,
    mirror_root: Path | None = None,
    use_real_night: bool = True,
    max_subjects: int | None = None,
    mirror: Path | None = None,
    train_batches: int | None = None,
) -> dict[str, Any]:
    """All peer comparisons; returns the ``peers`` section of results.json.

    ``train_batches`` caps our training pass (smoke tests only; None = one full pass).
    """
    mirror = mirror or demo_mirror(subjects, hours, root=mirror_root)
    night = sleepedf_night() if use_real_night else None
    trees = build_trees(mirror, tmp / "trees", night, max_subjects)
    out: dict[str, Any] = {
        "data": (
            f"first night of {len(trees['recordings'])} subjects of a generated demo mirror "
            f"({hours:g} h each, Sleep-EDF layout, channel {CHANNEL})"
            + ("; inference also on the real SC4001 night" if night else "")
        )
    }
    night_arg = str(trees["night_raw"]) if night else ""

    def ours_e2e() -> dict[str, Any]:
        args = ["--worker", "ours-e2e", str(trees["ours_raw"]), str(tmp / "ours_e2e"), night_arg]
        res = python_child(MODULE, *args, str(repeats), str(slide), str(train_batches or 0))
        return {**res.data, "peak_rss_mb": res.peak_rss_mb, "wall_seconds": res.wall_seconds}

    out["ours_e2e"] = _section(ours_e2e)

    def ours_windowing() -> dict[str, Any]:
        rows = []
        for i in range(repeats):
            dest = tmp / f"ours_windowing_{i}.zarr"
            n = str(len(trees["recordings"]))
            rows.append(
                python_child(
                    "benchmarks.bench_scaling",
                    "--worker",
                    "preprocess",
                    str(trees["ours_raw"]),
                    str(dest),
                    n,
                    "1",
                )
            )
            shutil.rmtree(dest, ignore_errors=True)
        return {
            "seconds": statistics.median(r.data["seconds"] for r in rows),
            "runs": [r.data["seconds"] for r in rows],
            "epochs": rows[0].data["epochs"],
            "peak_rss_mb": statistics.median(r.peak_rss_mb for r in rows),
        }

    out["ours_windowing"] = _section(ours_windowing)

    def ours_chambon() -> dict[str, Any]:
        res = python_child(MODULE, "--worker", "ours-chambon", str(epochs_per_step), str(repeats))
        return res.data

    out["ours_chambon_step"] = _section(ours_chambon)

    if not peers:
        out["physioex"] = {"skipped": "peers disabled (--no-peers)"}
        out["braindecode"] = {"skipped": "peers disabled (--no-peers)"}
        return out

    def physioex_peer() -> dict[str, Any]:
        py, why = _peer_python("physioex", install)
        if py is None:
            return {"skipped": why}
        cmd = [
            str(py),
            str(PEERS_DIR / "physioex_harness.py"),
            str(tmp / "physioex_work"),
            "--repeats",
            str(repeats),
        ]
        if night:
            cmd += ["--night-root", str(trees["night_physioex_data"] / "physionet-sleep-data")]
        res = run_child(cmd, env={"PHYSIOEX_DATA": str(trees["physioex_data"]), "PYTHONWARNINGS": "ignore"})
        return {**res.data, "peak_rss_mb": res.peak_rss_mb, "wall_seconds": res.wall_seconds}

    out["physioex"] = _section(physioex_peer)

    def braindecode_peer() -> dict[str, Any]:
        py, why = _peer_python("braindecode", install)
        if py is None:
            return {"skipped": why}
        recs_json = tmp / "braindecode_recordings.json"
        recs_json.write_text(json.dumps(trees["recordings"]))
        cmd = [str(py), str(PEERS_DIR / "braindecode_harness.py"), str(recs_json), "--repeats", str(repeats)]
        cmd += ["--epochs-per-step", str(epochs_per_step)]
        res = run_child(cmd, env={"PYTHONWARNINGS": "ignore", "MNE_LOGGING_LEVEL": "ERROR"})
        return {**res.data, "peak_rss_mb": res.peak_rss_mb, "wall_seconds": res.wall_seconds}

    out["braindecode"] = _section(braindecode_peer)
    out["summary"] = summarise(out)
    return out


def summarise(res: dict[str, Any]) -> dict[str, Any]:
    """Ratios ours vs peer (> 1 means ours is faster) from a ``run`` result."""
    s: dict[str, Any] = {}
    ours, px, bd = res.get("ours_e2e", {}), res.get("physioex", {}), res.get("braindecode", {})
    with contextlib.suppress(KeyError, TypeError, IndexError):
        s["e2e_speedup_vs_physioex"] = ratio(px["end_to_end_seconds"], ours["end_to_end_seconds"])
    with contextlib.suppress(KeyError, TypeError, IndexError):
        for mine, theirs in zip(ours["inference"], px["inference"], strict=False):
            s[f"inference_{mine['night']}_fp32_vs_physioex_bf16"] = ratio(
                mine["fp32_epochs_per_s"], theirs["bf16_epochs_per_s"]
            )
    with contextlib.suppress(KeyError, TypeError):
        w = res["ours_windowing"]
        s["windowing_speedup_vs_braindecode"] = ratio(
            bd["windowing"]["seconds"] / bd["windowing"]["windows"], w["seconds"] / w["epochs"]
        )
    with contextlib.suppress(KeyError, TypeError):
        s["chambon_step_speedup_vs_braindecode"] = ratio(
            bd["train_step"]["seconds_per_step"] / bd["train_step"]["epochs_per_step"],
            res["ours_chambon_step"]["seconds_per_step"] / res["ours_chambon_step"]["epochs_per_step"],
        )
    return s


def _ours_e2e_worker(rest: list[str]) -> dict[str, Any]:
    """``--worker ours-e2e RAW WORK NIGHT_RAW|'' REPEATS SLIDE [TRAIN_BATCHES]``."""
    night = Path(rest[2]) if rest[2] else None
    cap = int(rest[5]) if len(rest) > 5 else 0
    return worker_ours_e2e(Path(rest[0]), Path(rest[1]), night, int(rest[3]), int(rest[4]), cap)


def _ours_chambon_worker(rest: list[str]) -> dict[str, Any]:
    """``--worker ours-chambon EPOCHS_PER_STEP REPEATS``."""
    return worker_ours_chambon(int(rest[0]), int(rest[1]))


def main(argv: list[str] | None = None) -> None:
    """Command line (also the child-process worker entry)."""
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    workers = {"ours-e2e": _ours_e2e_worker, "ours-chambon": _ours_chambon_worker}
    options = {
        "--quick": ("3 subjects x 2.5 h, one repeat", {"subjects": 3, "hours": 2.5, "repeats": 1}),
        "--no-peers": ("only our side (no peer venvs)", {"peers": False}),
    }
    bench_main(argv, __doc__, "bench_peers_", workers, run, options)


if __name__ == "__main__":
    main()
