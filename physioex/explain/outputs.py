"""The run-level outputs of an explain run: CSV tables, PNG plots, JSON numbers and ``index.html``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from physioex import EPOCH_SECONDS
from physioex.explain.artifacts import RUN_FILE
from physioex.explain.bands import BAND_NAMES

if TYPE_CHECKING:
    from physioex.explain.per_recording import Explained

FAITHFULNESS_FILE = "faithfulness.json"
INDEX_FILE = "index.html"
RANDOMISATION_FILE = "randomisation.csv"
RANDOMISATION_COLUMNS = (
    "step",
    "mode",
    "layer",
    "n_layers_randomised",
    "n_epochs",
    "spearman_abs_mean",
    "spearman_abs_median",
    "spearman_signed_mean",
    "partial_given_control_mean",
)


def json_safe(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_outputs(
    out: Path,
    explained: Explained,
    channels: list[str],
    sampling_rate: float,
    params: dict[str, Any],
    faithfulness: dict[str, Any],
    shapley: bool,
) -> None:
    """CSV tables, PNG plots, ``faithfulness.json``, ``run.json`` and ``index.html`` into ``out``.

    ``faithfulness`` must already be JSON-safe (``json_safe``); ``sampling_rate`` in Hz.
    """
    from physioex.explain.plots import plot_examples, plot_heatmap, plot_randomisation, plot_time
    from physioex.explain.report import write_index

    summary, examples, failures = explained.summary, explained.examples, explained.failures
    summary.write(out)
    plot_examples([examples[k] for k in sorted(examples)], channels, sampling_rate, out / "examples.png")
    plot_heatmap(
        summary.table("band"),
        list(BAND_NAMES),
        "Probability drop when the band is removed",
        "probability drop",
        out / "band_importance.png",
    )
    if shapley:
        plot_heatmap(
            summary.table("shapley"),
            list(BAND_NAMES),
            "Shapley value of each band",
            "Shapley value (probability)",
            out / "band_shapley.png",
        )
    plot_heatmap(
        summary.table("channel"),
        channels,
        "Share of |attribution| per channel",
        "share",
        out / "channel_importance.png",
    )
    plot_time(summary.table("time"), EPOCH_SECONDS, out / "time_importance.png")
    randomisation = faithfulness["randomisation"]
    write_randomisation_table(out / RANDOMISATION_FILE, randomisation)
    plot_randomisation(
        randomisation["steps"], randomisation["spearman_trained_vs_control"], out / "randomisation.png"
    )
    (out / FAITHFULNESS_FILE).write_text(json.dumps(faithfulness, indent=2) + "\n")
    run = json_safe({**params, "failures": failures})
    (out / RUN_FILE).write_text(json.dumps(run, indent=2) + "\n")
    write_index(out, params, faithfulness, failures)


def write_randomisation_table(path: Path, randomisation: dict[str, Any]) -> None:
    """One row per randomisation step (layer, mode, rank correlations), then the control's row."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(RANDOMISATION_COLUMNS)
        for row in randomisation["steps"]:
            w.writerow([_cell(row[c]) for c in RANDOMISATION_COLUMNS])
        control = randomisation["spearman_trained_vs_control"]
        w.writerow(["", "control", "|input - baseline|", 0, "", _cell(control), "", "", ""])


def _cell(v: Any) -> str:
    if v is None:
        return "nan"
    return f"{v:.6g}" if isinstance(v, float) else str(v)
