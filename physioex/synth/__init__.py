"""Embedded demo data: synthetic but realistic nights in the real Sleep-EDF (EDF/EDF+) and Dreem (H5) formats.

``generate_mirror(out, subjects=..., nights=..., seed=..., hours=...)`` writes a PhysioNet-like mirror tree
that ``physioex download demo`` / ``demo-dreem`` fetch through the same code as real data.
``physioex.synth.store.write_synthetic_store`` writes a small learnable epoch store directly (tests,
benchmarks); it is not imported here, so this package stays free of the store writer.
"""

from __future__ import annotations

from physioex.synth.hypnogram import RK_ANNOTATIONS, RK_TO_AASM, Night, simulate_night
from physioex.synth.mirror import dreem_record, generate_mirror, sleepedf_night

__all__ = [
    "RK_ANNOTATIONS",
    "RK_TO_AASM",
    "Night",
    "dreem_record",
    "generate_mirror",
    "simulate_night",
    "sleepedf_night",
]
