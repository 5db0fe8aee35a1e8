"""Batched per-epoch attributions over whole recordings.

A sequence-to-sequence model scores every epoch of a window of L epochs at once. To explain epoch
k we use its *own-epoch score*: the model's output at position k as a function of epoch k's signal
``(channels, samples)`` only, with the L-1 neighbouring epochs held at their recorded values. Its
attributions lie entirely on epoch k's own 30-s segment, Integrated Gradients is exactly complete
for it (sum of attributions = score(x_k) - score(baseline_k)), and every epoch gets its own target.

Cost (why not the alternatives): explaining each epoch with its own Captum call re-runs the whole
window per epoch (L times the work); summing the L target scores into one scalar is cheap but mixes
in cross-epoch gradients (epoch i's attribution then partly explains its neighbours' stages). Here the
model is split into its per-epoch encoder and its sequence head when it has one: every epoch is
encoded once, and only the small recurrent head runs L times (once per explained position, with the
neighbours' cached features). Models without that split fall back to L copies of the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from physioex.explain.bands import BAND_NAMES, band_drop, band_shapley
from physioex.explain.methods import AttributionFn, MethodConfig, attribute
from physioex.inference.windows import scoring_windows

Split = tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]


def find_split(model: nn.Module, probe: Tensor) -> Split | None:
    """``(encode, head)`` with ``head(encode(x)) == model(x)`` for ``x (B, L, C, S)``, or None.

    Uses the sequence-to-sequence layout of :mod:`physioex.models` (``encode_epochs``,
    ``sequence_encoder``, ``sequence_dropout``, ``head``) and checks it on ``probe`` so a model whose
    ``forward`` does something else silently falls back to the exact generic path.
    """
    needed = ("encode_epochs", "sequence_encoder", "head")
    if not all(hasattr(model, n) for n in needed):
        return None
    dropout = getattr(model, "sequence_dropout", nn.Identity())
    encode_epochs: Callable[[Tensor], Tensor] = getattr(model, "encode_epochs")  # noqa: B009
    sequence_encoder: Callable[[Tensor], Any] = getattr(model, "sequence_encoder")  # noqa: B009
    head_layer: Callable[[Tensor], Tensor] = getattr(model, "head")  # noqa: B009

    def encode(x: Tensor) -> Tensor:
        return encode_epochs(x)

    def head(z: Tensor) -> Tensor:
        seq = sequence_encoder(z)
        return head_layer(dropout(seq[0] if isinstance(seq, tuple) else seq))

    with torch.no_grad():
        try:
            ok = torch.allclose(head(encode(probe)), model(probe), rtol=1e-4, atol=1e-5)
        except (RuntimeError, TypeError, ValueError):
            return None
    return (encode, head) if ok else None


class OwnEpochModel(nn.Module):
    """Scores ``(N, n_classes)`` of epochs ``x (N, C, S)``, each at position ``pos[n]`` of window ``win[n]``.

    ``windows (B, L, C, S)`` are the recorded (normalised) windows that give each epoch its context.
    The output is the class probability (``output="probability"``) or the logit (``"logit"``).
    """

    def __init__(self, model: nn.Module, windows: Tensor, output: str = "probability") -> None:
        super().__init__()
        if output not in ("probability", "logit"):
            raise ValueError(f"output must be 'probability' or 'logit', got {output!r}")
        self.model = model
        self.output = output
        self.windows = windows.detach()
        self.seq_len = windows.shape[1]
        self.split = find_split(model, self.windows[:1])
        self.context: Tensor | None = None
        if self.split is not None:
            with torch.no_grad():
                self.context = self.split[0](self.windows).detach()

    def forward(self, x: Tensor, win: Tensor, pos: Tensor) -> Tensor:
        """Scores ``(N, n_classes)``; ``win``/``pos`` are ``(N,)`` integer tensors."""
        mask = torch.arange(self.seq_len, device=x.device)[None, :] == pos[:, None]  # (N, L)
        rows = torch.arange(x.shape[0], device=x.device)
        if self.split is not None and self.context is not None:
            encode, head = self.split
            z = encode(x[:, None])  # (N, 1, D)
            ctx = self.context[win.long()]  # (N, L, D)
            feats = torch.where(mask[:, :, None], z, ctx)
            logits = head(feats)[rows, pos.long()]
        else:
            full = torch.where(mask[:, :, None, None], x[:, None], self.windows[win.long()])
            logits = self.model(full)[rows, pos.long()]
        return logits.softmax(dim=-1) if self.output == "probability" else logits

    def probabilities(self, x: Tensor, win: Tensor, pos: Tensor) -> Tensor:
        """Class probabilities ``(N, n_classes)`` whatever ``output`` is set to (no gradients)."""
        with torch.no_grad():
            out = self.forward(x, win, pos)
        return out if self.output == "probability" else out.softmax(dim=-1)


@dataclass(frozen=True)
class WindowPlan:
    """How a recording of ``n_epochs`` is cut into model windows and which epoch each position explains.

    ``starts[b]`` is the first epoch of window b; ``epoch/win/pos`` list every epoch once (ascending).
    """

    starts: np.ndarray
    seq_len: int
    epoch: np.ndarray
    win: np.ndarray
    pos: np.ndarray


def plan_windows(n_epochs: int, seq_len: int) -> WindowPlan:
    """The windows ``physioex test`` and ``predict`` score (``physioex.inference.windows``), with the
    window and position that explains each epoch (each epoch exactly once).

    Recordings shorter than ``seq_len`` form one window of their own length.
    """
    if n_epochs <= 0:
        raise ValueError("recording has no epochs")
    windows = scoring_windows(n_epochs, seq_len)
    owner = np.empty(n_epochs, dtype=np.int64)
    position = np.empty(n_epochs, dtype=np.int64)
    for b, w in enumerate(windows):
        owner[w.start + w.keep_from : w.start + w.length] = b
        position[w.start + w.keep_from : w.start + w.length] = np.arange(w.keep_from, w.length)
    starts = np.asarray([w.start for w in windows])
    return WindowPlan(starts, windows[0].length, np.arange(n_epochs), owner, position)


@dataclass
class RecordingExplanation:
    """Everything computed for one recording; per-epoch arrays, NaN/-1 where an epoch was not explained.

    attributions ``(epochs, channels, samples)`` in units of the explained score; probabilities
    ``(epochs, n_classes)``; predictions/targets int8 ``(epochs,)``; delta = IG/DeepLift convergence
    delta; score = own-epoch score of the target at the input, own_baseline_score = with the epoch
    replaced by its baseline, window_baseline_score = with the whole window replaced (the difference
    to own_baseline_score is the neighbours' share); band_drop/shapley ``(epochs, bands)``.
    """

    attributions: np.ndarray
    probabilities: np.ndarray
    predictions: np.ndarray
    targets: np.ndarray
    delta: np.ndarray
    score: np.ndarray
    own_baseline_score: np.ndarray
    window_baseline_score: np.ndarray
    band_drop: np.ndarray | None = None
    shapley: np.ndarray | None = None


def explain_recording(
    model: nn.Module,
    signals: Tensor,
    baseline: Tensor,
    labels: np.ndarray,
    seq_len: int,
    sampling_rate: float,
    *,
    method: str | AttributionFn = "integrated-gradients",
    target: str = "predicted",
    output: str = "probability",
    config: MethodConfig | None = None,
    bands: tuple[str, ...] | None = BAND_NAMES,
    shapley: bool = False,
    epochs_per_batch: int = 64,
    only: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
) -> RecordingExplanation:
    """Explain every epoch of one recording (or the epochs in ``only``) in batches of whole windows.

    ``signals``/``baseline`` are the normalised model inputs ``(epochs, channels, samples)``;
    ``labels`` int ``(epochs,)`` (negative = unscored). ``target`` is ``"predicted"`` (argmax of the
    model) or ``"true"`` (the scored stage; unscored epochs are then left unexplained); ``targets``
    overrides both with given stages (-1 = skip). ``bands=None`` skips band importance. ``method``
    is a name of :data:`physioex.explain.methods.METHODS` or an ``AttributionFn``; each epoch's index
    in the recording is its key (gradient-shap draws the same noise for it whatever the batch).
    """
    config = config or MethodConfig()
    if target not in ("predicted", "true"):
        raise ValueError(f"target must be 'predicted' or 'true', got {target!r}")
    n_epochs, n_channels, n_samples = signals.shape
    plan = plan_windows(n_epochs, seq_len)
    wanted = np.ones(n_epochs, dtype=bool)
    if only is not None:
        wanted[:] = False
        wanted[np.asarray(only, dtype=np.int64)] = True
    n_bands = len(bands) if bands else 0
    res = RecordingExplanation(
        attributions=np.full((n_epochs, n_channels, n_samples), np.nan, dtype=np.float32),
        probabilities=np.full((n_epochs, 5), np.nan, dtype=np.float32),
        predictions=np.full(n_epochs, -1, dtype=np.int8),
        targets=np.full(n_epochs, -1, dtype=np.int8),
        delta=np.full(n_epochs, np.nan, dtype=np.float32),
        score=np.full(n_epochs, np.nan, dtype=np.float32),
        own_baseline_score=np.full(n_epochs, np.nan, dtype=np.float32),
        window_baseline_score=np.full(n_epochs, np.nan, dtype=np.float32),
        band_drop=np.full((n_epochs, n_bands), np.nan, dtype=np.float32) if n_bands else None,
        shapley=np.full((n_epochs, n_bands), np.nan, dtype=np.float32) if n_bands and shapley else None,
    )
    windows_per_batch = max(1, epochs_per_batch // plan.seq_len)
    for first in range(0, len(plan.starts), windows_per_batch):
        chunk = np.arange(first, min(first + windows_per_batch, len(plan.starts)))
        sel = np.flatnonzero(np.isin(plan.win, chunk) & wanted)
        if sel.size == 0:
            continue
        idx = torch.as_tensor(plan.starts[chunk])[:, None] + torch.arange(plan.seq_len)[None, :]
        module = OwnEpochModel(model, signals[idx], output=output)
        x = signals[sel]
        base = baseline[sel]
        win = torch.as_tensor(plan.win[sel] - first)
        pos = torch.as_tensor(plan.pos[sel])
        proba = module.probabilities(x, win, pos)
        pred = proba.argmax(dim=1)
        if targets is not None:
            tgt = torch.as_tensor(targets[sel].astype(np.int64))
        elif target == "predicted":
            tgt = pred
        else:
            tgt = torch.as_tensor(labels[sel].astype(np.int64))
        res.probabilities[sel] = proba.numpy()
        res.predictions[sel] = pred.numpy().astype(np.int8)
        ok = tgt >= 0
        if ok.any():
            batch = _Batch(sel[ok.numpy()], x[ok], base[ok], win[ok], pos[ok], tgt[ok], baseline[idx])
            _explain_rows(module, res, batch, method, config, sampling_rate, bands, shapley)
        if progress is not None:
            progress(int(sel.size))
    return res


@dataclass(frozen=True)
class _Batch:
    """Epochs ``sel`` of one batch of windows: inputs/baselines ``(N, C, S)``, window/position/target
    ``(N,)`` and the baseline windows ``(B, L, C, S)``."""

    sel: np.ndarray
    x: Tensor
    base: Tensor
    win: Tensor
    pos: Tensor
    tgt: Tensor
    base_windows: Tensor


def _explain_rows(
    module: OwnEpochModel,
    res: RecordingExplanation,
    batch: _Batch,
    method: str | AttributionFn,
    config: MethodConfig,
    sampling_rate: float,
    bands: tuple[str, ...] | None,
    shapley: bool,
) -> None:
    """Attributions, scores and band importance for the selected epochs of one batch of windows."""
    sel, x, base, win, pos, tgt = batch.sel, batch.x, batch.base, batch.win, batch.pos, batch.tgt
    rows = torch.arange(x.shape[0])
    keys = torch.as_tensor(sel)
    attr, delta = attribute(method, module, x, base, tgt, (win, pos), sampling_rate, config, keys)
    res.attributions[sel] = attr.detach().numpy()
    res.targets[sel] = tgt.numpy().astype(np.int8)
    if delta is not None:
        res.delta[sel] = delta.detach().float().numpy()
    with torch.no_grad():
        res.score[sel] = module(x, win, pos)[rows, tgt].numpy()
        res.own_baseline_score[sel] = module(base, win, pos)[rows, tgt].numpy()
        base_module = OwnEpochModel(module.model, batch.base_windows, output=module.output)
        res.window_baseline_score[sel] = base_module(base, win, pos)[rows, tgt].numpy()
    if bands:

        def score(xx: Tensor) -> Tensor:
            return module.probabilities(xx, win, pos)[rows, tgt]

        assert res.band_drop is not None
        res.band_drop[sel] = band_drop(score, x, sampling_rate, bands).numpy()
        if shapley and res.shapley is not None:
            res.shapley[sel] = band_shapley(score, x, sampling_rate, bands).numpy()
