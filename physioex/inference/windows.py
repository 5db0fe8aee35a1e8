"""The one rule that cuts a whole recording into model windows so every epoch is scored exactly once.

Used by ``physioex test`` and ``predict`` (batched whole-night scoring), by validation during
training (``EvalWindowSampler``) and by ``physioex explain`` (``plan_windows``).

Rule: non-overlapping windows of L epochs starting at 0, L, 2L, ...; when L does not divide the
length, one more window is aligned to the last epoch and only its positions from ``keep_from`` on
count (the others were scored by the previous window). A recording shorter than L is ONE window of
its own length, without padding: a recurrent (bidirectional) sequence encoder would otherwise read
invented zero epochs as context, so the short night's stages would depend on the padding.
"""

from __future__ import annotations

from typing import NamedTuple


class Window(NamedTuple):
    """Epochs ``start .. start+length-1`` go through the model; positions ``>= keep_from`` are scored."""

    start: int
    length: int
    keep_from: int


def window_length(n_epochs: int, seq_len: int) -> int:
    """Epochs per window of a recording of ``n_epochs``: L, or the whole recording when it is shorter."""
    return max(0, min(int(seq_len), int(n_epochs)))


def scoring_windows(n_epochs: int, seq_len: int) -> list[Window]:
    """Windows covering epochs ``0 .. n_epochs-1`` exactly once (see the module docstring).

    Parameters
    ----------
    n_epochs : int
        Epochs in the recording (0 gives no window).
    seq_len : int
        L, epochs per model window (>= 1).

    Returns
    -------
    list[Window]
        Ascending windows, all of the same ``length`` (``min(L, n_epochs)``); the scored parts
        ``start+keep_from .. start+length-1`` tile the recording.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be at least 1, got {seq_len}")
    length = window_length(n_epochs, seq_len)
    if length == 0:
        return []
    out = [Window(s, length, 0) for s in range(0, n_epochs - length + 1, length)]
    covered = out[-1].start + length
    if covered < n_epochs:
        start = n_epochs - length
        out.append(Window(start, length, covered - start))
    return out
