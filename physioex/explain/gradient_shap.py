"""GradientShap with each epoch paired with its own baselines, reproducible from an explicit seed.

Captum's ``GradientShap`` draws, for every input, a baseline from the *whole* baseline tensor with
``np.random.choice`` and its noise and path coefficients from the global numpy/torch generators. Here
the inputs are different epochs and each baseline belongs to one epoch (its band-removed copy, its
recording's mean...), so an epoch explained against another epoch's baseline would be explained
against the wrong reference; and a global generator makes a run depend on everything drawn before.

This implementation draws, for epoch ``n`` and each of ``n_samples`` samples ``k``:

* a baseline ``b`` from epoch n's own set ``baselines[n]`` (``(K, C, S)``, uniformly),
* input noise ``eps ~ N(0, stdev**2)`` (SmoothGrad-style, as Captum's ``stdevs``),
* a path coefficient ``alpha ~ U(0, 1)``,

and returns ``mean_k (x_n + eps - b) * grad f(b + alpha * (x_n + eps - b))``, the expectation of
Integrated Gradients over the epoch's baselines (Lundberg & Lee 2017). Every draw comes from a
``torch.Generator`` seeded from ``(seed, key[n])`` by ``numpy.random.SeedSequence``: epoch n's draws
depend only on the seed and its key (its index in the recording), not on the batch it is in or on
any global generator, which is left untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

ScoreFn = Callable[..., Tensor]
"""``f(x, *forward_args) -> (N, n_classes)`` scores of epochs ``x (N, C, S)``."""


def epoch_generator(seed: int, key: int) -> torch.Generator:
    """A CPU generator seeded from ``(seed, key)`` (independent streams for different keys)."""
    state = np.random.SeedSequence([int(seed), int(key)]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & ((1 << 63) - 1))


def draw(
    x: Tensor, baselines: Tensor, keys: Tensor, n_samples: int, stdev: float, seed: int
) -> tuple[Tensor, Tensor, Tensor]:
    """The random draws of every epoch: noisy inputs, baselines, coefficients.

    ``x (N, C, S)``, ``baselines (N, K, C, S)`` (each epoch's own set), ``keys (N,)`` integers.
    Returns ``noisy (N, n_samples, C, S)``, ``chosen (N, n_samples, C, S)`` (rows of ``baselines[n]``
    only) and ``alpha (N, n_samples)``.
    """
    n, k = baselines.shape[:2]
    noisy, chosen, alpha = [], [], []
    for i in range(n):
        gen = epoch_generator(seed, int(keys[i]))
        pick = torch.randint(0, k, (n_samples,), generator=gen)
        a = torch.rand(n_samples, generator=gen, dtype=x.dtype)
        eps = torch.randn((n_samples, *x.shape[1:]), generator=gen, dtype=x.dtype) * stdev
        noisy.append(x[i][None] + eps)
        chosen.append(baselines[i, pick])
        alpha.append(a)
    return torch.stack(noisy), torch.stack(chosen), torch.stack(alpha)


def gradient_shap(
    score: ScoreFn,
    x: Tensor,
    baselines: Tensor,
    target: Tensor,
    forward_args: tuple[Tensor, ...],
    keys: Tensor,
    *,
    n_samples: int = 8,
    stdev: float = 0.1,
    seed: int = 0,
    internal_batch_size: int | None = 256,
) -> tuple[Tensor, Tensor]:
    """GradientShap attributions ``(N, C, S)`` and convergence delta ``(N,)`` of ``score(x)[n, target[n]]``.

    ``baselines`` is ``(N, C, S)`` (one baseline per epoch) or ``(N, K, C, S)`` (K per epoch);
    ``forward_args`` are per-epoch tensors ``(N,)`` repeated with each sample; ``keys (N,)`` seed each
    epoch's draws (see the module docstring). The delta is ``sum(attributions) - mean_k (f(x + eps_k)
    - f(b_k))``: the gap to the expected score change the attributions should add up to.
    """
    if baselines.dim() == x.dim():
        baselines = baselines[:, None]
    n = x.shape[0]
    noisy, chosen, alpha = draw(x, baselines, keys, n_samples, stdev, seed)
    shape = (n * n_samples, *x.shape[1:])
    noisy, chosen = noisy.reshape(shape), chosen.reshape(shape)
    a = alpha.reshape(-1, *([1] * (x.dim() - 1)))
    points = chosen + a * (noisy - chosen)
    rows_target = target.repeat_interleave(n_samples)
    args = tuple(t.repeat_interleave(n_samples, dim=0) for t in forward_args)
    grads = torch.empty_like(points)
    step = internal_batch_size or points.shape[0]
    for lo in range(0, points.shape[0], step):
        hi = min(lo + step, points.shape[0])
        p = points[lo:hi].detach().requires_grad_(True)
        out = score(p, *(t[lo:hi] for t in args))
        picked = out[torch.arange(hi - lo), rows_target[lo:hi]]
        (grads[lo:hi],) = torch.autograd.grad(picked.sum(), p)
    per_sample = (noisy - chosen) * grads
    attributions = per_sample.view(n, n_samples, *x.shape[1:]).mean(dim=1)
    change = torch.empty(points.shape[0], dtype=x.dtype)
    with torch.no_grad():
        for lo in range(0, points.shape[0], step):
            hi = min(lo + step, points.shape[0])
            sub = tuple(t[lo:hi] for t in args)
            rows = torch.arange(hi - lo)
            tgt = rows_target[lo:hi]
            change[lo:hi] = score(noisy[lo:hi], *sub)[rows, tgt] - score(chosen[lo:hi], *sub)[rows, tgt]
    change = change.view(n, n_samples).mean(dim=1)
    delta = attributions.flatten(1).sum(dim=1) - change
    return attributions.detach(), delta.detach()
