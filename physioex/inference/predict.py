"""Inputs and outputs of ``physioex predict``: the channel map, the PSG read as at training, the
output paths (never an input).

Channels are picked by the names the model was trained on (``channel_map`` maps them onto another
lab's names) and read with preprocessing's own code (``physioex.preprocess.signals``) under the
training store's parameters: same resampling, same band-pass. ``physioex.inference.run.predict``
then scores the night and writes the hypnograms.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from physioex.errors import InputError
from physioex.inference.errors import CheckpointError
from physioex.train import checks

if TYPE_CHECKING:
    from physioex.preprocess.params import PreprocessParams


def parse_channel_map(items: list[str] | str | None) -> dict[str, str]:
    """``["EEG Fpz-Cz=Fpz", ...]`` or ``"A=B,C=D"`` -> {model channel: PSG channel}."""
    if not items:
        return {}
    if isinstance(items, str):
        items = [items]
    pairs = [p for item in items for p in item.split(",") if p.strip()]
    out: dict[str, str] = {}
    for p in pairs:
        if "=" not in p:
            raise InputError(f"--channel-map {p!r}: must look like 'MODEL CHANNEL=PSG CHANNEL'")
        model_ch, psg_ch = (s.strip() for s in p.split("=", 1))
        if not model_ch or not psg_ch:
            raise InputError(f"--channel-map {p!r}: has an empty channel name")
        if model_ch in out and out[model_ch] != psg_ch:
            raise InputError(
                f"--channel-map {p!r}: maps {model_ch!r} a second time (first to {out[model_ch]!r})"
            )
        out[model_ch] = psg_ch
    return out


def read_psg_epochs(
    psg: Path, channels: list[str], params: PreprocessParams, channel_map: dict[str, str] | None = None
) -> tuple[np.ndarray, dt.datetime | None]:
    """``channels`` of ``psg`` as float32 ``(epochs, channels, samples)`` in uV, read exactly as
    ``preprocess`` reads a store's recordings under ``params`` (rate, band-pass).

    Trailing samples that do not fill a 30-s epoch are dropped. Returns also the PSG start time.
    """
    from dataclasses import replace

    from physioex.preprocess.errors import PreprocessError
    from physioex.preprocess.signals import edf_labels, read_edf_signals

    psg = check_psg(psg)
    channel_map = channel_map or {}
    try:
        available = edf_labels(psg)
    except PreprocessError as exc:
        raise InputError(f"PSG {psg}: cannot be read as EDF/EDF+ ({exc.reason}); give an EDF file") from None
    sources = [channel_map.get(c, c) for c in channels]
    missing = [
        f"{c}" + (f" (mapped to {s!r})" if s != c else "")
        for c, s in zip(channels, sources, strict=True)
        if s not in available
    ]
    if missing:
        raise CheckpointError(
            f"{psg} lacks channel(s) {missing} needed by the model; it has {available}. "
            "Use --channel-map 'MODEL CHANNEL=PSG CHANNEL' to map other names."
        )
    try:
        signals = read_edf_signals(psg, sources, replace(params, channels=tuple(sources)))
    except PreprocessError as exc:
        raise InputError(f"PSG {psg}: {exc.reason}; give an EDF file with readable channels") from None
    if signals.data.shape[0] == 0:
        raise InputError(f"PSG {psg}: is shorter than one 30-s epoch")
    return signals.data, signals.start_time


def check_psg(psg: str | Path) -> Path:
    """``psg`` if it is an existing file (a folder or a missing path: ``InputError``)."""
    psg = Path(psg)
    if psg.is_dir():
        raise InputError(f"PSG {psg}: is a folder; give one EDF/EDF+ file")
    if not psg.is_file():
        raise InputError(f"PSG {psg}: does not exist; give an existing EDF/EDF+ file")
    return psg


def check_channel_map(channel_map: dict[str, str], model_channels: list[str], checkpoint: Path) -> None:
    """Every ``--channel-map`` entry must name a channel the model was trained on."""
    for model_ch, psg_ch in channel_map.items():
        if model_ch not in model_channels:
            raise InputError(
                f"--channel-map '{model_ch}={psg_ch}': the model in {checkpoint} has no channel {model_ch!r}"
                f"{checks.did_you_mean(model_ch, model_channels)}; its channels: {model_channels}"
            )


def check_outputs(psg: Path, checkpoint: Path, out: Path | None, edf_out: Path | None) -> tuple[Path, Path]:
    """The CSV and EDF+ paths ``predict`` will write, refused (``InputError``) if one is an input
    (the PSG or the checkpoint), a folder, or both are the same file."""
    csv_path, edf_default = default_outputs(psg, out)
    edf_path = Path(edf_out) if edf_out is not None else edf_default
    csv_where = "--out" if out is not None else "--out (default)"
    edf_where = (
        "--edf-out" if edf_out is not None else f"--edf-out (default: the --out path {csv_path} with .edf)"
    )
    checks.output_file(csv_path, csv_where)
    checks.output_file(edf_path, edf_where)
    checks.not_an_input(csv_path, csv_where, [psg, checkpoint])
    checks.not_an_input(edf_path, edf_where, [psg, checkpoint])
    if checks.same_path(csv_path, edf_path):
        raise InputError(
            f"{edf_where} {edf_path}: is also the CSV hypnogram path; "
            "give --out a .csv name or another --edf-out"
        )
    return csv_path, edf_path


def default_outputs(psg: Path, out: Path | None) -> tuple[Path, Path]:
    """CSV path (``<psg stem>-hypnogram.csv`` in the current folder unless ``out``) and its EDF+ sibling."""
    csv = Path(out) if out is not None else Path(f"{Path(psg).stem}-hypnogram.csv")
    return csv, csv.with_suffix(".edf")
