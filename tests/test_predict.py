"""`physioex predict` on EDF files: real SC4001 night, resampling, channel mapping and bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from physioex.errors import InputError
from physioex.inference.checkpoint import CheckpointError
from physioex.inference.predict import parse_channel_map
from physioex.inference.run import predict
from physioex.synth.store import synthetic_night, write_synthetic_store
from physioex.train.run import train


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quickly trained one-channel (`EEG Fpz-Cz`, 100 Hz) model; predict does not need it to be good."""
    root = tmp_path_factory.mktemp("predict")
    store = write_synthetic_store(root / "s.zarr", subjects=3, epochs=40, seed=2)
    train(
        store,
        model="chambon2018",
        out=root / "m",
        params=None,
        max_epochs=1,
        seq_len=5,
        batch_size=4,
        num_workers=0,
        progress=False,
        limit_train_batches=2,
    )
    return root / "m" / "fold-0" / "best.ckpt"


def write_edf(path: Path, signals: dict[str, np.ndarray], fs: float) -> Path:
    import edfio

    sigs = [
        edfio.EdfSignal(
            x.astype(np.float64), fs, label=name, physical_dimension="uV", physical_range=(-500, 500)
        )
        for name, x in signals.items()
    ]
    edfio.Edf(sigs, starttime=dt.time(22, 15, 0), data_record_duration=1).write(path)
    return path


def test_predict_real_sleepedf_night(sleepedf_mirror: Path, checkpoint: Path, tmp_path: Path) -> None:
    import mne
    import pandas as pd

    psg = sleepedf_mirror / "sleep-cassette" / "SC4001E0-PSG.edf"
    r = predict(psg, checkpoint, out=tmp_path / "sc4001.csv")
    df = pd.read_csv(r.csv)
    assert len(df) == r.n_epochs == 2650  # 2650 records of 30 s: the whole recording
    np.testing.assert_array_equal(df["onset_s"], np.arange(2650) * 30.0)
    assert set(df["stage"]) <= {"W", "N1", "N2", "N3", "REM"}
    np.testing.assert_allclose(df[["p_W", "p_N1", "p_N2", "p_N3", "p_REM"]].sum(axis=1), 1.0, atol=1e-3)
    ann = mne.read_annotations(r.edf)
    assert ann.onset[0] == 0 and ann.onset[-1] + ann.duration[-1] == pytest.approx(79500.0)
    assert ann.duration.sum() == pytest.approx(79500.0)
    assert set(ann.description) <= {
        "Sleep stage W",
        "Sleep stage N1",
        "Sleep stage N2",
        "Sleep stage N3",
        "Sleep stage R",
    }
    s = r.summary
    assert s["time_in_bed_min"] == pytest.approx(1325.0)
    assert sum(s[f"{k}_min"] for k in ("W", "N1", "N2", "N3", "REM")) == pytest.approx(1325.0)


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
    assert "10 epochs scored (5.0 min)" in r.output and "sleep efficiency" in r.output
    assert (tmp_path / "h.csv").is_file() and (tmp_path / "h.edf").is_file()
    r = CliRunner().invoke(app, ["predict", str(psg), "--checkpoint", str(checkpoint)])
    assert r.exit_code == 2 and "lacks channel" in r.output


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

    mirror = generate_mirror(tmp_path / "mirror", subjects=3, nights=1, seed=0, hours=2.5, dreem_records=0)
    assert not download("demo", mirror=mirror, out=tmp_path / "raw", progress=False).failed
    store = tmp_path / "bp.zarr"
    rep = preprocess(
        "demo", raw=tmp_path / "raw", out=store, bandpass=(0.3, 35.0), crop="none", progress=False
    )
    assert rep.ok
    tiny = {"max_epochs": 1, "seq_len": 5, "batch_size": 4, "num_workers": 0, "limit_train_batches": 2}
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
