"""Benchmark of ``physioex explain``'s algorithms against the slow ways, measured in the same run.

1. Integrated Gradients over a recording: our batched own-epoch attributions (every epoch encoded
   once, the sequence head run once per explained position) vs one Captum call per epoch on its
   window (the per-epoch loop), plus the cheap-but-leaky "sum of all positions' targets" variant.
2. Band importance: one FFT masking pass per band (6 forward passes) vs the 63-combination approach
   (63 band-stop-filtered copies of every input, one forward each); exact band Shapley (64 masked
   passes) shown for reference.

Run: ``python benchmarks/bench_explain.py [--model tinysleepnet] [--epochs 42] [--n-steps 16]``.
The per-epoch loop is timed on ``--loop-epochs`` epochs and reported as a rate.
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings
from collections.abc import Callable

import numpy as np
import scipy.signal
import torch
from torch import nn

from physioex.explain.attribute import explain_recording
from physioex.explain.bands import BAND_NAMES, BANDS, band_drop, band_shapley
from physioex.explain.methods import MethodConfig
from physioex.models import build_model

FS = 100.0


def _signals(n_epochs: int, n_channels: int, seed: int = 0) -> torch.Tensor:
    """Normalised synthetic EEG-like epochs ``(n, C, 3000)``: mixed rhythms plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(3000) / FS
    x = rng.normal(0, 0.5, size=(n_epochs, n_channels, 3000))
    for f in (1.5, 6.0, 10.0, 13.0, 20.0):
        x += rng.uniform(0.2, 1.0, size=(n_epochs, n_channels, 1)) * np.sin(2 * np.pi * f * t)
    return torch.tensor(x, dtype=torch.float32)


def _per_epoch_loop(model: nn.Module, x: torch.Tensor, seq_len: int, epochs: int, n_steps: int) -> float:
    """Seconds for one Captum IG call per epoch (its window, target at its position)."""
    from captum.attr import IntegratedGradients

    t0 = time.perf_counter()
    for k in range(epochs):
        start = min((k // seq_len) * seq_len, x.shape[0] - seq_len)
        pos = k - start
        window = x[start : start + seq_len][None]
        with torch.no_grad():
            target = int(model(window)[0, pos].argmax())

        def forward(w: torch.Tensor, pos: int = pos) -> torch.Tensor:
            return model(w)[:, pos].softmax(-1)

        IntegratedGradients(forward).attribute(
            window, torch.zeros_like(window), target=target, n_steps=n_steps
        )
    return time.perf_counter() - t0


def _summed_positions(model: nn.Module, x: torch.Tensor, seq_len: int, n_steps: int) -> float:
    """Seconds for one Captum call per window whose scalar sums every position's target probability."""
    from captum.attr import IntegratedGradients

    n_win = x.shape[0] // seq_len
    windows = x[: n_win * seq_len].reshape(n_win, seq_len, *x.shape[1:])
    with torch.no_grad():
        targets = model(windows).argmax(-1)

    def forward(w: torch.Tensor, tg: torch.Tensor) -> torch.Tensor:
        p = model(w).softmax(-1)
        return p.gather(-1, tg[..., None]).squeeze(-1).sum(-1)

    t0 = time.perf_counter()
    for b in range(n_win):
        w = windows[b : b + 1]
        IntegratedGradients(forward).attribute(
            w, torch.zeros_like(w), additional_forward_args=(targets[b : b + 1],), n_steps=n_steps
        )
    return time.perf_counter() - t0


def _sixty_three_copies(score: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    """Seconds for the old approach: 63 band-stop-filtered copies per input, one forward pass each."""
    sos = {}
    for name, (lo, hi) in BANDS.items():
        hi = min(hi, FS / 2 - 1.0)
        sos[name] = scipy.signal.butter(4, [lo, hi], btype="bandstop", fs=FS, output="sos")
    t0 = time.perf_counter()
    xn = x.numpy()
    for size in range(1, len(BAND_NAMES) + 1):
        for combo in itertools.combinations(BAND_NAMES, size):
            y = xn
            for name in combo:
                y = scipy.signal.sosfiltfilt(sos[name], y, axis=-1)
            score(torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="tinysleepnet", choices=["tinysleepnet", "chambon2018"])
    parser.add_argument("--epochs", type=int, default=42, help="epochs of the synthetic recording")
    parser.add_argument("--seq-len", type=int, default=21)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--n-steps", type=int, default=16)
    parser.add_argument("--loop-epochs", type=int, default=4, help="epochs timed in the per-epoch loop")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    model = build_model(args.model, n_channels=args.channels).eval()
    x = _signals(args.epochs, args.channels)
    labels = np.zeros(args.epochs, dtype=np.int64)
    cfg = MethodConfig(n_steps=args.n_steps, internal_batch_size=128)
    print(
        f"model {args.model}, {args.epochs} epochs x {args.channels} channel(s), L={args.seq_len}, "
        f"IG n_steps={args.n_steps}, torch threads={torch.get_num_threads()}"
    )

    t0 = time.perf_counter()
    res = explain_recording(model, x, torch.zeros_like(x), labels, args.seq_len, FS, config=cfg, bands=None)
    ours = time.perf_counter() - t0
    loop = _per_epoch_loop(model, x, args.seq_len, args.loop_epochs, args.n_steps)
    summed = _summed_positions(model, x, args.seq_len, args.n_steps)
    n_summed = (args.epochs // args.seq_len) * args.seq_len
    rel = np.abs(res.delta) / np.maximum(np.abs(res.score - res.own_baseline_score), 1e-12)
    ours_rate, loop_rate = args.epochs / ours, args.loop_epochs / loop
    print("\nIntegrated Gradients, attributions per second (higher is better)")
    _row(
        "batched own-epoch (ours, exact per-epoch target)",
        ours_rate,
        "epochs/s",
        f"{ours:.1f} s for {args.epochs}; median |delta|/|change| {np.median(rel):.3g}",
    )
    _row(
        "per-epoch Captum loop (one call per epoch)",
        loop_rate,
        "epochs/s",
        f"{loop:.1f} s for {args.loop_epochs}; ours is {ours_rate / loop_rate:.1f}x faster",
    )
    _row(
        "summed positions (one call per window, leaky)",
        n_summed / summed,
        "epochs/s",
        f"{summed:.1f} s for {n_summed}",
    )
    windows_x = x[: (args.epochs // args.seq_len) * args.seq_len]
    module_res = explain_recording(
        model, windows_x, torch.zeros_like(windows_x), labels, args.seq_len, FS, method="saliency", bands=None
    )
    from physioex.explain.attribute import OwnEpochModel, plan_windows

    plan = plan_windows(windows_x.shape[0], args.seq_len)
    own = OwnEpochModel(model, windows_x.reshape(-1, args.seq_len, *x.shape[1:]))
    win, pos = torch.as_tensor(plan.win), torch.as_tensor(plan.pos)
    tgt = torch.as_tensor(module_res.targets.astype(np.int64))
    rows = torch.arange(windows_x.shape[0])

    def score(xx: torch.Tensor) -> torch.Tensor:
        return own.probabilities(xx, win, pos)[rows, tgt]

    t0 = time.perf_counter()
    band_drop(score, windows_x, FS)
    fft_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    band_shapley(score, windows_x, FS)
    shap_time = time.perf_counter() - t0
    copies = _sixty_three_copies(score, windows_x)
    n = windows_x.shape[0]
    print(f"\nBand importance over {n} epochs, 6 bands (lower is better)")
    _row("one FFT masking pass per band (ours, 6 passes)", fft_time, "s", f"{n / fft_time:.1f} epochs/s")
    _row(
        "63 filtered copies per input (old approach)",
        copies,
        "s",
        f"{n / copies:.1f} epochs/s; ours is {copies / fft_time:.1f}x faster",
    )
    _row("exact band Shapley, 64 FFT-masked coalitions", shap_time, "s", f"{n / shap_time:.1f} epochs/s")


def _row(label: str, value: float, unit: str, note: str) -> None:
    print(f"  {label:<50}: {value:9.3f} {unit:<9} ({note})")


if __name__ == "__main__":
    main()
