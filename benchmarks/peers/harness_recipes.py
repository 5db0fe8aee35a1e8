"""What the peers' own Sleep-EDF recipes write, shared by the harnesses and our MNE baseline.

Standard library only (imported by file name inside the peer venvs, see ``harness_measure``).
physioex keeps its own, larger table (``physioex.preprocess.labels.ANNOTATION_CODES``): this one stands
for the code users write without physioex.
"""

from __future__ import annotations

RK_EVENT_ID: dict[str, int] = {
    "Sleep stage W": 0,
    "Sleep stage 1": 1,
    "Sleep stage 2": 2,
    "Sleep stage 3": 3,
    "Sleep stage 4": 3,
    "Sleep stage R": 4,
}
"""R&K annotation -> 5 classes (N3 = stages 3 + 4), as in MNE's sleep tutorial and braindecode's
``SleepPhysionet`` mapping; ``Sleep stage ?`` and ``Movement time`` are left out (dropped)."""
