"""Benchmarks: every stage of physioex against its baseline and the real peers, in one run.

``python -m benchmarks run`` writes ``benchmarks/results.json`` and ``benchmarks/RESULTS.md``.
"""
