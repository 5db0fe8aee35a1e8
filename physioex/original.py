"""The original PhysioEx ``train --experiment E --dataset D --version V`` invocation, on this pipeline.

People arrive with the original README in mind: ``--experiment`` is the model, ``--dataset`` and
``--version`` name the data (``sleep_physionet``/``sleepedf`` 2013 or 2018, ``dreem`` dodo or dodh).
Here that downloads and preprocesses whatever is missing (an existing store is reused), then trains.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from physioex.choices import Model, names
from physioex.errors import InputError, RunError
from physioex.paths import models_dir, raw_dir, store_path

if TYPE_CHECKING:
    from physioex.train.run import TrainReport

EXPERIMENTS: tuple[str, ...] = names(Model)
"""Valid ``--experiment`` values: the models of this package."""


class OriginalInvocationError(InputError):
    """An ``--experiment``/``--dataset``/``--version`` value this pipeline does not know (exit 2)."""


def resolve(experiment: str, dataset: str, version: str | None) -> tuple[str, str]:
    """Map the original options to ``(model, physioex dataset)``; errors list the valid values."""
    exp = experiment.strip().lower()
    if exp not in EXPERIMENTS:
        raise OriginalInvocationError(
            f"unknown --experiment {experiment!r}; valid experiments: {', '.join(EXPERIMENTS)}"
        )
    from physioex.sources import find_legacy

    try:
        return exp, find_legacy(dataset, version)
    except ValueError as exc:
        raise OriginalInvocationError(str(exc)) from None


def _joined(text: str) -> str:
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())[:400]


def ensure_store(dataset: str, *, progress: bool = True) -> Path:
    """The dataset's default store, downloading and preprocessing only what is missing."""
    from physioex.download.listing import LISTING_NAME
    from physioex.store import open_store
    from physioex.store.errors import StoreNotFoundError

    store = store_path(dataset)
    try:
        if open_store(store).recordings:
            return store
    except StoreNotFoundError:  # a damaged store is an error, not a reason to rebuild it silently
        pass
    raw = raw_dir(dataset)
    if not (raw / LISTING_NAME).is_file():
        from physioex.download import download

        report = download(dataset, out=raw, progress=progress)
        if not report.ok:
            raise RunError(f"download of {dataset} incomplete: {_joined(report.summary())}; run it again")
    from physioex.preprocess.run import preprocess

    prepared = preprocess(dataset, raw=raw, out=store, progress=progress)
    if not prepared.ok:
        raise RunError(f"preprocessing of {dataset} incomplete: {_joined(prepared.summary())}; run it again")
    return store


def train_original(
    experiment: str,
    dataset: str,
    version: str | None = None,
    *,
    out: Path | None = None,
    progress: bool = True,
    **train_options: Any,
) -> TrainReport:
    """The original invocation: resolve names, check the training options, make sure the store exists
    (downloading and preprocessing only what is missing), then train (``physioex.train.run``)."""
    import inspect

    from physioex.train.config import DEFAULT_PARAMS
    from physioex.train.fit import check_fold, train_config
    from physioex.train.run import train

    model, name = resolve(experiment, dataset, version)
    named = inspect.signature(train).parameters
    overrides = {k: v for k, v in train_options.items() if k not in named}
    cli = train_options.get("overrides_from", "api")
    train_config(train_options.get("params", DEFAULT_PARAMS), model, overrides, cli)
    check_fold(train_options.get("fold", 0), "--fold" if cli == "cli" else "train(fold=...)")
    store = ensure_store(name, progress=progress)
    out = out or models_dir(name) / model
    return train(store, model=model, out=out, progress=progress, **train_options)
