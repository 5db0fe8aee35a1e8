"""The ``train`` stage: check every parameter, then fit each requested fold (``physioex.train.fit``).

Returns a :class:`TrainReport` (what was trained, where the best checkpoints are, how well they did,
how long it took); each fold's ``train.json`` holds the same without the wall-clock time, which
varies from run to run and so stays out of the versioned fold folder: it is printed with the report
and, with ``timings=``, written to a file outside ``out`` (``docs/reproducibility.md``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from physioex.errors import InputError
from physioex.io.atomic import write_text_atomic
from physioex.paths import models_dir, store_dataset
from physioex.train import checks
from physioex.train.config import DEFAULT_PARAMS
from physioex.train.fit import check_fold, parse_folds, train_config, train_fold


@dataclass(frozen=True)
class FoldReport:
    """One trained fold: its best checkpoint (best validation macro F1) and how training went."""

    fold: int
    best_checkpoint: Path
    last_checkpoint: Path
    best_val_f1: float | None
    """Best validation macro F1; None if no validation ran."""
    passes: int
    """Passes over the training windows actually run (early stopping may end sooner)."""
    seconds: float
    """Wall-clock time of the fit (not in ``train.json``: it differs between identical runs)."""
    train_recordings: int
    valid_recordings: int
    model: str

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> FoldReport:
        """From the summary ``train_fold`` returns (and writes to ``fold-K/train.json``)."""
        f1 = summary["best_val_f1"]
        return cls(
            fold=int(summary["fold"]),
            best_checkpoint=Path(summary["best_checkpoint"]),
            last_checkpoint=Path(summary["last_checkpoint"]),
            best_val_f1=None if f1 is None else float(f1),
            passes=int(summary["passes"]),
            seconds=float(summary["seconds"]),
            train_recordings=int(summary["train_recordings"]),
            valid_recordings=int(summary["valid_recordings"]),
            model=str(summary["model"]),
        )

    def line(self) -> str:
        """``fold 0: best validation macro F1 0.712 after 3 passes (41.2 s) -> data/models/.../best.ckpt``."""
        f1 = "n/a" if self.best_val_f1 is None else f"{self.best_val_f1:.3f}"
        return (
            f"fold {self.fold}: best validation macro F1 {f1} after {self.passes} passes "
            f"({self.seconds:.1f} s) -> {self.best_checkpoint}"
        )


@dataclass(frozen=True)
class TrainReport:
    """What a ``train`` run did: one :class:`FoldReport` per trained fold, in fold order."""

    out: Path
    folds: tuple[FoldReport, ...]

    @property
    def trained(self) -> list[int]:
        """The folds trained."""
        return [f.fold for f in self.folds]

    @property
    def best_checkpoints(self) -> dict[int, Path]:
        """Fold -> its ``best.ckpt``."""
        return {f.fold: f.best_checkpoint for f in self.folds}

    def summary(self) -> str:
        """One line per fold, as the CLI prints it."""
        return "\n".join(f.line() for f in self.folds)

    def timings(self) -> dict[str, Any]:
        """The ``--timings`` file content: wall-clock seconds per fold and in all."""
        return {
            "stage": "train",
            "seconds": round(sum(f.seconds for f in self.folds), 2),
            "folds": [{"fold": f.fold, "passes": f.passes, "seconds": f.seconds} for f in self.folds],
        }


def check_timings(timings: Path | str, out: Path, inputs: list[Any], where: str) -> Path:
    """``timings`` as a writable file path outside ``out`` (whose files are versioned and must not vary)
    and not one of ``inputs``; ``InputError`` naming ``where`` otherwise."""
    path = checks.output_file(timings, where)
    if checks.same_path(path, out) or Path(os.path.realpath(out)) in Path(os.path.realpath(path)).parents:
        raise InputError(
            f"{where} {path}: lies inside the training output {out}, whose files are versioned and must be "
            "the same on every run; write the timings elsewhere (e.g. logs/train-timings.json)"
        )
    checks.not_an_input(path, where, inputs)
    return path


def train(
    store: str | Path,
    *,
    model: str | None = None,
    fold: str | int = 0,
    out: Path | None = None,
    params: Path | None = DEFAULT_PARAMS,
    resume: bool = False,
    accelerator: str = "cpu",
    devices: str | int = 1,
    num_nodes: int = 1,
    strategy: str = "auto",
    precision: str = "32-true",
    storage_options: dict[str, Any] | None = None,
    progress: bool = True,
    timings: Path | str | None = None,
    overrides_from: str = "api",
    **overrides: Any,
) -> TrainReport:
    """Train ``model`` on ``fold`` (a number or ``"all"``) of ``store`` into ``out``/fold-K.

    ``out`` defaults to ``data/models/<the store's dataset>`` (dvc.yaml's path). Hyper-parameters:
    ``TrainConfig`` defaults <- ``params`` (params.yaml section ``train:``) <- ``model``/``overrides``
    (any ``TrainConfig`` field; None = not given). ``accelerator``, ``devices``, ``num_nodes``,
    ``strategy`` and ``precision`` go straight to ``pl.Trainer``, so e.g. ``accelerator="gpu",
    devices=4, num_nodes=2, strategy="ddp"`` trains with DDP.

    Every parameter is checked before any work (``InputError`` naming its source: params.yaml key,
    ``--option`` when ``overrides_from="cli"``, else the argument); ``out/fold-K`` may not be or lie
    inside the store or the params file; ``resume`` refuses a ``last.ckpt`` of another run.

    Everything written under ``out`` is byte-identical for the same code, parameters, seed and
    platform; the wall-clock time per fold is in the report and, when ``timings`` names a file
    (outside ``out``), written there as JSON (``TrainReport.timings``).
    """
    from physioex.store import open_store

    cfg = train_config(params, model, overrides, overrides_from)
    flag = (
        (lambda k: f"--{k.replace('_', '-')}") if overrides_from == "cli" else (lambda k: f"train({k}=...)")
    )
    check_fold(fold, flag("fold"))
    checks.integer(num_nodes, flag("num_nodes"), 1)
    location = checks.input_store(store, flag("store"))
    if out is not None:
        out = checks.output_dir(out, flag("out"))
    st = open_store(location, storage_options)
    if not st.recordings:
        raise InputError(f"{flag('store')} {location}: holds no recordings; run `physioex preprocess` first")
    if out is None:
        out = checks.output_dir(models_dir(st.dataset or store_dataset(location)), flag("out"))
    folds = parse_folds(fold, len(st.folds), flag("fold"))
    for k in folds:
        checks.not_an_input(
            out / f"fold-{k}", flag("out"), [location, params], derived=f"writes {out}/fold-{k}"
        )
    timings_path = (
        None if timings is None else check_timings(timings, out, [location, params], flag("timings"))
    )
    trainer_kwargs = {
        "accelerator": accelerator,
        "devices": devices,
        "num_nodes": num_nodes,
        "strategy": strategy,
        "precision": precision,
    }
    out.mkdir(parents=True, exist_ok=True)
    reports = [
        FoldReport.from_summary(
            train_fold(
                location,
                k,
                cfg,
                out,
                resume=resume,
                trainer_kwargs=trainer_kwargs,
                storage_options=storage_options,
                progress=progress,
            )
        )
        for k in folds
    ]
    report = TrainReport(out=out, folds=tuple(reports))
    if timings_path is not None:
        write_text_atomic(timings_path, json.dumps(report.timings(), indent=2) + "\n")
    return report
