"""physioex.scoring: every scoring format written by hand (EDF+ by edfio), read back epoch by epoch;
the vocabulary (built-in and YAML); each refusal as one line naming the file; the real SC4001 night."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_SLEEPEDF
from helpers import SC4001

from physioex.errors import InputError
from physioex.scoring import (
    BUILTIN,
    Term,
    Vocabulary,
    detect_format,
    read_events,
    read_scoring,
)

START = dt.datetime(2024, 3, 1, 22, 30, 0)
U, M = -1, -2


def one_line_error(excinfo: pytest.ExceptionInfo[InputError], path: Path, *needles: str) -> str:
    """The error is one line, starts with the file and holds every needle."""
    msg = str(excinfo.value)
    assert "\n" not in msg, msg
    assert msg.startswith(str(path)), msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


def write_edf_annotations(
    path: Path, annotations: list[tuple[float, float | None, str]], start: dt.datetime
) -> None:
    """An annotation-only EDF+C file written by edfio (as PhysioNet's hypnogram files are)."""
    from edfio import Edf, EdfAnnotation, Recording

    Edf(
        [],
        recording=Recording(startdate=start.date()),
        starttime=start.time(),
        annotations=[EdfAnnotation(o, d, t) for o, d, t in annotations],
    ).write(path)


# ---------------------------------------------------------------- EDF+ annotations


def test_hmc_edf_scoring_starting_after_the_psg_is_aligned_by_clock_with_lights(tmp_path: Path) -> None:
    path = tmp_path / "SN001_sleepscoring.edf"
    write_edf_annotations(
        path,
        [
            (0.0, 0.0, "Lights off"),
            (0.0, 60.0, "Sleep stage W"),
            (60.0, 30.0, "Sleep stage N1"),
            (90.0, 90.0, "Sleep stage N2"),
            (180.0, 30.0, "Sleep stage N3"),
            (210.0, 60.0, "Sleep stage R"),
            (270.0, 30.0, "Sleep stage W"),
            (285.0, 0.0, "Lights on"),
        ],
        START + dt.timedelta(seconds=60),  # the scoring file starts 60 s (2 epochs) after the PSG
    )
    assert detect_format(path) == "edf"
    hyp = read_scoring(path, psg_start=START, n_epochs=13)
    assert hyp.stages.dtype == np.int8
    assert hyp.stages.tolist() == [U, U, 0, 0, 1, 2, 2, 2, 3, 4, 4, 0, U]
    assert (hyp.lights_off_s, hyp.lights_on_s) == (60.0, 345.0)
    assert hyp.notes == ()
    # without the PSG clock the file's own start is epoch 0 and the hypnogram ends with the scoring
    assert read_scoring(path).stages.tolist() == [0, 0, 1, 2, 2, 2, 3, 4, 4, 0]


def test_sleepedf_rk_edf_gap_movement_and_trailing_unknown_truncated(tmp_path: Path) -> None:
    path = tmp_path / "SC4991EC-Hypnogram.edf"
    write_edf_annotations(
        path,
        [
            (0.0, 60.0, "Sleep stage W"),
            (60.0, 30.0, "Sleep stage 1"),
            (90.0, 30.0, "Sleep stage 2"),
            (120.0, 30.0, "Sleep stage 3"),
            (150.0, 30.0, "Sleep stage 4"),
            (180.0, 30.0, "Sleep stage R"),
            (210.0, 30.0, "Movement time"),
            # 240-270 s: no annotation (a gap, as in Sleep-EDF telemetry files)
            (270.0, 30.0, "Sleep stage ?"),
            (300.0, 600.0, "Sleep stage ?"),  # runs far past the PSG end, as the real files do
        ],
        START,
    )
    hyp = read_scoring(path, psg_start=START, psg_duration_s=335.0)  # 11 whole epochs
    assert hyp.stages.tolist() == [0, 0, 1, 2, 3, 3, 4, M, U, U, U]
    assert len(hyp.notes) == 1 and "past the PSG end" in hyp.notes[0] and str(path) in hyp.notes[0]
    assert hyp.counts() == {"W": 2, "N1": 1, "N2": 1, "N3": 2, "REM": 1, "unscored": 3, "movement": 1}


def test_edf_unknown_annotation_names_file_number_and_label(tmp_path: Path) -> None:
    path = tmp_path / "h.edf"
    write_edf_annotations(path, [(0.0, 30.0, "Sleep stage W"), (30.0, 30.0, "Sleep stage X")], START)
    with pytest.raises(InputError) as excinfo:
        read_scoring(path)
    one_line_error(excinfo, path, "annotation 2", "'Sleep stage X'", "vocabulary")


def test_not_an_edf_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.edf"
    path.write_bytes(b"0       " + b"x" * 300)
    with pytest.raises(InputError) as excinfo:
        read_scoring(path)
    one_line_error(excinfo, path, "EDF")


# ---------------------------------------------------------------- NSRR XML


def nsrr_xml(stages: list[tuple[float, float, str]], epoch_length: int = 30, extra: str = "") -> str:
    events = "".join(
        f"<ScoredEvent>\n<EventType>Stages|Stages</EventType>\n<EventConcept>{c}</EventConcept>\n"
        f"<Start>{s}</Start>\n<Duration>{d}</Duration>\n</ScoredEvent>\n"
        for s, d, c in stages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<PSGAnnotation>\n'
        f"<SoftwareVersion>Compumedics</SoftwareVersion>\n<EpochLength>{epoch_length}</EpochLength>\n"
        "<ScoredEvents>\n<ScoredEvent>\n<EventType/>\n<EventConcept>Recording Start Time</EventConcept>\n"
        "<Start>0</Start>\n<Duration>40000.0</Duration>\n<ClockTime>00.00.00 22.30.00</ClockTime>\n"
        "</ScoredEvent>\n"
        "<ScoredEvent>\n<EventType>Respiratory|Respiratory</EventType>\n"
        "<EventConcept>Obstructive apnea|Obstructive Apnea</EventConcept>\n<Start>95.5</Start>\n"
        "<Duration>12.1</Duration>\n<SignalLocation>ABDO RES</SignalLocation>\n</ScoredEvent>\n"
        f"{events}{extra}</ScoredEvents>\n</PSGAnnotation>\n"
    )


NSRR_NIGHT = [
    (0.0, 60.0, "Wake|0"),
    (60.0, 30.0, "Stage 1 sleep|1"),
    (90.0, 60.0, "Stage 2 sleep|2"),
    (150.0, 30.0, "Stage 3 sleep|3"),
    (180.0, 30.0, "Stage 4 sleep|4"),
    (210.0, 30.0, "REM sleep|5"),
    (240.0, 30.0, "Movement|6"),
    (270.0, 30.0, "Unscored|9"),
    (330.0, 30.0, "Wake|0"),  # 300-330 s is a gap
]


def test_nsrr_xml_stages_only_epoch_by_epoch(tmp_path: Path) -> None:
    path = tmp_path / "shhs1-200001-nsrr.xml"
    path.write_text(nsrr_xml(NSRR_NIGHT))
    assert detect_format(path) == "nsrr-xml"
    scoring = read_events(path)
    assert scoring.epoch_s == 30.0 and scoring.start_time is None and scoring.lights_off_s is None
    assert [e.where for e in scoring.events][:2] == ["line 20", "line 26"]  # where each ScoredEvent opens
    hyp = read_scoring(path, psg_duration_s=390.0)
    assert hyp.stages.tolist() == [0, 0, 1, 2, 2, 3, 3, 4, M, U, U, 0, U]


def test_nsrr_xml_20s_epochs_refused_unless_majority_rule(tmp_path: Path) -> None:
    path = tmp_path / "mass-like-nsrr.xml"
    path.write_text(
        nsrr_xml(
            [(0.0, 20.0, "Wake|0"), (20.0, 20.0, "Stage 2 sleep|2"), (40.0, 20.0, "Stage 2 sleep|2")], 20
        )
    )
    with pytest.raises(InputError) as excinfo:
        read_scoring(path)
    one_line_error(excinfo, path, "20-s epochs", "majority")
    hyp = read_scoring(path, reepoch="majority")  # 0-30 s: W 20 s > 15 s; 30-60 s: N2 30 s
    assert hyp.stages.tolist() == [0, 2]
    assert any("re-epoched from 20-s to 30-s" in note for note in hyp.notes)
    assert read_scoring(path, epoch_s=20.0).stages.tolist() == [0, 2, 2]


def test_nsrr_xml_unknown_concept_names_line(tmp_path: Path) -> None:
    path = tmp_path / "x-nsrr.xml"
    path.write_text(nsrr_xml([(0.0, 30.0, "Wake|0"), (30.0, 30.0, "Stage 5 sleep|7")]))
    with pytest.raises(InputError) as excinfo:
        read_scoring(path)
    one_line_error(excinfo, path, "line 26", "'Stage 5 sleep|7'")


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (nsrr_xml(NSRR_NIGHT).replace("</ScoredEvents>", "</ScoredEvent>"), ("line 74", "malformed XML")),
        (
            '<?xml version="1.0"?>\n<CMPStudyConfig><EpochLength>30</EpochLength></CMPStudyConfig>',
            ("<CMPStudyConfig>",),
        ),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE a [\n<!ENTITY e "x">\n]>\n<PSGAnnotation>&e;</PSGAnnotation>',
            ("line 3", "entities"),
        ),
        (nsrr_xml([(0.0, 30.0, "Wake|0")]).replace("<Start>0.0</Start>", "<Start>soon</Start>"), ("'soon'",)),
    ],
    ids=["malformed", "other-root", "entity", "bad-start"],
)
def test_nsrr_xml_refusals(tmp_path: Path, text: str, needles: tuple[str, ...]) -> None:
    path = tmp_path / "bad-nsrr.xml"
    path.write_text(text)
    with pytest.raises(InputError) as excinfo:
        read_scoring(path)
    one_line_error(excinfo, path, *needles)


# ---------------------------------------------------------------- tables (CSV/TSV, BIDS)


def test_csv_with_unit_headers_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "night.csv"
    path.write_text(
        "Onset (s);Duration (s);Sleep Stage;Scorer\n0;60;W;a\n60;30;N1;a\n90;90;N2;a\n180;30;R;a\n"
    )
    assert detect_format(path) == "table"
    assert read_scoring(path, n_epochs=8).stages.tolist() == [0, 0, 1, 2, 2, 2, 4, U]


def test_bids_events_tsv_prefers_trial_type_over_value_and_reads_lights(tmp_path: Path) -> None:
    path = tmp_path / "sub-01_task-sleep_events.tsv"
    path.write_text(
        "onset\tduration\ttrial_type\tvalue\n"
        "0.0\tn/a\tLights off\t1\n"
        "0.0\t30.0\tSleep stage W\t1\n"
        "30.0\t30.0\tSleep stage N3\t2\n"  # value 2 would read as N2: trial_type must win
        "30.0\tn/a\tLights off\t1\n"  # a second lights-off: the first one counts
        "60.0\t30.0\tSleep stage R\t3\n"
        "60.0\tn/a\tLights on\t9\n"
        "90.0\tn/a\tLights on\t9\n"  # and the last lights-on
    )
    hyp = read_scoring(path)
    assert hyp.stages.tolist() == [0, 3, 4]
    assert (hyp.lights_off_s, hyp.lights_on_s) == (0.0, 90.0)


def test_predict_csv_reads_back(tmp_path: Path) -> None:
    """physioex predict's own hypnogram CSV is a scoring table (onset_s, duration_s, stage, p_*)."""
    from physioex.inference.hypnogram_io import hypnogram_table

    stages = [0, 0, 1, 2, 2, 3, 4, 4, 0]
    proba = np.eye(5)[stages]
    path = tmp_path / "night.csv"
    hypnogram_table(proba).to_csv(path, index=False)
    assert read_scoring(path).stages.tolist() == stages


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("onset,stage\n0,W\n", ("line 1", "duration")),
        ("time,duration,what\n0,30,W\n", ("onset", "label")),
        ("onset,duration,stage\n0,30,W\n30,thirty,N2\n", ("line 3", "'thirty'")),
        ("onset,duration,stage\n0,30,W\n30,30\n", ("line 3", "cell")),
        ("onset,duration,stage\n0,30,W\n30,30,Stage X\n", ("line 3", "'Stage X'")),
        ("onset,duration,stage\n0,n/a,W\n", ("line 2", "no duration")),
    ],
    ids=[
        "no-duration-column",
        "no-onset-no-label",
        "bad-number",
        "short-row",
        "unknown-label",
        "na-duration",
    ],
)
def test_table_refusals(tmp_path: Path, text: str, needles: tuple[str, ...]) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(InputError) as excinfo:
        read_scoring(path)
    one_line_error(excinfo, path, *needles)


# ---------------------------------------------------------------- epoch per line


def test_epoch_text_with_header_and_numeric_labels(tmp_path: Path) -> None:
    path = tmp_path / "hypno.txt"
    path.write_text("Stage\n0\n0\n1\n2\n3\n4\n5\n9\n\n\n")
    assert detect_format(path) == "epoch-text"
    assert read_scoring(path).stages.tolist() == [0, 0, 1, 2, 3, 3, 4, U]


def test_epoch_text_20s_refused_then_majority_epoch_by_epoch(tmp_path: Path) -> None:
    path = tmp_path / "mass.txt"
    path.write_text("W\nW\nN1\nN2\nN2\nN2\nN3\nR\nR\n")  # nine 20-s epochs = 180 s
    with pytest.raises(InputError) as excinfo:
        read_scoring(path, scored_epoch_s=20.0)
    one_line_error(excinfo, path, "20-s epochs", "not 30-s")
    hyp = read_scoring(path, scored_epoch_s=20.0, reepoch="majority")
    # 0-30: W 20 | 30-60: W 10, N1 20 | 60-90: N2 30 | 90-120: N2 30 | 120-150: N3 20 | 150-180: R 30
    assert hyp.stages.tolist() == [0, 1, 2, 2, 3, 4]


def test_majority_without_a_winner_is_unscored(tmp_path: Path) -> None:
    path = tmp_path / "ten.csv"
    path.write_text("onset,duration,stage\n0,10,W\n10,10,N1\n20,10,N2\n30,30,N2\n")
    assert read_scoring(path, reepoch="majority").stages.tolist() == [U, 2]


def test_epoch_text_blank_line_between_labels(tmp_path: Path) -> None:
    path = tmp_path / "hypno.txt"
    path.write_text("W\nN1\n\nN2\n")
    with pytest.raises(InputError) as excinfo:
        read_scoring(path)
    one_line_error(excinfo, path, "line 3", "blank line")


# ---------------------------------------------------------------- vocabulary


BUILTIN_CASES: dict[Term, tuple[str, ...]] = {
    Term.W: ("W", "Wake", "0", "Sleep stage W", "Wake|0", "  sleep   STAGE w "),
    Term.N1: ("N1", "S1", "1", "Sleep stage 1", "Stage 1 sleep|1", "Sleep stage N1"),
    Term.N2: ("N2", "Sleep stage 2", "Stage 2 sleep|2", "Sleep stage N2"),
    Term.N3: ("S3", "S4", "3", "4", "Sleep stage 4", "Stage 4 sleep|4", "Sleep stage N3"),
    Term.REM: ("R", "REM", "5", "Sleep stage R", "REM sleep|5"),
    Term.UNSCORED: ("Sleep stage ?", "Unscored|9", "9"),
    Term.MOVEMENT: ("Movement time", "Movement|6"),
    Term.LIGHTS_OFF: ("Lights off",),
    Term.LIGHTS_ON: ("Lights on",),
}


@pytest.mark.parametrize(
    ("label", "term"), [(label, term) for term, labels in BUILTIN_CASES.items() for label in labels]
)
def test_builtin_vocabulary(label: str, term: Term) -> None:
    assert BUILTIN.term(label) is term


def test_builtin_codes_match_the_store() -> None:
    assert [Term(s).code for s in ("W", "N1", "N2", "N3", "REM", "unscored", "movement")] == [
        0,
        1,
        2,
        3,
        4,
        U,
        M,
    ]
    assert Term.IGNORE.code is None and Term.LIGHTS_OFF.code is None
    assert BUILTIN.term("Arousal") is None


def test_yaml_vocabulary_overrides_builtin_and_ignores(tmp_path: Path) -> None:
    vocab = tmp_path / "lab.yaml"
    vocab.write_text(
        '# AASM-coded 0..4 export\n"4": REM\nStade 1: N1\nArousal: ignore\n"Debut": lights_off\n'
    )
    path = tmp_path / "lab.csv"
    path.write_text(
        "onset,duration,stage\n0,0,Debut\n0,30,0\n30,30,Stade 1\n45,3,Arousal\n60,30,4\n90,30,3\n"
    )
    hyp = read_scoring(path, vocabulary=vocab)
    assert hyp.stages.tolist() == [0, 1, 4, 3]
    assert hyp.lights_off_s == 0.0
    assert read_scoring(path, vocabulary=Vocabulary.from_yaml(vocab)).stages.tolist() == [0, 1, 4, 3]
    with pytest.raises(InputError):  # without it, 'Stade 1' is unknown
        read_scoring(path)


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("Stage 1: N1\nStage 6: N5\n", ("line 2", "'Stage 6'", "'N5'")),
        ("Stage 1: N1\non: W\n", ("line 2", "quote it")),
        ("Stage 1: N1\n  bad: [\n", ("not valid YAML",)),
        ("- N1\n- N2\n", ("mapping",)),
        ("Stage 1: N1\nstage 1: N2\n", ("line 2", "twice", "line 1")),
    ],
    ids=["unknown-term", "boolean-key", "syntax", "not-mapping", "duplicate"],
)
def test_yaml_vocabulary_refusals(tmp_path: Path, text: str, needles: tuple[str, ...]) -> None:
    vocab = tmp_path / "v.yaml"
    vocab.write_text(text)
    with pytest.raises(InputError) as excinfo:
        Vocabulary.from_yaml(vocab)
    one_line_error(excinfo, vocab, *needles)


# ---------------------------------------------------------------- events to epochs


def test_scoring_ending_before_the_psg_starts(tmp_path: Path) -> None:
    path = tmp_path / "early.edf"
    write_edf_annotations(path, [(0.0, 60.0, "Sleep stage W"), (60.0, 30.0, "Sleep stage 2")], START)
    with pytest.raises(InputError) as excinfo:  # the PSG starts an hour after the scoring file
        read_scoring(path, psg_start=START + dt.timedelta(hours=1), n_epochs=100)
    one_line_error(excinfo, path, "ends at -3510 s", "before the PSG starts")


def test_scoring_partly_before_the_psg_is_cut_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("onset,duration,stage\n-60,90,W\n30,30,N2\n")
    hyp = read_scoring(path)
    assert hyp.stages.tolist() == [0, 2]
    assert any("before the PSG start were dropped" in n for n in hyp.notes)


def test_scored_stages_far_past_the_psg_end_are_a_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("onset,duration,stage\n0,30,W\n30,300,N2\n")
    with pytest.raises(InputError) as excinfo:
        read_scoring(path, n_epochs=4)
    one_line_error(excinfo, path, "PSG/scoring mismatch", "330 s")


def test_overlapping_different_stages_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("onset,duration,stage\n0,60,W\n30,30,N1\n")
    with pytest.raises(InputError) as excinfo:
        read_scoring(path)
    one_line_error(excinfo, path, "line 3", "overlaps line 2")


def test_off_grid_30s_events_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("onset,duration,stage\n0,30,W\n45,30,N1\n")
    with pytest.raises(InputError) as excinfo:
        read_scoring(path)
    one_line_error(excinfo, path, "line 3", "not on the 30-s epoch grid")


def test_no_stage_event_and_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("onset,duration,stage\n0,n/a,Lights off\n")
    with pytest.raises(InputError) as excinfo:
        read_scoring(path)
    one_line_error(excinfo, path, "no sleep-stage event")
    with pytest.raises(InputError, match="scoring format 'rml'"):
        read_scoring(path, format="rml")
    with pytest.raises(InputError) as excinfo:
        read_scoring(tmp_path / "absent.xml")
    one_line_error(excinfo, tmp_path / "absent.xml", "not found")


# ---------------------------------------------------------------- the real night


def test_sc4001_hypnogram_gives_exactly_the_preprocess_labels() -> None:
    """Whole night, every epoch: read_scoring == physioex.preprocess.labels (pyedflib's reading)."""
    if not (SHARED_SLEEPEDF / SC4001.files["hypnogram"]).is_file():
        pytest.skip("real Sleep-EDF night not available (../shared/data/sleep-edf is absent)")
    from physioex.preprocess.edf_reader import PsgFile, read_annotations
    from physioex.preprocess.labels import labels_from_annotations

    psg_path = SHARED_SLEEPEDF / SC4001.files["psg"]
    hyp_path = SHARED_SLEEPEDF / SC4001.files["hypnogram"]
    with PsgFile(psg_path, ["EEG Fpz-Cz"]) as psg:
        start, n_epochs = psg.start_time, psg.n_samples("EEG Fpz-Cz") // 3000
    hyp_start, annotations = read_annotations(hyp_path)
    expected = labels_from_annotations(annotations, n_epochs, hyp_path, (hyp_start - start).total_seconds())

    hyp = read_scoring(hyp_path, psg_start=start, n_epochs=n_epochs)
    assert n_epochs == 2650
    np.testing.assert_array_equal(hyp.stages, expected)
    assert hyp.counts() == {
        "W": 1997,
        "N1": 58,
        "N2": 250,
        "N3": 220,
        "REM": 125,
        "unscored": 0,
        "movement": 0,
    }
    assert len(hyp.notes) == 1 and "6900 s past the PSG end" in hyp.notes[0]
