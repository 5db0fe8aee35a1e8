"""Fitting the sequence-to-sequence sleep-staging models: data module, windows, Lightning module, ``train``.

Heavy imports (torch, lightning) live in the submodules: import what you need, e.g.
``from physioex.train.run import train``. Inference (checkpoints, ``evaluate``, ``predict``) lives in
``physioex.inference``.
"""
