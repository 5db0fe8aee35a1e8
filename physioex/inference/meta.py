"""What a checkpoint records about its model and the data it was trained on, as one typed object.

``physioex train`` writes ``CheckpointMeta.to_dict()`` (primitives only, safe under
``torch.load(weights_only=True)``) into the Lightning hyper-parameters; inference reads it back with
``CheckpointMeta.from_dict``. Checkpoints written before the optional fields existed still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from physioex.inference.errors import CheckpointError
from physioex.inference.normalise import Normaliser

if TYPE_CHECKING:
    from physioex.preprocess.params import PreprocessParams

CHECKPOINT_FORMAT = 1
"""Version of the ``meta`` layout written into checkpoints (optional fields were added compatibly)."""

REQUIRED_KEYS = (
    "model",
    "channels",
    "sampling_rate",
    "samples_per_epoch",
    "seq_len",
    "normalisation",
    "fold",
)
"""Keys every physioex checkpoint's ``meta`` holds (besides ``format``)."""

RESUME_FIELDS = ("model", "model_kwargs", "channels", "sampling_rate", "samples_per_epoch", "seq_len", "fold")
"""Fields that must match for ``--resume`` to continue a run (the network and its input)."""

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class CheckpointMeta:
    """The model, its input (channels, Hz, samples per 30-s epoch, L), normalisation, fold and the
    preprocessing of the store it was trained on (``None`` in checkpoints older than that field)."""

    model: str
    channels: tuple[str, ...]
    sampling_rate: float
    samples_per_epoch: int
    seq_len: int
    fold: int
    normalisation: Normaliser
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    dataset: str = ""
    store: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    train_subjects: tuple[str, ...] | None = None
    valid_subjects: tuple[str, ...] | None = None
    test_subjects: tuple[str, ...] | None = None
    preprocessing: dict[str, Any] | None = None
    """The store's root attribute ``preprocessing`` (``PreprocessParams.to_dict()``)."""
    params_hash: str | None = None
    """The store's root attribute ``params_hash``."""

    def to_dict(self) -> dict[str, Any]:
        """Primitive dict for the checkpoint (``hyper_parameters["meta"]``)."""
        d: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "model": self.model,
            "model_kwargs": dict(self.model_kwargs),
            "channels": list(self.channels),
            "sampling_rate": float(self.sampling_rate),
            "samples_per_epoch": int(self.samples_per_epoch),
            "seq_len": int(self.seq_len),
            "normalisation": self.normalisation.to_meta(),
            "fold": int(self.fold),
            "dataset": self.dataset,
            "store": self.store,
            "config": dict(self.config),
            "preprocessing": dict(self.preprocessing) if self.preprocessing is not None else None,
            "params_hash": self.params_hash,
        }
        subjects = {s: list(v) for s in SPLITS if (v := getattr(self, f"{s}_subjects")) is not None}
        if subjects:
            d["subjects"] = subjects
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str, what_to_do: str) -> CheckpointMeta:
        """Parse a checkpoint's ``meta`` (``CheckpointError`` naming ``where`` when it is not one)."""
        if not isinstance(d, dict) or d.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"checkpoint {where}: not written by `physioex train` (no physioex meta of format "
                f"{CHECKPOINT_FORMAT}); {what_to_do}"
            )
        missing = [k for k in REQUIRED_KEYS if k not in d]
        if missing:
            raise CheckpointError(f"checkpoint {where}: its physioex meta lacks {missing}; {what_to_do}")
        subjects = d.get("subjects") or {}
        try:
            return cls(
                model=str(d["model"]),
                channels=tuple(str(c) for c in d["channels"]),
                sampling_rate=float(d["sampling_rate"]),
                samples_per_epoch=int(d["samples_per_epoch"]),
                seq_len=int(d["seq_len"]),
                fold=int(d["fold"]),
                normalisation=Normaliser.from_meta(d["normalisation"]),
                model_kwargs=dict(d.get("model_kwargs") or {}),
                dataset=str(d.get("dataset") or ""),
                store=str(d.get("store") or ""),
                config=dict(d.get("config") or {}),
                train_subjects=_subjects(subjects, "train"),
                valid_subjects=_subjects(subjects, "valid"),
                test_subjects=_subjects(subjects, "test"),
                preprocessing=dict(d["preprocessing"]) if d.get("preprocessing") else None,
                params_hash=str(d["params_hash"]) if d.get("params_hash") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"checkpoint {where}: its physioex meta is malformed ({exc}); {what_to_do}"
            ) from None

    def preprocess_params(self) -> PreprocessParams:
        """How ``predict`` must read a new recording: the training store's preprocessing parameters.

        Checkpoints older than the ``preprocessing`` field get the model's rate and no band-pass (what
        ``predict`` did then). Upsampling is always allowed: a new lab's PSG may be recorded slower.
        """
        from physioex.preprocess.params import PreprocessParams

        p = dict(self.preprocessing or {"sampling_rate": self.sampling_rate})
        known = PreprocessParams.__dataclass_fields__
        kwargs = {k: v for k, v in p.items() if k in known}
        kwargs["channels"] = tuple(kwargs["channels"]) if kwargs.get("channels") else None
        kwargs["bandpass"] = tuple(float(v) for v in kwargs["bandpass"]) if kwargs.get("bandpass") else None
        kwargs["allow_upsampling"] = True
        return PreprocessParams(**kwargs)


def _subjects(subjects: dict[str, Any], split: str) -> tuple[str, ...] | None:
    values = subjects.get(split)
    return tuple(str(s) for s in values) if values is not None else None
