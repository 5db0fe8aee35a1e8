"""Synthetic hypnograms: a plausible night of R&K stages in 30-s epochs (cycles, awakenings, `?`, movement).

The night is ``hours`` long and laid out like a Sleep-EDF cassette recording: wake before lights-off
(longer than the usual 30-min crop), 4-6 NREM/REM cycles of about 90 min with N3 early and REM
lengthening, brief awakenings, a few ``Movement time`` and ``?`` epochs, wake after the final
awakening and a trailing ``Sleep stage ?`` that runs past the end of the PSG.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

W, S1, S2, S3, S4, R, UNSCORED, MOVEMENT = range(8)
"""R&K epoch codes used throughout :mod:`physioex.synth`."""

RK_ANNOTATIONS: tuple[str, ...] = (
    "Sleep stage W",
    "Sleep stage 1",
    "Sleep stage 2",
    "Sleep stage 3",
    "Sleep stage 4",
    "Sleep stage R",
    "Sleep stage ?",
    "Movement time",
)
"""Sleep-EDF annotation text of each R&K code (index = code), exactly as in the real hypnograms."""

RK_TO_AASM: np.ndarray = np.array([0, 1, 2, 3, 3, 4, -1, -1], dtype=np.int8)
"""R&K code -> AASM label (0 W, 1 N1, 2 N2, 3 N3, 4 REM; -1 unscored or movement), as in Dreem files."""

EPOCHS_PER_HOUR = 120
MIN_SLEEP_EPOCHS = 60
"""Shortest sleep period (30 min) the generator accepts after the surrounding wake."""


@dataclass(frozen=True)
class Night:
    """One simulated night, epoch by epoch (30 s)."""

    labels: np.ndarray
    """R&K code per PSG epoch as scored (``?`` and ``Movement time`` included), shape ``(epochs,)``."""
    state: np.ndarray
    """Physiological state per epoch driving the signals (W, S1..S4, R; never ``?``/movement)."""
    movement: np.ndarray
    """Bool per epoch: body-movement artefact present."""
    drowsiness: np.ndarray
    """0..1 per epoch: how drowsy a wake epoch is (alpha drop-out, slow eye movements)."""
    trailing_unscored_s: float
    """Seconds the final ``Sleep stage ?`` annotation runs past the end of the PSG."""

    @property
    def aasm(self) -> np.ndarray:
        """AASM labels per epoch (0 W .. 4 REM, -1 unscored/movement), int8 ``(epochs,)``."""
        return RK_TO_AASM[self.labels]


def _cycle_plan(rng: np.random.Generator, n_sleep: int, deep_factor: float) -> np.ndarray:
    """Stage code per epoch of the sleep period as clean cycles N1 -> N2 -> N3 -> N2 -> REM."""
    n_cycles = max(1, int(round(n_sleep / 180)))
    lengths = np.clip(rng.normal(180, 24, n_cycles), 120, 260)
    lengths = np.maximum(np.round(lengths / lengths.sum() * n_sleep).astype(int), 1)
    lengths[-1] += n_sleep - lengths.sum()
    n3_frac = np.array([0.42, 0.26, 0.10, 0.03, 0.0, 0.0, 0.0, 0.0])
    rem_frac = np.array([0.09, 0.19, 0.25, 0.30, 0.34, 0.36, 0.38, 0.38])
    plan: list[np.ndarray] = []
    for i, n in enumerate(lengths):
        k = min(i, len(n3_frac) - 1)
        n1 = int(rng.integers(3, 9)) if i == 0 else int(rng.integers(0, 4))
        n3 = int(round(n * n3_frac[k] * deep_factor * rng.uniform(0.8, 1.2)))
        rem = int(round(n * rem_frac[k] * rng.uniform(0.8, 1.2)))
        n2 = max(n - n1 - n3 - rem, 4)
        n2a = int(round(n2 * rng.uniform(0.3, 0.45)))
        parts = [(S1, n1), (S2, n2a), (S3, n3), (S2, n2 - n2a), (R, rem)]
        cyc = np.concatenate([np.full(m, code, dtype=np.int8) for code, m in parts])[:n]
        if n3 > 0:  # S4 in the deep middle of long N3 runs, S3 at the edges (R&K >50% vs 20-50% delta)
            idx = np.flatnonzero(cyc == S3)
            depth = np.sin(np.pi * (np.arange(idx.size) + 0.5) / idx.size)
            p4 = np.clip(1.4 * depth - 0.35, 0, 0.9) * (1.0 if i < 2 else 0.4)
            cyc[idx[rng.random(idx.size) < p4]] = S4
        plan.append(np.pad(cyc, (0, n - cyc.size), mode="edge"))
    return np.concatenate(plan)


def _fragment(rng: np.random.Generator, sleep: np.ndarray, movement: np.ndarray) -> None:
    """Add brief awakenings, N1/N2 intrusions and movement epochs in place."""
    n = sleep.size
    hours = n / EPOCHS_PER_HOUR
    # Stage-boundary jitter: isolated N1 in N2/REM, N2 inside N3.
    u = rng.random(n)
    sleep[(u < 0.035) & ((sleep == S2) | (sleep == R))] = S1
    sleep[(u > 0.93) & ((sleep == S3) | (sleep == S4))] = S2
    # Brief awakenings, more frequent late in the night and at the end of REM periods.
    n_wake = rng.poisson(hours * rng.uniform(1.5, 3.0))
    weights = np.linspace(0.5, 1.5, n)
    starts = list(rng.choice(n, size=n_wake, p=weights / weights.sum()))
    rem_ends = np.flatnonzero((sleep[:-1] == R) & (sleep[1:] != R))
    starts += [e + 1 for e in rem_ends if rng.random() < 0.5]
    for s in starts:
        d = int(rng.integers(1, 5))
        sleep[s : s + d] = W
        if rng.random() < 0.25:
            movement[s] = True
        tail = int(rng.integers(0, 4)) if rng.random() < 0.6 else 0
        sleep[s + d : s + d + tail] = S1


_CONFUSION = {
    # state: ((scored instead, probability), ...); human scorers agree on only ~80-85% of epochs
    W: ((S1, 0.03),),
    S1: ((W, 0.10), (S2, 0.08), (R, 0.02)),
    S2: ((S1, 0.025), (S3, 0.035)),
    S3: ((S2, 0.10), (S4, 0.05)),
    S4: ((S3, 0.10),),
    R: ((S1, 0.04), (S2, 0.02), (W, 0.01)),
}


def score(rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
    """Labels a human scorer gives to ``state``: stage changes shifted by an epoch now and then and
    occasional neighbour-stage confusions, so that labels are not a perfect function of the signals."""
    labels = state.copy()
    change = np.flatnonzero(np.diff(state)) + 1
    shift = change[rng.random(change.size) < 0.3]
    late = rng.random(shift.size) < 0.5  # scorer places the change one epoch later (else earlier)
    labels[shift[late]] = state[shift[late] - 1]
    early = shift[~late]
    labels[early - 1] = state[early]
    asleep = np.flatnonzero(state != W)
    u = rng.random(state.size)
    if asleep.size:  # no confusions in the long wake far from sleep: it is unambiguous
        u[: max(asleep[0] - 10, 0)] = 1.0
        u[asleep[-1] + 10 :] = 1.0
    for src, options in _CONFUSION.items():
        lo = 0.0
        for dst, p in options:
            labels[(state == src) & (u >= lo) & (u < lo + p)] = dst
            lo += p
    return labels


def simulate_night(rng: np.random.Generator, hours: float, *, deep_factor: float = 1.0) -> Night:
    """Simulate a night of ``hours`` (>= about 2.1 h) as 30-s R&K epochs with wake at both ends."""
    n = int(round(hours * EPOCHS_PER_HOUR))
    spread = float(np.clip((hours - 2.0) / 6.0, 0.0, 1.0))  # short demo nights get shorter wake
    pre = int(round(rng.uniform(45, 45 + 30 * spread) * 2))
    post = int(round(rng.uniform(33, 33 + 27 * spread) * 2))
    unscored_tail = int(rng.integers(0, 20)) if rng.random() < 0.6 else 0
    n_sleep = n - pre - post - unscored_tail
    if n_sleep < MIN_SLEEP_EPOCHS:
        raise ValueError(
            f"hours={hours} is too short for a demo night: need about {(pre + post + 60) / 120:.1f} h "
            "(wake before and after sleep, at least 30 min of sleep)"
        )
    sleep = _cycle_plan(rng, n_sleep, deep_factor)
    movement = np.zeros(n, dtype=bool)
    sleep_mv = movement[pre : pre + n_sleep]
    _fragment(rng, sleep, sleep_mv)
    state = np.concatenate(
        [np.full(pre, W, np.int8), sleep.astype(np.int8), np.full(post + unscored_tail, W, np.int8)]
    )
    # Sleep-onset attempts: a few N1 epochs in the last 15 min of pre-sleep wake.
    for _ in range(int(rng.integers(0, 3))):
        s = pre - int(rng.integers(4, 20))
        state[s : s + int(rng.integers(1, 3))] = S1
    drowsiness = np.zeros(n)
    ramp = int(rng.integers(10, 30))
    drowsiness[pre - ramp : pre] = np.linspace(0.1, 0.8, ramp)
    drowsiness[pre : pre + n_sleep] = 0.5  # wake inside the sleep period is drowsy-ish
    drowsiness[pre + n_sleep : pre + n_sleep + 10] = np.linspace(0.4, 0.0, 10)
    labels = score(rng, state)
    movement[rng.integers(pre // 2, pre, size=rng.integers(0, 2))] = True  # restless before sleep
    labels[movement & (state == W)] = MOVEMENT
    # A few isolated '?' epochs (signal loss, scorer doubt) and the unscored tail before lights-on.
    lost = rng.choice(np.arange(pre, pre + n_sleep), size=rng.poisson(1.0), replace=False)
    labels[lost] = UNSCORED
    if unscored_tail:
        labels[-unscored_tail:] = UNSCORED
    trailing = float(rng.integers(20, 240) * 30)
    return Night(labels, state, movement, drowsiness, trailing)


def runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """Run-length encoding ``[(start_epoch, n_epochs, code), ...]`` of an epoch label array."""
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [labels.size]])
    return [(int(s), int(e - s), int(labels[s])) for s, e in zip(starts, ends, strict=True)]
