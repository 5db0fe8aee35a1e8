"""Options shared by several commands, declared once: one name, one meaning, one help text.

Each alias is ``Annotated[type, typer.Option(...)]``; a command uses it as ``store: Store``. Choices are
the Enums of :mod:`physioex.choices` (``--help`` lists them); a wrong one is a usage error (exit 2) in
the library's wording, ``--model: must be one of chambon2018, tinysleepnet, got 'resnet'``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from physioex.choices import Choice
from physioex.paths import default_out, store_dataset
from physioex.sources import channels_help

C = TypeVar("C", bound=Choice)


class ChoiceError(typer.BadParameter):
    """A value that is none of an option's choices: one line naming the option, the choices and the value."""

    def __init__(self, value: str, kind: type[Choice]) -> None:
        super().__init__(f"{value!r} is not a {kind.__name__}")
        self.value, self.kind = value, kind

    def format_message(self) -> str:
        from physioex.errors import InputError
        from physioex.train.checks import choice

        flag = self.param.opts[0] if self.param is not None and self.param.opts else self.kind.__name__
        try:
            choice(self.value, flag, [m.value for m in self.kind])
        except InputError as exc:  # the library's one wording for a bad choice
            return str(exc)
        return self.message


def choice_of(kind: type[C]) -> Callable[[Any], C]:
    """Typer ``parser`` turning a command-line (or preset) string into a member of ``kind``."""

    def parse(value: Any) -> C:
        if isinstance(value, kind):
            return value
        try:
            return kind(value)
        except ValueError:
            raise ChoiceError(value, kind) from None

    return parse


def choice_option(kind: type[Choice], help: str) -> Any:
    """``typer.Option`` of an option whose values are the members of ``kind``, parsed by :func:`choice_of`."""
    return typer.Option(help=help, parser=choice_of(kind))


def _default_out(command: str, source: str) -> Callable[[typer.Context, Path | None], Path | None]:
    """``--out`` callback: no value -> ``paths.default_out`` of the dataset named by the ``source`` parameter
    (the DATASET argument, or the dataset a ``--store`` holds); processed after it since it was not given."""

    def resolve(ctx: typer.Context, value: Path | None) -> Path | None:
        if value is not None or ctx.resilient_parsing:
            return value
        named = ctx.params.get(source)
        if not named:
            return None
        return default_out(command, str(named) if source == "dataset" else store_dataset(named))

    return resolve


STORE_HELP = "Zarr epoch store written by `physioex preprocess` (path or fsspec URL such as s3://...)."
Store = Annotated[str, typer.Option(help=STORE_HELP, show_default=False)]
OptionalStore = Annotated[
    str | None, typer.Option(help=f"{STORE_HELP} Not needed with --experiment/--dataset.", show_default=False)
]
StoreArgument = Annotated[str, typer.Argument(help=STORE_HELP, show_default=False, metavar="STORE")]

Fold = Annotated[
    str | None,
    typer.Option(
        help="Cross-validation fold: a number (0, 1, ...), or 'all' for every fold (train, test). "
        "Default: 0 for train; the checkpoint's own fold for test and explain (test of a model folder: "
        "every fold)."
    ),
]

OUT_HELP = "Where this command writes its results (never one of its inputs)."
_DVC_NOTE = "as in dvc.yaml, under $PHYSIOEX_DATA if set"


def _out(command: str, source: str, holds: str, default: str, tail: str = "") -> Any:
    """The ``--out`` option of ``command``: what it ``holds``, its ``default`` folder (named after the
    store's dataset when ``source`` is ``store``), resolved by ``_default_out`` from parameter ``source``."""
    of_store = ", DATASET being the store's" if source == "store" else ""
    return typer.Option(
        help=f"{OUT_HELP} {holds}Default: {default}{of_store} ({_DVC_NOTE}){tail}.",
        callback=_default_out(command, source),
    )


DownloadOut = Annotated[Path | None, _out("download", "dataset", "", "data/raw/DATASET")]
PreprocessOut = Annotated[
    Path | None,
    _out("preprocess", "dataset", "A Zarr store to create or update. ", "data/stores/DATASET.zarr"),
]
TrainOut = Annotated[
    Path | None,
    _out(
        "train",
        "store",
        "fold-K/best.ckpt, last.ckpt, dvclive/. ",
        "data/models/DATASET",
        "; with --experiment data/models/DATASET/EXPERIMENT",
    ),
]
TestOut = Annotated[
    Path | None, _out("test", "store", "metrics.json, per_recording.csv, plots. ", "data/evaluation/DATASET")
]
ExplainOut = Annotated[
    Path | None, _out("explain", "store", "A folder, replaced atomically. ", "data/explain/DATASET")
]
PredictOut = Annotated[
    Path | None, typer.Option(help=f"{OUT_HELP} The hypnogram CSV. Default: PSG-NAME-hypnogram.csv here.")
]

Progress = Annotated[bool, typer.Option(help="Show a progress bar (--no-progress for logs and CI).")]

Channels = Annotated[
    str | None,
    typer.Option(
        help="Channel names to use, comma-separated, in this order, e.g. 'EEG Fpz-Cz,EOG horizontal'; "
        "preprocess also takes canonical names and alternatives, e.g. 'C4-M1|C3-M2,EOG-L' "
        "(docs/channels.md). "
        f"Default: preprocess {channels_help()}; train every channel of the store."
    ),
]

Subjects = Annotated[
    str | None,
    typer.Option(
        help="Subjects to use, e.g. 0,1,5-7 (Sleep-EDF subject ids; for Dreem, 0-based record indices in "
        "UUID order). Default: every subject (of the dataset for download, of the download for preprocess)."
    ),
]

JOBS_HELP = "Parallel workers (at least 1)"
"""Meaning of ``--jobs``; each command says what runs in parallel."""

TIMEOUT_HELP = "Seconds to wait for a connection and for each answer before giving up (or retrying)."

BATCH_SIZE_HELP = "Windows (sequences of L epochs) per batch"
"""Meaning of ``--batch-size``, in training (a hyper-parameter) and inference (speed only)."""
InferenceBatchSize = Annotated[
    int | None,
    typer.Option(
        help=f"{BATCH_SIZE_HELP} (>= 1), at inference. Default: ~48 epochs on CPU (fastest), 64 on GPU."
    ),
]

Stride = Annotated[
    int | None,
    typer.Option(
        help="Epochs between the starts of the model's windows of L epochs, 1 to L (test, predict). "
        "Default: L, non-overlapping windows. Smaller strides score every epoch where its window holds "
        "at least L - STRIDE past epochs (a unidirectional LSTM such as TinySleepNet's sees no epoch "
        "before its window), at about L / STRIDE times the cost.",
        show_default=False,
    ),
]

CHECKPOINT_HELP = "Trained model written by `physioex train`"
Checkpoint = Annotated[Path, typer.Option(help=f"{CHECKPOINT_HELP}: a .ckpt file.", show_default=False)]
CheckpointOrFolder = Annotated[
    Path,
    typer.Option(
        help=f"{CHECKPOINT_HELP}: a .ckpt file, or its output folder (uses fold-K/best.ckpt).",
        show_default=False,
    ),
]


def channel_names(text: str | None) -> list[str] | None:
    """``"EEG Fpz-Cz, EOG horizontal"`` -> ``["EEG Fpz-Cz", "EOG horizontal"]``; None stays None."""
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]
