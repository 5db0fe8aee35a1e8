"""Between-subject variability of the demo: amplitudes, alpha/spindle frequencies, EMG tone, header facts."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Traits:
    """Physiological and recording facts of one subject (one night after :meth:`for_night`)."""

    amp: float
    """Overall EEG amplitude factor (skull thickness, age)."""
    alpha_hz: float
    """Posterior dominant rhythm frequency, Hz (8.5-11.5)."""
    alpha_gain: float
    """Alpha strength factor; some subjects have little alpha."""
    theta_hz: float
    spindle_hz: float
    """Sleep spindle frequency, Hz (12-14.5)."""
    spindle_gain: float
    delta_gain: float
    deep_factor: float
    """Scales the amount of N3 in the hypnogram (younger subjects sleep deeper)."""
    emg_offset: float
    """Offset of the 1-Hz EMG envelope, uV."""
    eog_gain: float
    heart_bpm: float
    sex: str
    """``"F"`` or ``"M"``."""
    age: int
    eeg_range: tuple[int, int]
    """Physical min/max (uV) of ``EEG Fpz-Cz`` in the EDF header, e.g. ``(-192, 192)``."""
    pz_range: tuple[int, int]
    eog_range: tuple[int, int]
    first_night: datetime.date
    """Date of night 1; night N starts N-1 days later."""

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Traits:
        """Draw a subject's traits from population ranges."""
        eeg, pz, eog = int(rng.integers(185, 201)), int(rng.integers(185, 201)), int(rng.integers(900, 1101))
        return cls(
            amp=float(rng.lognormal(0.0, 0.2)),
            alpha_hz=float(rng.uniform(8.5, 11.5)),
            alpha_gain=float(np.clip(rng.lognormal(0.0, 0.35), 0.4, 2.0)),
            theta_hz=float(rng.uniform(5.0, 7.0)),
            spindle_hz=float(rng.uniform(12.0, 14.5)),
            spindle_gain=float(rng.uniform(0.6, 1.4)),
            delta_gain=float(rng.uniform(0.8, 1.25)),
            deep_factor=float(rng.uniform(0.7, 1.3)),
            emg_offset=float(rng.uniform(-0.4, 0.4)),
            eog_gain=float(rng.lognormal(0.0, 0.2)),
            heart_bpm=float(rng.uniform(52, 72)),
            sex=str(rng.choice(["F", "M"])),
            age=int(rng.integers(25, 90)),
            eeg_range=(-eeg - int(rng.integers(0, 2)), eeg),
            pz_range=(-pz - int(rng.integers(0, 2)), pz),
            eog_range=(-eog, eog),
            first_night=datetime.date(1989, 1, 1) + datetime.timedelta(days=int(rng.integers(0, 5 * 365))),
        )

    def for_night(self, rng: np.random.Generator) -> Traits:
        """The same subject on another night: small night-to-night changes of the physiology."""
        return replace(
            self,
            amp=self.amp * float(rng.lognormal(0.0, 0.05)),
            alpha_gain=self.alpha_gain * float(rng.lognormal(0.0, 0.08)),
            spindle_gain=self.spindle_gain * float(rng.lognormal(0.0, 0.08)),
            deep_factor=self.deep_factor * float(rng.lognormal(0.0, 0.1)),
        )


def start_datetime(
    rng: np.random.Generator, traits: Traits, night: int, pre_sleep_s: float
) -> datetime.datetime:
    """Recording start of ``night`` (1-based): lights-off between 21:00 and 23:30, the recording
    starting ``pre_sleep_s`` seconds before that (whole minutes, like the real headers)."""
    day = traits.first_night + datetime.timedelta(days=night - 1)
    lights_off_min = int(rng.integers(21 * 60, 23 * 60 + 30))
    start_min = lights_off_min - int(np.ceil(pre_sleep_s / 60))
    return datetime.datetime.combine(day, datetime.time(0, 0)) + datetime.timedelta(minutes=start_min)
