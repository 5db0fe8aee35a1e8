"""Harness run INSIDE the braindecode 1.8.1 venv: SleepPhysionet-style windowing and a Chambon2018 train step.

Windowing follows braindecode's sleep-staging example on local files (``SleepPhysionet`` itself downloads
through MNE's fetcher): ``mne.io.read_raw_edf(preload=True)`` of the EEG channels + hypnogram annotations,
the same +-30 min wake crop as ``SleepPhysionet._load_raw``, scaled to uV, then
``create_windows_from_events`` (30-s windows, preload) over a ``BaseConcatDataset`` of ``RawDataset``.
The train step is ``SleepStagerChambon2018`` forward + backward + Adam on a batch of single epochs.
Prints one JSON line. Needs only the peer's venv and, beside this file, the stdlib-only
``harness_measure.py`` and ``harness_recipes.py``.

Usage: python braindecode_harness.py RECORDINGS_JSON [--repeats 3] [--epochs-per-step 252]
(RECORDINGS_JSON: list of {"id", "psg", "hypnogram"} with absolute paths).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from harness_measure import self_peak_rss_mb, step_time  # beside this file (sys.path[0])
from harness_recipes import RK_EVENT_ID

EXCLUDE = ["EOG horizontal", "Resp oro-nasal", "EMG submental", "Temp rectal", "Event marker"]


def _load_raw(psg: str, hyp: str, crop_wake_mins: float = 30.0) -> Any:
    """``SleepPhysionet._load_raw`` (load_eeg_only, crop_wake_mins) on local files, Fpz-Cz picked."""
    import mne
    import numpy as np

    raw = mne.io.read_raw_edf(psg, preload=True, exclude=EXCLUDE, verbose="ERROR")
    annots = mne.read_annotations(hyp)
    raw.set_annotations(annots, emit_warning=False)
    mask = [x[-1] in ["1", "2", "3", "4", "R"] for x in annots.description]
    sleep = np.where(mask)[0]
    a_tmin, a_tmax = annots[sleep[0]], annots[sleep[-1]]
    tmin = a_tmin["onset"] - crop_wake_mins * 60
    tmax = a_tmax["onset"] + a_tmax["duration"] + crop_wake_mins * 60
    raw.crop(
        tmin=max(tmin, raw.times[0]),
        tmax=min(tmax, raw.times[-1] + 1 / raw.info["sfreq"]),
        include_tmax=False,
    )
    raw.rename_channels({c: c.replace("EEG ", "") for c in raw.ch_names if "EEG" in c})
    return raw.pick(["Fpz-Cz"])


def windowing(recordings: list[dict[str, str]]) -> dict[str, Any]:
    """Local SleepPhysionet-style windows of every recording; returns seconds and window count."""
    import numpy as np
    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import Preprocessor, create_windows_from_events, preprocess

    t0 = time.perf_counter()
    parts = [
        RawDataset(_load_raw(r["psg"], r["hypnogram"]), description={"recording": r["id"]})
        for r in recordings
    ]
    concat = BaseConcatDataset(parts)
    preprocess(concat, [Preprocessor(lambda x: np.multiply(x, 1e6), apply_on_array=True)], n_jobs=1)
    windows = create_windows_from_events(
        concat,
        trial_start_offset_samples=0,
        trial_stop_offset_samples=0,
        window_size_samples=3000,
        window_stride_samples=3000,
        preload=True,
        mapping=RK_EVENT_ID,
    )
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "windows": int(len(windows))}


def train_step(epochs_per_step: int, repeats: int, steps: int = 3) -> dict[str, Any]:
    """Median seconds of one Chambon2018 training step (forward, backward, Adam) on ``epochs_per_step``."""
    import torch
    from braindecode.models import SleepStagerChambon2018

    torch.manual_seed(0)
    model = SleepStagerChambon2018(n_chans=1, sfreq=100, n_outputs=5, n_times=3000)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(epochs_per_step, 1, 3000)
    y = torch.randint(0, 5, (epochs_per_step,))
    model.train()

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return {
        **step_time(step, repeats, steps),
        "epochs_per_step": epochs_per_step,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recordings", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs-per-step", type=int, default=252)
    args = parser.parse_args()
    import braindecode
    import torch

    recs = json.loads(args.recordings.read_text())
    runs = [windowing(recs) for _ in range(args.repeats)]
    out: dict[str, Any] = {
        "peer": "braindecode",
        "version": braindecode.__version__,
        "torch": torch.__version__,
        "windowing": {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "runs": [r["seconds"] for r in runs],
            "windows": runs[0]["windows"],
            "recordings": len(recs),
        },
        "train_step": train_step(args.epochs_per_step, args.repeats),
    }
    out["self_peak_rss_mb"] = self_peak_rss_mb()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
