"""Training, evaluation and prediction for the sequence-to-sequence sleep-staging models.

Heavy imports (torch, lightning) live in the submodules: import what you need, e.g.
``from physioex.train.fit import train`` or ``from physioex.train.checkpoint import load_checkpoint``.
"""
