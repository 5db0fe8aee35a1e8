"""``physioex train``: fit a model on one fold (or every fold) of a Zarr epoch store with Lightning.

Writes ``<out>/fold-<k>/best.ckpt`` (best validation macro F1), ``last.ckpt`` (for ``--resume``),
DVCLive curves under ``<out>/fold-<k>/dvclive/`` and a summary ``<out>/fold-<k>/train.json``
(each fold's outputs stay inside its own folder, so folds can be separate DVC stages).

Every file in the fold folder is a versioned output, so none holds a run-to-run value: the same
code, parameters, seed and platform write the same bytes wherever the folder lives
(``docs/reproducibility.md``). Paths inside it are relative to the folder; the wall-clock time is
only in the summary ``train_fold`` returns (printed by ``physioex train``, ``--timings`` file).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from physioex.errors import InputError
from physioex.inference.meta import CheckpointMeta
from physioex.io.atomic import write_text_atomic
from physioex.train.config import TrainConfig, make_config, read_params


def check_fold(fold: str | int, where: str = "--fold") -> str | int:
    """``fold`` if it is ``"all"`` or a fold number >= 0 (a string of digits or an int)."""
    if isinstance(fold, str) and fold.strip().lower() == "all":
        return "all"
    if isinstance(fold, bool) or not (
        isinstance(fold, int) or (isinstance(fold, str) and fold.strip().isdigit())
    ):
        raise InputError(f"{where}: must be a fold number (0, 1, ...) or 'all', got {fold!r}")
    return int(fold)


def parse_folds(fold: str | int, n_folds: int, where: str = "--fold") -> list[int]:
    """``"all"`` -> every fold; ``"3"`` or 3 -> [3]; ``InputError`` when malformed or out of range."""
    k = check_fold(fold, where)
    if n_folds == 0:
        raise InputError(
            f"{where}: the store has no folds (fewer than 3 subjects?); preprocess more subjects"
        )
    if k == "all":
        return list(range(n_folds))
    assert isinstance(k, int)
    if not 0 <= k < n_folds:
        raise InputError(
            f"{where}: fold {k} does not exist; the store has {n_folds} folds (0..{n_folds - 1})"
        )
    return [k]


def train_fold(
    location: str,
    fold: int,
    cfg: TrainConfig,
    out: Path,
    *,
    resume: bool = False,
    trainer_kwargs: dict[str, Any] | None = None,
    storage_options: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train fold ``fold``; returns a summary (best checkpoint path, best validation macro F1, passes,
    wall-clock ``seconds``): ``fold-K/train.json`` holds the same without the time, with file names
    relative to the fold folder."""
    import pytorch_lightning as pl
    from dvclive.lightning import DVCLiveLogger
    from pytorch_lightning.callbacks import EarlyStopping

    from physioex.train.checkpointing import FolderCheckpoint
    from physioex.train.datamodule import SleepDataModule
    from physioex.train.module import SleepStager

    fold_dir = Path(out) / f"fold-{fold}"
    fold_dir.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    dm = SleepDataModule(
        location,
        fold,
        channels=cfg.channels,
        seq_len=cfg.seq_len,
        batch_size=cfg.batch_size,
        eval_batch_size=cfg.eval_batch_size,
        normalisation=cfg.normalisation,
        augment=cfg.augment,
        max_shift_fraction=cfg.max_shift_fraction,
        max_skip=cfg.max_skip,
        num_workers=cfg.num_workers,
        cache_recordings=cfg.cache_recordings,
        seed=cfg.seed,
        storage_options=storage_options,
    )
    dm.setup("fit")
    assert dm.normaliser is not None
    meta = CheckpointMeta(
        model=cfg.model,
        model_kwargs=dict(cfg.model_kwargs),
        channels=tuple(dm.channels),
        sampling_rate=float(dm.sampling_rate),
        samples_per_epoch=int(dm.samples_per_epoch),
        seq_len=int(cfg.seq_len),
        normalisation=dm.normaliser,
        fold=int(fold),
        dataset=dm.dataset_name,
        store=location,
        config=cfg.to_dict(),
        train_subjects=tuple(dm.subjects["train"]),
        valid_subjects=tuple(dm.subjects["valid"]),
        test_subjects=tuple(dm.subjects["test"]),
        preprocessing=dm.preprocessing,
        params_hash=dm.params_hash,
    )
    module = SleepStager(
        model=cfg.model,
        n_channels=len(dm.channels),
        sampling_rate=dm.sampling_rate,
        model_kwargs=dict(cfg.model_kwargs),
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        l2_conv=cfg.l2_conv,
        class_weights=cfg.class_weights,
        seed=cfg.seed,
        meta=meta.to_dict(),
    )
    last = fold_dir / "last.ckpt"
    ckpt_path = None
    if resume and last.exists():
        from physioex.inference.checkpoint import check_resumable

        check_resumable(last, meta, module.state_dict())
        ckpt_path = str(last)
    checkpoint = FolderCheckpoint(
        dirpath=fold_dir,
        filename="best",
        monitor="val_f1",
        mode="max",
        save_top_k=1,
        enable_version_counter=False,
    )
    # last.ckpt after EVERY pass, for --resume: Lightning's own save_last only rewrites it on passes
    # that also improved best.ckpt, so a resumed run would repeat the passes since the last gain.
    latest = FolderCheckpoint(dirpath=fold_dir, filename="last", save_top_k=1, enable_version_counter=False)
    logger = DVCLiveLogger(
        dir=str(fold_dir / "dvclive"), save_dvc_exp=False, dvcyaml=False, resume=ckpt_path is not None
    )
    kwargs: dict[str, Any] = {"accelerator": "cpu", "devices": 1, "deterministic": "warn"}
    kwargs.update(trainer_kwargs or {})
    trainer = pl.Trainer(
        max_epochs=cfg.max_epochs,
        gradient_clip_val=cfg.grad_clip or None,
        callbacks=[checkpoint, latest, EarlyStopping(monitor="val_f1", mode="max", patience=cfg.patience)],
        logger=logger,
        default_root_dir=str(fold_dir),
        limit_train_batches=cfg.limit_train_batches,
        num_sanity_val_steps=0,
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=1,
        # Our training sampler shards itself across DDP ranks (keeping each rank's recording cache
        # small); every rank scores the whole validation set, so metrics stay exact.
        use_distributed_sampler=False,
        **kwargs,
    )
    t0 = time.perf_counter()
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path, weights_only=True)
    seconds = round(time.perf_counter() - t0, 2)
    best_score = checkpoint.best_model_score
    record = {  # train.json: versioned, so only what the same run reproduces, paths inside fold_dir
        "fold": fold,
        "best_checkpoint": "best.ckpt",
        "last_checkpoint": last.name,
        "best_val_f1": float(best_score) if best_score is not None else None,
        "passes": int(trainer.current_epoch),
        "train_recordings": len(dm.splits["train"]),
        "valid_recordings": len(dm.splits["valid"]),
        "model": cfg.model,
        "config": cfg.to_dict(),
    }
    if trainer.is_global_zero:  # under DDP every rank returns the summary, one writes it
        write_text_atomic(fold_dir / "train.json", json.dumps(record, indent=2) + "\n")
    return {
        **record,
        "best_checkpoint": str(fold_dir / "best.ckpt"),
        "last_checkpoint": str(last),
        "seconds": seconds,
    }


def train_config(
    params: Path | str | None, model: str | None, overrides: dict[str, Any], overrides_from: str = "api"
) -> TrainConfig:
    """The validated ``TrainConfig`` of a run: defaults <- params file ``train:`` <- model/overrides."""
    return make_config(
        read_params(params), {"model": model, **overrides}, params_file=params, overrides_from=overrides_from
    )
