"""``explain()``: explain every epoch of the chosen recordings and publish all artifacts atomically.

Output folder (``data/explain/fold<N>`` by default): ``attributions.zarr`` (per-epoch attributions
``(epochs, channels, samples)``, labels, predictions, band importance), ``time_importance.csv``,
``channel_importance.csv``, ``band_importance.csv``, PNG plots, ``faithfulness.json`` (DVC metrics),
``run.json`` (parameters) and ``index.html``.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from physioex import EPOCH_SECONDS, STAGES
from physioex.errors import InputError, PhysioexError, RunError
from physioex.explain.bands import BAND_NAMES
from physioex.explain.methods import BASELINES, METHODS, MethodConfig

log = logging.getLogger(__name__)


class ExplainError(InputError):
    """The inputs of an explain run do not fit together (checkpoint vs store, unknown names...): exit 2."""


class NothingExplainedError(ExplainError, RunError):
    """Every selected recording failed (corrupt data): the run failed, exit 1; still an ``ExplainError``."""

    exit_code = 1


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
    randomisation_threshold: float,
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
        check(checks.integer, max_epochs, "--max-epochs", 1)
    check(checks.integer, config.n_steps, "--n-steps", 2)
    check(checks.integer, check_epochs, "--check-epochs", 1)
    check(checks.integer, epochs_per_batch, "explain(epochs_per_batch=...)", 1)
    check(checks.number, config.occlusion_window_s, "MethodConfig.occlusion_window_s", 0.0, exclusive=True)
    check(checks.number, randomisation_threshold, "explain(randomisation_threshold=...)", -1.0, maximum=1.0)


def default_out(fold: int | None) -> Path:
    """``<data root>/explain/fold<N>`` (``explain/custom`` when no fold is known)."""
    from physioex.paths import data_root

    return data_root() / "explain" / (f"fold{fold}" if fold is not None else "custom")


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
    randomisation_threshold: float = 0.5,
    epochs_per_batch: int = 64,
    progress: bool = True,
    storage_options: dict[str, Any] | None = None,
    metrics: str | Path | None = None,
) -> Path:
    """Explain the checkpoint's predictions on ``recordings`` (default: the fold's test recordings).

    Returns the output folder. Raises :class:`ExplainError` (or the checkpoint's error) for inputs
    that cannot work together; a recording that fails is reported in ``run.json`` and the others go on.
    ``metrics`` (optional) also writes ``faithfulness.json`` there, outside the output folder, for DVC.
    """
    from tqdm.auto import tqdm

    from physioex.explain.artifacts import atomic_dir, check_outputs, open_output_store, write_recording
    from physioex.explain.faithfulness import randomised_copy, sample_epochs
    from physioex.explain.plots import Example
    from physioex.explain.summaries import StageSummary
    from physioex.store import open_store
    from physioex.train import checks
    from physioex.train.checkpoint import load_checkpoint

    config = config or MethodConfig()
    check_parameters(
        method=method,
        target=target,
        baseline=baseline,
        baseline_bands=tuple(baseline_bands) if not isinstance(baseline_bands, str) else baseline_bands,
        output=output,
        fold=fold,
        recordings=recordings,
        max_epochs=max_epochs,
        config=config,
        check_epochs=check_epochs,
        randomisation_threshold=randomisation_threshold,
        epochs_per_batch=epochs_per_batch,
    )
    started = time.perf_counter()
    location = checks.input_store(store)
    if out is not None:  # the default folder depends on the checkpoint's fold: checked once it is known
        check_outputs(Path(out), metrics, [location, checkpoint])
    ckpt = load_checkpoint(checkpoint)
    # check=False: each recording is checked before its first read, so a damaged one is reported in
    # run.json while the others are explained
    st = open_store(location, storage_options=storage_options, check=False)
    channel_idx = ckpt.check_channels(st.channels, f"store {store}")
    if abs(st.sampling_rate - ckpt.sampling_rate) > 1e-6 or st.samples_per_epoch != ckpt.samples_per_epoch:
        raise ExplainError(
            f"store {store} holds {st.samples_per_epoch} samples per epoch at {st.sampling_rate} Hz, "
            f"checkpoint {checkpoint} expects {ckpt.samples_per_epoch} at {ckpt.sampling_rate} Hz"
        )
    fold = fold if fold is not None else ckpt.meta.get("fold")
    recs = _choose_recordings(st, fold, recordings, store)
    if out is None:
        out = default_out(fold)
        check_outputs(out, metrics, [location, checkpoint])
    out = Path(out)
    counts = [min(st.n_epochs(r), max_epochs) if max_epochs else st.n_epochs(r) for r in recs]
    samples = dict(zip(recs, sample_epochs(counts, check_epochs), strict=True))
    random_model = randomised_copy(ckpt.model)
    params: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "store": str(store),
        "dataset": st.attrs.get("dataset"),
        "model": ckpt.meta.get("model"),
        "fold": fold,
        "method": method,
        "target": target,
        "baseline": baseline,
        "baseline_bands": list(baseline_bands) if baseline == "band-removed" else None,
        "output": output,
        "channels": ckpt.channels,
        "sampling_rate": ckpt.sampling_rate,
        "seq_len": ckpt.seq_len,
        "n_steps": config.n_steps,
        "occlusion_window_s": config.occlusion_window_s,
        "max_epochs": max_epochs,
        "shapley": shapley,
        "bands": list(BAND_NAMES),
        "recordings": recs,
    }
    summary = StageSummary(ckpt.channels, ckpt.samples_per_epoch, ckpt.sampling_rate, BAND_NAMES)
    examples: dict[int, Example] = {}
    failures: dict[str, str] = {}
    checks: dict[str, list[np.ndarray]] = {k: [] for k in ("delta", "own", "window", "rho", "ig")}
    n_done = 0
    common = {
        "seq_len": ckpt.seq_len,
        "sampling_rate": ckpt.sampling_rate,
        "config": config,
        "output": output,
        "epochs_per_batch": epochs_per_batch,
    }
    with atomic_dir(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Captum's notes on hooks and gradient requirements
        group = open_output_store(tmp, params)
        bar = tqdm(total=sum(counts), unit="epoch", desc=f"explain ({method})", disable=not progress)
        for rec, n in zip(recs, counts, strict=True):
            try:
                uv = np.ascontiguousarray(st.signals(rec, 0, n)[:, channel_idx], dtype=np.float32)
                labels = st.labels(rec)[:n].astype(np.int64)
                res = _explain_one(
                    ckpt,
                    random_model,
                    uv,
                    labels,
                    samples[rec],
                    checks,
                    bar.update,
                    method=method,
                    target=target,
                    baseline=baseline,
                    baseline_bands=baseline_bands,
                    shapley=shapley,
                    common=common,
                )
            except PhysioexError as exc:  # damaged data of one recording must not stop the others; bugs do
                log.error("explain: recording %s failed: %s", rec, exc)
                failures[rec] = str(exc)
                continue
            done = res.targets >= 0
            n_done += int(done.sum())
            write_recording(group, rec, res, labels, {"n_epochs": n, "subject": st.subject_of(rec)})
            summary.add(res)
            checks["delta"].append(res.delta[done])
            checks["own"].append((res.score - res.own_baseline_score)[done])
            checks["window"].append((res.score - res.window_baseline_score)[done])
            _update_examples(examples, rec, res, uv, labels)
        bar.close()
        if n_done == 0 and failures:
            raise NothingExplainedError(f"no epoch could be explained; failures: {failures}")
        if n_done == 0:
            raise ExplainError("no epoch could be explained: none selected; check --recordings/--target")
        faith = _faithfulness(method, checks, randomisation_threshold)
        faith["n_epochs_explained"] = n_done
        faith["n_recordings_failed"] = len(failures)
        faith["seconds"] = round(time.perf_counter() - started, 2)
        _write_outputs(
            tmp, summary, examples, ckpt.channels, ckpt.sampling_rate, params, faith, failures, shapley
        )
    if metrics is not None:
        from physioex.io.atomic import write_text_atomic

        write_text_atomic(metrics, (out / "faithfulness.json").read_text())
    return out


def _explain_one(
    ckpt: Any,
    random_model: Any,
    uv: np.ndarray,
    labels: np.ndarray,
    sample: np.ndarray,
    checks: dict[str, list[np.ndarray]],
    progress: Any,
    *,
    method: str,
    target: str,
    baseline: str,
    baseline_bands: tuple[str, ...],
    shapley: bool,
    common: dict[str, Any],
) -> Any:
    """Explain one recording ``uv (epochs, channels, samples)``; add its faithfulness checks on ``sample``.

    The randomised model (and, for methods other than integrated-gradients, an IG completeness run)
    is applied to the ``sample`` epochs with the trained model's targets.
    """
    import torch

    from physioex.explain.attribute import explain_recording
    from physioex.explain.faithfulness import rank_correlation
    from physioex.explain.methods import make_baseline

    norm = _recording_normaliser(ckpt, uv)
    x = torch.from_numpy(norm.apply(uv))
    base_uv = make_baseline(baseline, torch.from_numpy(uv), ckpt.sampling_rate, baseline_bands)
    base = torch.from_numpy(norm.apply(base_uv.numpy()))
    res = explain_recording(
        ckpt.model,
        x,
        base,
        labels,
        method=method,
        target=target,
        shapley=shapley,
        progress=progress,
        **common,
    )
    sample = sample[res.targets[sample] >= 0]
    if sample.size == 0:
        return res
    kw = {"bands": None, "only": sample, "targets": res.targets.astype(np.int64), **common}
    rnd = explain_recording(random_model, x, base, labels, method=method, **kw)
    checks["rho"].append(rank_correlation(res.attributions[sample], rnd.attributions[sample]))
    if method != "integrated-gradients":
        ig = explain_recording(ckpt.model, x, base, labels, method="integrated-gradients", **kw)
        checks["ig"].append(np.stack([ig.delta[sample], (ig.score - ig.own_baseline_score)[sample]]))
    return res


def _recording_normaliser(ckpt: Any, uv: np.ndarray) -> Any:
    """The checkpoint's normalisation as a fixed per-channel map for this recording.

    With per-recording normalisation the statistics must come from the recording, not from the
    baseline (a flat baseline has no variance), so signal and baseline share one affine map.
    """
    from physioex.train.normalise import Normaliser, channel_moments

    n = ckpt.normaliser
    if n.mode != "recording":
        return n
    mean, std = channel_moments([uv])
    return Normaliser(mode="global", mean=tuple(map(float, mean)), std=tuple(map(float, std)))


def _choose_recordings(
    st: Any, fold: int | None, recordings: list[str] | None, store: str | Path
) -> list[str]:
    """The requested recordings (checked to exist), else the test recordings of ``fold``."""
    if recordings:
        missing = [r for r in recordings if r not in st.recordings]
        if missing:
            raise ExplainError(
                f"--recordings: store {store} has no recording(s) {missing}; it holds {st.recordings}"
            )
        return list(recordings)
    if fold is None:
        raise ExplainError(
            "no --fold given and the checkpoint does not name one; pass --fold or --recordings"
        )
    try:
        test = st.fold(int(fold)).test
    except (IndexError, KeyError, ValueError):
        raise ExplainError(f"--fold: store {store} has no fold {fold} ({len(st.folds)} folds)") from None
    recs = st.recordings_of(test)
    if not recs:
        raise ExplainError(f"--fold: fold {fold} of store {store} has no test recordings; pass --recordings")
    return recs


def _update_examples(
    examples: dict[int, Any], rec: str, res: Any, uv: np.ndarray, labels: np.ndarray
) -> None:
    """Keep, per explained stage, the most confident epoch (preferring ones the scorer agreed with)."""
    from physioex.explain.plots import Example

    for k in range(len(STAGES)):
        idx = np.flatnonzero(res.targets == k)
        if idx.size == 0:
            continue
        key = (labels[idx] == k) * 2.0 + res.probabilities[idx, k]
        best = int(idx[np.argmax(key)])
        old = examples.get(k)
        if old is None or key.max() > (old.label == k) * 2.0 + old.probability:
            examples[k] = Example(
                k,
                rec,
                best,
                float(res.probabilities[best, k]),
                int(labels[best]),
                uv[best].copy(),
                res.attributions[best].copy(),
            )


def _faithfulness(method: str, checks: dict[str, list[np.ndarray]], threshold: float) -> dict[str, Any]:
    """Completeness, randomisation and context numbers for ``faithfulness.json``."""
    from physioex.explain.faithfulness import completeness_summary

    cat = {k: (np.concatenate(v, axis=-1) if v else np.zeros(0)) for k, v in checks.items()}
    if method == "integrated-gradients":
        comp = completeness_summary(cat["delta"], cat["own"])
        comp["scope"] = "all explained epochs"
    else:
        ig = cat["ig"] if cat["ig"].size else np.zeros((2, 0))
        comp = completeness_summary(ig[0], ig[1])
        comp["scope"] = "sample of epochs (Integrated Gradients run alongside the chosen method)"
        if method in ("deeplift", "gradient-shap"):
            comp["method_mean_abs_delta"] = (
                float(np.nanmean(np.abs(cat["delta"]))) if cat["delta"].size else None
            )
    rho = cat["rho"][np.isfinite(cat["rho"])] if cat["rho"].size else np.zeros(0)
    mean_rho = float(rho.mean()) if rho.size else float("nan")
    own, window = np.abs(cat["own"]), np.abs(cat["window"])
    return {
        "completeness": comp,
        "randomisation": {
            "n_epochs": int(rho.size),
            "mean_spearman": mean_rho,
            "median_spearman": float(np.median(rho)) if rho.size else float("nan"),
            "threshold": threshold,
            "passed": bool(rho.size and mean_rho < threshold),
        },
        "context": {
            "mean_abs_own_epoch_change": float(own.mean()) if own.size else float("nan"),
            "mean_abs_whole_window_change": float(window.mean()) if window.size else float("nan"),
        },
    }


def _write_outputs(
    out: Path,
    summary: Any,
    examples: dict[int, Any],
    channels: list[str],
    fs: float,
    params: dict[str, Any],
    faith: dict[str, Any],
    failures: dict[str, str],
    shapley: bool,
) -> None:
    """CSV tables, PNG plots, ``faithfulness.json``, ``run.json`` and ``index.html`` into ``out``."""
    from physioex.explain.plots import plot_examples, plot_heatmap, plot_time
    from physioex.explain.report import write_index

    summary.write(out)
    plot_examples([examples[k] for k in sorted(examples)], channels, fs, out / "examples.png")
    plot_heatmap(
        summary.table("band"),
        list(BAND_NAMES),
        "Probability drop when the band is removed",
        "probability drop",
        out / "band_importance.png",
    )
    if shapley:
        plot_heatmap(
            summary.table("shapley"),
            list(BAND_NAMES),
            "Shapley value of each band",
            "Shapley value (probability)",
            out / "band_shapley.png",
        )
    plot_heatmap(
        summary.table("channel"),
        channels,
        "Share of |attribution| per channel",
        "share",
        out / "channel_importance.png",
    )
    plot_time(summary.table("time"), EPOCH_SECONDS, out / "time_importance.png")
    (out / "faithfulness.json").write_text(json.dumps(_clean(faith), indent=2) + "\n")
    (out / "run.json").write_text(json.dumps(_clean({**params, "failures": failures}), indent=2) + "\n")
    write_index(out, params, _clean(faith), failures)


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
