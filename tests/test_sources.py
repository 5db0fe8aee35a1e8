"""Source registry and Sleep-EDF / Dreem selection on listings with realistic PhysioNet names."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from helpers import SC4001

from physioex.download.listing import format_listing, parse_listing
from physioex.sources import DATASETS, Recording, get_source

SC_NAMES = [
    "SC4001E0-PSG.edf",
    "SC4001EC-Hypnogram.edf",
    "SC4002E0-PSG.edf",
    "SC4002EC-Hypnogram.edf",
    "SC4131E0-PSG.edf",
    "SC4131EC-Hypnogram.edf",
    "SC4192E0-PSG.edf",
    "SC4192EV-Hypnogram.edf",
    "SC4201E0-PSG.edf",
    "SC4201EC-Hypnogram.edf",
    "SC4362F0-PSG.edf",
    "SC4362FC-Hypnogram.edf",
    "SC4821G0-PSG.edf",
    "SC4821GC-Hypnogram.edf",
    "SC4022E0-PSG.edf",  # PSG without hypnogram
    "SC4031EC-Hypnogram.edf",  # hypnogram without PSG
]
ST_NAMES = [
    "ST7011J0-PSG.edf",
    "ST7011JP-Hypnogram.edf",
    "ST7012J0-PSG.edf",
    "ST7012JP-Hypnogram.edf",
    "ST7242J0-PSG.edf",
    "ST7242JA-Hypnogram.edf",
]


@pytest.fixture
def listing() -> dict[str, str]:
    """A PhysioNet-style listing (as parsed from text) with extra non-EDF files."""
    paths = [f"sleep-cassette/{n}" for n in SC_NAMES] + [f"sleep-telemetry/{n}" for n in ST_NAMES]
    paths += ["RECORDS", "SC-subjects.xls", "ST-subjects.xls", "sleep-cassette/index.html"]
    text = format_listing({p: f"{i:064x}" for i, p in enumerate(paths)})
    return parse_listing(text)


def by_id(recordings: list[Recording]) -> dict[str, Recording]:
    return {r.id: r for r in recordings}


def test_registry_names_and_unknown_dataset() -> None:
    assert set(DATASETS) == {
        "demo",
        "demo-dreem",
        "sleepedf-20",
        "sleepedf-78",
        "sleepedf-st",
        "dodh",
        "dodo",
        "hmc",
        "demo-hmc",
        "shhs",
        "mesa",
        "mros",
        "cfs",
        "chat",
        "demo-nsrr",
        "edf-folder",
        "demo-folder",
    }
    for name in DATASETS:
        assert get_source(name).name == name
    with pytest.raises(ValueError, match="sleepedf-78"):
        get_source("sleepedf-99")


def test_sleepedf20_pairs_on_first_seven_characters(listing: dict[str, str]) -> None:
    selection = get_source("sleepedf-20").select(listing)
    recs = by_id(selection.recordings)
    assert sorted(recs) == ["SC4001E0", "SC4002E0", "SC4131E0", "SC4192E0"]  # subjects < 20 only
    assert recs["SC4001E0"] == SC4001
    assert (recs["SC4002E0"].subject, recs["SC4002E0"].night) == ("0", 2)
    assert (recs["SC4192E0"].subject, recs["SC4192E0"].night) == ("19", 2)
    assert recs["SC4192E0"].files["hypnogram"] == "sleep-cassette/SC4192EV-Hypnogram.edf"
    problems = "\n".join(selection.problems)
    assert "sleep-cassette/SC4022E0-PSG.edf: PSG without hypnogram" in problems
    assert "sleep-cassette/SC4031EC-Hypnogram.edf: hypnogram without PSG" in problems


def test_sleepedf78_has_all_sc_including_60s_record_file(listing: dict[str, str]) -> None:
    recs = by_id(get_source("sleepedf-78").recordings(listing))
    assert sorted(recs) == [
        "SC4001E0",
        "SC4002E0",
        "SC4131E0",
        "SC4192E0",
        "SC4201E0",
        "SC4362F0",
        "SC4821G0",
    ]
    sc4362 = recs["SC4362F0"]
    assert (sc4362.subject, sc4362.night) == ("36", 2)
    assert sc4362.files == {
        "psg": "sleep-cassette/SC4362F0-PSG.edf",
        "hypnogram": "sleep-cassette/SC4362FC-Hypnogram.edf",
    }
    assert recs["SC4821G0"].subject == "82"
    assert all(r.format == "sleepedf" for r in recs.values())


def test_sleepedf_st_reads_telemetry_only(listing: dict[str, str]) -> None:
    recs = by_id(get_source("sleepedf-st").recordings(listing))
    assert sorted(recs) == ["ST7011J0", "ST7012J0", "ST7242J0"]
    assert (recs["ST7011J0"].subject, recs["ST7011J0"].night) == ("1", 1)
    assert (recs["ST7012J0"].subject, recs["ST7012J0"].night) == ("1", 2)
    assert recs["ST7242J0"].files["hypnogram"] == "sleep-telemetry/ST7242JA-Hypnogram.edf"
    assert recs["ST7242J0"].subject == "24"


def test_subject_and_night_selection(listing: dict[str, str]) -> None:
    source = get_source("sleepedf-78")
    assert [r.id for r in source.recordings(listing, [0, 36])] == ["SC4001E0", "SC4002E0", "SC4362F0"]
    assert [r.id for r in source.recordings(listing, [0, 36], nights=[2])] == ["SC4002E0", "SC4362F0"]
    assert [r.id for r in get_source("sleepedf-20").recordings(listing, [13])] == ["SC4131E0"]


def test_bad_subject_requests_are_clear_errors(listing: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"subjects 25 are outside this preset \(subjects 0-19\)"):
        get_source("sleepedf-20").select(listing, [0, 25])
    with pytest.raises(ValueError, match="subjects 39 are not in the listing"):
        get_source("sleepedf-78").select(listing, [39])


def test_pairing_problems_are_logged(listing: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        get_source("sleepedf-78").recordings(listing)
    assert "SC4022E0-PSG.edf: PSG without hypnogram" in caplog.text


def test_dreem_records_are_subjects_by_uuid_index() -> None:
    uuids = ["f2a6e3b2-0c1d-4e5f-8a9b-0123456789ab", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"]
    listing = {f"{u}.h5": f"{i:064x}" for i, u in enumerate(uuids)} | {"README.md": "0" * 64}
    source = get_source("dodh")
    recs = source.recordings(listing)
    assert [r.id for r in recs] == sorted(uuids)
    assert all(r.subject == r.id and r.night == 1 and r.format == "dreem" for r in recs)
    assert recs[0].files == {"h5": f"{sorted(uuids)[0]}.h5"}
    assert [r.id for r in source.recordings(listing, [1])] == [sorted(uuids)[1]]
    with pytest.raises(ValueError, match="indices 0-1"):
        source.recordings(listing, [2])


def test_dreem_default_mirror_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHYSIOEX_DODO_MIRROR", raising=False)
    source = get_source("dodo")
    assert source.default_mirror == ""
    assert "buckets" in source.missing_mirror_message() and "--mirror" in source.missing_mirror_message()
    monkeypatch.setenv("PHYSIOEX_DODO_MIRROR", "https://example.org/dodo/")
    assert get_source("dodo").default_mirror == "https://example.org/dodo/"


def test_demo_sources_default_to_generated_mirror(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHYSIOEX_DATA", str(tmp_path))
    assert Path(get_source("demo").default_mirror) == tmp_path / "mirror" / "demo"
    dreem = get_source("demo-dreem")
    assert Path(dreem.default_mirror) == tmp_path / "mirror" / "demo"
    assert dreem.mirror_subdir == "dreem"


def test_sleepedf_default_mirror_is_physionet_unless_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHYSIOEX_SLEEPEDF_MIRROR", raising=False)
    assert get_source("sleepedf-78").default_mirror == "https://physionet.org/files/sleep-edfx/1.0.0/"
    monkeypatch.setenv("PHYSIOEX_SLEEPEDF_MIRROR", "/mnt/lab/sleep-edfx")
    assert get_source("sleepedf-st").default_mirror == "/mnt/lab/sleep-edfx"
