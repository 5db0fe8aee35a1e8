"""Per-stage summary tables (CSV) accumulated recording by recording.

Grouping is by the explained stage (the target: predicted or true stage of each epoch). Importance
is the mean absolute attribution, so positive and negative evidence both count as "used".
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from physioex import STAGES
from physioex.explain.attribute import RecordingExplanation


class StageSummary:
    """Running per-stage sums of |attribution| over time bins and channels, and of band importance."""

    def __init__(
        self,
        channels: list[str],
        samples: int,
        sampling_rate: float,
        bands: tuple[str, ...],
        n_bins: int = 30,
    ) -> None:
        self.channels = channels
        self.sampling_rate = sampling_rate
        self.bands = bands
        self.edges = np.linspace(0, samples, n_bins + 1).round().astype(int)
        k, c = len(STAGES), len(channels)
        self.n = np.zeros(k, dtype=np.int64)
        self.time = np.zeros((k, c, n_bins))
        self.channel = np.zeros((k, c))
        self.share = np.zeros((k, c))
        self.band_n = np.zeros((k, len(bands)), dtype=np.int64)
        self.band = np.zeros((k, len(bands)))
        self.band_sq = np.zeros((k, len(bands)))
        self.shap_n = np.zeros((k, len(bands)), dtype=np.int64)
        self.shap = np.zeros((k, len(bands)))

    def add(self, res: RecordingExplanation) -> None:
        """Add the explained epochs of one recording."""
        done = res.targets >= 0
        absval = np.abs(res.attributions[done]).astype(np.float64)  # (n, C, S)
        tgt = res.targets[done].astype(np.int64)
        bins = np.add.reduceat(absval, self.edges[:-1], axis=2) / np.diff(self.edges)  # mean per bin
        per_channel = absval.mean(axis=2)  # (n, C)
        total = per_channel.sum(axis=1, keepdims=True)
        share = np.divide(per_channel, total, out=np.zeros_like(per_channel), where=total > 0)
        for k in range(len(STAGES)):
            m = tgt == k
            self.n[k] += m.sum()
            self.time[k] += bins[m].sum(axis=0)
            self.channel[k] += per_channel[m].sum(axis=0)
            self.share[k] += share[m].sum(axis=0)
        for arr, n, s, sq in (
            (res.band_drop, self.band_n, self.band, self.band_sq),
            (res.shapley, self.shap_n, self.shap, None),
        ):
            if arr is None or not self.bands:
                continue
            vals, t = arr[done].astype(np.float64), tgt
            for k in range(len(STAGES)):
                v = vals[t == k]
                ok = np.isfinite(v)
                n[k] += ok.sum(axis=0)
                s[k] += np.where(ok, v, 0).sum(axis=0)
                if sq is not None:
                    sq[k] += np.where(ok, v * v, 0).sum(axis=0)

    def write(self, out: Path) -> dict[str, Path]:
        """Write the time, channel and band importance CSV tables into ``out``; returns their paths."""
        paths = {
            "time": out / "time_importance.csv",
            "channel": out / "channel_importance.csv",
            "band": out / "band_importance.csv",
        }
        with paths["time"].open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["stage", "channel", "start_s", "end_s", "mean_abs_attribution", "n_epochs"])
            for k, stage in enumerate(STAGES):
                for c, ch in enumerate(self.channels):
                    for b in range(len(self.edges) - 1):
                        val = self.time[k, c, b] / self.n[k] if self.n[k] else float("nan")
                        w.writerow(
                            [
                                stage,
                                ch,
                                self.edges[b] / self.sampling_rate,
                                self.edges[b + 1] / self.sampling_rate,
                                f"{val:.6g}",
                                self.n[k],
                            ]
                        )
        with paths["channel"].open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["stage", "channel", "mean_abs_attribution", "share", "n_epochs"])
            for k, stage in enumerate(STAGES):
                for c, ch in enumerate(self.channels):
                    n = self.n[k]
                    mean = self.channel[k, c] / n if n else float("nan")
                    share = self.share[k, c] / n if n else float("nan")
                    w.writerow([stage, ch, f"{mean:.6g}", f"{share:.6g}", n])
        with paths["band"].open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(
                ["stage", "band", "mean_probability_drop", "std_probability_drop", "mean_shapley", "n_epochs"]
            )
            for k, stage in enumerate(STAGES):
                for b, band in enumerate(self.bands):
                    n = self.band_n[k, b]
                    mean = self.band[k, b] / n if n else float("nan")
                    std = np.sqrt(max(self.band_sq[k, b] / n - mean * mean, 0.0)) if n else float("nan")
                    shap = self.shap[k, b] / self.shap_n[k, b] if self.shap_n[k, b] else float("nan")
                    w.writerow([stage, band, f"{mean:.6g}", f"{std:.6g}", f"{shap:.6g}", n])
        return paths

    def table(self, kind: str) -> np.ndarray:
        """Per-stage means: ``channel`` -> (stages, channels) shares, ``band`` -> (stages, bands) drops,
        ``shapley`` -> (stages, bands), ``time`` -> (stages, bins) summed over channels; NaN if empty."""
        with np.errstate(invalid="ignore", divide="ignore"):
            if kind == "channel":
                return self.share / self.n[:, None]
            if kind == "band":
                return self.band / self.band_n
            if kind == "shapley":
                return self.shap / self.shap_n
            if kind == "time":
                return self.time.sum(axis=1) / self.n[:, None]
        raise ValueError(kind)
