"""The one rule that cuts a whole recording into model windows so every epoch is scored exactly once.

Used by ``physioex test`` and ``predict`` (batched whole-night scoring), by validation during
training (``EvalWindowSampler``) and by ``physioex explain`` (``plan_windows``).

Rule: windows of L epochs starting at 0, S, 2S, ... (the stride S, default L: non-overlapping
windows); the first window scores all its positions, every later one only its positions from
``keep_from`` on (those after the previous window's end: its last S positions, where it has at
least L - S epochs of past context). When the starts do not reach the end, one more window is
aligned to the last epoch and scores only the epochs not yet scored. A recording of at most L
epochs is ONE window of its own length, without padding: a recurrent (bidirectional) sequence
encoder would otherwise read invented zero epochs as context, so the short night's stages would
depend on the padding.

Why a stride: a unidirectional sequence encoder (TinySleepNet's LSTM) sees no epoch before the
window start, so with S = L the first positions of every window are scored with little past
context; S = 1 scores every epoch after the first L - 1 with exactly L - 1 past epochs, at L times
the cost (``docs/windows-and-folds.md``).
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


def scoring_windows(n_epochs: int, seq_len: int, stride: int | None = None) -> list[Window]:
    """Windows covering epochs ``0 .. n_epochs-1`` exactly once (see the module docstring).

    Parameters
    ----------
    n_epochs : int
        Epochs in the recording (0 gives no window).
    seq_len : int
        L, epochs per model window (>= 1).
    stride : int, optional
        S, epochs between window starts, ``1 <= S <= L``; default L (non-overlapping windows).

    Returns
    -------
    list[Window]
        Ascending windows, all of the same ``length`` (``min(L, n_epochs)``); the scored parts
        ``start+keep_from .. start+length-1`` tile the recording.

    Raises
    ------
    ValueError
        ``seq_len`` < 1 or ``stride`` outside ``1 .. seq_len``.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be at least 1, got {seq_len}")
    step = seq_len if stride is None else int(stride)
    if not 1 <= step <= seq_len:
        raise ValueError(f"stride must be between 1 and seq_len={seq_len} epochs, got {stride}")
    length = window_length(n_epochs, seq_len)
    if length == 0:
        return []
    out = [Window(0, length, 0)]
    for start in range(step, n_epochs - length + 1, step):
        out.append(Window(start, length, length - step))
    covered = out[-1].start + length
    if covered < n_epochs:
        start = n_epochs - length
        out.append(Window(start, length, covered - start))
    return out
