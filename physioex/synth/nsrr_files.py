"""Write simulated nights in an NSRR cohort's layout: SHHS-like EDF PSGs and ``-nsrr.xml`` annotations.

The PSG copies the SHHS montage physioex reads: ``EEG`` (C4-A1) and ``EEG(sec)`` (C3-A2) at 125 Hz,
``EOG(L)``/``EOG(R)`` at 50 Hz, ``EMG`` at 125 Hz, in 1-s data records; the XML holds a
``Recording Start Time`` event and one ``Stages|Stages`` ScoredEvent per run of equal stages
(``Wake|0``, ``Stage 1 sleep|1`` .. ``Stage 4 sleep|4``, ``REM sleep|5``, ``Unscored|9``,
``Movement|6``), as sleepdata.org publishes them (docs/scoring-formats.md).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from edfio import Edf, EdfSignal, Patient, Recording

from physioex.synth import signals as sg
from physioex.synth.hypnogram import Night, runs
from physioex.synth.traits import Traits

NSRR_FS = 125.0
"""EEG and EMG sampling rate of the SHHS PSGs, Hz."""

EOG_FS = 50.0
"""EOG sampling rate of the SHHS PSGs, Hz."""

NSRR_CONCEPTS: tuple[str, ...] = (
    "Wake|0",
    "Stage 1 sleep|1",
    "Stage 2 sleep|2",
    "Stage 3 sleep|3",
    "Stage 4 sleep|4",
    "REM sleep|5",
    "Unscored|9",
    "Movement|6",
)
"""NSRR ``EventConcept`` of each R&K code of :mod:`physioex.synth.hypnogram` (index = code)."""

NSRR_GAINS = {
    channel: dict(zip(sg.SOURCES, row, strict=True))
    for channel, row in {
        # channel: alpha theta delta beta spindle kc vertex saw eye blink move pop
        "EEG": (0.8, 1.0, 1.0, 0.8, 1.0, 1.0, 1.0, 0.9, 0.05, 0.1, 1.0, 1.0),
        "EEG(sec)": (0.75, 1.0, 0.95, 0.8, 0.95, 1.0, 1.0, 0.9, -0.05, 0.1, 1.0, 1.0),
        "EOG(L)": (0.1, 0.4, 0.6, 0.5, 0.2, 0.6, 0.3, 0.2, 1.0, 0.35, 2.0, 1.5),
        "EOG(R)": (0.1, 0.4, 0.6, 0.5, 0.2, 0.6, 0.3, 0.2, -1.0, 0.35, 2.0, 1.5),
    }.items()
}
"""Source weights of the rendered channels (``physioex.synth.signals.render``)."""


def nsrr_signals(rng: np.random.Generator, night: Night, traits: Traits) -> dict[str, np.ndarray]:
    """The five SHHS-like channels of ``night`` in uV: EEG/EMG at 125 Hz, EOG at 50 Hz."""
    feats = sg.epoch_features(rng, night, traits)
    eeg = sg.render(rng, feats, night, traits, NSRR_FS, {k: NSRR_GAINS[k] for k in ("EEG", "EEG(sec)")})
    eog = sg.render(rng, feats, night, traits, EOG_FS, {k: NSRR_GAINS[k] for k in ("EOG(L)", "EOG(R)")})
    emg = sg.emg_raw(rng, sg.tone_per_second(rng, feats, night), NSRR_FS)
    return {
        "EEG(sec)": eeg["EEG(sec)"],
        "EMG": emg,
        "EOG(L)": eog["EOG(L)"],
        "EOG(R)": eog["EOG(R)"],
        "EEG": eeg["EEG"],
    }


def write_nsrr_psg(path: Path, signals: dict[str, np.ndarray], start: datetime.datetime) -> None:
    """An SHHS-like EDF: physical ranges +-125 uV EEG (as in SHHS), 1-s data records, anonymous header."""
    ranges = {"EEG(sec)": 125.0, "EMG": 31.5, "EOG(L)": 125.0, "EOG(R)": 125.0, "EEG": 125.0}
    edf_signals = []
    for label, x in signals.items():
        fs = EOG_FS if label.startswith("EOG") else NSRR_FS
        r = ranges[label]
        edf_signals.append(
            EdfSignal(
                np.clip(np.asarray(x, dtype=np.float64), -r, r),
                sampling_frequency=fs,
                label=label,
                physical_dimension="uV",
                physical_range=(-r, r),
                digital_range=(-128, 127) if label.startswith("EOG") else (-32768, 32767),
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    Edf(
        edf_signals,
        patient=Patient(),
        recording=Recording(startdate=datetime.date(1985, 1, 1)),
        starttime=start.time(),
        data_record_duration=1,
    ).write(path)


def nsrr_xml(night: Night, start: datetime.datetime) -> str:
    """The ``-nsrr.xml`` text of ``night``: one ``Stages|Stages`` event per run of equal R&K codes."""
    clock = start.strftime("00.00.00 %H.%M.%S")
    events = [
        "<ScoredEvent>\n<EventType/>\n<EventConcept>Recording Start Time</EventConcept>\n<Start>0</Start>\n"
        f"<Duration>{night.labels.size * 30.0:.1f}</Duration>\n<ClockTime>{clock}</ClockTime>\n</ScoredEvent>"
    ]
    for first, n, code in runs(night.labels):
        events.append(
            "<ScoredEvent>\n<EventType>Stages|Stages</EventType>\n"
            f"<EventConcept>{escape(NSRR_CONCEPTS[code])}</EventConcept>\n"
            f"<Start>{first * 30.0:.1f}</Start>\n<Duration>{n * 30.0:.1f}</Duration>\n</ScoredEvent>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<PSGAnnotation>\n'
        "<SoftwareVersion>Compumedics</SoftwareVersion>\n<EpochLength>30</EpochLength>\n<ScoredEvents>\n"
        + "\n".join(events)
        + "\n</ScoredEvents>\n</PSGAnnotation>\n"
    )


def expected_labels(night: Night) -> np.ndarray:
    """Store labels the XML of ``night`` must give, epoch by epoch (R&K 3/4 -> N3; ``?`` -1; movement -2)."""
    # W S1 S2 S3 S4 R ? movement -> the store's codes (physioex.store.layout: -1 unscored, -2 movement);
    # not imported from there, so generating the demo mirror stays free of the store package
    table = np.array([0, 1, 2, 3, 3, 4, -1, -2], dtype=np.int8)
    return table[night.labels]


DEMO_VISITS: tuple[tuple[int, str], ...] = (
    (200001, "shhs1"),
    (200001, "shhs2"),
    (200002, "shhs1"),
    (200003, "shhs1"),
)
"""(participant, visit) of the ``demo-nsrr`` nights: three participants, the first with both visits."""


def nsrr_night(
    seed: int, participant: int, visit: str, hours: float
) -> tuple[Night, Traits, datetime.datetime]:
    """The simulated night of one demo participant's visit (its own random stream), traits and start."""
    from physioex.synth.hypnogram import simulate_night
    from physioex.synth.traits import start_datetime

    rng = np.random.default_rng([seed, 4, participant, int(visit[-1])])
    traits = Traits.draw(np.random.default_rng([seed, 5, participant])).for_night(rng)
    night = simulate_night(rng, hours, deep_factor=traits.deep_factor)
    start = start_datetime(rng, traits, int(visit[-1]), float(np.argmax(night.state != 0)) * 30.0)
    return night, traits, start


def write_nsrr_cohort(root: Path, seed: int, hours: float) -> list[str]:
    """Write the ``demo-nsrr`` tree under ``root`` (SHHS names and layout); returns the relative paths."""
    files = []
    for participant, visit in DEMO_VISITS:
        night, traits, start = nsrr_night(seed, participant, visit, hours)
        rng = np.random.default_rng([seed, 6, participant, int(visit[-1])])
        stem = f"{visit}-{participant}"
        psg = f"polysomnography/edfs/{visit}/{stem}.edf"
        xml = f"polysomnography/annotations-events-nsrr/{visit}/{stem}-nsrr.xml"
        write_nsrr_psg(root / psg, nsrr_signals(rng, night, traits), start)
        (root / xml).parent.mkdir(parents=True, exist_ok=True)
        (root / xml).write_text(nsrr_xml(night, start), encoding="utf-8")
        files += [psg, xml]
    return files
