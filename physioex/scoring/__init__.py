"""Sleep scorings in every common file format, read into one hypnogram representation.

Formats (docs/scoring-formats.md): EDF+ annotations (Sleep-EDF, HMC, a lab's EDF+), NSRR annotation
XML, CSV/TSV event tables (BIDS ``*_events.tsv``), one label per line text. Labels go through one
:class:`Vocabulary` (built-in table plus an optional YAML file); events become epochs by one set of
rules (:func:`to_epochs`).

Typical use::

    hyp = read_scoring("SC4001EC-Hypnogram.edf", psg_start=psg.start_time, n_epochs=2650)
    hyp.stages      # int8 (2650,): 0..4 W..REM, -1 unscored, -2 movement
"""

from physioex.scoring.detect import FORMATS, detect_format
from physioex.scoring.epoching import REEPOCH_RULES, to_epochs
from physioex.scoring.errors import ScoringMismatchError, UnknownLabelError
from physioex.scoring.hypnogram import Hypnogram, Scoring, StageEvent
from physioex.scoring.read import load_vocabulary, read_events, read_scoring
from physioex.scoring.vocabulary import BUILTIN, Term, Vocabulary

__all__ = [
    "BUILTIN",
    "FORMATS",
    "REEPOCH_RULES",
    "Hypnogram",
    "Scoring",
    "ScoringMismatchError",
    "StageEvent",
    "Term",
    "UnknownLabelError",
    "Vocabulary",
    "detect_format",
    "load_vocabulary",
    "read_events",
    "read_scoring",
    "to_epochs",
]
