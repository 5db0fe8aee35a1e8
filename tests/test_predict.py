"""`physioex predict` on EDF files: a model that has learnt the synthetic stages scores a designed night;
its CSV, EDF+ and JSON outputs agree; the sleep statistics cover the sleep period (lights, crop or the
recording); the real SC4001 night; resampling, channel mapping and bad input."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import assert_one_error, one_torch_thread, run_physioex

from physioex import STAGES
from physioex.errors import InputError
from physioex.inference.checkpoint import CheckpointError
from physioex.inference.hypnogram_io import EDF_STAGE_TEXT
from physioex.inference.predict import parse_channel_map
from physioex.inference.run import PredictionReport, predict
from physioex.inference.sleep_statistics import sleep_statistics
from physioex.synth.store import synthetic_night, write_synthetic_store
from physioex.train.run import train

START = dt.datetime(2024, 3, 1, 22, 15, 0)
W, N1, N2, N3, R = range(5)
DESIGN = [W] * 20 + [N1] * 4 + [N2] * 20 + [N3] * 15 + [N2] * 8 + [R] * 10 + [W] * 3 + [N2] * 10 + [R] * 8
DESIGN += [W] * 20
"""A night with wake at both ends, one awakening and two REM periods (118 epochs, 22:15-23:14)."""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-channel (`EEG Fpz-Cz`, 100 Hz) Chambon2018 that has learnt the synthetic rhythms (all but a
    few epochs right; chance is 20 %): 5 passes over 3 training nights of 200 epochs, about 10 s."""
    root = tmp_path_factory.mktemp("predict")
    store = write_synthetic_store(root / "s.zarr", subjects=6, epochs=200, seed=2)
    with one_torch_thread():
        train(
            store,
            model="chambon2018",
            out=root / "m",
            params=None,
            max_epochs=5,
            lr=3e-3,
            seq_len=10,
            batch_size=8,
            num_workers=0,
            progress=False,
        )
    return root / "m" / "fold-0" / "best.ckpt"


@pytest.fixture(scope="module")
def crop_checkpoint(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same model, recorded as trained on a store cropped to sleep +- 5 min (what `preprocess --crop
    sleep --crop-minutes 5` writes into the store and `train` into the checkpoint)."""
    import torch

    ck = torch.load(checkpoint, weights_only=True)
    meta = ck["hyper_parameters"]["meta"]
    meta["preprocessing"] = {**meta["preprocessing"], "crop": "sleep", "crop_minutes": 5.0}
    out = tmp_path_factory.mktemp("crop") / "crop.ckpt"
    torch.save(ck, out)
    return out


def write_edf(
    path: Path,
    signals: dict[str, np.ndarray],
    fs: float,
    annotations: list[tuple[float, float | None, str]] | None = None,
) -> Path:
    import edfio

    sigs = [
        edfio.EdfSignal(
            x.astype(np.float64), fs, label=name, physical_dimension="uV", physical_range=(-500, 500)
        )
        for name, x in signals.items()
    ]
    edfio.Edf(
        sigs,
        starttime=START.time(),
        recording=edfio.Recording(startdate=START.date()),
        data_record_duration=1,
        annotations=[edfio.EdfAnnotation(*a) for a in annotations or []],
    ).write(path)
    return path


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The designed night as a 100 Hz `EEG Fpz-Cz` EDF, each epoch drawn from synthetic ones of its stage."""
    rng = np.random.default_rng(11)
    x, labels = synthetic_night(rng, 600, 1)
    signal = np.concatenate([x[rng.choice(np.flatnonzero(labels == s)), 0] for s in DESIGN])
    return write_edf(tmp_path_factory.mktemp("night") / "night.edf", {"EEG Fpz-Cz": signal}, 100.0)


def stages_of(csv: Path) -> np.ndarray:
    return np.array([STAGES.index(s) for s in pd.read_csv(csv)["stage"]])


def edf_stages(edf: Path, n_epochs: int) -> tuple[np.ndarray, dict[str, float]]:
    """Per-epoch stage codes of an EDF+ hypnogram re-read with MNE, and its other annotations' onsets."""
    import mne

    ann = mne.read_annotations(edf)
    to_code = {text: STAGES.index(s) for s, text in EDF_STAGE_TEXT.items()}
    codes = np.full(n_epochs, -9)
    others = {}
    for onset, duration, text in zip(ann.onset, ann.duration, ann.description, strict=True):
        if text in to_code:
            codes[int(round(onset / 30)) : int(round((onset + duration) / 30))] = to_code[text]
        else:
            others[text] = float(onset)
    return codes, others


def yasa_on(codes: np.ndarray) -> dict[str, float]:
    """YASA's own (legacy, integer) statistics of an already-cropped hypnogram."""
    import yasa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return dict(yasa.sleep_statistics(codes, sf_hyp=1 / 30))


def assert_outputs_agree(r: PredictionReport) -> np.ndarray:
    """CSV, EDF+ and JSON of one prediction say the same; returns the predicted codes."""
    df = pd.read_csv(r.csv)
    codes = stages_of(r.csv)
    proba = df[[f"p_{s}" for s in STAGES]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-3)
    np.testing.assert_array_equal(proba.argmax(axis=1), codes)
    np.testing.assert_array_equal(df["onset_s"], np.arange(r.n_epochs) * 30.0)
    edf_codes, _ = edf_stages(r.edf, r.n_epochs)
    np.testing.assert_array_equal(edf_codes, codes)
    p = r.statistics.period
    np.testing.assert_array_equal(np.flatnonzero(df["in_period"]), np.arange(p.start_epoch, p.stop_epoch))
    saved = json.loads(r.summary_json.read_text())
    assert saved["statistics"] == sleep_statistics(codes, period=p).to_dict()["statistics"]
    assert saved["period"] == p.to_dict() and saved["units"]["TIB_min"] == "min"
    return codes


def test_a_trained_model_stages_the_night_and_every_output_agrees(
    checkpoint: Path, night: Path, tmp_path: Path
) -> None:
    r = predict(night, checkpoint, out=tmp_path / "night.csv")
    codes = assert_outputs_agree(r)
    truth = np.array(DESIGN)
    assert r.n_epochs == len(DESIGN) and (codes == truth).mean() > 0.9  # chance: 0.2
    # a synthetic store records no crop and the night no lights: the period is the recording
    p = r.statistics.period
    assert (p.source, p.start_s, p.end_s) == ("recording", 0.0, len(DESIGN) * 30.0)
    assert r.summary["TIB_min"] == len(DESIGN) / 2
    ref = yasa_on(codes)
    assert r.summary["TST_min"] == ref["TST"] and r.summary["SE_pct"] == pytest.approx(ref["SE"], abs=1e-3)
    assert json.loads(r.summary_json.read_text())["period"]["start_clock"] == "2024-03-01T22:15:00"


def test_the_crop_of_the_training_store_is_applied_to_the_predicted_night(
    crop_checkpoint: Path, night: Path, tmp_path: Path
) -> None:
    from physioex.preprocess.crop import crop_window

    r = predict(night, crop_checkpoint, out=tmp_path / "night.csv")
    codes = assert_outputs_agree(r)
    start, stop = crop_window(codes, "sleep", minutes=5.0)  # anchored on predicted sleep
    p = r.statistics.period
    assert (p.source, p.start_epoch, p.stop_epoch) == ("crop", start, stop)
    assert start > 0 and stop < len(DESIGN)  # the designed night has 10 min of wake at both ends
    ref = yasa_on(codes[start:stop])
    assert r.summary["TIB_min"] == ref["TIB"] == (stop - start) / 2 < len(DESIGN) / 2
    assert r.summary["SOL_min"] == ref["SOL"] and r.summary["WASO_min"] == ref["WASO"]
    _, others = edf_stages(r.edf, r.n_epochs)
    assert others == {}  # a crop is not lights-off/on: no Lights annotations


def test_lights_annotations_and_options_set_the_period(
    crop_checkpoint: Path, night: Path, tmp_path: Path
) -> None:
    import edfio

    scoring = tmp_path / "night-scoring.edf"
    edfio.Edf(
        [],
        starttime=START.time(),
        recording=edfio.Recording(startdate=START.date()),
        annotations=[
            edfio.EdfAnnotation(300, None, "Lights off"),
            edfio.EdfAnnotation(3300, None, "Lights on"),
        ],
    ).write(scoring)
    r = predict(night, crop_checkpoint, out=tmp_path / "a.csv", annotations=scoring)
    p = r.statistics.period
    assert (p.source, p.start_s, p.end_s) == ("lights", 300.0, 3300.0)  # lights win over the crop
    assert r.summary["TIB_min"] == 50.0
    codes = assert_outputs_agree(r)
    assert r.summary["TST_min"] == yasa_on(codes[10:110])["TST"]
    _, others = edf_stages(r.edf, r.n_epochs)
    assert others == {"Lights off": 300.0, "Lights on": 3300.0}
    # an option wins over its annotation (a clock time; the other end still comes from the file)
    r = predict(night, crop_checkpoint, out=tmp_path / "b.csv", annotations=scoring, lights_off="22:25")
    assert (r.statistics.period.start_s, r.statistics.period.end_s) == (600.0, 3300.0)
    assert r.summary["TIB_min"] == 45.0
    # the PSG's own EDF+ annotations count too; a missing end is the recording's
    x, _ = synthetic_night(np.random.default_rng(3), 24, 1)
    own = write_edf(
        tmp_path / "own.edf", {"EEG Fpz-Cz": x[:, 0].reshape(-1)}, 100.0, [(90, None, "Lights off")]
    )
    r = predict(own, crop_checkpoint, out=tmp_path / "own-hypnogram.csv")
    assert (r.statistics.period.source, r.statistics.period.start_s, r.statistics.period.end_s) == (
        "lights",
        90.0,
        720.0,
    )
    assert (
        "Lights off annotation in" in r.statistics.period.detail and "own.edf" in r.statistics.period.detail
    )
    with pytest.raises(
        InputError,
        match="--lights-off 23:10, --lights-on 23:00: lights-on .2700 s. is not after lights-off .3300 s",
    ):
        predict(night, crop_checkpoint, out=tmp_path / "c.csv", lights_off="23:10", lights_on="23:00")
    with pytest.raises(InputError, match="--annotations .*missing.edf: does not exist"):
        predict(night, crop_checkpoint, out=tmp_path / "c.csv", annotations=tmp_path / "missing.edf")
    assert not (tmp_path / "c.csv").exists()


def test_predict_real_sleepedf_night(sleepedf_mirror: Path, checkpoint: Path, tmp_path: Path) -> None:
    """SC4001 runs 22 h; over lights-off..on (here the scored night's crop, 00:13:30-07:14) time in bed is
    those 7 h, not the file."""
    psg = sleepedf_mirror / "sleep-cassette" / "SC4001E0-PSG.edf"
    r = predict(psg, checkpoint, out=tmp_path / "sc4001.csv", lights_off="00:13:30", lights_on="07:14")
    assert r.n_epochs == 2650  # the whole recording is scored
    codes = assert_outputs_agree(r)
    p = r.statistics.period
    assert (p.source, p.start_s, p.end_s) == ("lights", 28830.0, 54060.0)
    assert p.to_dict()["start_clock"] == "1989-04-25T00:13:30"
    assert r.summary["TIB_min"] == 420.5
    ref = yasa_on(codes[961:1802])
    assert r.summary["TST_min"] == ref["TST"] and r.summary["SE_pct"] == pytest.approx(ref["SE"], abs=1e-3)
    _, others = edf_stages(r.edf, r.n_epochs)
    assert others == {"Lights off": 28830.0, "Lights on": 54060.0}


def test_resampled_psg_with_other_channel_names(checkpoint: Path, tmp_path: Path) -> None:
    x, _ = synthetic_night(np.random.default_rng(5), 24, 1)
    sig100 = x[:, 0].reshape(-1)
    # the same night at 200 Hz under another lab's name (linear interpolation of a 100 Hz signal)
    t100 = np.arange(sig100.size) / 100.0
    sig200 = np.interp(np.arange(sig100.size * 2) / 200.0, t100, sig100)
    a = write_edf(tmp_path / "a.edf", {"EEG Fpz-Cz": sig100, "ECG": np.zeros_like(sig100)}, 100.0)
    b = write_edf(tmp_path / "b.edf", {"ECG": np.zeros_like(sig200), "Fpz": sig200}, 200.0)
    # (out=a.csv would put the EDF+ annotations on a.edf, the PSG itself: refused, see test_inputs.py)
    ra = predict(a, checkpoint, out=tmp_path / "a-hypnogram.csv")
    rb = predict(b, checkpoint, out=tmp_path / "b-hypnogram.csv", channel_map={"EEG Fpz-Cz": "Fpz"})
    assert ra.n_epochs == rb.n_epochs == 24
    import pandas as pd

    pa, pb = pd.read_csv(ra.csv), pd.read_csv(rb.csv)
    assert (pa["stage"] == pb["stage"]).mean() >= 0.9
    np.testing.assert_allclose(pa["p_W"], pb["p_W"], atol=0.1)
    with pytest.raises(CheckpointError, match=r"b.edf lacks channel\(s\) \['EEG Fpz-Cz'\].*--channel-map"):
        predict(b, checkpoint, out=tmp_path / "c.csv")
    with pytest.raises(CheckpointError, match=r"mapped to 'Cz'"):
        predict(b, checkpoint, out=tmp_path / "c.csv", channel_map={"EEG Fpz-Cz": "Cz"})
    assert not (tmp_path / "c.csv").exists()


def test_bad_psg_and_channel_map(checkpoint: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.edf"
    bad.write_bytes(b"0       this is not an EDF header")
    with pytest.raises(ValueError, match="broken.edf: cannot be read as EDF"):
        predict(bad, checkpoint, out=tmp_path / "x.csv")
    with pytest.raises(InputError, match="nowhere.edf: does not exist"):
        predict(tmp_path / "nowhere.edf", checkpoint)
    assert parse_channel_map(["EEG Fpz-Cz=Fpz", "EOG horizontal = E1-M2,EMG=Chin"]) == {
        "EEG Fpz-Cz": "Fpz",
        "EOG horizontal": "E1-M2",
        "EMG": "Chin",
    }
    with pytest.raises(ValueError, match="must look like"):
        parse_channel_map(["Fpz"])
    with pytest.raises(InputError, match="--summary-out .*h.csv: is also the CSV hypnogram path"):
        predict(bad, checkpoint, out=tmp_path / "h.csv", summary_out=tmp_path / "h.csv")
    with pytest.raises(
        InputError, match="--summary-out: .*broken.edf: this output would overwrite the input"
    ):
        predict(bad, checkpoint, out=tmp_path / "h.csv", summary_out=bad)


def test_cli_predict_prints_summary(checkpoint: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from physioex.cli import app

    x, _ = synthetic_night(np.random.default_rng(6), 10, 1)
    psg = write_edf(tmp_path / "night.edf", {"Fpz": x[:, 0].reshape(-1)}, 100.0)
    r = CliRunner().invoke(
        app,
        [
            "predict",
            str(psg),
            "--checkpoint",
            str(checkpoint),
            "--out",
            str(tmp_path / "h.csv"),
            "--channel-map",
            "EEG Fpz-Cz=Fpz",
        ],
    )
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "10 epochs scored (5.0 min)"
    assert lines[1].startswith("period: recording 0-300 s (22:15:00-22:20:00), whole recording")
    assert "time in bed 5.0 min" in r.output and "REM latency (from sleep onset)" in r.output
    saved = json.loads((tmp_path / "h.json").read_text())
    assert f"total sleep time {saved['statistics']['TST_min']:.1f} min" in r.output
    assert (tmp_path / "h.csv").is_file() and (tmp_path / "h.edf").is_file()
    r = CliRunner().invoke(app, ["predict", str(psg), "--checkpoint", str(checkpoint)])
    assert r.exit_code == 2 and "lacks channel" in r.output
    proc = run_physioex(
        "predict",
        psg,
        "--checkpoint",
        checkpoint,
        "--channel-map",
        "EEG Fpz-Cz=Fpz",
        "--lights-off",
        "23:61",
        cwd=tmp_path,
    )
    assert_one_error(proc, 2, "--lights-off '23:61': not a clock time; use HH:MM or HH:MM:SS")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv", "h.edf", "h.json", "night.edf"]


def _epochs(signals: np.ndarray) -> np.ndarray:
    """``(channels, samples)`` at 100 Hz -> ``(epochs, channels, 3000)``."""
    return signals.reshape(signals.shape[0], -1, 3000).transpose(1, 0, 2)


def test_predict_feeds_the_model_what_its_band_passed_store_holds(tmp_path: Path) -> None:
    """A model trained on a `--bandpass 0.3,35` store stages a source EDF from the same signals `test`
    reads from the store: same band-pass, same stages. MNE (another EDF reader) is the reference."""
    import mne
    import pandas as pd
    from scipy.signal import butter, sosfiltfilt

    from physioex.download.run import download
    from physioex.inference.checkpoint import load_checkpoint
    from physioex.inference.predict import read_psg_epochs
    from physioex.inference.run import evaluate
    from physioex.preprocess.run import preprocess
    from physioex.store import open_store
    from physioex.synth import generate_mirror

    mirror = generate_mirror(
        tmp_path / "mirror", subjects=3, nights=1, seed=0, hours=2.5, dreem_records=0, other_layouts=False
    )
    assert not download("demo", mirror=mirror, out=tmp_path / "raw", progress=False).failed
    store = tmp_path / "bp.zarr"
    rep = preprocess(
        "demo", raw=tmp_path / "raw", out=store, bandpass=(0.3, 35.0), crop="none", progress=False
    )
    assert rep.ok
    tiny: dict[str, Any] = {
        "max_epochs": 1,
        "seq_len": 5,
        "batch_size": 4,
        "num_workers": 0,
        "limit_train_batches": 2,
    }
    train(store, model="chambon2018", out=tmp_path / "m", params=None, progress=False, **tiny)
    ckpt = tmp_path / "m" / "fold-0" / "best.ckpt"
    loaded = load_checkpoint(ckpt)
    st = open_store(store)
    assert loaded.meta.preprocessing is not None and loaded.meta.preprocessing["bandpass"] == [0.3, 35.0]
    assert loaded.meta.params_hash == st.attrs["params_hash"]
    assert loaded.meta.test_subjects == tuple(st.fold(0).test)
    rec = st.recordings_of(st.fold(0).test)[0]
    psg = next((tmp_path / "raw").rglob(f"{rec}*PSG.edf"))

    fed, _ = read_psg_epochs(psg, loaded.channels, loaded.meta.preprocess_params())
    stored = st.signals(rec)[:, loaded.check_channels(st.channels, "store")]
    assert fed.shape == stored.shape
    np.testing.assert_allclose(fed, stored, atol=0.05)  # uV; the store keeps float32 samples
    raw = mne.io.read_raw_edf(psg, include=loaded.channels, preload=True, verbose="error")
    assert raw.info["sfreq"] == 100.0
    unfiltered = raw.get_data(picks=loaded.channels, units="uV")[:, : fed.shape[0] * 3000]
    sos = butter(4, [0.3, 35.0], btype="bandpass", fs=100.0, output="sos")
    reference = sosfiltfilt(sos, raw.get_data(picks=loaded.channels, units="uV"), axis=1)
    np.testing.assert_allclose(fed, _epochs(reference[:, : fed.shape[0] * 3000]), atol=0.05)
    assert np.abs(fed - _epochs(unfiltered)).max() > 1.0  # the band-pass did change the signal

    r = predict(psg, ckpt, out=tmp_path / "night.csv")
    evaluate(ckpt, store, out=tmp_path / "report", plots=False, progress=False)
    tested = pd.read_csv(tmp_path / "report" / "predictions.csv")
    tested = tested[tested["recording"] == rec]
    predicted = pd.read_csv(r.csv)["stage"].to_numpy()
    assert r.n_epochs == st.n_epochs(rec) and len(tested) > 0
    assert (predicted[tested["epoch"].to_numpy()] == tested["pred"].to_numpy()).all()


def test_checkpoints_without_preprocessing_meta_still_load(checkpoint: Path, tmp_path: Path) -> None:
    """A checkpoint written before `preprocessing`/`subjects` were recorded: model rate, no band-pass."""
    import torch

    from physioex.inference.checkpoint import load_checkpoint

    ck = torch.load(checkpoint, weights_only=True)
    for key in ("preprocessing", "params_hash", "subjects"):
        ck["hyper_parameters"]["meta"].pop(key, None)
    old = tmp_path / "old.ckpt"
    torch.save(ck, old)
    meta = load_checkpoint(old).meta
    assert meta.preprocessing is None and meta.test_subjects is None
    params = meta.preprocess_params()
    assert params.sampling_rate == 100.0 and params.bandpass is None and params.allow_upsampling
    x, _ = synthetic_night(np.random.default_rng(7), 6, 1)
    psg = write_edf(tmp_path / "n.edf", {"EEG Fpz-Cz": x[:, 0].reshape(-1)}, 100.0)
    assert predict(psg, old, out=tmp_path / "n-hypnogram.csv").n_epochs == 6
