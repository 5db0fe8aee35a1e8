"""Write simulated nights in HMC's layout: ``recordings/SNxxx.edf`` PSGs and ``SNxxx_sleepscoring.edf``.

The PSG has HMC's eight channels at 256 Hz in HMC's order and labels (``EEG F4-M1``, ``EEG C4-M1``,
``EEG O2-M1``, ``EEG C3-M2``, ``EOG E1-M2``, ``EOG E2-M2``, ``EMG chin``, ``ECG``), in uV, 16-bit codes.
The scoring is an annotation-only EDF+C file with the same start time and HMC's annotation texts: one
``Sleep stage W|N1|N2|N3|R`` per 30-s epoch over the whole PSG and the zero-length markers
``Lights off@@EEG F4-A1`` / ``Lights on@@EEG F4-A1`` (HMC links them to a channel). HMC is scored in
the five AASM stages only, so the simulated ``?`` and movement epochs are scored as the stage the
sleeper is in (:func:`hmc_stages`). Assumption (not checked against the real headers): physical
ranges of +-3276.8 uV (EEG, EOG, EMG) and +-32768 uV (ECG) for 0.1 / 1 uV steps, 1-s data records.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from edfio import Edf, EdfAnnotation, EdfSignal, Patient, Recording

from physioex.synth import signals as sg
from physioex.synth.hypnogram import MOVEMENT, S3, S4, UNSCORED, Night, simulate_night
from physioex.synth.traits import Traits, start_datetime

HMC_FS = 256.0
"""Sampling rate of every HMC PSG channel, Hz."""

HMC_CHANNELS: tuple[str, ...] = (
    "EEG F4-M1",
    "EEG C4-M1",
    "EEG O2-M1",
    "EEG C3-M2",
    "EOG E1-M2",
    "EOG E2-M2",
    "EMG chin",
    "ECG",
)
"""HMC's PSG channel labels, in file order."""

STAGE_TEXT: tuple[str, ...] = (
    "Sleep stage W",
    "Sleep stage N1",
    "Sleep stage N2",
    "Sleep stage N3",
    "Sleep stage R",
)
"""HMC's annotation text of each AASM stage (index = store label 0..4)."""

LIGHTS_OFF = "Lights off@@EEG F4-A1"
LIGHTS_ON = "Lights on@@EEG F4-A1"
"""HMC's lights markers: the ``@@`` suffix is the EDF+ channel the marker is linked to."""

HMC_GAINS = {
    channel: dict(zip(sg.SOURCES, row, strict=True))
    for channel, row in {
        # channel: alpha theta delta beta spindle kc vertex saw eye blink move pop
        "EEG F4-M1": (0.6, 1.0, 1.1, 0.8, 1.0, 1.0, 1.0, 0.9, -0.15, 0.3, 1.0, 1.0),
        "EEG C4-M1": (0.8, 1.0, 1.0, 0.8, 1.0, 1.0, 1.0, 0.9, -0.05, 0.1, 1.0, 1.0),
        "EEG O2-M1": (1.6, 0.8, 0.6, 0.7, 0.6, 0.5, 0.6, 0.7, -0.02, 0.05, 0.8, 1.0),
        "EEG C3-M2": (0.8, 1.0, 1.0, 0.8, 1.0, 1.0, 1.0, 0.9, 0.05, 0.1, 1.0, 1.0),
        "EOG E1-M2": (0.1, 0.4, 0.6, 0.5, 0.2, 0.6, 0.3, 0.2, 1.0, 0.4, 2.0, 1.5),
        "EOG E2-M2": (0.1, 0.4, 0.6, 0.5, 0.2, 0.6, 0.3, 0.2, -1.0, 0.4, 2.0, 1.5),
    }.items()
}
"""Source weights of the rendered EEG/EOG channels (central and frontal delta, occipital alpha)."""

_RANGE_UV = {"ECG": 32768.0}
_DEFAULT_RANGE_UV = 3276.8

DEMO_PATIENTS: tuple[int, ...] = (1, 2, 3, 4)
"""Patient numbers of the ``demo-hmc`` nights (``SN001`` .. ``SN004``), one night each."""

RECORD_SECONDS = 1
"""Data-record duration of the generated PSGs, s."""


@dataclass(frozen=True)
class HmcNight:
    """What the generator wrote for one patient: the stages per 30-s epoch and the lights times."""

    stages: np.ndarray
    """int8 ``(epochs,)`` AASM labels 0..4 as annotated, from the PSG start."""
    lights_off_epoch: int
    lights_on_epoch: int
    """Lights markers at the start of these epochs (s = epoch * 30)."""
    start: datetime.datetime
    """Clock time of the first sample of the PSG and of the scoring file."""


def hmc_stages(night: Night) -> np.ndarray:
    """AASM stage per epoch (0..4) as an HMC scorer would give it: R&K 3/4 -> N3, and ``?`` or movement
    epochs scored as the underlying physiological state (HMC uses the five stages only)."""
    table = np.array([0, 1, 2, 3, 3, 4], dtype=np.int8)  # W S1 S2 S3 S4 R
    labels = night.labels.copy()
    lost = (labels == UNSCORED) | (labels == MOVEMENT)
    labels[lost] = night.state[lost]
    labels[(labels == S3) | (labels == S4)] = S3
    return table[labels]


def hmc_night(seed: int, patient: int, hours: float) -> tuple[Night, Traits, HmcNight]:
    """Simulate patient ``patient``'s night (its own random stream) and place the lights markers."""
    rng = np.random.default_rng([seed, 8, patient])
    traits = Traits.draw(rng)
    night = simulate_night(rng, hours, deep_factor=traits.deep_factor)
    asleep = np.flatnonzero(night.state != 0)
    onset, last = int(asleep[0]), int(asleep[-1])
    off = max(1, onset - int(rng.integers(10, 30)))  # lights off 5-15 min before sleep onset
    on = min(night.labels.size - 2, last + 1 + int(rng.integers(10, 30)))  # on 5-15 min after waking
    start = start_datetime(rng, traits, 1, off * 30.0)
    return night, traits, HmcNight(hmc_stages(night), off, on, start)


def hmc_signals(rng: np.random.Generator, night: Night, traits: Traits) -> dict[str, np.ndarray]:
    """The eight HMC channels of ``night`` in uV at 256 Hz, in file order."""
    feats = sg.epoch_features(rng, night, traits)
    sig = sg.render(rng, feats, night, traits, HMC_FS, HMC_GAINS)
    ecg = sg.ecg(rng, night, traits, HMC_FS)
    sig["EMG chin"] = sg.emg_raw(rng, sg.tone_per_second(rng, feats, night), HMC_FS) + 0.05 * ecg
    sig["ECG"] = ecg
    return {label: sig[label] for label in HMC_CHANNELS}


def write_hmc_psg(path: Path, signals: dict[str, np.ndarray], start: datetime.datetime) -> None:
    """Write ``signals`` (label -> uV at 256 Hz) as a plain EDF with 1-s records, anonymous header."""
    edf_signals = []
    for label in HMC_CHANNELS:
        r = _RANGE_UV.get(label, _DEFAULT_RANGE_UV)
        edf_signals.append(
            EdfSignal(
                np.clip(np.asarray(signals[label], dtype=np.float64), -r, r),
                sampling_frequency=HMC_FS,
                label=label,
                physical_dimension="uV",
                physical_range=(-r, r),
                digital_range=(-32768, 32767),
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    Edf(
        edf_signals,
        patient=Patient(),
        recording=Recording(startdate=start.date()),
        starttime=start.time(),
        data_record_duration=RECORD_SECONDS,
    ).write(path)


def scoring_annotations(hmc: HmcNight) -> list[EdfAnnotation]:
    """One stage annotation per 30-s epoch (HMC's texts) and the two zero-length lights markers."""
    anns = [EdfAnnotation(float(i * 30), 30.0, STAGE_TEXT[int(c)]) for i, c in enumerate(hmc.stages)]
    anns.insert(hmc.lights_off_epoch, EdfAnnotation(float(hmc.lights_off_epoch * 30), 0.0, LIGHTS_OFF))
    anns.append(EdfAnnotation(float(hmc.lights_on_epoch * 30), 0.0, LIGHTS_ON))
    return anns


def write_hmc_scoring(path: Path, hmc: HmcNight) -> None:
    """Write the scoring of ``hmc`` as an annotation-only EDF+C starting with its PSG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Edf(
        [],
        patient=Patient(),
        recording=Recording(startdate=hmc.start.date()),
        starttime=hmc.start.time(),
        annotations=scoring_annotations(hmc),
    ).write(path)


def write_hmc_tree(
    root: Path, seed: int, hours: float, patients: tuple[int, ...] = DEMO_PATIENTS
) -> list[str]:
    """Write the nights of ``patients`` under ``root`` (``recordings/SNxxx...``); returns the relative
    paths. Each patient has its own random stream: same ``seed`` and ``hours`` -> byte-identical files.
    """
    files = []
    for patient in patients:
        night, traits, hmc = hmc_night(seed, patient, hours)
        rng = np.random.default_rng([seed, 9, patient])
        psg = f"recordings/SN{patient:03d}.edf"
        scoring = f"recordings/SN{patient:03d}_sleepscoring.edf"
        write_hmc_psg(root / psg, hmc_signals(rng, night, traits), hmc.start)
        write_hmc_scoring(root / scoring, hmc)
        files += [psg, scoring]
    return files
