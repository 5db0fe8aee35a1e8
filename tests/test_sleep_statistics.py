"""AASM sleep statistics over the chosen sleep period: YASA's numbers, the period rule, clock times,
the real SC4001 night."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import SC4001

from physioex.errors import InputError
from physioex.inference.sleep_period import (
    SleepPeriod,
    choose_period,
    crop_period,
    lights_from_annotations,
    parse_time,
    read_lights,
)
from physioex.inference.sleep_statistics import UNITS, sleep_statistics

W, N1, N2, N3, R, UNS, MOV = 0, 1, 2, 3, 4, -1, -2
START = dt.datetime(2024, 3, 1, 22, 15, 0)

HYPNOGRAMS = {
    "with-rem": [W] * 6 + [N1, N2, N2, N3, N3, N2, W, N2, R, R, R, N2, N1, W, W, N2, R] + [W] * 4,
    "without-rem": [W, W, N1, N2, N3, N3, W, W, N2, N2, N1, W, W],
    "unscored": [UNS, W, W, N1, N2, UNS, UNS, N2, MOV, W, N3, R, MOV, R, W, UNS, UNS],
    "wake-both-ends": [W] * 10 + [N2] * 5 + [W] * 2 + [R] * 3 + [W] * 10,
    "sleeps-from-the-start": [N2, N2, N3, W, R, R],
    "never-sleeps": [W, W, UNS, W, MOV, W],
}

# YASA's legacy integer function (an implementation separate from the Hypnogram class physioex calls):
# its integer codes are -1 artefact/movement, -2 unscored (physioex's are the other way round).
TO_YASA_INT = {W: 0, N1: 1, N2: 2, N3: 3, R: 4, UNS: -2, MOV: -1}
LEGACY = {
    "TIB_min": "TIB",
    "SPT_min": "SPT",
    "TST_min": "TST",
    "WASO_min": "WASO",
    "SE_pct": "SE",
    "SME_pct": "SME",
    "SOL_min": "SOL",
    "REM_latency_from_period_start_min": "Lat_REM",
    "N1_min": "N1",
    "N2_min": "N2",
    "N3_min": "N3",
    "REM_min": "REM",
    "N1_pct": "%N1",
    "N2_pct": "%N2",
    "N3_pct": "%N3",
    "REM_pct": "%REM",
}


def yasa_legacy(codes: list[int] | np.ndarray) -> dict[str, float]:
    import yasa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return dict(yasa.sleep_statistics([TO_YASA_INT[int(c)] for c in codes], sf_hyp=1 / 30))


def assert_matches_yasa(values: dict[str, float], codes: list[int] | np.ndarray) -> None:
    ref = yasa_legacy(codes)
    for ours, theirs in LEGACY.items():
        np.testing.assert_allclose(values[ours], ref[theirs], atol=1e-3, err_msg=ours)
    # AASM's REM latency counts from sleep onset: YASA's Lat_REM - SOL (YASA's docstring says so)
    np.testing.assert_allclose(values["REM_latency_min"], ref["Lat_REM"] - ref["SOL"], atol=1e-3)
    wake = float(np.sum(np.asarray(codes) == W)) / 2
    assert values["W_min"] == wake
    assert values["unscored_min"] == float(np.sum(np.asarray(codes) == UNS)) / 2
    assert values["movement_min"] == float(np.sum(np.asarray(codes) == MOV)) / 2


@pytest.mark.parametrize("name", sorted(HYPNOGRAMS))
def test_whole_hypnogram_matches_yasa(name: str) -> None:
    codes = HYPNOGRAMS[name]
    s = sleep_statistics(codes)
    assert list(s.values) == list(UNITS)
    assert s.period.source == "recording" and (s.period.start_s, s.period.end_s) == (0, 30 * len(codes))
    assert_matches_yasa(s.values, codes)


@pytest.mark.parametrize("name", ["with-rem", "unscored", "wake-both-ends"])
def test_a_period_is_yasa_on_the_same_slice(name: str) -> None:
    codes = HYPNOGRAMS[name]
    start, stop = 2, len(codes) - 3
    s = sleep_statistics(codes, period=(start * 30, stop * 30))
    assert (s.period.source, s.period.start_epoch, s.period.stop_epoch) == ("lights", start, stop)
    assert_matches_yasa(s.values, codes[start:stop])
    assert s.values["TIB_min"] == (stop - start) / 2


def test_a_night_that_never_sleeps() -> None:
    s = sleep_statistics(HYPNOGRAMS["never-sleeps"])
    v = s.values
    assert (v["TIB_min"], v["TST_min"], v["SPT_min"], v["SE_pct"]) == (3.0, 0.0, 0.0, 0.0)
    for undefined in ("SOL_min", "WASO_min", "SME_pct", "REM_latency_min", "N2_pct"):
        assert np.isnan(v[undefined]), undefined
    assert v["awakenings"] == v["transitions"] == 0 and s.transition_counts == {}
    d = s.to_dict()  # undefined values are null in the JSON, never NaN
    assert d["statistics"]["SOL_min"] is None and d["statistics"]["TIB_min"] == 3.0


def test_hand_checked_values_of_a_tiny_night() -> None:
    #        0  1  2   3   4  5   6  7   8  9
    codes = [W, W, W, N1, N2, W, N2, R, W, W]
    s = sleep_statistics(codes, period=(30, 270))  # lights-off at epoch 1, lights-on after epoch 8
    v = s.values
    assert v["TIB_min"] == 4.0  # epochs 1..8
    assert v["SOL_min"] == 1.0  # epochs 1, 2 awake
    assert v["SPT_min"] == 2.5 and v["TST_min"] == 2.0 and v["WASO_min"] == 0.5  # epochs 3..7
    assert v["REM_latency_min"] == 2.0  # sleep onset at epoch 3, first REM at epoch 7
    assert v["REM_latency_from_period_start_min"] == 3.0
    assert v["SE_pct"] == 50.0 and v["SME_pct"] == 80.0
    assert v["awakenings"] == 1  # epoch 5; the final wake (epoch 8) is after the sleep period
    assert v["transitions"] == 4  # N1>N2, N2>W, W>N2, N2>REM
    assert s.transition_counts["N2"] == {"W": 1, "N1": 0, "N2": 0, "REM": 1}
    assert v["N1_pct"] == 25.0 and v["N2_pct"] == 50.0 and v["REM_pct"] == 25.0


def test_awakenings_are_runs_of_wake_inside_the_sleep_period() -> None:
    codes = [W, W, N2, W, N2, W, W, N2, UNS, N2, W, W, W, N2, W, W]
    assert sleep_statistics(codes).values["awakenings"] == 3
    assert sleep_statistics(codes, min_awakening_epochs=2).values["awakenings"] == 2
    assert sleep_statistics(codes, min_awakening_epochs=3).values["awakenings"] == 1
    with pytest.raises(ValueError, match="min_awakening_epochs"):
        sleep_statistics(codes, min_awakening_epochs=0)


def test_stage_names_and_codes_give_the_same_statistics() -> None:
    names = ["W", "N1", "N2", "R", "REM", "unscored", "movement", "W", "N3", "W"]
    codes = [W, N1, N2, R, R, UNS, MOV, W, N3, W]
    assert sleep_statistics(names).values == pytest.approx(sleep_statistics(codes).values, nan_ok=True)
    with pytest.raises(ValueError, match="unknown stage name"):
        sleep_statistics(["W", "S2"])
    with pytest.raises(ValueError, match="unknown stage code"):
        sleep_statistics([0, 5])
    with pytest.raises(ValueError, match="do not lie within"):
        sleep_statistics(codes, period=SleepPeriod("crop", 2, 11))


def test_other_epoch_lengths() -> None:
    s = sleep_statistics([W, N2, N2, W, N2, W], epoch_s=20)
    assert (s.values["TIB_min"], s.values["TST_min"]) == (2.0, 1.0)
    assert s.values["SOL_min"] == pytest.approx(1 / 3, abs=1e-4)  # YASA rounds to 4 decimals


# -- which period ---------------------------------------------------------------------------------


def test_clock_times_and_seconds() -> None:
    assert parse_time("23:10", "--lights-off", START) == 55 * 60
    assert parse_time("23:10:30", "--lights-off", START) == 55 * 60 + 30
    assert parse_time("22:15", "--lights-off", START) == 0
    assert parse_time("07:05", "--lights-on", START) == (8 * 60 + 50) * 60  # past midnight: next day
    assert parse_time("22:14:59", "--lights-on", START) == 24 * 3600 - 1
    assert parse_time("3600", "--lights-off", START) == 3600.0
    assert parse_time("90.5", "--lights-off", None) == 90.5
    for bad, needle in [
        ("25:00", "not a clock time"),
        ("23:61", "not a clock time"),
        ("soon", "not a time"),
        ("-5", "must be 0 or more seconds"),
        ("nan", "must be 0 or more seconds"),
    ]:
        with pytest.raises(InputError, match=f"--lights-off '?{bad}'?: {needle}"):
            parse_time(bad, "--lights-off", START)
    with pytest.raises(InputError, match="start time is unknown; give seconds"):
        parse_time("23:10", "--lights-off", None)


def test_lights_are_rounded_to_the_nearest_epoch_and_clipped() -> None:
    labels = np.zeros(100, np.int8)
    p = choose_period(labels, recording_start=START, lights_off="22:20:14", lights_on="22:30:16")
    assert (p.source, p.start_epoch, p.stop_epoch) == ("lights", 10, 31)  # 600 s (not 614), 930 s (916)
    assert p.clock(p.start_s) == dt.datetime(2024, 3, 1, 22, 20)
    assert p.to_dict()["end_clock"] == "2024-03-01T22:30:30"
    p = choose_period(labels, lights_on=5000)  # lights-on after the recording: its end
    assert (p.start_epoch, p.stop_epoch) == (0, 100)
    with pytest.raises(InputError, match="lights-on .* is not after lights-off"):
        choose_period(labels, recording_start=START, lights_off="23:00", lights_on="22:50")
    with pytest.raises(InputError, match="holds no 30-s epoch of the recording"):
        choose_period(labels, lights_off=3100)


def test_lights_beat_crop_which_beats_the_recording() -> None:
    labels = np.array([W] * 20 + [N2] * 10 + [W] * 3 + [R] * 5 + [W] * 20, np.int8)
    crop = {"crop": "sleep", "crop_minutes": 2.0}
    p = choose_period(labels, **crop)  # type: ignore[arg-type]
    assert (p.source, p.start_epoch, p.stop_epoch) == ("crop", 16, 42)  # 4 epochs of wake kept each side
    assert crop_period(labels, "auto", 2.0) == p  # auto = sleep when lights are unknown
    assert choose_period(labels, crop="none").source == "recording"
    assert choose_period(labels, crop="lights").source == "recording"  # training records were the lights
    assert choose_period(np.zeros(50, np.int8), crop="sleep").source == "recording"  # no sleep to anchor on
    assert choose_period(labels).source == "recording"
    annotated = (300.0, 1500.0)
    p = choose_period(labels, annotated=annotated, annotations_file="h.edf", **crop)  # type: ignore[arg-type]
    assert (p.source, p.start_epoch, p.stop_epoch) == ("lights", 10, 50)
    assert "Lights off annotation in h.edf" in p.detail
    # an option wins over its annotation, the other end still comes from the annotation
    p = choose_period(labels, lights_off=600, annotated=annotated, annotations_file="h.edf")
    assert (p.start_epoch, p.stop_epoch) == (20, 50) and p.detail.startswith("--lights-off 600, Lights on")
    p = choose_period(labels, annotated=(None, 900.0), annotations_file="h.edf")  # lights-on only
    assert (p.source, p.start_epoch, p.stop_epoch) == ("lights", 0, 30)


def test_lights_annotations_of_an_edf_plus_file(tmp_path: Path) -> None:
    import edfio

    annotations = [
        edfio.EdfAnnotation(0, 600, "Sleep stage W"),
        edfio.EdfAnnotation(310, None, "Lights off"),
        edfio.EdfAnnotation(3000, None, " lights ON "),
    ]
    path = tmp_path / "scoring.edf"
    edfio.Edf(
        [],
        annotations=annotations,
        starttime=dt.time(22, 20),
        recording=edfio.Recording(startdate=START.date()),
    ).write(path)
    # the file starts 5 min after the recording: its onsets shift by 300 s
    assert read_lights(path, START) == (610.0, 3300.0)
    assert lights_from_annotations([(10, 0, "Lights off"), (5, 0, "Lights off"), (90, 0, "Lights on")]) == (
        5,
        90,
    )
    assert lights_from_annotations([(0, 30, "Sleep stage W")]) == (None, None)
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"not an edf")
    with pytest.raises(InputError, match="bad.edf: cannot read its EDF\\+ annotations"):
        read_lights(bad, START)


# -- the real SC4001 night ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sc4001(sleepedf_mirror: Path) -> tuple[np.ndarray, dt.datetime]:
    """The scored labels of the real SC4001 night (the project's EDF+ reader and AASM mapping)."""
    from physioex.preprocess.edf_reader import PsgFile, read_annotations
    from physioex.preprocess.labels import labels_from_annotations

    psg, hyp = sleepedf_mirror / SC4001.files["psg"], sleepedf_mirror / SC4001.files["hypnogram"]
    with PsgFile(psg, ["EEG Fpz-Cz"]) as f:
        start, n = f.start_time, f.n_samples("EEG Fpz-Cz") // 3000
    hyp_start, annotations = read_annotations(hyp)
    return labels_from_annotations(annotations, n, hyp, (hyp_start - start).total_seconds()), start


def test_sc4001_whole_recording_is_the_22_hour_file(sc4001: tuple[np.ndarray, dt.datetime]) -> None:
    labels, start = sc4001
    s = sleep_statistics(labels, period=choose_period(labels, recording_start=start))
    v = s.values
    assert s.period.source == "recording" and v["TIB_min"] == 1325.0  # 2650 epochs: 22.1 h
    assert v["TST_min"] == 326.5 and v["SOL_min"] == 510.5 and v["SE_pct"] == pytest.approx(24.6415)
    assert_matches_yasa(v, labels)


def test_sc4001_over_the_crop_and_the_lights(sc4001: tuple[np.ndarray, dt.datetime]) -> None:
    labels, start = sc4001
    p = choose_period(labels, recording_start=start, crop="sleep", crop_minutes=30.0)
    assert (p.source, p.start_s, p.end_s) == ("crop", 28830.0, 54060.0)  # the 841 stored epochs
    assert p.describe() == "period: crop 28830-54060 s (00:13:30-07:14:00), crop sleep +- 30 min"
    s = sleep_statistics(labels, period=p)
    assert_matches_yasa(s.values, labels[961:1802])
    known = {  # computed once, checked against YASA and the README's epoch counts (W 188, N1 58, ...)
        "TIB_min": 420.5,
        "SPT_min": 360.5,
        "TST_min": 326.5,
        "WASO_min": 34.0,
        "SE_pct": 77.6457,
        "SME_pct": 90.5687,
        "SOL_min": 30.0,
        "REM_latency_min": 89.0,
        "REM_latency_from_period_start_min": 119.0,
        "W_min": 94.0,
        "N3_min": 110.0,
        "REM_pct": 19.1424,
        "awakenings": 10,
        "transitions": 110,
    }
    assert {k: s.values[k] for k in known} == pytest.approx(known)
    # the same slice given as lights-off/on clock times (the night started at 16:13:00)
    lights = choose_period(labels, recording_start=start, lights_off="00:13:30", lights_on="07:14")
    assert (lights.source, lights.start_epoch, lights.stop_epoch) == ("lights", 961, 1802)
    assert sleep_statistics(labels, period=lights).values == s.values
