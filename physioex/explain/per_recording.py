"""Explain the chosen recordings one by one: attributions, faithfulness checks, summaries, examples.

A recording whose data is damaged is recorded as a failure and the others go on; bugs still raise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from physioex.errors import PhysioexError
from physioex.explain.faithfulness import FaithfulnessChecks
from physioex.explain.plots import Example, keep_best_examples
from physioex.explain.summaries import StageSummary

if TYPE_CHECKING:
    from collections.abc import Callable

    from physioex.explain.attribute import RecordingExplanation
    from physioex.explain.inputs import ExplainInputs
    from physioex.explain.parameters import ExplainSettings
    from physioex.explain.randomisation import RandomisedModels
    from physioex.inference.checkpoint import LoadedModel
    from physioex.inference.normalise import Normaliser

log = logging.getLogger(__name__)


@dataclass
class Explained:
    """What explaining the recordings produced, before the run-level outputs are written."""

    summary: StageSummary
    checks: FaithfulnessChecks = field(default_factory=FaithfulnessChecks)
    examples: dict[int, Example] = field(default_factory=dict)
    """Stage -> the epoch drawn in ``examples.png``."""
    failures: dict[str, str] = field(default_factory=dict)
    """Recording id -> one-line reason it could not be explained."""
    n_epochs: int = 0
    """Epochs explained (with a target) over all recordings."""


def explain_recordings(
    inputs: ExplainInputs,
    settings: ExplainSettings,
    counts: list[int],
    samples: list[np.ndarray],
    write: Callable[[str, RecordingExplanation, np.ndarray, dict[str, Any]], None],
    progress: Callable[[int], Any],
    randomised_models: RandomisedModels,
) -> Explained:
    """Explain the first ``counts[i]`` epochs of each chosen recording; ``write`` stores each result.

    ``samples[i]``: epoch indices of recording ``i`` used for the model-randomisation (and IG) checks,
    run with ``randomised_models`` (built from the checkpoint's model).
    """
    from physioex.explain.bands import BAND_NAMES

    ckpt, st = inputs.checkpoint, inputs.store
    done = Explained(StageSummary(ckpt.channels, ckpt.samples_per_epoch, ckpt.sampling_rate, BAND_NAMES))
    for rec, n, sample in zip(inputs.recordings, counts, samples, strict=True):
        try:
            uv = np.ascontiguousarray(st.signals(rec, 0, n)[:, inputs.channel_index], dtype=np.float32)
            labels = st.labels(rec)[:n].astype(np.int64)
            res = explain_one(ckpt, randomised_models, uv, labels, sample, done.checks, progress, settings)
        except PhysioexError as exc:  # damaged data of one recording must not stop the others; bugs do
            log.error("explain: recording %s failed: %s", rec, exc)
            done.failures[rec] = str(exc)
            continue
        done.n_epochs += int((res.targets >= 0).sum())
        write(rec, res, labels, {"n_epochs": n, "subject": st.subject_of(rec)})
        done.summary.add(res)
        done.checks.add_explained(res)
        keep_best_examples(done.examples, rec, res, uv, labels)
    return done


def explain_one(
    ckpt: LoadedModel,
    random_models: RandomisedModels,
    uv: np.ndarray,
    labels: np.ndarray,
    sample: np.ndarray,
    checks: FaithfulnessChecks,
    progress: Callable[[int], Any],
    settings: ExplainSettings,
) -> RecordingExplanation:
    """Explain one recording ``uv (epochs, channels, samples)``; add its faithfulness checks on ``sample``.

    The randomised models (and, for methods other than integrated-gradients, an IG completeness run)
    are applied to the ``sample`` epochs with the trained model's targets.
    """
    import torch

    from physioex.explain.attribute import explain_recording
    from physioex.explain.methods import make_baseline
    from physioex.explain.randomisation import control_map

    norm = recording_normaliser(ckpt, uv)
    x = torch.from_numpy(norm.apply(uv))
    base_uv = make_baseline(
        settings.baseline, torch.from_numpy(uv), ckpt.sampling_rate, settings.baseline_bands
    )
    base = torch.from_numpy(norm.apply(base_uv.numpy()))
    common: dict[str, Any] = {
        "seq_len": ckpt.seq_len,
        "sampling_rate": ckpt.sampling_rate,
        "config": settings.config,
        "output": settings.output,
        "epochs_per_batch": settings.epochs_per_batch,
    }
    method = settings.method
    res = explain_recording(
        ckpt.model,
        x,
        base,
        labels,
        method=method,
        target=settings.target,
        shapley=settings.shapley,
        progress=progress,
        **common,
    )
    sample = sample[res.targets[sample] >= 0]
    if sample.size == 0:
        return res
    kw = {"bands": None, "only": sample, "targets": res.targets.astype(np.int64), **common}

    def attributions_of(model: Any) -> np.ndarray:
        return explain_recording(model, x, base, labels, method=method, **kw).attributions[sample]

    control = control_map(method, x.numpy()[sample], base.numpy()[sample])
    random_models.check(res.attributions[sample], attributions_of, control, checks.randomisation)
    if method != "integrated-gradients":
        ig = explain_recording(ckpt.model, x, base, labels, method="integrated-gradients", **kw)
        checks.ig.append(np.stack([ig.delta[sample], (ig.score - ig.own_baseline_score)[sample]]))
    return res


def recording_normaliser(ckpt: LoadedModel, uv: np.ndarray) -> Normaliser:
    """The checkpoint's normalisation as a fixed per-channel map for this recording.

    With per-recording normalisation the statistics must come from the recording, not from the
    baseline (a flat baseline has no variance), so signal and baseline share one affine map.
    """
    from physioex.inference.normalise import Normaliser, channel_moments

    n = ckpt.normaliser
    if n.mode != "recording":
        return n
    mean, std = channel_moments([uv])
    return Normaliser(mode="global", mean=tuple(map(float, mean)), std=tuple(map(float, std)))
