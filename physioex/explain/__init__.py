"""Explanations of a trained sleep stager: per-epoch Captum attributions, band importance, faithfulness.

Entry point: :func:`physioex.explain.run.explain` (the ``physioex explain`` command). Building blocks:
``methods`` (Captum methods and baselines by name), ``attribute`` (batched own-epoch attributions over
whole recordings), ``bands`` (FFT band removal, band importance, band Shapley), ``faithfulness``
(completeness, model randomisation), ``summaries``/``plots``/``report``/``artifacts`` (outputs).
"""

from __future__ import annotations

from physioex.explain.bands import BAND_NAMES, BANDS
from physioex.explain.methods import BASELINES, METHODS
from physioex.explain.run import ExplainError, ExplainReport, explain

__all__ = ["BANDS", "BAND_NAMES", "BASELINES", "METHODS", "ExplainError", "ExplainReport", "explain"]
