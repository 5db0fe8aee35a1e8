"""The store's root attributes: one schema, the documented table, and what the writers really write."""

from __future__ import annotations

import json
import re
from pathlib import Path

from physioex.store.schema import INDEX_KEYS, LABEL_CODES, ROOT_KEYS, RootAttrs

DOC = Path(__file__).resolve().parents[1] / "docs" / "store-format.md"


def documented_root_keys() -> list[str]:
    """Every backticked key in the first column of the doc's "Root attributes" table."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Root attributes\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # skip header + rule
    assert rows, f"{DOC}: no table under '## Root attributes'"
    return [key for row in rows for key in re.findall(r"`([^`]+)`", row.split("|")[1])]


def _root_attrs(store: Path) -> dict:
    return json.loads((store / "zarr.json").read_text())["attributes"]


def test_schema_keys_are_the_documented_ones() -> None:
    documented = documented_root_keys()
    assert len(documented) == len(set(documented)), documented
    assert sorted(set(ROOT_KEYS) - set(documented)) == [], "written but not documented"
    assert sorted(set(documented) - set(ROOT_KEYS)) == [], "documented but not written"


def test_to_dict_writes_exactly_the_schema_keys_with_derived_values() -> None:
    attrs = RootAttrs(
        dataset="d",
        source_format="sleepedf",
        channels=("EEG Fpz-Cz", "EOG horizontal"),
        sampling_rate=128,
        preprocessing={"crop": "sleep"},
        params_hash="abc",
        recordings={
            "B": {"subject": "1", "night": 2, "n_epochs": 5, "extra": 0},
            "A": dict.fromkeys(INDEX_KEYS),
        },
    ).to_dict()
    assert tuple(attrs) == ROOT_KEYS
    assert attrs["channel_keys"] == ["EEG_Fpz-Cz", "EOG_horizontal"]
    assert attrs["samples_per_epoch"] == 3840 and attrs["sampling_rate"] == 128.0
    assert attrs["label_codes"] == {
        "W": 0,
        "N1": 1,
        "N2": 2,
        "N3": 3,
        "REM": 4,
        "unscored": -1,
        "movement": -2,
    }
    assert attrs["label_codes"] == LABEL_CODES and attrs["stages"] == ["W", "N1", "N2", "N3", "REM"]
    assert list(attrs["recordings"]) == ["A", "B"]
    assert attrs["recordings"]["B"] == {"subject": "1", "night": 2, "n_epochs": 5}
    assert attrs["folds"] == [] and attrs["failed"] == {} and attrs["format_version"] == 1


def test_synthetic_store_has_the_schema_root_and_opens(tmp_path: Path) -> None:
    from physioex.store import open_store
    from physioex.synth.store import write_synthetic_store

    store = write_synthetic_store(tmp_path / "s.zarr", subjects=3, epochs=6, n_folds=3)
    attrs = _root_attrs(store)
    assert tuple(attrs) == ROOT_KEYS
    assert attrs["source_format"] == "synthetic" and attrs["preprocessing"]["synthetic"]["epochs"] == [
        6,
        6,
        6,
    ]
    opened = open_store(store)  # every recording's params_hash matches the root's
    assert opened.recordings == ["SYN001", "SYN011", "SYN021"] and len(opened.folds) == 3


def test_preprocess_writes_the_schema_root(tmp_path: Path) -> None:
    from physioex.download.listing import parse_listing
    from physioex.preprocess.run import preprocess_recordings
    from physioex.sources import get_source
    from physioex.synth import generate_mirror

    mirror = generate_mirror(
        tmp_path / "mirror", subjects=1, nights=1, hours=2.5, dreem_records=0, other_layouts=False
    )
    recordings = get_source("demo").recordings(parse_listing((mirror / "SHA256SUMS.txt").read_text()))
    report = preprocess_recordings(recordings, mirror, tmp_path / "s.zarr", dataset="demo", progress=False)
    assert report.ok
    attrs = _root_attrs(tmp_path / "s.zarr")
    assert tuple(attrs) == ROOT_KEYS
    assert attrs["source_format"] == "sleepedf" and attrs["channel_keys"] == ["EEG_Fpz-Cz"]
    assert list(attrs["recordings"]["SC4001E0"]) == list(INDEX_KEYS)
