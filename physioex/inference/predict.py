"""Inputs and outputs of ``physioex predict``: the channel map, the PSG read as at training, the
output paths (never an input), and the sleep period its statistics are computed over.

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
    from physioex.inference.sleep_period import SleepPeriod
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
    from physioex.preprocess.channel_aliases import AliasTable, store_name

    # a store channel is read as the training store requested it (aliases, alternatives: docs/channels.md)
    requests = {store_name(r): r for r in params.channels or ()}
    sources = [channel_map.get(c, requests.get(c, c)) for c in channels]
    table = AliasTable(params.aliases())
    missing = [
        f"{c}" + (f" (mapped to {s!r})" if c in channel_map else "")
        for c, s in zip(channels, sources, strict=True)
        if table.resolve(s, available) is None
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


def check_outputs(
    psg: Path,
    checkpoint: Path,
    out: Path | None,
    edf_out: Path | None,
    summary_out: Path | None = None,
    inputs: tuple[Path, ...] = (),
) -> tuple[Path, Path, Path]:
    """The CSV, EDF+ and JSON statistics paths ``predict`` will write, refused (``InputError``) if one
    is an input (the PSG, the checkpoint, ``inputs``), a folder, or two are the same file."""
    csv_path, edf_default, json_default = default_outputs(psg, out)
    edf_path = Path(edf_out) if edf_out is not None else edf_default
    json_path = Path(summary_out) if summary_out is not None else json_default
    csv_where = "--out" if out is not None else "--out (default)"
    edf_where = (
        "--edf-out" if edf_out is not None else f"--edf-out (default: the --out path {csv_path} with .edf)"
    )
    json_where = (
        "--summary-out"
        if summary_out is not None
        else f"--summary-out (default: the --out path {csv_path} with .json)"
    )
    for path, where in ((csv_path, csv_where), (edf_path, edf_where), (json_path, json_where)):
        checks.output_file(path, where)
        checks.not_an_input(path, where, [psg, checkpoint, *inputs])
    if checks.same_path(csv_path, edf_path):
        raise InputError(
            f"{edf_where} {edf_path}: is also the CSV hypnogram path; "
            "give --out a .csv name or another --edf-out"
        )
    for other, what in ((csv_path, "the CSV hypnogram"), (edf_path, "the EDF+ hypnogram")):
        if checks.same_path(json_path, other):
            raise InputError(f"{json_where} {json_path}: is also {what} path; give another --summary-out")
    return csv_path, edf_path, json_path


def default_outputs(psg: Path, out: Path | None) -> tuple[Path, Path, Path]:
    """CSV path (``<psg stem>-hypnogram.csv`` in the current folder unless ``out``), its EDF+ and
    JSON (sleep statistics) siblings."""
    csv = Path(out) if out is not None else Path(f"{Path(psg).stem}-hypnogram.csv")
    return csv, csv.with_suffix(".edf"), csv.with_suffix(".json")


def check_annotations(annotations: str | Path | None) -> Path | None:
    """``--annotations`` if it is an existing file (``None`` stays ``None``)."""
    if annotations is None:
        return None
    path = Path(annotations)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise InputError(f"--annotations {path}: {what}; give the EDF+ hypnogram/annotation file of the PSG")
    return path


def annotated_lights(
    psg: Path, annotations: Path | None, start: dt.datetime | None
) -> tuple[tuple[float | None, float | None], str]:
    """(lights-off, lights-on) seconds from ``start`` annotated in ``annotations`` (each end it gives
    wins) or else in the PSG itself (EDF+), and the file(s) they came from."""
    from physioex.inference.sleep_period import read_lights

    ends: list[float | None] = list(read_lights(psg, start))
    sources: list[Path | None] = [psg if t is not None else None for t in ends]
    if annotations is not None:
        for i, t in enumerate(read_lights(annotations, start)):
            if t is not None:
                ends[i], sources[i] = t, annotations
    files = list(dict.fromkeys(str(p) for p in sources if p is not None))
    return (ends[0], ends[1]), " and ".join(files)


def prediction_period(
    stages: np.ndarray,
    *,
    start: dt.datetime | None,
    lights_off: str | float | None,
    lights_on: str | float | None,
    lights: tuple[float | None, float | None],
    lights_file: str,
    preprocessing: dict[str, object] | None,
) -> SleepPeriod:
    """The sleep period of a predicted night (codes ``(epochs,)``): lights (options, then annotations),
    else the training store's crop (``preprocessing['crop']``) applied to the predicted hypnogram, else
    the whole recording (docs/sleep-statistics.md)."""
    from physioex.inference.sleep_period import choose_period

    crop = minutes = None
    if preprocessing is not None and preprocessing.get("crop") is not None:
        crop, minutes = str(preprocessing["crop"]), preprocessing.get("crop_minutes", 30.0)
    return choose_period(
        stages,
        recording_start=start,
        lights_off=lights_off,
        lights_on=lights_on,
        annotated=lights,
        annotations_file=lights_file,
        crop=crop,
        crop_minutes=float(minutes) if isinstance(minutes, int | float) else 30.0,
    )
