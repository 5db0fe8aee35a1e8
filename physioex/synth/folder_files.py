"""Write simulated nights as a lab's own folder (``edf-folder``): EDF PSGs, CSV scorings, ``manifest.csv``.

The PSGs are Sleep-EDF-like EDFs (:func:`physioex.synth.edf_files.write_psg`); each scoring is a CSV
table ``onset,duration,stage`` in a lab export's words (``Wake``, ``N1`` .. ``N3``, ``REM``,
``Movement`` and ``Artifact``, which only the folder's ``vocabulary.yaml`` maps: unscored), and
``manifest.csv`` pairs them, with two nights for the first subject (docs/datasets.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from physioex.synth.edf_files import write_psg
from physioex.synth.hypnogram import MOVEMENT, S1, S2, S3, S4, UNSCORED, Night, R, W, runs

LAB_LABELS: dict[int, str] = {
    W: "Wake",
    S1: "N1",
    S2: "N2",
    S3: "N3",
    S4: "N3",
    R: "REM",
    UNSCORED: "Artifact",
    MOVEMENT: "Movement",
}
"""The lab export's label of each R&K code (R&K 3 and 4 are both N3 in AASM terms)."""

VOCABULARY_TEXT = "# our scoring software's export: artefact epochs are not scored\nArtifact: unscored\n"

DEMO_NIGHTS: tuple[tuple[int, int], ...] = ((1, 1), (1, 2), (2, 1), (3, 1))
"""(subject, night) of the ``demo-folder`` recordings."""

FIRST_SIMULATED = 50
"""Subject ``s`` is simulated as Sleep-EDF demo subject ``FIRST_SIMULATED + s`` (its own random streams)."""


def scoring_csv(night: Night) -> str:
    """The CSV scoring of ``night``: one row per run of equal labels, onsets and durations in s."""
    rows = ["onset,duration,stage"]
    rows += [f"{s * 30.0:.1f},{n * 30.0:.1f},{LAB_LABELS[c]}" for s, n, c in runs(night.labels)]
    return "\n".join(rows) + "\n"


def expected_labels(night: Night) -> np.ndarray:
    """Store labels the CSV of ``night`` gives with the folder's vocabulary, epoch by epoch."""
    from physioex.synth.nsrr_files import expected_labels as rk_labels

    return rk_labels(night)


def write_lab_folder(root: Path, seed: int, hours: float) -> list[str]:
    """Write the ``demo-folder`` tree under ``root``; returns the relative paths written."""
    from physioex.synth.mirror import sleepedf_night

    files = ["manifest.csv", "vocabulary.yaml"]
    manifest = ["subject,night,psg,hypnogram"]
    for subject, night_no in DEMO_NIGHTS:
        night, traits, start, sig = sleepedf_night(seed, FIRST_SIMULATED + subject, night_no, hours)
        psg = f"psg/lab{subject:02d}_n{night_no}.edf"
        hyp = f"scoring/lab{subject:02d}_n{night_no}.csv"
        (root / "psg").mkdir(parents=True, exist_ok=True)
        (root / "scoring").mkdir(parents=True, exist_ok=True)
        write_psg(root / psg, sig, traits, start)
        (root / hyp).write_text(scoring_csv(night), encoding="utf-8")
        manifest.append(f"{subject},{night_no},{psg},{hyp}")
        files += [psg, hyp]
    (root / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    (root / "vocabulary.yaml").write_text(VOCABULARY_TEXT, encoding="utf-8")
    return files
