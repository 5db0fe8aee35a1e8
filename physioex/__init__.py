"""physioex: explainable deep-learning sleep staging, from raw PSG to attributions.

Kept import-light on purpose: ``physioex --help`` must not pay for torch or lightning.
"""

__version__ = "0.1.0"

STAGES: tuple[str, ...] = ("W", "N1", "N2", "N3", "REM")
"""Sleep stages in the fixed order used for labels, logits, metrics and plots."""

EPOCH_SECONDS: float = 30.0
"""Length of one scoring epoch in seconds (AASM and R&K)."""
