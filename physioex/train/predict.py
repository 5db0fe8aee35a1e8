"""``physioex predict``: stage a new PSG (EDF) with a trained checkpoint, the way a user would.

Channels are picked by the names the model was trained on (``channel_map`` maps them onto
another lab's names), resampled to the model's rate if needed, normalised as at training and
scored as a whole night. Writes a CSV hypnogram (onset_s, duration_s, stage, p_W..p_REM) and an
EDF+ annotation file, and returns a sleep summary.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from physioex.errors import InputError
from physioex.train import checks


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
    psg: Path, channels: list[str], sampling_rate: float, channel_map: dict[str, str] | None = None
) -> tuple[np.ndarray, dt.datetime | None]:
    """``channels`` of ``psg`` as float32 ``(epochs, channels, samples)`` in uV at ``sampling_rate`` Hz.

    Trailing samples that do not fill a 30-s epoch are dropped. Returns also the PSG start time.
    """
    import mne

    from physioex.train.checkpoint import CheckpointError

    psg = check_psg(psg)
    channel_map = channel_map or {}
    try:
        header = mne.io.read_raw_edf(psg, preload=False, verbose="error")
    except Exception as exc:  # noqa: BLE001 - report any reader failure with the file name
        reason = " ".join(str(exc).split())[:200]
        raise InputError(f"PSG {psg}: cannot be read as EDF/EDF+ ({reason}); give an EDF file") from None
    available = list(header.ch_names)
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
    raw = mne.io.read_raw_edf(psg, include=sources, preload=True, verbose="error")
    if abs(raw.info["sfreq"] - sampling_rate) > 1e-6:
        raw.resample(sampling_rate, method="polyphase", verbose="error")
    data = raw.get_data(picks=sources, units="uV").astype(np.float32)  # (C, T)
    s = int(round(30.0 * sampling_rate))
    n = data.shape[1] // s
    if n == 0:
        raise InputError(f"PSG {psg}: is shorter than one 30-s epoch")
    x = data[:, : n * s].reshape(data.shape[0], n, s).transpose(1, 0, 2)
    meas = raw.info.get("meas_date")
    start = meas.replace(tzinfo=None) if isinstance(meas, dt.datetime) else None
    return np.ascontiguousarray(x), start


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


def predict(
    psg: str | Path,
    checkpoint: str | Path,
    *,
    out: Path | None = None,
    edf_out: Path | None = None,
    channel_map: dict[str, str] | None = None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Score the whole night in ``psg`` with ``checkpoint``; write CSV + EDF+ hypnograms.

    Returns ``{"csv", "edf", "n_epochs", "summary"}`` (summary from ``sleep_summary``). Every input
    and output path is checked first: no output may be the PSG or the checkpoint (``InputError``).
    """
    from physioex.train.checkpoint import load_checkpoint
    from physioex.train.hypnogram_io import hypnogram_table, sleep_summary, write_csv, write_edf_annotations

    psg = check_psg(psg)
    checkpoint = Path(checkpoint)
    batch_size = checks.optional_batch_size(batch_size, "--batch-size")
    csv_path, edf_path = check_outputs(psg, checkpoint, out, edf_out)
    loaded = load_checkpoint(checkpoint)
    check_channel_map(channel_map or {}, loaded.channels, checkpoint)
    x, start = read_psg_epochs(psg, loaded.channels, loaded.sampling_rate, channel_map)
    proba = loaded.predict_proba(x, batch_size=batch_size)
    table = hypnogram_table(proba)
    write_csv(table, csv_path)
    stages = table["stage"].tolist()
    write_edf_annotations(stages, edf_path, start=start)
    return {"csv": csv_path, "edf": edf_path, "n_epochs": len(stages), "summary": sleep_summary(stages)}
