"""A text file with one stage label per line, epoch ``k`` (1-based line ``k``) starting at
``(k - 1) * epoch_s`` s after the PSG start (Luna's ``.eannot``, YASA/visbrain ``hypno.txt`` style).

The file does not say its epoch length, so the caller does (``epoch_s``); it is recorded as the
scoring's declared epoch length, so a 20-s file read for 30-s epochs is refused, never stretched.
A first line that is a column name (``stage``, ``sleep stage``, ``hypnogram``, ``label``) is a header;
trailing blank lines are ignored, a blank line between labels is an error (it would shift every
later epoch).
"""

from __future__ import annotations

import math
from pathlib import Path

from physioex.errors import InputError
from physioex.scoring.classify import Row, build_scoring
from physioex.scoring.hypnogram import Scoring
from physioex.scoring.vocabulary import Vocabulary, normalise

FORMAT = "epoch-text"
HEADERS = ("stage", "stages", "sleep stage", "sleep_stage", "hypnogram", "label")


def read_epoch_text(path: str | Path, epoch_s: float, vocabulary: Vocabulary | None = None) -> Scoring:
    """Stage events of a one-label-per-line file scored in ``epoch_s``-second epochs.

    Parameters
    ----------
    path
        The text file (UTF-8).
    epoch_s
        Length in seconds of the epoch each line scores.
    vocabulary
        Label lookup; default the built-in table.

    Raises
    ------
    InputError
        Missing or non-text file, a blank line between labels, an unknown label (naming the line).
    """
    path = Path(path)
    if not (epoch_s > 0 and math.isfinite(epoch_s)):
        raise InputError(f"{path}: epoch length {epoch_s!r} s: give a positive number of seconds")
    if not path.is_file():
        raise InputError(f"{path}: scoring file not found")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    while lines and not lines[-1].strip():
        lines.pop()
    first = 1 if lines and normalise(lines[0]) in HEADERS else 0
    rows = []
    for k, text in enumerate(lines[first:]):
        line = first + k + 1
        label = text.strip()
        if not label:
            raise InputError(
                f"{path}: line {line}: blank line between stages (each line is one {epoch_s:g}-s epoch); "
                "write an unscored label such as '?' instead"
            )
        rows.append(Row(k * epoch_s, epoch_s, label, f"line {line}"))
    return build_scoring(str(path), FORMAT, rows, vocabulary, epoch_s=float(epoch_s))
