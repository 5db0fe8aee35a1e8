"""AASM sleep statistics of a hypnogram over a chosen sleep period, computed by YASA.

YASA (``yasa.Hypnogram``) computes what it defines: TIB, SPT, TST, WASO, SE, SME, SFI, SOL, the
latency to 5 min of persistent sleep, its REM latency (from the start of the period), minutes and
percent of TST per stage, the transition matrix and runs of a stage. This module only chooses the
epochs (``physioex.inference.sleep_period``), maps physioex's stage codes onto YASA's labels
(unscored -1 -> ``UNS``, movement -2 -> ``ART``: neither sleep nor wake), and adds what YASA lacks:
the AASM REM latency (from sleep onset), the number of awakenings and of stage transitions within
the sleep period time. Definitions and units: docs/sleep-statistics.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from physioex import EPOCH_SECONDS
from physioex.inference.sleep_period import SleepPeriod, lights_period, recording_period

YASA_LABELS: dict[int, str] = {0: "WAKE", 1: "N1", 2: "N2", 3: "N3", 4: "REM", -1: "UNS", -2: "ART"}
"""physioex stage code -> YASA 5-stage label. YASA's own integer codes differ: its -1 is artefact
(physioex's -2, movement) and its -2 unscored (physioex's -1)."""

NAMES: dict[str, str] = {
    "WAKE": "W",
    "N1": "N1",
    "N2": "N2",
    "N3": "N3",
    "REM": "REM",
    "UNS": "unscored",
    "ART": "movement",
}
"""YASA label -> the name physioex reports (rows and columns of the transition matrix)."""

STAGE_CODES: dict[str, int] = {
    "W": 0,
    "N1": 1,
    "N2": 2,
    "N3": 3,
    "REM": 4,
    "R": 4,
    "unscored": -1,
    "movement": -2,
}
"""Stage names accepted by :func:`sleep_statistics` (physioex's, YASA's ``R``, the unscored kinds)."""

UNITS: dict[str, str] = {
    "TIB_min": "min",
    "SPT_min": "min",
    "TST_min": "min",
    "WASO_min": "min",
    "SE_pct": "%",
    "SME_pct": "%",
    "SOL_min": "min",
    "persistent_SOL_min": "min",
    "REM_latency_min": "min",
    "REM_latency_from_period_start_min": "min",
    "W_min": "min",
    "N1_min": "min",
    "N2_min": "min",
    "N3_min": "min",
    "REM_min": "min",
    "unscored_min": "min",
    "movement_min": "min",
    "N1_pct": "% of TST",
    "N2_pct": "% of TST",
    "N3_pct": "% of TST",
    "REM_pct": "% of TST",
    "awakenings": "count",
    "transitions": "count",
    "SFI_per_h": "1/h of TST",
}
"""Every statistic :func:`sleep_statistics` reports, in this order, with its unit."""

_FROM_YASA = {
    "TIB_min": "TIB",
    "SPT_min": "SPT",
    "TST_min": "TST",
    "WASO_min": "WASO",
    "SE_pct": "SE",
    "SME_pct": "SME",
    "SOL_min": "SOL",
    "persistent_SOL_min": "SOL_5min",
    "REM_latency_from_period_start_min": "Lat_REM",
    "W_min": "WAKE",
    "N1_min": "N1",
    "N2_min": "N2",
    "N3_min": "N3",
    "REM_min": "REM",
    "unscored_min": "UNS",
    "movement_min": "ART",
    "N1_pct": "%N1",
    "N2_pct": "%N2",
    "N3_pct": "%N3",
    "REM_pct": "%REM",
    "SFI_per_h": "SFI",
}
"""Our name -> the key of ``yasa.Hypnogram.sleep_statistics`` (``UNS``/``ART``: only when present)."""


@dataclass(frozen=True)
class SleepStatistics:
    """The statistics of one hypnogram over ``period``.

    ``values`` follows :data:`UNITS` (minutes, %, counts); undefined values (no sleep: SOL, WASO, SME,
    latencies) are NaN. ``transition_counts[a][b]`` counts epochs of stage ``a`` followed by ``b``
    within the sleep period time (empty without sleep).
    """

    period: SleepPeriod
    values: dict[str, float]
    transition_counts: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: period, statistics (NaN -> ``None``), their units and the transition counts."""
        return {
            "period": self.period.to_dict(),
            "statistics": {k: (None if math.isnan(v) else v) for k, v in self.values.items()},
            "units": dict(UNITS),
            "transition_counts": self.transition_counts,
        }

    def describe(self) -> str:
        """A short human-readable summary (a few lines)."""
        v = self.values

        def m(key: str) -> str:
            return "n/a" if math.isnan(v[key]) else f"{v[key]:.1f} min"

        def p(key: str) -> str:
            return "n/a" if math.isnan(v[key]) else f"{v[key]:.1f} %"

        stages = "  ".join(f"{s} {v[f'{s}_min']:.1f}" for s in ("W", "N1", "N2", "N3", "REM"))
        shares = "  ".join(
            f"{s} {'n/a' if math.isnan(v[f'{s}_pct']) else format(v[f'{s}_pct'], '.1f')}"
            for s in ("N1", "N2", "N3", "REM")
        )
        return (
            f"{self.period.describe()}\n"
            f"time in bed {m('TIB_min')}, total sleep time {m('TST_min')}, sleep period {m('SPT_min')}\n"
            f"sleep efficiency {p('SE_pct')}, sleep maintenance efficiency {p('SME_pct')}\n"
            f"sleep onset latency {m('SOL_min')}, REM latency (from sleep onset) {m('REM_latency_min')}, "
            f"WASO {m('WASO_min')}\n"
            f"awakenings {int(v['awakenings'])}, stage transitions {int(v['transitions'])}\n"
            f"minutes per stage: {stages}\n% of TST: {shares}"
        )


def stage_codes(stages: Sequence[str] | Sequence[int] | np.ndarray) -> np.ndarray:
    """int8 codes ``(epochs,)`` (0 W .. 4 REM, -1 unscored, -2 movement) of stage names or codes."""
    arr = np.asarray(stages)
    if arr.ndim != 1:
        raise ValueError(f"stages: must be one stage per epoch (1-D), got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        bad = sorted(set(np.unique(arr).tolist()) - set(YASA_LABELS))
        if bad:
            raise ValueError(
                f"stages: unknown stage code(s) {bad}; use 0 W .. 4 REM, -1 unscored, -2 movement"
            )
        return arr.astype(np.int8)
    names = [str(s) for s in arr.tolist()]
    bad_names = sorted(set(names) - set(STAGE_CODES))
    if bad_names:
        raise ValueError(f"stages: unknown stage name(s) {bad_names}; use one of {', '.join(STAGE_CODES)}")
    return np.array([STAGE_CODES[s] for s in names], dtype=np.int8)


def sleep_statistics(
    stages: Sequence[str] | Sequence[int] | np.ndarray,
    epoch_s: float = EPOCH_SECONDS,
    period: SleepPeriod | tuple[float, float] | None = None,
    *,
    min_awakening_epochs: int = 1,
) -> SleepStatistics:
    """AASM sleep statistics of a hypnogram over ``period``, computed by YASA.

    Parameters
    ----------
    stages : sequence of str or int
        One stage per epoch from the recording start: names ``W N1 N2 N3 REM`` (or ``R``,
        ``unscored``, ``movement``) or codes 0..4, -1 unscored, -2 movement.
    epoch_s : float
        Epoch length in seconds.
    period : SleepPeriod or (start_s, end_s), optional
        The sleep period (time in bed): a :class:`~physioex.inference.sleep_period.SleepPeriod`
        (``choose_period``, ``crop_period``, ...), or lights-off..lights-on in seconds from the first
        epoch (rounded to the nearest epoch boundary). Default: the whole hypnogram.
    min_awakening_epochs : int
        Shortest run of wake within the sleep period time that counts as an awakening, in epochs.

    Returns
    -------
    SleepStatistics
        ``values`` in minutes, % (SE, SME of TIB/SPT; stage shares of TST) and counts, see
        :data:`UNITS`; the period; the transition counts within the sleep period time.

    Notes
    -----
    YASA's definitions (``yasa.Hypnogram.sleep_statistics``): TIB is the period; SPT runs from the
    first to the last sleep epoch; TST is N1+N2+N3+REM within SPT; WASO is wake within SPT; SE =
    TST/TIB, SME = TST/SPT; SOL is from the period start to the first sleep epoch. Unscored and
    movement epochs are neither sleep nor wake: they count in TIB and SPT but not in TST or WASO.
    ``REM_latency_min`` is AASM's (from sleep onset: YASA's ``Lat_REM - SOL``);
    ``REM_latency_from_period_start_min`` is YASA's ``Lat_REM``. An awakening is a maximal run of
    at least ``min_awakening_epochs`` wake epochs within SPT; ``transitions`` counts consecutive
    epochs of different stages within SPT.

    Examples
    --------
    >>> s = sleep_statistics(["W", "W", "N1", "N2", "W", "N2", "REM", "W"], period=(30, 240))
    >>> s.values["TIB_min"], s.values["SOL_min"], s.values["REM_latency_min"], s.values["awakenings"]
    (3.5, 0.5, 2.0, 1.0)
    """
    import yasa

    codes = stage_codes(stages)
    n = int(codes.shape[0])
    if not (math.isfinite(epoch_s) and epoch_s > 0):
        raise ValueError(f"epoch_s: must be a positive number of seconds, got {epoch_s}")
    if isinstance(min_awakening_epochs, bool) or int(min_awakening_epochs) != min_awakening_epochs:
        raise ValueError(
            f"min_awakening_epochs: must be a whole number of epochs, got {min_awakening_epochs}"
        )
    if min_awakening_epochs < 1:
        raise ValueError(f"min_awakening_epochs: must be at least 1, got {min_awakening_epochs}")
    if n == 0:
        raise ValueError("stages: the hypnogram is empty")
    if period is None:
        period = recording_period(n, epoch_s=epoch_s)
    elif not isinstance(period, SleepPeriod):
        off, on = (float(t) for t in period)
        period = lights_period(off, on, n, epoch_s=epoch_s, detail="given", where="period")
    if period.epoch_s != epoch_s or not 0 <= period.start_epoch < period.stop_epoch <= n:
        raise ValueError(
            f"period: epochs {period.start_epoch}-{period.stop_epoch} of {period.epoch_s:g} s do not lie "
            f"within this hypnogram of {n} epochs of {epoch_s:g} s"
        )
    labels = [YASA_LABELS[int(c)] for c in codes[period.start_epoch : period.stop_epoch]]
    hyp = yasa.Hypnogram(labels, n_stages=5, freq=f"{epoch_s:g}s")
    y = hyp.sleep_statistics()
    values = {
        k: float(y.get(key, 0.0 if key in ("UNS", "ART") else math.nan)) for k, key in _FROM_YASA.items()
    }
    values["REM_latency_min"] = values["REM_latency_from_period_start_min"] - values["SOL_min"]
    sleep = np.flatnonzero(np.isin(codes[period.start_epoch : period.stop_epoch], (1, 2, 3, 4)))
    transitions: dict[str, dict[str, int]] = {}
    values["awakenings"] = values["transitions"] = 0.0
    if sleep.size:
        spt = hyp[int(sleep[0]) : int(sleep[-1]) + 1]
        runs = spt.find_periods(threshold=f"{min_awakening_epochs * epoch_s:g}s")
        values["awakenings"] = float((runs["values"] == "WAKE").sum())
        counts, _ = spt.transition_matrix()
        matrix = counts.to_numpy()
        values["transitions"] = float(matrix.sum() - np.trace(matrix))
        transitions = {
            NAMES[str(a)]: {NAMES[str(b)]: int(counts.loc[a, b]) for b in counts.columns}
            for a in counts.index
        }
    return SleepStatistics(period, {k: values[k] for k in UNITS}, transitions)
