"""Inference with a trained checkpoint: loading it, normalising and windowing whole nights, scoring
every epoch once, evaluation metrics and reports (``physioex test``) and hypnograms (``predict``).

Heavy imports (torch) live in the submodules: e.g. ``from physioex.inference.run import evaluate``
or ``from physioex.inference.checkpoint import load_checkpoint``.
"""
