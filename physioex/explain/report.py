"""``index.html`` of an explain run: parameters, faithfulness numbers, plots and tables."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

_PLOTS = (
    ("examples.png", "Example epochs per explained stage: signal (black) with the attribution over it "
     "(red raised the stage's score, blue lowered it)."),
    ("band_importance.png", "Drop in the stage's probability when each frequency band is removed."),
    ("band_shapley.png", "Shapley values of the frequency bands (they add up to the total band effect)."),
    ("channel_importance.png", "Share of the absolute attribution on each channel, per explained stage."),
    ("time_importance.png", "Mean absolute attribution over time within the 30-s epoch."),
    ("randomisation.png", "Model randomisation: rank correlation of the trained model's maps with those "
     "of models whose layers are re-initialised (cascading from the head, and one layer at a time)."),
)  # fmt: skip


def _rows(d: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            rows += _rows(v, f"{prefix}{k}.")
        else:
            rows.append((prefix + k, f"{v:.4g}" if isinstance(v, float) else json.dumps(v)))
    return rows


def _table(d: dict[str, Any]) -> str:
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _rows(d))
    return f"<table>{cells}</table>"


def _without_lists(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` without its list values (the step table and the warnings are shown on their own)."""
    return {
        k: _without_lists(v) if isinstance(v, dict) else v for k, v in d.items() if not isinstance(v, list)
    }


def _warnings(warnings: list[str]) -> str:
    if not warnings:
        return "<p>No warnings.</p>"
    return "<ul>" + "".join(f"<li><b>warning</b>: {html.escape(w)}</li>" for w in warnings) + "</ul>"


def _steps(steps: list[dict[str, Any]]) -> str:
    if not steps:
        return "<p>No epoch was checked.</p>"
    cols = list(steps[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(f'{r[c]:.3f}' if isinstance(r[c], float) else str(r[c]))}</td>" for c in cols
        )
        + "</tr>"
        for r in steps
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_index(
    out: Path, params: dict[str, Any], faithfulness: dict[str, Any], failures: dict[str, str]
) -> Path:
    """Write ``out/index.html`` showing the plots present in ``out`` and the run's numbers."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>physioex explain</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:13px}"
        "img{max-width:100%}</style>",
        "</head><body><h1>physioex explain</h1>",
        "<p>Attributions explain, for every 30-s epoch, the model's score for the explained stage with "
        "respect to that epoch's own signal (neighbouring epochs held at their recorded values).</p>",
        "<h2>Run</h2>",
        _table(params),
        "<h2>Faithfulness</h2>",
        "<p><b>Completeness</b>: Integrated Gradients (and DeepLift, GradientShap) attributions must add "
        "up to the score change from baseline to input; the convergence delta is the gap. <b>Model "
        "randomisation</b>: Spearman correlation of |attributions| of the trained model vs the same "
        "model with re-initialised layers (cascading from the head, and one layer at a time); the "
        "verdict uses the partial correlation given a weight-free control (|input - baseline|): low "
        "means the explanation depends on what the model learned, not only on the input.</p>",
        _table(_without_lists(faithfulness)),
        _warnings(faithfulness.get("warnings") or []),
        "<h3>Model randomisation, step by step</h3>",
        _steps(faithfulness.get("randomisation", {}).get("steps") or []),
    ]
    if failures:
        items = "".join(f"<li>{html.escape(r)}: {html.escape(e)}</li>" for r, e in failures.items())
        parts.append(f"<h2>Recordings that failed</h2><ul>{items}</ul>")
    parts.append("<h2>Plots</h2>")
    for name, caption in _PLOTS:
        if (out / name).is_file():
            parts.append(
                f"<figure><img src='{name}' alt='{name}'>"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    parts.append(
        "<h2>Files</h2><ul><li><a href='time_importance.csv'>time_importance.csv</a></li>"
        "<li><a href='channel_importance.csv'>channel_importance.csv</a></li>"
        "<li><a href='band_importance.csv'>band_importance.csv</a></li>"
        "<li><a href='randomisation.csv'>randomisation.csv</a></li>"
        "<li><a href='faithfulness.json'>faithfulness.json</a></li>"
        "<li>attributions.zarr: per-epoch attributions (epochs, channels, samples), "
        "labels, predictions</li></ul>"
        "</body></html>"
    )
    path = out / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
