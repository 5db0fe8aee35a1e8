"""The original PhysioEx ``train --experiment E --dataset D --version V`` invocation, on this pipeline.

People arrive with the original README in mind: ``--experiment`` is the model, ``--dataset`` and
``--version`` name the data (``sleep_physionet``/``sleepedf`` 2013 or 2018, ``dreem`` dodo or dodh).
Here that downloads and preprocesses whatever is missing (an existing store is reused), then trains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from physioex.paths import data_root, raw_dir, store_path

EXPERIMENTS: tuple[str, ...] = ("chambon2018", "tinysleepnet")
"""Valid ``--experiment`` values: the models of this package."""

_SLEEPEDF = {"2013": "sleepedf-20", "2018": "sleepedf-78"}
DATASETS: dict[str, dict[str | None, str]] = {
    "sleep_physionet": dict(_SLEEPEDF),
    "sleepedf": dict(_SLEEPEDF),
    "dreem": {"dodo": "dodo", "dodh": "dodh"},
    "demo": {None: "demo", "demo": "demo"},
}
"""``--dataset`` -> ``--version`` -> physioex dataset name (``None``: no version needed)."""


class OriginalInvocationError(ValueError):
    """An ``--experiment``/``--dataset``/``--version`` value this pipeline does not know."""


def resolve(experiment: str, dataset: str, version: str | None) -> tuple[str, str]:
    """Map the original options to ``(model, physioex dataset)``; errors list the valid values."""
    exp = experiment.strip().lower()
    if exp not in EXPERIMENTS:
        raise OriginalInvocationError(
            f"unknown --experiment {experiment!r}; valid experiments: {', '.join(EXPERIMENTS)}"
        )
    ds = dataset.strip().lower()
    if ds not in DATASETS:
        raise OriginalInvocationError(f"unknown --dataset {dataset!r}; valid datasets: {', '.join(DATASETS)}")
    versions = DATASETS[ds]
    key = None if version is None else str(version).strip().lower()
    if key not in versions:
        named = [v for v in versions if v is not None]
        need = "needs --version" if key is None else f"has no --version {version!r}"
        raise OriginalInvocationError(f"--dataset {dataset} {need}; valid versions: {', '.join(named)}")
    return exp, versions[key]


def ensure_store(dataset: str, *, progress: bool = True) -> Path:
    """The dataset's default store, downloading and preprocessing only what is missing."""
    from physioex.store import open_store
    from physioex.store.reader import StoreError

    store = store_path(dataset)
    try:
        if open_store(store).recordings:
            return store
    except StoreError:
        pass
    raw = raw_dir(dataset)
    if not (raw / "SHA256SUMS.txt").is_file():
        from physioex.download import download

        report = download(dataset, out=raw, progress=progress)
        if not report.ok:
            raise RuntimeError(f"download of {dataset} incomplete:\n{report.summary()}")
    from physioex.preprocess.run import preprocess

    report = preprocess(dataset, raw=raw, out=store, progress=progress)
    if not report.ok:
        raise RuntimeError(f"preprocessing of {dataset} incomplete:\n{report.summary()}")
    return store


def train_original(
    experiment: str,
    dataset: str,
    version: str | None = None,
    *,
    out: Path | None = None,
    progress: bool = True,
    **train_options: Any,
) -> list[dict[str, Any]]:
    """The original invocation: resolve names, make sure the store exists, train (``physioex.train.fit``)."""
    from physioex.train.fit import train

    model, name = resolve(experiment, dataset, version)
    store = ensure_store(name, progress=progress)
    out = out or data_root() / "models" / name / model
    return train(store, model=model, out=out, progress=progress, **train_options)
