"""LightningModule wrapping a sequence-to-sequence model: loss, optimiser, validation macro F1."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassCohenKappa, MulticlassF1Score

from physioex.models import build_model
from physioex.train.dataset import IGNORE_INDEX

N_CLASSES = 5


def scored_epoch_loss(
    logits: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Class-weighted cross-entropy per scored epoch: ``sum_i w[y_i] * CE_i / N_scored``.

    The normalisation of the TinySleepNet reference code (``model.py``: the weighted per-epoch losses
    summed, divided by the number of real epochs), not PyTorch's weighted mean, which divides by
    ``sum_i w[y_i]`` and so undoes part of a class weight batch by batch (a batch rich in N1 gets a
    smaller step per epoch). With equal weights both are the plain mean over scored epochs.

    Parameters
    ----------
    logits
        ``(..., 5)`` scores, e.g. ``(batch, L, 5)``.
    y
        Targets of the same leading shape, ``IGNORE_INDEX`` for unscored epochs (not counted at all).
    weight
        ``(5,)`` class weights W, N1, N2, N3, REM, or None for equal weights.

    Returns
    -------
    torch.Tensor
        A scalar; 0 when no epoch is scored.
    """
    flat_y = y.reshape(-1)
    total = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        flat_y,
        weight=weight,
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return total / (flat_y != IGNORE_INDEX).sum().clamp(min=1)


class SleepStager(pl.LightningModule):
    """Trains ``build_model(model, ...)`` with cross-entropy over all scored positions.

    The loss is :func:`scored_epoch_loss` (class weights, normalised by the number of scored epochs)
    plus ``l2_conv / 2`` times the squared norm of the convolution kernels (TensorFlow's
    ``l2_loss``, as in the TinySleepNet reference code). Adam uses PyTorch's defaults
    ``betas=(0.9, 0.999)``, ``eps=1e-8``, the reference code's values.

    Hyper-parameters are primitives only (str/int/float/list/dict), so checkpoints load under
    ``torch.load(weights_only=True)``; ``meta`` carries what inference needs (channels,
    sampling rate, L, normalisation statistics, fold, dataset).
    """

    def __init__(
        self,
        model: str,
        n_channels: int,
        sampling_rate: float = 100.0,
        model_kwargs: dict[str, Any] | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        l2_conv: float = 0.0,
        class_weights: list[float] | None = None,
        seed: int = 0,
        meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = build_model(
            model,
            n_channels=n_channels,
            sampling_rate=sampling_rate,
            n_classes=N_CLASSES,
            **(model_kwargs or {}),
        )
        weight = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        if weight is not None and weight.numel() != N_CLASSES:
            raise ValueError(
                f"class_weights needs {N_CLASSES} values (W, N1, N2, N3, REM), got {weight.numel()}"
            )
        # Holds the class weights as a buffer (state-dict key ``loss_fn.weight``, moved with the module);
        # the loss itself is scored_epoch_loss.
        self.loss_fn = nn.CrossEntropyLoss(weight=weight, ignore_index=IGNORE_INDEX, reduction="sum")
        self.val_f1 = MulticlassF1Score(num_classes=N_CLASSES, average="macro", ignore_index=IGNORE_INDEX)
        self.val_acc = MulticlassAccuracy(num_classes=N_CLASSES, average="micro", ignore_index=IGNORE_INDEX)
        self.val_kappa = MulticlassCohenKappa(num_classes=N_CLASSES, ignore_index=IGNORE_INDEX)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, L, 5)`` of normalised windows ``(batch, L, channels, samples)``."""
        return self.model(x)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # Reseed per optimiser step so a resumed run draws the same dropout masks as an uninterrupted one.
        torch.manual_seed(self._hp("seed") * 1_000_003 + self.global_step)

    def _loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Training loss of logits ``(batch, L, 5)`` against targets ``(batch, L)``: cross-entropy plus L2."""
        loss = scored_epoch_loss(logits, y, self.loss_fn.weight)
        l2_conv = self._hp("l2_conv")
        if l2_conv:
            l2 = sum(w.pow(2).sum() for w in self.model.l2_parameters())  # type: ignore[operator]
            loss = loss + l2_conv * 0.5 * l2
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        if (y != IGNORE_INDEX).sum() == 0:  # nothing scored in this batch: skip cleanly
            return (self(x) * 0.0).sum()
        loss = self._loss(self(x), y)
        self.log(
            "train_loss",
            loss,
            on_epoch=True,
            on_step=False,
            prog_bar=True,
            batch_size=x.shape[0],
            sync_dist=True,
        )
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        flat_logits, flat_y = logits.reshape(-1, N_CLASSES), y.reshape(-1)
        if (flat_y != IGNORE_INDEX).any():
            loss = scored_epoch_loss(flat_logits, flat_y, self.loss_fn.weight)
            self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=x.shape[0], sync_dist=True)
        preds = flat_logits.argmax(-1)
        self.val_f1.update(preds, flat_y)
        self.val_acc.update(preds, flat_y)
        self.val_kappa.update(preds, flat_y)
        self.log("val_f1", self.val_f1, on_step=False, on_epoch=True, prog_bar=True)
        self.log("val_acc", self.val_acc, on_step=False, on_epoch=True, prog_bar=True)
        self.log("val_kappa", self.val_kappa, on_step=False, on_epoch=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self._hp("lr"), weight_decay=self._hp("weight_decay"))

    def _hp(self, name: str) -> Any:
        """A saved constructor argument (Lightning's ``hparams`` mapping)."""
        return self.hparams[name]
