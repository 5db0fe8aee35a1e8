"""Write a simulated night as Sleep-EDF cassette files: plain-EDF PSG and EDF+C hypnogram (via edfio).

Header conventions copy the real ``SC4001E0-PSG.edf`` / ``SC4001EC-Hypnogram.edf``: channel labels,
transducers, units, physical and digital ranges, prefilter strings, 30-s data records, patient field
``X F X Female_33yr`` and recording field ``Startdate DD-MMM-YYYY X X X``.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from edfio import Edf, EdfAnnotation, EdfSignal, Patient, Recording

from physioex.synth.hypnogram import RK_ANNOTATIONS, UNSCORED, Night, runs
from physioex.synth.traits import Traits

RECORD_SECONDS = 30
"""Data-record duration of the Sleep-EDF cassette PSG files, s."""


@dataclass(frozen=True)
class ChannelSpec:
    """Header facts of one Sleep-EDF PSG channel, named as ``edfio.EdfSignal`` takes them."""

    label: str
    sampling_frequency: float
    """Hz."""
    transducer_type: str
    physical_dimension: str
    """Unit."""
    physical_range: tuple[float, float]
    digital_range: tuple[int, int]
    prefiltering: str


_EEG_FILTER = "HP:0.5Hz LP:100Hz [enhanced cassette BW]"


def psg_channels(traits: Traits) -> list[ChannelSpec]:
    """The 7 cassette channels in file order; EEG/EOG physical ranges vary by subject as in the real files."""
    ag = "Ag-AgCl electrodes"
    return [
        ChannelSpec("EEG Fpz-Cz", 100.0, ag, "uV", traits.eeg_range, (-2048, 2047), _EEG_FILTER),
        ChannelSpec("EEG Pz-Oz", 100.0, ag, "uV", traits.pz_range, (-2048, 2047), _EEG_FILTER),
        ChannelSpec("EOG horizontal", 100.0, ag, "uV", traits.eog_range, (-2048, 2047), _EEG_FILTER),
        ChannelSpec(
            "Resp oro-nasal",
            1.0,
            "Oral-nasal thermistors",
            "",
            (-2048, 2047),
            (-2048, 2047),
            "HP:0.03Hz LP:0.9Hz",
        ),
        ChannelSpec("EMG submental", 1.0, ag, "uV", (-5, 5), (-2500, 2500), "HP:16Hz Rectification LP:0.7Hz"),
        ChannelSpec("Temp rectal", 1.0, "Rectal thermistor", "DegC", (34, 40), (-2849, 2731), ""),
        ChannelSpec(
            "Event marker", 1.0, "Marker button", "", (-2047, 2048), (-2047, 2048), "Hold during 2 seconds"
        ),
    ]


def _identity(traits: Traits, start: datetime.datetime) -> tuple[Patient, Recording]:
    """Patient ``X F X Female_33yr`` and recording ``Startdate 24-APR-1989 X X X`` fields."""
    age = f"{'Female' if traits.sex == 'F' else 'Male'}_{traits.age}yr"
    return Patient(code="X", sex=traits.sex, name=age), Recording(startdate=start.date())  # type: ignore[arg-type]


def write_psg(path: Path, signals: dict[str, np.ndarray], traits: Traits, start: datetime.datetime) -> None:
    """Write the PSG ``signals`` (label -> physical values, uV/degC) as a plain EDF with 30-s records."""
    edf_signals = []
    for spec in psg_channels(traits):
        x = np.clip(np.asarray(signals[spec.label], dtype=np.float64), *spec.physical_range)
        edf_signals.append(EdfSignal(x, **asdict(spec)))
    patient, recording = _identity(traits, start)
    edf = Edf(
        edf_signals,
        patient=patient,
        recording=recording,
        starttime=start.time(),
        data_record_duration=RECORD_SECONDS,
    )
    edf.write(path)


def hypnogram_annotations(night: Night) -> list[EdfAnnotation]:
    """One annotation per run of equal labels (durations multiples of 30 s); the final
    ``Sleep stage ?`` runs ``night.trailing_unscored_s`` past the end of the PSG, as in the real files."""
    anns = [EdfAnnotation(float(s * 30), float(m * 30), RK_ANNOTATIONS[c]) for s, m, c in runs(night.labels)]
    end = float(night.labels.size * 30)
    if night.labels[-1] == UNSCORED:
        last = anns.pop()
        anns.append(EdfAnnotation(last.onset, (last.duration or 0.0) + night.trailing_unscored_s, last.text))
    else:
        anns.append(EdfAnnotation(end, night.trailing_unscored_s, RK_ANNOTATIONS[UNSCORED]))
    return anns


def write_hypnogram(path: Path, night: Night, traits: Traits, start: datetime.datetime) -> None:
    """Write the scored stages as annotation-only EDF+C (``Sleep stage W|1|2|3|4|R|?``, ``Movement time``)."""
    patient, recording = _identity(traits, start)
    edf = Edf(
        [],
        patient=patient,
        recording=recording,
        starttime=start.time(),
        annotations=hypnogram_annotations(night),
    )
    edf.write(path)
