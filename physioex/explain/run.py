"""``explain()``: explain every epoch of the chosen recordings and publish all artifacts atomically.

Output folder (``data/explain/fold<N>`` by default): ``attributions.zarr`` (per-epoch attributions
``(epochs, channels, samples)``, labels, predictions, band importance), ``time_importance.csv``,
``channel_importance.csv``, ``band_importance.csv``, ``randomisation.csv`` (the model-randomisation
steps), PNG plots, ``faithfulness.json`` (DVC metrics), ``run.json`` (parameters) and ``index.html``.
Everything in it is a function of the code, the inputs, the parameters and the seed: no timing, host,
date or absolute path (timings go to ``timings``, a file outside the folder, when asked for), so the
same run gives byte-identical files.

The run is: check the parameters, resolve the inputs (``inputs``), explain each recording
(``per_recording``), summarise faithfulness (``faithfulness``), write the outputs (``outputs``).
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from physioex.explain.bands import BAND_NAMES
from physioex.explain.errors import ExplainError, NothingExplainedError
from physioex.explain.inputs import ExplainInputs, default_out
from physioex.explain.methods import MethodConfig
from physioex.explain.parameters import ExplainSettings, check_parameters

log = logging.getLogger(__name__)

__all__ = [
    "ExplainError",
    "ExplainReport",
    "NothingExplainedError",
    "check_parameters",
    "default_out",
    "explain",
]


@dataclass(frozen=True)
class ExplainReport:
    """Outcome of an explain run: what was explained, what failed, where it was written."""

    out: Path
    """The published output folder."""
    epochs_explained: int
    failures: dict[str, str]
    """Recording id -> one-line reason it could not be explained (the others were)."""
    faithfulness: dict[str, Any]
    """The numbers of ``faithfulness.json`` (completeness, randomisation, context; NaN as None)."""
    metrics: Path | None = None
    """Copy of ``faithfulness.json`` outside the folder (for DVC), when asked for."""
    seconds: float = 0.0
    """Wall-clock time of the run (not written into the output folder)."""

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def index_html(self) -> Path:
        return self.out / "index.html"

    def summary(self) -> str:
        """Two lines for the terminal: where the run is, and its faithfulness in brief."""
        comp, rnd = self.faithfulness["completeness"], self.faithfulness["randomisation"]
        lines = [
            f"explained {self.epochs_explained} epochs in {self.seconds:.1f} s -> {self.index_html}",
            f"completeness: median relative delta {_g(comp.get('median_relative_delta'))}; "
            f"randomisation: partial rank correlation {_g(rnd['verdict'].get('partial_mean'))} "
            f"beyond the control ({'passed' if rnd.get('passed') else 'FAILED'})",
        ]
        return "\n".join(lines + [f"warning: {w}" for w in self.faithfulness.get("warnings", [])])


def _g(value: object) -> str:
    """A number in 3 significant digits for the terminal ("n/a" when the check did not run)."""
    return f"{value:.3g}" if isinstance(value, int | float) else "n/a"


def explain(
    checkpoint: str | Path,
    store: str | Path,
    *,
    method: str = "integrated-gradients",
    fold: int | None = None,
    out: str | Path | None = None,
    target: str = "predicted",
    baseline: str = "zeros",
    baseline_bands: tuple[str, ...] = BAND_NAMES,
    recordings: list[str] | None = None,
    max_epochs: int | None = None,
    shapley: bool = False,
    output: str = "probability",
    config: MethodConfig | None = None,
    check_epochs: int = 32,
    seed: int = 0,
    epochs_per_batch: int = 64,
    progress: bool = True,
    storage_options: dict[str, Any] | None = None,
    metrics: str | Path | None = None,
    timings: str | Path | None = None,
) -> ExplainReport:
    """Explain the checkpoint's predictions on ``recordings`` (default: the fold's test recordings).

    Raises :class:`ExplainError` (or the checkpoint's error) for inputs that cannot work together; a
    recording that fails is reported (``ExplainReport.failures``, ``run.json``) and the others go on.
    ``metrics`` (optional) also writes ``faithfulness.json`` there, outside the output folder, for DVC.
    ``seed`` seeds gradient-shap's draws and the randomised models (it overrides ``config.seed``);
    ``timings`` (optional) is a JSON file outside the output folder that receives the run's timing.
    """
    from tqdm.auto import tqdm

    from physioex.explain.artifacts import open_output_store, write_recording
    from physioex.explain.faithfulness import sample_epochs, summarise_faithfulness
    from physioex.explain.inputs import resolve_inputs
    from physioex.explain.outputs import FAITHFULNESS_FILE, json_safe, write_outputs
    from physioex.explain.per_recording import explain_recordings
    from physioex.explain.randomisation import RandomisedModels
    from physioex.explain.selection import epochs_to_explain
    from physioex.io.atomic import atomic_dir, write_text_atomic

    config = replace(config or MethodConfig(), seed=seed)
    bands = tuple(baseline_bands) if not isinstance(baseline_bands, str) else baseline_bands
    check_parameters(
        method=method,
        target=target,
        baseline=baseline,
        baseline_bands=bands,
        output=output,
        fold=fold,
        recordings=recordings,
        max_epochs=max_epochs,
        config=config,
        check_epochs=check_epochs,
        seed=seed,
        epochs_per_batch=epochs_per_batch,
    )
    settings = ExplainSettings(method, target, baseline, bands, output, shapley, config, epochs_per_batch)
    started = time.perf_counter()
    inputs = resolve_inputs(
        checkpoint,
        store,
        fold=fold,
        recordings=recordings,
        out=out,
        metrics=metrics,
        timings=timings,
        storage_options=storage_options,
    )
    counts = epochs_to_explain(inputs.store, inputs.recordings, max_epochs)
    samples = sample_epochs(counts, check_epochs)
    params = _run_parameters(inputs, settings, checkpoint, store, max_epochs)
    ckpt = inputs.checkpoint
    randomised = RandomisedModels.of(ckpt.model, seed)
    with atomic_dir(inputs.out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Captum's notes on hooks and gradient requirements
        group = open_output_store(tmp, params)
        bar = tqdm(total=sum(counts), unit="epoch", desc=f"explain ({method})", disable=not progress)
        explained = explain_recordings(
            inputs,
            settings,
            counts,
            samples,
            lambda rec, res, labels, attrs: write_recording(group, rec, res, labels, attrs),
            bar.update,
            randomised,
        )
        bar.close()
        if explained.n_epochs == 0 and explained.failures:
            raise NothingExplainedError(f"no epoch could be explained; failures: {explained.failures}")
        if explained.n_epochs == 0:
            raise ExplainError("no epoch could be explained: none selected; check --recordings/--target")
        faith = summarise_faithfulness(method, explained.checks, randomised.steps)
        faith["n_epochs_explained"] = explained.n_epochs
        faith["n_recordings_failed"] = len(explained.failures)
        faith = json_safe(faith)
        for warning in faith["warnings"]:
            log.warning("explain: %s", warning)
        write_outputs(tmp, explained, ckpt.channels, ckpt.sampling_rate, params, faith, shapley)
    if metrics is not None:
        write_text_atomic(metrics, (inputs.out / FAITHFULNESS_FILE).read_text())
    seconds = time.perf_counter() - started
    log.info("explain: %d epochs in %.2f s", explained.n_epochs, seconds)
    if timings is not None:
        record = {"seconds": round(seconds, 3), "epochs": explained.n_epochs, "method": method}
        write_text_atomic(timings, json.dumps(record, indent=2) + "\n")
    return ExplainReport(
        out=inputs.out,
        epochs_explained=explained.n_epochs,
        failures=dict(explained.failures),
        faithfulness=faith,
        metrics=Path(metrics) if metrics is not None else None,
        seconds=seconds,
    )


def _run_parameters(
    inputs: ExplainInputs,
    settings: ExplainSettings,
    checkpoint: str | Path,
    store: str | Path,
    max_epochs: int | None,
) -> dict[str, Any]:
    """What ``run.json`` and the attributions store record about the run."""
    from physioex.io.hashing import sha256_file

    ckpt = inputs.checkpoint
    return {
        "checkpoint": portable(checkpoint),
        "checkpoint_sha256": sha256_file(checkpoint) if Path(checkpoint).is_file() else None,
        "store": portable(store),
        "store_params_hash": inputs.store.attrs.get("params_hash"),
        "dataset": inputs.store.attrs.get("dataset"),
        "model": ckpt.meta.model,
        "fold": inputs.fold,
        "method": settings.method,
        "target": settings.target,
        "baseline": settings.baseline,
        "baseline_bands": list(settings.baseline_bands) if settings.baseline == "band-removed" else None,
        "output": settings.output,
        "channels": ckpt.channels,
        "sampling_rate": ckpt.sampling_rate,
        "seq_len": ckpt.seq_len,
        "n_steps": settings.config.n_steps,
        "seed": settings.config.seed,
        "occlusion_window_s": settings.config.occlusion_window_s,
        "max_epochs": max_epochs,
        "shapley": settings.shapley,
        "bands": list(BAND_NAMES),
        "recordings": inputs.recordings,
    }


def portable(location: str | Path) -> str:
    """A location as it may be recorded in a versioned output: URLs as given, local paths relative to
    the working directory when under it, else only their name (no absolute path in the outputs)."""
    from physioex.train.checks import is_url

    if is_url(location):
        return str(location)
    path = Path(location)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name
