"""Model-randomisation sanity check (Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018).

An explanation that reflects what the model learnt must change when the learnt weights are destroyed.
The trained model's attribution maps are compared with the maps the same method gives for copies of
the model whose layers are re-initialised:

* **cascading**: from the head (last layer) down to the first layer, one more layer at a time, so the
  last step is the fully randomised model;
* **independent**: one layer at a time, all others trained.

Similarity is the Spearman rank correlation of ``|attributions|`` over an epoch's ``channels x
samples`` (and, for reference, of the signed attributions). A weight-independent **control** map
(``|input - baseline|``, ``|input|`` for saliency, which has no baseline: the map of a "model" that
scores signal energy) gives the scale: maps that mostly follow the input correlate between the
trained and a random model through the input alone. The verdict therefore uses the *partial* rank
correlation of the trained and fully randomised maps given the control (what they share beyond the
input term) and passes when its one-sided 95 % upper confidence bound over the checked epochs is
below :data:`MAX_PARTIAL` (the reasoning is in ``docs/explanation-checks.md``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata
from scipy.stats import t as student_t
from torch import nn

MAX_PARTIAL = 0.3
"""Pass when the trained and fully randomised maps share less than this partial rank correlation
given the control (less than 9 % of the rank variance the control does not explain)."""

CASCADING = "cascading"
INDEPENDENT = "independent"


@dataclass(frozen=True)
class Step:
    """One randomisation step: ``layer`` is re-initialised (cascading: with every layer after it)."""

    mode: str
    """``cascading`` or ``independent``."""
    layer: str
    """Qualified module name of the layer this step adds (e.g. ``head``, ``sequence_encoder``)."""
    layers: tuple[str, ...]
    """Every layer re-initialised in this step's model."""


def parametric_layers(model: nn.Module) -> list[str]:
    """Names of the modules with their own parameters and a ``reset_parameters``, input to output.

    The order is registration order, which for :mod:`physioex.models` is the forward order (epoch
    encoder convolutions, then the LSTM, then the head).
    """
    names = []
    for name, module in model.named_modules():
        own = next(iter(module.parameters(recurse=False)), None) is not None
        if name and own and callable(getattr(module, "reset_parameters", None)):
            names.append(name)
    return names


def randomisation_steps(layers: list[str]) -> list[Step]:
    """Cascading steps from the last layer down to the first, then one independent step per layer."""
    steps = [Step(CASCADING, layers[i], tuple(layers[i:])) for i in range(len(layers) - 1, -1, -1)]
    return steps + [Step(INDEPENDENT, name, (name,)) for name in layers]


def randomised_copy(model: nn.Module, layers: tuple[str, ...], seed: int = 0) -> nn.Module:
    """Deep copy of ``model`` (eval mode) with the named ``layers`` re-initialised by ``reset_parameters``.

    Layer ``i`` of :func:`parametric_layers` is drawn with seed ``seed + i`` under a forked generator:
    a layer gets the same random weights in every step it is randomised in, and the global generator
    is left as it was.
    """
    clone = copy.deepcopy(model)
    order = parametric_layers(clone)
    modules = dict(clone.named_modules())
    for name in layers:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + order.index(name))
            modules[name].reset_parameters()  # type: ignore[operator]
    return clone.eval()


def control_map(method: object, x: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """The weight-independent control ``(N, C, S)``: ``|x - baseline|`` (``|x|`` for saliency).

    It is what a method dominated by its ``(input - baseline)`` term would show whatever the weights.
    """
    return np.abs(x) if method == "saliency" else np.abs(x - baseline)


def _row_ranks(a: np.ndarray) -> np.ndarray:
    return rankdata(a.reshape(a.shape[0], -1), axis=1)


def _row_corr(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Pearson correlation per row of two ``(N, D)`` arrays (of ranks: Spearman); NaN if a row is flat."""
    a = ra - ra.mean(axis=1, keepdims=True)
    b = rb - rb.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (a * b).sum(axis=1) / den
    return np.where(den > 0, out, np.nan)


def partial_correlation(r_tr: np.ndarray, r_tc: np.ndarray, r_rc: np.ndarray) -> np.ndarray:
    """Partial correlation of trained and random maps given the control, per epoch.

    ``(r_tr - r_tc r_rc) / sqrt((1 - r_tc^2)(1 - r_rc^2))``. A trained map rank-identical to the
    control carries nothing beyond the input: 1 (the check fails); a random map identical to the
    control shares nothing beyond it: 0.
    """
    eps = 1e-9
    den = np.sqrt(np.clip((1 - r_tc**2) * (1 - r_rc**2), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.clip((r_tr - r_tc * r_rc) / den, -1.0, 1.0)
    out = np.where(1 - r_rc**2 < eps, 0.0, out)
    return np.where(1 - r_tc**2 < eps, 1.0, out)


def compare_maps(trained: np.ndarray, random: np.ndarray, control: np.ndarray) -> dict[str, np.ndarray]:
    """Per-epoch similarities of maps ``(N, C, S)``: Spearman of |maps| (trained vs random, trained vs
    control, random vs control), Spearman of signed maps, and the partial correlation given the control."""
    rt, rr, rc = _row_ranks(np.abs(trained)), _row_ranks(np.abs(random)), _row_ranks(control)
    r_tr, r_tc, r_rc = _row_corr(rt, rr), _row_corr(rt, rc), _row_corr(rr, rc)
    signed = _row_corr(_row_ranks(trained), _row_ranks(random))
    return {
        "spearman_abs": r_tr,
        "spearman_signed": signed,
        "spearman_trained_control": r_tc,
        "spearman_random_control": r_rc,
        "partial": partial_correlation(r_tr, r_tc, r_rc),
    }


@dataclass
class RandomisationChecks:
    """Per-epoch similarities collected recording by recording, per randomised layer set."""

    values: dict[tuple[str, ...], dict[str, list[np.ndarray]]] = field(default_factory=dict)

    def add(
        self, layers: tuple[str, ...], trained: np.ndarray, random: np.ndarray, control: np.ndarray
    ) -> None:
        """Add the maps ``(N, C, S)`` of the checked epochs of one recording for one layer set."""
        slot = self.values.setdefault(layers, {})
        for key, val in compare_maps(trained, random, control).items():
            slot.setdefault(key, []).append(val)

    def get(self, layers: tuple[str, ...], key: str) -> np.ndarray:
        """All finite per-epoch values of ``key`` for one layer set."""
        parts = self.values.get(layers, {}).get(key, [])
        cat = np.concatenate(parts) if parts else np.zeros(0)
        return cat[np.isfinite(cat)]


def _mean(v: np.ndarray) -> float:
    return float(v.mean()) if v.size else float("nan")


def upper_bound_95(v: np.ndarray) -> float:
    """One-sided 95 % upper confidence bound of the mean of ``v`` (Student t; the mean if n < 2)."""
    if v.size < 2:
        return _mean(v)
    sd = float(v.std(ddof=1))
    return float(v.mean() + student_t.ppf(0.95, v.size - 1) * sd / np.sqrt(v.size))


def summarise_randomisation(checks: RandomisationChecks, steps: list[Step]) -> dict[str, Any]:
    """The per-step table, the control and the verdict for ``faithfulness.json``.

    The verdict is computed on the last cascading step (every layer randomised).
    """
    rows = []
    for i, step in enumerate(steps):
        abs_ = checks.get(step.layers, "spearman_abs")
        rows.append(
            {
                "step": i + 1,
                "mode": step.mode,
                "layer": step.layer,
                "n_layers_randomised": len(step.layers),
                "n_epochs": int(abs_.size),
                "spearman_abs_mean": _mean(abs_),
                "spearman_abs_median": float(np.median(abs_)) if abs_.size else float("nan"),
                "spearman_signed_mean": _mean(checks.get(step.layers, "spearman_signed")),
                "partial_given_control_mean": _mean(checks.get(step.layers, "partial")),
            }
        )
    full = [s for s in steps if s.mode == CASCADING][-1].layers if steps else ()
    partial = checks.get(full, "partial")
    upper = upper_bound_95(partial)
    return {
        "control": "|input - baseline| (|input| for saliency): the map of a weight-free energy score",
        "spearman_trained_vs_control": _mean(checks.get(full, "spearman_trained_control")),
        "steps": rows,
        "verdict": {
            "statistic": "partial Spearman of |attributions|, trained vs fully randomised model, "
            "given the control",
            "n_epochs": int(partial.size),
            "spearman_trained_vs_random": _mean(checks.get(full, "spearman_abs")),
            "spearman_random_vs_control": _mean(checks.get(full, "spearman_random_control")),
            "partial_mean": _mean(partial),
            "partial_upper_95": upper,
            "threshold": MAX_PARTIAL,
        },
        "passed": bool(partial.size and upper < MAX_PARTIAL),
    }


@dataclass(frozen=True)
class RandomisedModels:
    """The steps of the check and one randomised copy per distinct layer set (built once per run)."""

    steps: list[Step]
    models: dict[tuple[str, ...], nn.Module]

    @classmethod
    def of(cls, model: nn.Module, seed: int = 0) -> RandomisedModels:
        """Every cascading and independent step of ``model`` (see :func:`randomised_copy` for ``seed``)."""
        steps = randomisation_steps(parametric_layers(model))
        models: dict[tuple[str, ...], nn.Module] = {}
        for step in steps:
            if step.layers not in models:
                models[step.layers] = randomised_copy(model, step.layers, seed)
        return cls(steps, models)

    def check(
        self,
        trained: np.ndarray,
        explain: Callable[[nn.Module], np.ndarray],
        control: np.ndarray,
        checks: RandomisationChecks,
    ) -> None:
        """Compare ``trained`` maps ``(N, C, S)`` with ``explain(model)`` (the same epochs' maps for
        each randomised model, same targets) and add the similarities to ``checks``."""
        for layers, model in self.models.items():
            checks.add(layers, trained, explain(model), control)
