"""Raw-data sources: Sleep-EDF Expanded, Dreem DOD-H/DOD-O, HMC, NSRR, a lab's folder and the offline demo.

Each dataset is one :class:`DatasetSpec` (declared in its source module, listed once in :data:`SPECS`);
everything else about datasets is derived from these: ``get_source(name)``, :data:`DATASETS`, the CLI
help texts, the default channels and folds, the original PhysioEx ``--dataset``/``--version`` names.
``source.recordings(listing, subjects)`` lists a dataset's recordings (files relative to the mirror
root, checksums from ``SHA256SUMS.txt``). Light on purpose: the CLI imports it to build its help.
"""

from __future__ import annotations

from importlib import import_module
from urllib.parse import urlsplit

from physioex.sources.base import (
    DEFAULT_FOLDS,
    FORMATS,
    PER_DATASET_CHANNELS,
    SCORING_OPTIONS,
    DatasetSpec,
    Recording,
    Selection,
    Source,
    format_ranges,
)
from physioex.sources.demo import DEMO_MIRROR_NAME
from physioex.sources.dreem import DreemSource
from physioex.sources.sleepedf import PHYSIONET_MIRROR, SleepEDFSource

_MODULES: tuple[str, ...] = (
    "sleepedf",
    "dreem",
    "hmc",
    "nsrr",
    "edf_folder",
    "demo",
)
"""The registry: modules of ``physioex.sources`` declaring ``SPECS``, in the order help texts list them.
Adding a dataset is one module plus one line here."""

SPECS: tuple[DatasetSpec, ...] = tuple(
    spec for module in _MODULES for spec in import_module(f"physioex.sources.{module}").SPECS
)
"""Every dataset physioex knows."""


def _checked(specs: tuple[DatasetSpec, ...]) -> dict[str, DatasetSpec]:
    """``{name: spec}``; a ``ValueError`` at import for a registry that contradicts itself."""
    by_name: dict[str, DatasetSpec] = {}
    channels: dict[str, tuple[str, ...]] = {}
    legacy: dict[tuple[str, str | None], str] = {}
    for spec in specs:
        if spec.name in by_name:
            raise ValueError(f"physioex/sources: dataset {spec.name!r} is registered twice")
        if spec.format not in FORMATS:
            raise ValueError(
                f"dataset {spec.name}: format {spec.format!r} has no reader ({', '.join(FORMATS)})"
            )
        if not spec.channels or spec.folds < 2:
            raise ValueError(f"dataset {spec.name}: needs default channels and at least 2 default folds")
        # The store's parameter hash resolves default channels per reader format, so they must agree
        # (except for the formats whose datasets each pass their own: PER_DATASET_CHANNELS).
        if spec.format in PER_DATASET_CHANNELS:
            pass
        elif channels.setdefault(spec.format, spec.channels) != spec.channels:
            raise ValueError(
                f"dataset {spec.name}: default channels {spec.channels} differ from "
                f"{channels[spec.format]} of the other {spec.format!r} datasets"
            )
        for pair in spec.legacy:
            if pair in legacy:
                raise ValueError(f"datasets {legacy[pair]} and {spec.name} both claim legacy name {pair}")
            legacy[pair] = spec.name
        by_name[spec.name] = spec
    return by_name


_BY_NAME: dict[str, DatasetSpec] = _checked(SPECS)

DATASETS: tuple[str, ...] = tuple(_BY_NAME)
"""Dataset names accepted by ``get_source`` and ``physioex download``."""


def get_spec(name: str) -> DatasetSpec:
    """The declaration of dataset ``name``; ``ValueError`` listing the known names otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}") from None


def get_source(name: str) -> Source:
    """The source for dataset ``name`` (one of :data:`DATASETS`); a fresh object each call."""
    return get_spec(name).make()


def default_channels(fmt: str) -> tuple[str, ...] | None:
    """Default channels of the datasets read by format ``fmt`` (they agree: see ``_checked``), or None
    (also for :data:`PER_DATASET_CHANNELS` formats: ask :func:`dataset_channels`)."""
    if fmt in PER_DATASET_CHANNELS:
        return None
    return next((spec.channels for spec in SPECS if spec.format == fmt), None)


def dataset_channels(name: str) -> tuple[str, ...] | None:
    """Channels ``physioex preprocess NAME`` must pass when none are given: the dataset's own defaults
    when its format has no shared default (:data:`PER_DATASET_CHANNELS`), else None (the format's)."""
    spec = _BY_NAME.get(name)
    if spec is None or spec.format not in PER_DATASET_CHANNELS:
        return None
    return spec.channels


def default_folds(name: str) -> int:
    """Default number of subject-wise folds of dataset ``name``; :data:`DEFAULT_FOLDS` if unknown."""
    spec = _BY_NAME.get(name)
    return spec.folds if spec is not None else DEFAULT_FOLDS


def default_fold_seed(name: str) -> int:
    """Default ``--fold-seed`` of dataset ``name`` (``DatasetSpec.fold_seed``; 0 if unknown)."""
    spec = _BY_NAME.get(name)
    return spec.fold_seed if spec is not None else 0


def fold_seeds_help() -> str:
    """Default fold seeds, for ``preprocess --fold-seed`` help: ``0`` and the datasets that differ."""
    other = ", ".join(f"{spec.name}: {spec.fold_seed}" for spec in SPECS if spec.fold_seed)
    return f"0 ({other})" if other else "0"


def legacy_names() -> dict[str, dict[str | None, str]]:
    """Original PhysioEx ``--dataset`` -> ``--version`` -> dataset name (version None: not needed)."""
    names: dict[str, dict[str | None, str]] = {}
    for spec in SPECS:
        for dataset, version in spec.legacy:
            names.setdefault(dataset, {})[version] = spec.name
    return names


def find_legacy(dataset: str, version: str | None = None) -> str:
    """The dataset an original ``--dataset``/``--version`` pair names (case and spaces ignored).

    Raises ``ValueError`` with one line listing the valid datasets or versions.
    """
    names = legacy_names()
    ds = dataset.strip().lower()
    if ds not in names:
        raise ValueError(f"unknown --dataset {dataset!r}; valid datasets: {', '.join(names)}")
    versions = names[ds]
    key = None if version is None else str(version).strip().lower()
    if key not in versions:
        named = [v for v in versions if v is not None]
        need = "needs --version" if key is None else f"has no --version {version!r}"
        raise ValueError(f"--dataset {dataset} {need}; valid versions: {', '.join(named)}")
    return versions[key]


def _grouped(value_of: dict[str, str]) -> list[tuple[str, list[str]]]:
    """``{dataset: text}`` -> ``[(text, [datasets])]`` in registry order of first appearance."""
    groups: dict[str, list[str]] = {}
    for name, text in value_of.items():
        groups.setdefault(text, []).append(name)
    return list(groups.items())


def dataset_help() -> str:
    """Every dataset with its title, subjects and mirror need, for ``download``/``preprocess`` help."""
    parts = []
    for spec in SPECS:
        notes = [spec.title]
        if spec.subjects is not None:
            notes.append(f"subjects {format_ranges(sorted(spec.subjects))}")
        if spec.generated:
            notes.append("generated offline")
        elif not spec.mirror:
            notes.append("needs --mirror" + (f" or ${spec.mirror_env}" if spec.mirror_env else ""))
        parts.append(f"{spec.name} ({'; '.join(notes)})")
    return ", ".join(parts)


def mirror_help() -> str:
    """Default mirrors and their environment variables, for ``download --mirror`` help."""
    texts: dict[str, str] = {}
    for spec in SPECS:
        if spec.generated:
            texts[spec.name] = "a freshly generated local folder"
        elif spec.mirror:
            where = urlsplit(spec.mirror).netloc or spec.mirror  # the host: a full URL gets cut in help
            texts[spec.name] = where + (f" (${spec.mirror_env} overrides it)" if spec.mirror_env else "")
        else:
            texts[spec.name] = f"${spec.mirror_env}" if spec.mirror_env else "none (--mirror needed)"
    return "; ".join(f"{text} for {', '.join(names)}" for text, names in _grouped(texts))


def channels_help() -> str:
    """Default channels per dataset, for ``preprocess --channels`` help."""
    texts = {spec.name: ",".join(spec.channels) for spec in SPECS}
    return "; ".join(f"{text} for {', '.join(names)}" for text, names in _grouped(texts))


def folds_help() -> str:
    """Default fold counts per dataset, for ``preprocess --n-folds`` help."""
    texts = {spec.name: str(spec.folds) for spec in SPECS}
    return "; ".join(f"{text} for {', '.join(names)}" for text, names in _grouped(texts))


__all__ = [
    "DATASETS",
    "DEFAULT_FOLDS",
    "DEMO_MIRROR_NAME",
    "FORMATS",
    "PER_DATASET_CHANNELS",
    "PHYSIONET_MIRROR",
    "SCORING_OPTIONS",
    "SPECS",
    "DatasetSpec",
    "DreemSource",
    "Recording",
    "Selection",
    "SleepEDFSource",
    "Source",
    "channels_help",
    "dataset_channels",
    "dataset_help",
    "default_channels",
    "default_fold_seed",
    "default_folds",
    "find_legacy",
    "fold_seeds_help",
    "folds_help",
    "get_source",
    "get_spec",
    "legacy_names",
    "mirror_help",
]
