"""A dataset is declared once (``DatasetSpec``): presets, CLI help, defaults, legacy names agree with it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer.main

from physioex.cli import app
from physioex.cli.download import parse_ids
from physioex.preprocess.params import DEFAULT_CHANNELS, PreprocessParams
from physioex.presets import load_preset
from physioex.sources import (
    DATASETS,
    FORMATS,
    PER_DATASET_CHANNELS,
    SPECS,
    DatasetSpec,
    SleepEDFSource,
    dataset_channels,
    find_legacy,
    get_source,
    get_spec,
    legacy_names,
)
from physioex.store.folds import default_n_folds

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "pipelines").glob("*.yaml"))


def test_every_registered_dataset_has_a_preset_and_every_preset_a_dataset() -> None:
    assert sorted(p.stem for p in PRESETS) == sorted(DATASETS)


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_preset_agrees_with_its_dataset_spec(preset: Path) -> None:
    spec = get_spec(preset.stem)
    defaults = load_preset(preset)
    pre = defaults.get("preprocess", {})
    channels = tuple(c.strip() for c in str(pre.get("channels", "")).split(",") if c.strip())
    assert channels == spec.channels, f"{preset.name}: preprocess.channels"
    assert pre.get("n_folds") == spec.folds, f"{preset.name}: preprocess.n-folds"
    subjects = parse_ids(defaults.get("download", {}).get("subjects"))
    expected = None if spec.subjects is None else sorted(spec.subjects)
    assert subjects == expected, f"{preset.name}: download.subjects"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_defaults_are_derived_from_the_spec(spec: DatasetSpec) -> None:
    source = get_source(spec.name)
    assert source.spec is spec and source.name == spec.name and source.generated == spec.generated
    assert default_n_folds(spec.name, 1000) == spec.folds
    assert default_n_folds(spec.name, 3) == 3  # capped at the number of subjects
    if spec.format in PER_DATASET_CHANNELS:  # each edf dataset has its own; preprocess passes them
        assert dataset_channels(spec.name) == spec.channels and spec.format not in DEFAULT_CHANNELS
        return
    assert DEFAULT_CHANNELS[spec.format] == list(spec.channels)
    assert PreprocessParams().resolved_channels(spec.format) == list(spec.channels)


def test_recordings_carry_the_spec_format_and_subjects() -> None:
    sc = {f"sleep-cassette/SC4{s:02d}1E0-PSG.edf": "0" * 64 for s in range(25)}
    sc |= {f"sleep-cassette/SC4{s:02d}1EC-Hypnogram.edf": "1" * 64 for s in range(25)}
    h5 = {"a.h5": "2" * 64, "b.h5": "3" * 64}
    for spec in SPECS:
        if spec.format == "edf":
            continue  # their own layouts: tests/test_source_<dataset>.py
        listing = h5 if spec.format == "dreem" else sc
        recs = get_source(spec.name).recordings(listing)
        if spec.folder == "sleep-telemetry":
            assert recs == []  # its files live elsewhere in the tree
            continue
        assert recs and {r.format for r in recs} == {spec.format}
        if spec.subjects is not None:
            assert sorted(int(r.subject) for r in recs) == sorted(spec.subjects)
    extra = DatasetSpec(
        name="sleepedf-5",
        title="five subjects",
        source=SleepEDFSource,
        format="sleepedf",
        channels=("EEG Fpz-Cz",),
        subjects=(3, 4, 5, 6, 7),
        folder="sleep-cassette",
        prefix="SC4",
    )
    assert [r.subject for r in extra.make().recordings(sc)] == ["3", "4", "5", "6", "7"]


def test_cli_help_lists_every_dataset_with_its_title_and_defaults() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    helps = {
        (cmd, p.name): p.help or ""
        for cmd in ("download", "preprocess")
        for p in commands[cmd].params
        if p.name in {"dataset", "mirror", "channels", "n_folds"}
    }
    for spec in SPECS:
        assert f"{spec.name} ({spec.title}" in helps["download", "dataset"]
        assert spec.name in helps["preprocess", "dataset"]
        assert spec.name in helps["download", "mirror"]
        assert f"{','.join(spec.channels)} for " in helps["preprocess", "channels"]
        assert f"{spec.folds} for " in helps["preprocess", "n_folds"]
        if spec.mirror_env:
            assert f"${spec.mirror_env}" in helps["download", "mirror"]
    assert "subjects 0-19" in helps["download", "dataset"]
    assert "20 for sleepedf-20; 10 for sleepedf-78" in helps["preprocess", "n_folds"]


def test_legacy_physioex_names_resolve_as_the_original_readme_says() -> None:
    assert legacy_names() == {
        "sleep_physionet": {"2013": "sleepedf-20", "2018": "sleepedf-78"},
        "sleepedf": {"2013": "sleepedf-20", "2018": "sleepedf-78"},
        "dreem": {"dodo": "dodo", "dodh": "dodh"},
        "demo": {None: "demo", "demo": "demo"},
    }
    assert list(legacy_names()) == ["sleep_physionet", "sleepedf", "dreem", "demo"]
    assert find_legacy(" Sleep_Physionet ", " 2018") == "sleepedf-78"
    assert find_legacy("demo") == "demo"
    with pytest.raises(ValueError, match="valid datasets: sleep_physionet, sleepedf, dreem, demo"):
        find_legacy("shhs", "1")
    with pytest.raises(ValueError, match="dreem needs --version; valid versions: dodo, dodh"):
        find_legacy("dreem")
    with pytest.raises(ValueError, match="has no --version '2020'; valid versions: 2013, 2018"):
        find_legacy("sleepedf", "2020")


def test_every_declared_format_has_a_loader() -> None:
    from physioex.preprocess.recording import LOADERS

    assert set(FORMATS) == set(LOADERS)
    assert {spec.format for spec in SPECS} <= set(FORMATS)


def test_a_registry_that_contradicts_itself_fails_at_import() -> None:
    from physioex.sources import _checked

    demo = get_spec("demo")
    with pytest.raises(ValueError, match="registered twice"):
        _checked((demo, demo))
    with pytest.raises(ValueError, match="differ from"):
        _checked((demo, dataclasses.replace(demo, name="other", channels=("EEG Pz-Oz",), legacy=())))
    with pytest.raises(ValueError, match="legacy name"):
        _checked((demo, dataclasses.replace(demo, name="other")))
    with pytest.raises(ValueError, match="has no reader"):
        _checked((dataclasses.replace(demo, format="edf2"),))
