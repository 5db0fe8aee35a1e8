"""Stage-dependent synthetic EEG/EOG/EMG (uV) for a simulated night, for any montage and sampling rate.

Each epoch gets a feature vector from its physiological state (alpha, theta, delta, beta amplitudes,
spindle / K-complex / vertex / sawtooth / saccade / blink rates, EMG tone), blended with neighbouring
stages and jittered so that N1, drowsy wake and tonic REM are genuinely ambiguous. Features are
interpolated between jittered epoch centres, so stage features ramp across epoch boundaries.
Channels are weighted sums of shared sources plus their own 1/f noise, artefacts and electrode pops.
"""

from __future__ import annotations

import numpy as np

from physioex.synth import components as cp
from physioex.synth.hypnogram import S1, S2, S3, Night, R, W
from physioex.synth.traits import Traits

FEATURES = (
    "alpha",
    "theta",
    "delta",
    "beta",
    "sem",
    "tone",
    "spindle",
    "kc",
    "vertex",
    "saw",
    "sacc",
    "blink",
)
"""Per-epoch features: amplitudes (uV, at Fpz-Cz; ``sem`` at the EOG) then ``tone`` (0-1) then event
rates (events per second)."""

_PROFILE = np.array(
    #  alpha theta delta beta  sem   tone  spin   kc     vertex saw   sacc  blink
    [
        [10.0, 3.0, 4.0, 5.0, 6.0, 1.00, 0.000, 0.000, 0.004, 0.00, 0.25, 0.30],  # W
        [3.5, 8.0, 6.0, 2.5, 30.0, 0.60, 0.010, 0.005, 0.060, 0.005, 0.01, 0.03],  # S1
        [1.5, 8.0, 13.0, 1.5, 5.0, 0.45, 0.090, 0.035, 0.010, 0.00, 0.00, 0.00],  # S2
        [1.2, 7.5, 27.0, 1.2, 3.0, 0.40, 0.050, 0.020, 0.000, 0.00, 0.00, 0.00],  # S3
        [1.0, 7.0, 40.0, 1.0, 3.0, 0.40, 0.025, 0.010, 0.000, 0.00, 0.00, 0.00],  # S4
        [3.5, 8.0, 6.0, 2.5, 8.0, 0.10, 0.003, 0.000, 0.005, 0.05, 0.15, 0.00],  # R
    ]
)
_IDX = {name: i for i, name in enumerate(FEATURES)}

SOURCES = ("alpha", "theta", "delta", "beta", "spindle", "kc", "vertex", "saw", "eye", "blink", "move", "pop")
"""The sources every channel mixes (see ``render``), in the column order of the gain tables below."""


def _gain_table(rows: dict[str, tuple[float, ...]]) -> dict[str, dict[str, float]]:
    """Channel -> source -> weight, from one row of ``SOURCES``-ordered weights per channel."""
    return {channel: dict(zip(SOURCES, row, strict=True)) for channel, row in rows.items()}


EDF_GAINS = _gain_table(
    {
        # channel: alpha theta delta beta spindle kc vertex saw eye blink move pop
        "EEG Fpz-Cz": (0.7, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.15, 1.0, 1.0, 1.0),
        "EEG Pz-Oz": (1.6, 0.8, 0.55, 0.7, 0.7, 0.45, 0.6, 0.7, 0.02, 0.05, 0.8, 1.0),
        "EOG horizontal": (0.1, 0.4, 0.6, 0.5, 0.2, 0.6, 0.3, 0.2, 1.0, 0.35, 2.0, 1.5),
    }
)
"""How much of each source reaches each Sleep-EDF channel (Fpz-Cz frontal: eyes, delta; Pz-Oz: alpha)."""

DREEM_GAINS = _gain_table(
    {
        # channel: alpha theta delta beta spindle kc vertex saw eye blink move pop
        "C3_M2": (0.8, 1.0, 1.0, 0.8, 1.0, 1.0, 1.0, 0.9, 0.05, 0.1, 1.0, 1.0),
        "F4_M1": (0.6, 1.0, 1.1, 0.8, 1.0, 1.0, 1.0, 0.9, -0.15, 0.3, 1.0, 1.0),
        "F3_F4": (0.2, 0.4, 0.35, 0.5, 1.0, 1.0, 1.0, 0.9, 0.3, 0.05, 1.0, 1.0),
        "F3_M2": (0.6, 1.0, 1.1, 0.8, 1.0, 1.0, 1.0, 0.9, 0.15, 0.3, 1.0, 1.0),
        "F4_O2": (-1.2, 0.6, 0.7, 0.7, 1.0, 1.0, 1.0, 0.9, -0.15, 0.3, 1.0, 1.0),
        "F3_O1": (-1.2, 0.6, 0.7, 0.7, 1.0, 1.0, 1.0, 0.9, 0.15, 0.3, 1.0, 1.0),
        "FP1_F3": (0.2, 0.5, 0.5, 0.6, 1.0, 1.0, 1.0, 0.9, 0.6, 1.0, 1.0, 1.0),
        "FP1_M2": (0.6, 1.0, 1.2, 0.9, 1.0, 1.0, 1.0, 0.9, 0.8, 1.2, 1.0, 1.0),
        "FP1_O1": (-1.3, 0.8, 1.0, 0.9, 1.0, 1.0, 1.0, 0.9, 0.8, 1.2, 1.0, 1.0),
        "FP2_F4": (0.2, 0.5, 0.5, 0.6, 1.0, 1.0, 1.0, 0.9, -0.6, 1.0, 1.0, 1.0),
        "FP2_M1": (0.6, 1.0, 1.2, 0.9, 1.0, 1.0, 1.0, 0.9, -0.8, 1.2, 1.0, 1.0),
        "FP2_O2": (-1.3, 0.8, 1.0, 0.9, 1.0, 1.0, 1.0, 0.9, -0.8, 1.2, 1.0, 1.0),
        "EOG1": (0.1, 0.4, 0.6, 0.5, 0.2, 0.6, 0.3, 0.2, 1.0, 0.4, 2.0, 1.5),
        "EOG2": (0.1, 0.4, 0.6, 0.5, 0.2, 0.6, 0.3, 0.2, -1.0, 0.4, 2.0, 1.5),
    }
)
"""Source weights of the 12 DOD-H EEG derivations (frontal delta and blinks, occipital alpha) and the two
EOGs (opposite eye polarity)."""


def epoch_features(rng: np.random.Generator, night: Night, traits: Traits) -> np.ndarray:
    """Feature table ``(epochs, len(FEATURES))`` of a night: stage profile, blends, jitter, subject traits."""
    state = night.state
    n = state.size
    f = _PROFILE[state].copy()
    # Relaxed (eyes closed, alpha) vs active (eyes open: blinks, saccades, beta, EMG) wake.
    relaxed = rng.beta(2.0, 2.0, n)
    w = state == W
    f[w, _IDX["alpha"]] *= 0.25 + 1.5 * relaxed[w]
    for name, k in (("beta", 0.8), ("sacc", 1.2), ("blink", 1.0)):
        f[w, _IDX[name]] *= 1.0 + k * (0.5 - relaxed[w]) * 2
    # Drowsy wake drifts towards N1; N1 is a genuine mixture of wake and light sleep; tonic REM looks like N1.
    d = np.where(w, 0.75 * night.drowsiness * rng.uniform(0.3, 1.0, n), 0.0)
    s1 = state == S1
    to_w = np.where(s1, rng.uniform(0.0, 0.5, n), 0.0)
    to_n2 = np.where(s1, rng.uniform(0.0, 0.35, n), 0.0)
    rem = state == R
    to_n1 = np.where(rem, rng.uniform(0.0, 0.35, n), 0.0)
    n2_to_3 = np.where(state == S2, rng.uniform(0.0, 0.6, n) ** 2, 0.0)
    f = (
        f * (1 - d - to_w - to_n2 - to_n1 - n2_to_3)[:, None]
        + d[:, None] * _PROFILE[S1]
        + to_w[:, None] * _PROFILE[W]
        + to_n2[:, None] * _PROFILE[S2]
        + to_n1[:, None] * _PROFILE[S1]
        + n2_to_3[:, None] * _PROFILE[S3]
    )
    phasic = rng.uniform(0.0, 2.0, n)
    f[rem, _IDX["sacc"]] *= phasic[rem]
    f[rem, _IDX["saw"]] *= 0.4 + 0.6 * phasic[rem]
    f *= rng.lognormal(0.0, 0.3, f.shape)  # epoch-to-epoch variability of every feature
    f[:, _IDX["tone"]] = np.clip(f[:, _IDX["tone"]], 0.0, 1.5)
    f[:, _IDX["alpha"]] *= traits.alpha_gain
    f[:, _IDX["delta"]] *= traits.delta_gain
    f[:, _IDX["spindle"]] *= traits.spindle_gain
    f[:, :5] *= traits.amp
    return f


def _movement_waves(rng: np.random.Generator, k: int, fs: float, seconds: np.ndarray) -> np.ndarray:
    """``k`` body-movement bursts (broadband + slow swings, up to a few hundred uV) of given durations."""
    length = int(np.max(seconds, initial=1.0) * fs)
    t = np.arange(length) / fs
    win = np.clip(np.minimum(t, seconds[:, None] - t) / 0.5, 0.0, 1.0)
    hf = rng.standard_normal((k, length)) * rng.uniform(20, 80, (k, 1))
    lf = np.sin(2 * np.pi * rng.uniform(0.3, 2.0, (k, 1)) * t + rng.uniform(0, 6.3, (k, 1)))
    return win * (hf + lf * rng.uniform(50, 250, (k, 1)))


def render(
    rng: np.random.Generator,
    feats: np.ndarray,
    night: Night,
    traits: Traits,
    fs: float,
    gains: dict[str, dict[str, float]],
) -> dict[str, np.ndarray]:
    """Signals (uV, float32, one per channel in ``gains``) of the whole night at ``fs`` Hz."""
    n_ep = feats.shape[0]
    n = int(round(n_ep * 30 * fs))
    n_sec = n_ep * 30

    def env(name: str) -> np.ndarray:
        return cp.epoch_envelope(feats[:, _IDX[name]], n, fs, jitter_s=8.0, rng=rng)

    def rate(name: str) -> np.ndarray:
        return cp.epoch_envelope(feats[:, _IDX[name]], n_sec, 1.0, jitter_s=8.0, rng=rng)

    band_list = [(traits.alpha_hz, 1.6), (traits.theta_hz, 2.5), (0.9, 1.3), (22.0, 14.0), (0.35, 0.45)]
    bands = cp.band_noise(rng, n, fs, band_list, pink=3)
    src: dict[str, np.ndarray] = {
        "alpha": bands[0] * env("alpha"),
        "theta": bands[1] * env("theta"),
        "delta": bands[2] * env("delta"),
        "beta": bands[3] * env("beta"),
    }
    on = cp.event_onsets(rng, rate("spindle"), fs, n)
    src["spindle"] = cp.scatter(n, on, cp.spindles(rng, on.size, fs, traits.spindle_hz, 22.0 * traits.amp))
    on = cp.event_onsets(rng, rate("kc"), fs, n)
    kc = cp.scatter(n, on, cp.k_complexes(rng, on.size, fs, 130.0 * traits.amp))
    follow = on[rng.random(on.size) < 0.35] + int(0.9 * fs)  # K-complexes often followed by a spindle
    src["spindle"] += cp.scatter(
        n, follow, cp.spindles(rng, follow.size, fs, traits.spindle_hz, 18.0 * traits.amp)
    )
    src["kc"] = kc
    on = cp.event_onsets(rng, rate("vertex"), fs, n)
    src["vertex"] = cp.scatter(n, on, cp.vertex_waves(rng, on.size, fs, 55.0 * traits.amp))
    on = cp.event_onsets(rng, rate("saw"), fs, n)
    src["saw"] = cp.scatter(n, on, cp.sawtooth_trains(rng, on.size, fs, 28.0 * traits.amp))
    on = cp.burst_expand(rng, cp.event_onsets(rng, rate("sacc"), fs, n), fs, 3)
    eye = cp.scatter(n, on, cp.saccades(rng, on.size, fs, 140.0 * traits.eog_gain))
    src["eye"] = eye + bands[4] * env("sem") * traits.eog_gain
    on = cp.event_onsets(rng, rate("blink"), fs, n)
    src["blink"] = cp.scatter(n, on, cp.blinks(rng, on.size, fs, 110.0 * traits.eog_gain))
    # Movement: a long burst inside each movement epoch, short bursts during wake.
    mv_epochs = np.flatnonzero(night.movement)
    on_long = ((mv_epochs * 30 + rng.uniform(0, 12, mv_epochs.size)) * fs).astype(np.int64)
    short_rate = np.repeat((night.state == W) * 0.004, 30)
    on_short = cp.event_onsets(rng, short_rate, fs, n)
    on_mv = np.concatenate([on_long, on_short])
    dur = np.concatenate([rng.uniform(10, 18, on_long.size), rng.uniform(1.5, 5, on_short.size)])
    move_src = cp.scatter(n, on_mv, _movement_waves(rng, on_mv.size, fs, dur))

    names = list(src)
    stack = np.concatenate([np.stack([src[k] for k in names]), move_src[None], bands[5:]])
    weights = np.zeros((len(gains), stack.shape[0]), dtype=np.float32)
    for i, g in enumerate(gains.values()):
        weights[i, : len(names)] = [g.get(k, 0.0) * rng.lognormal(0.0, 0.05) for k in names]
        weights[i, len(names)] = g["move"] * rng.uniform(0.6, 1.4)
        # Each channel's own mixture of the shared 1/f background sources.
        weights[i, len(names) + 1 :] = rng.dirichlet(np.ones(3) * 0.7) * 5.0 * traits.amp
    mixed = weights @ stack  # (channels, samples): one BLAS call instead of a loop over sources
    out: dict[str, np.ndarray] = {}
    for i, (ch, g) in enumerate(gains.items()):
        on = cp.event_onsets(rng, np.full(n_sec, 3.0 / 36000.0), fs, n)  # ~3 electrode pops per 10 h
        mixed[i] += g["pop"] * cp.scatter(n, on, cp.pops(rng, on.size, fs, 150.0))
        out[ch] = mixed[i]
    return out


def tone_per_second(rng: np.random.Generator, feats: np.ndarray, night: Night) -> np.ndarray:
    """Muscle tone 0..~1.5 per second (REM atonia, twitches, movement bursts), shape ``(seconds,)``."""
    n_sec = feats.shape[0] * 30
    tone = cp.epoch_envelope(feats[:, _IDX["tone"]], n_sec, 1.0, jitter_s=5.0, rng=rng)
    twitch = rng.random(n_sec) < np.repeat(np.where(night.state == R, 0.03, 0.002), 30)
    tone = tone + twitch * rng.uniform(0.3, 1.0, n_sec)
    mv = np.repeat(night.movement, 30) & (rng.random(n_sec) < 0.6)
    return tone + mv * rng.uniform(0.5, 2.0, n_sec)


def emg_envelope(rng: np.random.Generator, tone: np.ndarray, traits: Traits) -> np.ndarray:
    """Sleep-EDF ``EMG submental``: rectified, 0.7-Hz low-passed envelope at 1 Hz, uV (about 3-5)."""
    x = 3.0 + traits.emg_offset + 0.8 * tone + rng.normal(0.0, 0.05, tone.size)
    return np.clip(x, -5.0, 5.0)


def emg_raw(rng: np.random.Generator, tone: np.ndarray, fs: float) -> np.ndarray:
    """Raw chin EMG (20-100 Hz noise scaled by tone, uV) at ``fs`` Hz, shape ``(seconds * fs,)``."""
    n = int(tone.size * fs)
    hf = cp.band_noise(rng, n, fs, [(min(60.0, fs / 2 - 20), 60.0)])[0]
    env = np.interp(np.arange(n) / fs, np.arange(tone.size) + 0.5, 2.0 + 18.0 * tone)
    return (hf * env).astype(np.float32)


def ecg(rng: np.random.Generator, night: Night, traits: Traits, fs: float) -> np.ndarray:
    """ECG (uV) with a stage-dependent heart rate and PQRST complexes, shape ``(epochs * 30 * fs,)``."""
    n = int(night.state.size * 30 * fs)
    bpm = traits.heart_bpm + np.array([8.0, 4.0, 0.0, -3.0, -4.0, 6.0])[night.state]
    bpm = bpm + rng.normal(0.0, 2.0, bpm.size)
    rate = cp.epoch_envelope(bpm / 60.0, n, fs)
    rate *= 1.0 + 0.04 * np.sin(2 * np.pi * 0.25 * np.arange(n) / fs)  # respiratory sinus arrhythmia
    phase = np.cumsum(rate / fs)
    beats = np.flatnonzero(np.diff(np.floor(phase))) + 1
    t = np.arange(int(0.8 * fs)) / fs
    tpl = (
        0.12 * np.exp(-(((t - 0.10) / 0.025) ** 2))
        - 0.10 * np.exp(-(((t - 0.22) / 0.008) ** 2))
        + 1.00 * np.exp(-(((t - 0.24) / 0.010) ** 2))
        - 0.20 * np.exp(-(((t - 0.26) / 0.010) ** 2))
        + 0.25 * np.exp(-(((t - 0.50) / 0.050) ** 2))
    )
    waves = tpl[None, :] * rng.uniform(700, 900) * rng.uniform(0.95, 1.05, (beats.size, 1))
    x = cp.scatter(n, beats, waves)
    return x + rng.normal(0.0, 8.0, n).astype(np.float32)


def respiration(rng: np.random.Generator, night: Night, fs: float = 1.0) -> np.ndarray:
    """Oro-nasal thermistor airflow (arbitrary units, about +-500) at ``fs`` Hz: regular in NREM."""
    n_sec = night.state.size * 30
    n = int(n_sec * fs)
    bpm = np.array([16.0, 15.0, 14.0, 13.0, 13.0, 16.5])[night.state] + rng.normal(0, 1.0, night.state.size)
    irregular = np.array([0.25, 0.15, 0.08, 0.05, 0.05, 0.3])[night.state]
    rate = cp.epoch_envelope(bpm / 60.0, n, fs) * (
        1 + cp.epoch_envelope(irregular, n, fs) * rng.normal(0, 1, n)
    )
    phase = np.cumsum(np.clip(rate, 0.05, 0.6) / fs)
    amp = rng.uniform(350, 550) * (1 + 0.3 * cp.band_noise(rng, n, fs, [(0.01, 0.02)])[0])
    return amp * np.sin(2 * np.pi * phase) + rng.normal(0, 40, n)


def rectal_temperature(rng: np.random.Generator, n_sec: int, start_hour: float) -> np.ndarray:
    """Rectal temperature (degC) per second: circadian minimum near 05:00, 36.3-37.4 degC."""
    h = start_hour + np.arange(n_sec) / 3600.0
    base = rng.uniform(36.7, 37.0) + 0.4 * np.cos(2 * np.pi * (h - 17.0) / 24.0)
    drift = np.cumsum(rng.normal(0, 0.0004, n_sec))
    return base + drift - drift.mean() + rng.normal(0, 0.005, n_sec)


def event_marker(rng: np.random.Generator, n_sec: int) -> np.ndarray:
    """The cassette ``Event marker`` channel: a slowly wandering offset with rare button presses."""
    level = rng.uniform(780, 900) + 30 * cp.band_noise(rng, n_sec, 1.0, [(0.0005, 0.001)])[0]
    presses = rng.random(n_sec) < 2e-5
    return level - presses * rng.uniform(600, 700, n_sec) + rng.normal(0, 2.0, n_sec)
