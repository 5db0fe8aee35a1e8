"""The explain output folder: which folders may be replaced, and the Zarr store of per-epoch attributions.

The folder itself is published with ``physioex.io.atomic.atomic_dir`` (built beside, swapped in whole).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physioex.errors import InputError
from physioex.explain.attribute import RecordingExplanation

ZARR_NAME = "attributions.zarr"
RUN_FILE = "run.json"
"""Written into every explain output folder: how a folder is recognised as one (safe to replace)."""
CHUNK_EPOCHS = 64
"""Epochs per chunk: few files (DVC hashes each one) while a single epoch still reads quickly."""


def check_outputs(
    out: Path, metrics: str | Path | None, inputs: list[str | Path], timings: str | Path | None = None
) -> None:
    """Refuse (``InputError``) an output folder or metrics file that is, holds or lies inside an input
    (store, checkpoint), a metrics path that is a folder, and an existing ``out`` that is a file or a
    non-empty folder other than a previous explain run (``out`` is replaced as a whole). The timings
    file must also lie outside ``out``: the folder is versioned and must not hold timings."""
    from physioex.train import checks

    checks.output_dir(out, "--out")
    checks.not_an_input(out, "--out", inputs)
    if out.is_dir() and any(out.iterdir()) and not (out / RUN_FILE).is_file():
        raise InputError(
            f"--out {out}: is a non-empty folder that is not an explain output (no {RUN_FILE}); it would be "
            "replaced as a whole, so choose a new or empty folder"
        )
    if metrics is not None:
        checks.output_file(metrics, "--metrics")
        checks.not_an_input(metrics, "--metrics", inputs)
    if timings is not None:
        checks.output_file(timings, "--timings")
        checks.not_an_input(timings, "--timings", [*inputs, metrics])
        resolved, folder = Path(timings).resolve(), out.resolve()
        if resolved == folder or folder in resolved.parents:
            raise InputError(
                f"--timings {timings}: lies inside the output folder {out}, whose files must be the same "
                "for the same run; put the timings file outside it"
            )


def open_output_store(root: Path, attrs: dict[str, Any]) -> Any:
    """Create the output Zarr group ``root/attributions.zarr`` with run-level ``attrs``."""
    import zarr

    return zarr.open_group(str(root / ZARR_NAME), mode="w", attributes=attrs)


def write_recording(
    group: Any, rec: str, res: RecordingExplanation, labels: np.ndarray, attrs: dict[str, Any]
) -> None:
    """Write one recording's arrays under ``recordings/<rec>`` (Blosc-zstd, 64-epoch chunks)."""
    from zarr.codecs import BloscCodec

    comp = BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")
    g = group.require_group("recordings").create_group(rec, attributes=attrs)
    n = labels.shape[0]
    arrays: dict[str, tuple[np.ndarray | None, tuple[str, ...]]] = {
        "attributions": (res.attributions, ("epoch", "channel", "sample")),
        "labels": (labels.astype(np.int8), ("epoch",)),
        "predictions": (res.predictions, ("epoch",)),
        "targets": (res.targets, ("epoch",)),
        "probabilities": (res.probabilities, ("epoch", "stage")),
        "delta": (res.delta, ("epoch",)),
        "score": (res.score, ("epoch",)),
        "own_baseline_score": (res.own_baseline_score, ("epoch",)),
        "window_baseline_score": (res.window_baseline_score, ("epoch",)),
        "band_drop": (res.band_drop, ("epoch", "band")),
        "band_shapley": (res.shapley, ("epoch", "band")),
    }
    for name, (data, dims) in arrays.items():
        if data is None:
            continue
        chunks = (min(CHUNK_EPOCHS, max(n, 1)), *data.shape[1:]) if name == "attributions" else data.shape
        g.create_array(name=name, data=data, chunks=chunks, compressors=comp, dimension_names=dims)
