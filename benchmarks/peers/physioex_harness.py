"""Harness run INSIDE the PhysioEx 2.0.4 venv: TinySleepNet from raw Sleep-EDF files, test, inference time.

Uses PhysioEx's own Python API, the same calls its ``train`` and ``test_model`` commands make
(``get_dataset("sleepedf")`` on ``$PHYSIOEX_DATA/physionet-sleep-data``, ``Trainer.train``,
``Trainer.evaluate``). Its forward passes run under ``torch.autocast("cpu")``, i.e. bfloat16 on CPU.
Prints one JSON line. Not imported by physioex itself; needs only the peer's venv and the stdlib-only
``harness_measure.py`` beside it.

Usage: python physioex_harness.py WORK_DIR [--night-root DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from harness_measure import median_time, self_peak_rss_mb  # beside this file (sys.path[0])


def _dataset(root: str | None, cache: Path) -> Any:
    from physioex.data.datasets import get_dataset

    kwargs: dict[str, Any] = {
        "channels": ["EEG Fpz-Cz"],
        "pipelines": "time_domain",
        "sequence_length": 21,
        "cache_dir": str(cache),
    }
    if root is not None:
        kwargs["root"] = root
    return get_dataset("sleepedf")(**kwargs)


def _night(dataset: Any, subject_id: str) -> tuple[Any, Any]:
    """A whole night ``(1, epochs, channels, samples)`` as PhysioEx's evaluation loader yields it."""
    import torch
    from physioex.data.collate import dict_collate_fn, stack_channels
    from physioex.train.trainer import _BasePhysioEvalDataset

    item = _BasePhysioEvalDataset(dataset, [subject_id])[0]
    batch = dict_collate_fn([item]) if isinstance(item, dict) else item
    if isinstance(batch, dict):
        return stack_channels(batch), batch["labels"]
    x, y = batch
    return torch.as_tensor(x)[None], torch.as_tensor(y)[None]


def _time_inference(model: Any, x: Any, repeats: int, autocast: bool) -> float:
    import contextlib

    import torch

    def once() -> None:
        ctx = torch.autocast("cpu") if autocast else contextlib.nullcontext()
        with torch.no_grad(), ctx:
            model(x)

    return median_time(once, repeats, warmup=1)["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--night-root", help="extra physionet-sleep-data folder (e.g. the real SC4001)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=1)
    args = parser.parse_args()
    import torch
    from physioex.train.trainer import Trainer

    import physioex
    from physioex.models.tinysleepnet import TinySleepNet

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"peer": "physioex", "version": getattr(physioex, "__version__", "2.0.4")}

    # End to end from raw EDF: dataset build (EDF decoding + its cache) + one training pass.
    t0 = time.perf_counter()
    dataset = _dataset(None, work / "cache")
    t_data = time.perf_counter() - t0
    train_ids, valid_ids, test_ids = dataset.get_splits(fold=0)
    model = TinySleepNet(n_classes=5, in_chan=1)
    t1 = time.perf_counter()
    model = Trainer.train(
        model=model,
        dataset=dataset,
        max_epochs=args.max_epochs,
        checkpoint_path=str(work / "ckpt"),
        train_batch_size=32,
        fold=0,
        logger="none",
        log_device=False,
    )
    t_train = time.perf_counter() - t1
    out["train"] = {
        "dataset_seconds": t_data,
        "train_seconds": t_train,
        "train_recordings": len(train_ids),
        "valid_recordings": len(valid_ids),
        "test_recordings": len(test_ids),
        "train_sequences_per_pass": int(len(dataset.split(fold=0)[0])),
        "batch_size": 32,
        "max_epochs": args.max_epochs,
    }

    # Test metrics the way `test_model` computes them (whole nights, bf16 autocast on CPU).
    t2 = time.perf_counter()
    res = Trainer.evaluate(model=model, dataset=dataset, fold=0)
    t_test = time.perf_counter() - t2
    out["test"] = {
        "seconds": t_test,
        **{k: float(res[k]) for k in ("accuracy", "f1_score", "cohen_kappa") if k in res},
    }
    out["end_to_end_seconds"] = t_data + t_train + t_test

    # Whole-night inference: one test night through the model, as in Trainer.evaluate.
    nights = []
    # the same demo night as ours (SC4001E0 of the demo mirror), else its first test night
    ids = [s.subject_id for s in dataset._subjects]
    candidates = [("demo", None, "SC4001E0" if "SC4001E0" in ids else test_ids[0])]
    if args.night_root:
        real = _dataset(args.night_root, work / "cache_real")
        candidates.append(("sc4001", real, None))
    model.eval()
    for name, ds, sid in candidates:
        ds = ds or dataset
        if sid is None:
            sid = [s.subject_id for s in ds._subjects][0]
        x, _ = _night(ds, sid)
        n_epochs = int(x.shape[1])
        bf16 = _time_inference(model, x, args.repeats, autocast=True)
        fp32 = _time_inference(model, x, args.repeats, autocast=False)
        nights.append(
            {
                "night": name,
                "subject_id": sid,
                "epochs": n_epochs,
                "bf16_autocast_seconds": bf16,
                "fp32_seconds": fp32,
                "bf16_epochs_per_s": n_epochs / bf16,
                "fp32_epochs_per_s": n_epochs / fp32,
            }
        )
    out["inference"] = nights
    out["torch"] = torch.__version__
    out["self_peak_rss_mb"] = self_peak_rss_mb()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
