"""Explanations of a trained sleep stager: per-epoch Captum attributions, band importance, faithfulness.

Entry point: :func:`physioex.explain.run.explain` (the ``physioex explain`` command). Building blocks:
``methods`` (Captum methods and baselines by name), ``gradient_shap`` (GradientShap with per-epoch
baselines and seeded draws), ``attribute`` (batched own-epoch attributions over whole recordings),
``bands`` (FFT band removal, band importance, band Shapley), ``faithfulness`` (completeness and
convergence deltas, warnings), ``randomisation`` (cascading and independent model randomisation
against a weight-free control), ``summaries``/``plots``/``report``/``outputs``/``artifacts``
(outputs). The checks and their thresholds: ``docs/explanation-checks.md``.
"""

from __future__ import annotations

from physioex.explain.bands import BAND_NAMES, BANDS
from physioex.explain.methods import BASELINES, METHODS
from physioex.explain.run import ExplainError, ExplainReport, explain

__all__ = ["BANDS", "BAND_NAMES", "BASELINES", "METHODS", "ExplainError", "ExplainReport", "explain"]
