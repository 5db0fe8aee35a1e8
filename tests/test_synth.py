"""The demo generator writes real Sleep-EDF / Dreem formats, deterministically, with plausible sleep."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import edfio
import h5py
import mne
import numpy as np
import pyedflib
import pytest

from physioex.synth import RK_ANNOTATIONS, generate_mirror, simulate_night
from physioex.synth.dreem_files import DODH_EEG, SIGNAL_PATHS
from physioex.synth.hypnogram import RK_TO_AASM
from physioex.synth.signals import DREEM_GAINS

REAL_LABELS = (
    "EEG Fpz-Cz",
    "EEG Pz-Oz",
    "EOG horizontal",
    "Resp oro-nasal",
    "EMG submental",
    "Temp rectal",
    "Event marker",
)
REAL_FS = (100.0, 100.0, 100.0, 1.0, 1.0, 1.0, 1.0)
REAL_STAGE_TEXTS = {f"Sleep stage {s}" for s in "W1234R?"} | {"Movement time"}
PSG_NAME = re.compile(r"^SC4(\d\d)(\d)E0-PSG\.edf$")
HYP_NAME = re.compile(r"^SC4(\d\d)(\d)E[A-Z]-Hypnogram\.edf$")


def _psgs(mirror: Path) -> list[Path]:
    return sorted((mirror / "sleep-cassette").glob("*-PSG.edf"))


def _hypnogram_of(psg: Path) -> Path:
    (hyp,) = psg.parent.glob(psg.name[:7] + "*-Hypnogram.edf")
    return hyp


def _header(edf: edfio.Edf) -> list[tuple]:
    """Per-signal header facts that must equal the real cassette files."""
    return [
        (
            s.label,
            s.sampling_frequency,
            s.transducer_type,
            s.physical_dimension,
            s.digital_range,
            s.prefiltering,
        )
        for s in edf.signals
    ]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        digest, rel = line.split(maxsplit=1)
        out[rel.strip()] = digest
    return out


# --------------------------------------------------------------------------- layout and readers


def test_mirror_layout_and_checksums(demo_mirror: Path) -> None:
    psgs = _psgs(demo_mirror)
    assert [PSG_NAME.match(p.name).groups() for p in psgs] == [
        (f"{s:02d}", str(n)) for s in range(4) for n in (1, 2)
    ]
    for psg in psgs:
        assert HYP_NAME.match(_hypnogram_of(psg).name)
    listing = _listing(demo_mirror / "SHA256SUMS.txt")
    files = sorted(p.relative_to(demo_mirror).as_posix() for p in (demo_mirror / "sleep-cassette").iterdir())
    assert sorted(listing) == files
    assert all(_sha256(demo_mirror / rel) == digest for rel, digest in listing.items())
    dreem = _listing(demo_mirror / "dreem" / "SHA256SUMS.txt")
    assert dreem and all(re.fullmatch(r"[0-9a-f-]{36}\.h5", rel) for rel in dreem)
    assert all(_sha256(demo_mirror / "dreem" / rel) == digest for rel, digest in dreem.items())
    line = (demo_mirror / "SHA256SUMS.txt").read_text().splitlines()[0]
    assert re.fullmatch(r"[0-9a-f]{64}  sleep-cassette/SC4\d{3}E0-PSG\.edf", line)


def test_psg_header_conventions(demo_mirror: Path) -> None:
    psg = _psgs(demo_mirror)[0]
    edf = edfio.read_edf(psg)
    assert edf.labels == REAL_LABELS
    assert tuple(s.sampling_frequency for s in edf.signals) == REAL_FS
    assert edf.data_record_duration == 30
    assert edf.reserved == ""  # plain EDF, like the real PSG files
    assert re.fullmatch(r"X [FM] X (Female|Male)_\d+yr", edf.local_patient_identification)
    assert re.fullmatch(r"Startdate \d\d-[A-Z]{3}-\d{4} X X X", edf.local_recording_identification)
    eeg = edf.signals[0]
    assert eeg.physical_dimension == "uV" and eeg.digital_range == (-2048, 2047)
    assert eeg.prefiltering == "HP:0.5Hz LP:100Hz [enhanced cassette BW]"
    assert 180 <= eeg.physical_max <= 200 and -201 <= eeg.physical_min <= -180
    assert edf.get_signal("EMG submental").prefiltering == "HP:16Hz Rectification LP:0.7Hz"
    assert edf.duration == edf.num_data_records * 30


def test_psg_header_equals_real_sc4001(demo_mirror: Path, sleepedf_mirror: Path) -> None:
    real = edfio.read_edf(sleepedf_mirror / "sleep-cassette" / "SC4001E0-PSG.edf")
    demo = edfio.read_edf(_psgs(demo_mirror)[0])
    assert _header(demo) == _header(real)
    assert demo.data_record_duration == real.data_record_duration
    assert demo.reserved == real.reserved
    fixed = slice(3, 7)  # the 1-Hz channels have fixed physical ranges in every cassette file
    assert [s.physical_range for s in demo.signals[fixed]] == [s.physical_range for s in real.signals[fixed]]
    real_hyp = edfio.read_edf(sleepedf_mirror / "sleep-cassette" / "SC4001EC-Hypnogram.edf")
    demo_hyp = edfio.read_edf(_hypnogram_of(_psgs(demo_mirror)[0]))
    assert demo_hyp.reserved == real_hyp.reserved == "EDF+C"
    assert {a.text for a in demo_hyp.annotations} <= {a.text for a in real_hyp.annotations} | REAL_STAGE_TEXTS


def test_opens_with_mne_and_pyedflib(demo_mirror: Path) -> None:
    psg = _psgs(demo_mirror)[1]
    raw = mne.io.read_raw_edf(psg, preload=False, verbose="error")
    assert tuple(raw.ch_names) == REAL_LABELS
    assert raw.info["sfreq"] == 100.0
    n_epochs = raw.n_times // 3000
    assert raw.n_times == n_epochs * 3000
    ann = mne.read_annotations(_hypnogram_of(psg))
    assert set(ann.description) <= REAL_STAGE_TEXTS
    assert np.all(np.mod(ann.duration, 30) == 0) and np.all(np.mod(ann.onset, 30) == 0)
    assert ann.description[-1] == "Sleep stage ?"
    assert ann.onset[-1] + ann.duration[-1] > n_epochs * 30  # runs past the PSG end, like the real files
    assert ann.onset[0] == 0 and ann.description[0] == "Sleep stage W"

    with pyedflib.EdfReader(str(psg)) as f:
        assert f.getSignalLabels() == list(REAL_LABELS)
        assert f.getSampleFrequencies().tolist() == list(REAL_FS)
        assert f.getFileDuration() == n_epochs * 30
        x = f.readSignal(0)
        lo, hi = f.getPhysicalMinimum(0), f.getPhysicalMaximum(0)
        assert lo <= x.min() and x.max() <= hi
    with pyedflib.EdfReader(str(_hypnogram_of(psg))) as f:
        onsets, durations, texts = f.readAnnotations()
        assert list(texts) == list(ann.description)


def test_both_nights_share_subject_traits(demo_mirror: Path) -> None:
    n1, n2 = (edfio.read_edf(p) for p in _psgs(demo_mirror)[:2])
    assert n1.local_patient_identification == n2.local_patient_identification
    assert (n2.startdate - n1.startdate).days == 1


# --------------------------------------------------------------------------- Dreem layout


def test_dreem_h5_structure(demo_mirror: Path) -> None:
    files = sorted((demo_mirror / "dreem").glob("*.h5"))
    assert len(files) == 3
    assert set(DREEM_GAINS) - {"EOG1", "EOG2"} == set(DODH_EEG)
    with h5py.File(files[0], "r") as f:
        hyp = f["hypnogram"][:]
        assert hyp.ndim == 1 and np.issubdtype(hyp.dtype, np.integer)
        assert set(np.unique(hyp)) <= {-1, 0, 1, 2, 3, 4} and {0, 2, 3}.issubset(set(np.unique(hyp)))
        assert "events" in f and isinstance(f["events"], h5py.Group)
        desc = json.loads(f.attrs["description"])
        assert {d["path"] for d in desc} == set(SIGNAL_PATHS.values())
        assert len(desc) == 16 and "signals/emg/ECG" in f and "signals/eog/EOG2" in f
        for d in desc:
            ds = f[d["path"]]
            assert d["fs"] == 250 and d["unit"] == "uV"
            assert ds.ndim == 1 and ds.dtype.kind == "f" and ds.shape[0] == hyp.size * 30 * 250
        eeg = f["signals/eeg/F3_M2"][:]
        assert 5 < eeg.std() < 60  # plausible scalp EEG amplitude in uV
        epochs = eeg.reshape(hyp.size, 30 * 250)
        delta = _band_power(epochs, 0.5, 2.0, fs=250.0)
        assert np.median(delta[hyp == 3]) > 3 * np.median(delta[hyp == 0])


# --------------------------------------------------------------------------- determinism and re-runs


def test_same_seed_byte_identical_other_seed_differs(tmp_path: Path, demo_mirror: Path) -> None:
    kw = dict(subjects=1, nights=1, hours=2.5)
    a = generate_mirror(tmp_path / "a", seed=3, dreem_records=1, **kw)
    b = generate_mirror(tmp_path / "b", seed=3, dreem_records=1, **kw)
    c = generate_mirror(tmp_path / "c", seed=4, dreem_records=0, **kw)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert any(p.suffix == ".h5" for p in files_a) and any(p.suffix == ".edf" for p in files_a)
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    sums_a, sums_c = _listing(a / "SHA256SUMS.txt"), _listing(c / "SHA256SUMS.txt")
    psg = "sleep-cassette/SC4001E0-PSG.edf"
    assert sums_a[psg] != sums_c[psg]
    dreem = _listing(demo_mirror / "dreem" / "SHA256SUMS.txt")  # records of one mirror all differ
    assert len(set(dreem.values())) == len(dreem) == 3
    assert not list(tmp_path.glob(".*partial*"))  # built in a temp sibling, renamed into place


def test_rerun_reuses_and_refuses_foreign_folder(demo_mirror: Path, tmp_path: Path) -> None:
    stamp = {p: p.stat().st_mtime_ns for p in demo_mirror.rglob("*")}
    again = generate_mirror(demo_mirror, subjects=4, nights=2, seed=0, hours=3.0)
    assert again == demo_mirror and {p: p.stat().st_mtime_ns for p in demo_mirror.rglob("*")} == stamp
    foreign = tmp_path / "data"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a demo mirror"):
        generate_mirror(foreign, subjects=1, nights=1, hours=2.5, dreem_records=0)
    assert (foreign / "thesis.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="hours"):
        generate_mirror(tmp_path / "short", subjects=1, nights=1, hours=1.0)
    # Other settings replace an existing demo mirror as a whole (no mix of old and new files).
    mirror = generate_mirror(tmp_path / "m", subjects=2, nights=1, hours=2.5, dreem_records=0)
    generate_mirror(mirror, subjects=1, nights=1, hours=2.5, dreem_records=0, seed=1)
    assert json.loads((mirror / "generator.json").read_text())["seed"] == 1
    assert [p.name for p in _psgs(mirror)] == ["SC4001E0-PSG.edf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "m"]


# --------------------------------------------------------------------------- realism


def _sleep_period_fractions(aasm: np.ndarray) -> np.ndarray:
    asleep = np.flatnonzero(aasm > 0)
    seg = aasm[asleep[0] : asleep[-1] + 1]
    counts = np.bincount(seg[seg >= 0], minlength=5)
    return counts / counts.sum()


@pytest.mark.parametrize("seed", range(6))
def test_hypnogram_architecture_is_plausible(seed: int) -> None:
    night = simulate_night(np.random.default_rng(seed), 9.0)
    aasm = night.aasm
    w, n1, n2, n3, rem = _sleep_period_fractions(aasm)
    assert (
        0.02 <= n1 <= 0.15 and 0.35 <= n2 <= 0.65 and 0.07 <= n3 <= 0.35 and 0.12 <= rem <= 0.30 and w < 0.15
    )
    asleep = np.flatnonzero(aasm > 0)
    assert asleep[0] > 60 and aasm.size - asleep[-1] > 60  # > 30 min of wake at both ends
    n3_idx, rem_idx = np.flatnonzero(aasm == 3), np.flatnonzero(aasm == 4)
    assert np.median(n3_idx) < np.median(rem_idx)  # deep sleep early, REM late
    # REM periods: REM epochs closer than 15 min belong to one period; 4-6 NREM/REM cycles in 9 h.
    starts = np.concatenate([[0], np.flatnonzero(np.diff(rem_idx) > 30) + 1])
    sizes = np.diff(np.concatenate([starts, [rem_idx.size]]))
    assert 3 <= np.sum(sizes >= 4) <= 6
    assert sizes[-1] > sizes[0]  # REM periods lengthen across the night
    assert aasm[-1] == -1 or night.trailing_unscored_s > 0


def test_mirror_has_unscored_and_movement_epochs(demo_mirror: Path) -> None:
    texts = [a.text for p in _psgs(demo_mirror) for a in edfio.read_edf(_hypnogram_of(p)).annotations]
    assert "Movement time" in texts and "Sleep stage 4" in texts and "Sleep stage R" in texts
    assert texts.count("Sleep stage ?") > len(_psgs(demo_mirror))  # trailing ones plus some inside nights


def _band_power(x: np.ndarray, lo: float, hi: float, fs: float = 100.0) -> np.ndarray:
    spec = np.abs(np.fft.rfft(x - x.mean(axis=-1, keepdims=True), axis=-1)) ** 2
    f = np.fft.rfftfreq(x.shape[-1], 1 / fs)
    return spec[:, (f >= lo) & (f < hi)].sum(axis=-1) / x.shape[-1]


def test_signals_are_stage_dependent(demo_mirror: Path) -> None:
    powers: dict[str, list[np.ndarray]] = {"delta": [], "alpha": [], "eog": [], "p2p": [], "label": []}
    for psg in _psgs(demo_mirror)[:4]:
        raw = mne.io.read_raw_edf(psg, preload=True, verbose="error")
        data = raw.get_data(picks=["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal"], units="uV")
        epochs = data.reshape(3, -1, 3000)
        ann = mne.read_annotations(_hypnogram_of(psg))
        labels = np.full(epochs.shape[1], -1)
        codes = {text: RK_TO_AASM[i] for i, text in enumerate(RK_ANNOTATIONS)}
        for onset, dur, text in zip(ann.onset, ann.duration, ann.description, strict=True):
            labels[int(onset // 30) : int((onset + dur) // 30)] = codes[text]
        powers["delta"].append(_band_power(epochs[0], 0.5, 2.0))
        powers["alpha"].append(_band_power(epochs[1], 8.0, 12.0))
        powers["eog"].append(_band_power(epochs[2], 0.3, 4.0))
        powers["p2p"].append(np.ptp(epochs[0], axis=-1))
        powers["label"].append(labels)
    y = np.concatenate(powers.pop("label"))
    p = {k: np.concatenate(v) for k, v in powers.items()}
    med = {k: [np.median(v[y == s]) for s in range(5)] for k, v in p.items()}
    w, n1, n2, n3, rem = range(5)
    assert med["delta"][n3] > 2 * med["delta"][n2] > 2 * med["delta"][w]  # slow waves in N3
    assert med["alpha"][w] > 2 * med["alpha"][n2]  # alpha in relaxed wake
    assert med["eog"][rem] > 1.5 * med["eog"][n2] and med["eog"][n1] > 1.5 * med["eog"][n2]  # REMs, SEMs
    assert med["p2p"][n3] > 75  # high-amplitude delta, uV peak-to-peak
