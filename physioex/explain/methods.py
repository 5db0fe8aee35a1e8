"""Captum attribution methods and baselines, chosen by name.

Every method explains a per-epoch score function ``f(x) -> (N, 5)`` of epochs ``x (N, channels,
samples)`` (see :class:`physioex.explain.attribute.OwnEpochModel`) for one target stage per epoch and
returns attributions of the same shape as ``x``, in the units of the explained score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from physioex.choices import Baseline, Method
from physioex.explain.bands import BAND_NAMES, remove_bands
from physioex.explain.gradient_shap import gradient_shap

METHODS: dict[str, str] = {
    Method.INTEGRATED_GRADIENTS.value: "path integral of gradients from the baseline to the signal; "
    "complete (attributions add up to the score change); the reference method",
    Method.DEEPLIFT.value: "fast one-pass approximation of Integrated Gradients via reference differences",
    Method.GRADIENT_SHAP.value: "Integrated Gradients averaged over random baselines and noise "
    "(SHAP expectation; each epoch against its own baseline, seeded)",
    Method.SALIENCY.value: "absolute gradient: where a tiny change of the signal would change the score most",
    Method.OCCLUSION.value: "score drop when a short time window of one channel is replaced by the baseline",
}
BASELINES: dict[str, str] = {
    Baseline.ZEROS.value: "a flat 0 uV signal",
    Baseline.MEAN.value: "a flat line at each channel's mean over the recording",
    Baseline.BAND_REMOVED.value: "the same signal with the chosen frequency bands removed",
}


@dataclass(frozen=True)
class MethodConfig:
    """Tuning of the attribution methods (defaults favour speed on a CPU over tiny IG deltas)."""

    n_steps: int = 32
    """Integrated Gradients path steps (Gauss-Legendre)."""
    internal_batch_size: int | None = 256
    """Max rows per forward/backward inside Captum (bounds memory)."""
    occlusion_window_s: float = 0.5
    """Occlusion window length in seconds (one channel at a time)."""
    shap_samples: int = 8
    """GradientShap random baselines per epoch."""
    shap_stdev: float = 0.1
    """GradientShap noise added to the input (normalised units)."""
    seed: int = 0
    """GradientShap draws: epoch ``n`` uses a generator seeded from ``(seed, n)`` (no global state)."""
    perturbations_per_eval: int = 8
    """Occlusion windows evaluated per forward pass."""


def make_baseline(
    kind: str,
    signals_uv: torch.Tensor,
    sampling_rate: float,
    bands: tuple[str, ...] = BAND_NAMES,
) -> Tensor:
    """Baseline ``(epochs, channels, samples)`` in uV for a whole recording ``signals_uv``.

    ``zeros`` is a flat 0 uV line, ``mean`` a flat line at each channel's mean over the recording,
    ``band-removed`` the recording with ``bands`` removed from every epoch's spectrum.
    """
    if kind == "zeros":
        return torch.zeros_like(signals_uv)
    if kind == "mean":
        return signals_uv.mean(dim=(0, 2), keepdim=True).expand_as(signals_uv).clone()
    if kind == "band-removed":
        return remove_bands(signals_uv, sampling_rate, bands)
    raise ValueError(f"unknown baseline {kind!r}; choose from {', '.join(BASELINES)}")


AttributionFn = Callable[
    [nn.Module, Tensor, Tensor, Tensor, tuple[Tensor, ...], float, MethodConfig, Tensor],
    tuple[Tensor, Tensor | None],
]
"""A method given as a function: ``(module, x, baselines, target, forward_args, sampling_rate, config,
keys) -> (attributions (N, C, S), delta (N,) or None)``, called exactly like the named methods (used to
check the checks themselves with explainers whose behaviour is known)."""


def attribute(
    method: str | AttributionFn,
    module: nn.Module,
    x: Tensor,
    baselines: Tensor,
    target: Tensor,
    forward_args: tuple[Tensor, ...],
    sampling_rate: float,
    config: MethodConfig = MethodConfig(),
    keys: Tensor | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Attributions ``(N, C, S)`` of ``module(x, *forward_args)[n, target[n]]`` and the convergence delta.

    The delta ``(N,)`` (sum of attributions minus the score change from baseline to input) is
    returned for the methods that define one (integrated-gradients, deeplift, gradient-shap),
    else ``None``. ``keys (N,)`` identify the epochs (their index in the recording) and seed
    gradient-shap's draws per epoch (default ``0..N-1``). ``method`` may also be an
    :data:`AttributionFn`.
    """
    from captum.attr import DeepLift, IntegratedGradients, Occlusion, Saliency

    keys = keys if keys is not None else torch.arange(x.shape[0])
    if callable(method):
        return method(module, x, baselines, target, forward_args, sampling_rate, config, keys)
    if method == "gradient-shap":
        return gradient_shap(
            module,
            x,
            baselines,
            target,
            forward_args,
            keys,
            n_samples=config.shap_samples,
            stdev=config.shap_stdev,
            seed=config.seed,
            internal_batch_size=config.internal_batch_size,
        )
    explained = {"target": target, "additional_forward_args": forward_args}
    if method == "saliency":
        return Saliency(module).attribute(x, abs=True, **explained), None
    if method == "occlusion":
        width = max(1, round(config.occlusion_window_s * sampling_rate))
        attr = Occlusion(module).attribute(
            x,
            sliding_window_shapes=(1, width),
            strides=(1, width),
            baselines=baselines,
            perturbations_per_eval=config.perturbations_per_eval,
            **explained,
        )
        # Captum gives every sample of a window the window's full score drop; spread it evenly so
        # that, as for the gradient methods, the attributions of a window add up to its effect.
        return attr / width, None
    # The methods with a convergence delta: one call, each method with its own tuning.
    with_delta: dict[str, tuple[Callable[[nn.Module], Any], dict[str, Any]]] = {
        "integrated-gradients": (
            IntegratedGradients,
            {"n_steps": config.n_steps, "internal_batch_size": config.internal_batch_size},
        ),
        "deeplift": (DeepLift, {}),
    }
    if method in with_delta:
        explainer, tuning = with_delta[method]
        attr, delta = explainer(module).attribute(
            x, baselines=baselines, return_convergence_delta=True, **explained, **tuning
        )
        return attr, delta
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
