"""Parameters of an explain run: checked before any work, and the settings each recording gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from physioex.errors import InputError
from physioex.explain.bands import BAND_NAMES
from physioex.explain.errors import ExplainError
from physioex.explain.methods import BASELINES, METHODS, MethodConfig


def check_parameters(
    *,
    method: str,
    target: str,
    baseline: str,
    baseline_bands: tuple[str, ...],
    output: str,
    fold: int | None,
    recordings: list[str] | None,
    max_epochs: int | None,
    config: MethodConfig,
    check_epochs: int,
    seed: int,
    epochs_per_batch: int,
) -> None:
    """Refuse (``ExplainError`` naming the option) any parameter ``explain`` cannot run with."""
    from physioex.train import checks

    def check(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            raise ExplainError(str(exc)) from None

    check(checks.choice, method, "--method", METHODS)
    check(checks.choice, target, "--target", ("predicted", "true"))
    check(checks.choice, baseline, "--baseline", BASELINES)
    check(checks.choice, output, "--output", ("probability", "logit"))
    if isinstance(baseline_bands, str) or not baseline_bands:
        raise ExplainError(
            f"--baseline-band: give one or more of {', '.join(BAND_NAMES)}, got {baseline_bands!r}"
        )
    for band in baseline_bands:
        check(checks.choice, band, "--baseline-band", BAND_NAMES)
    if fold is not None:
        check(checks.integer, fold, "--fold", 0)
    if recordings is not None and (
        isinstance(recordings, str) or not all(isinstance(r, str) and r for r in recordings)
    ):
        raise ExplainError(f"--recordings: must be a list of recording ids, got {recordings!r}")
    if max_epochs is not None:
        check(checks.integer, max_epochs, "--epoch-limit", 1)
    check(checks.integer, config.n_steps, "--n-steps", 2)
    check(checks.integer, check_epochs, "--check-epochs", 1)
    check(checks.integer, epochs_per_batch, "explain(epochs_per_batch=...)", 1)
    check(checks.number, config.occlusion_window_s, "MethodConfig.occlusion_window_s", 0.0, exclusive=True)
    check(checks.integer, seed, "--seed", 0)


@dataclass(frozen=True)
class ExplainSettings:
    """How every recording is explained (checked by ``check_parameters``)."""

    method: str
    target: str
    """``predicted`` or ``true``: the stage explained for each epoch."""
    baseline: str
    baseline_bands: tuple[str, ...]
    """Bands removed for the ``band-removed`` baseline."""
    output: str
    """Score explained: ``probability`` or ``logit``."""
    shapley: bool
    config: MethodConfig
    epochs_per_batch: int
