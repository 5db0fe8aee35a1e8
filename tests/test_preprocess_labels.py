"""R&K/AASM label mapping and the crop window, on hand-made annotation lists."""

from __future__ import annotations

import numpy as np
import pytest

from physioex.preprocess.crop import crop_window
from physioex.preprocess.errors import PreprocessError
from physioex.preprocess.labels import labels_from_annotations


def test_rk_to_aasm_mapping_gaps_and_truncation() -> None:
    ann = [
        (0.0, 60.0, "Sleep stage W"),
        (60.0, 30.0, "Sleep stage 1"),
        (90.0, 30.0, "Sleep stage 2"),
        (120.0, 30.0, "Sleep stage 3"),
        (150.0, 30.0, "Sleep stage 4"),
        (180.0, 30.0, "Sleep stage R"),
        (210.0, 30.0, "Movement time"),
        (270.0, 30.0, "Sleep stage ?"),  # 240-270 has no annotation (gap)
        (300.0, 600.0, "Sleep stage W"),  # runs past the signal end
    ]
    labels = labels_from_annotations(ann, 12, "h.edf")
    assert labels.dtype == np.int8
    assert labels.tolist() == [0, 0, 1, 2, 3, 3, 4, -2, -1, -1, 0, 0]


def test_unknown_annotation_and_off_grid_are_errors() -> None:
    with pytest.raises(PreprocessError, match=r"h\.edf: unknown annotation 'Sleep stage X' at 30 s"):
        labels_from_annotations([(30.0, 30.0, "Sleep stage X")], 4, "h.edf")
    with pytest.raises(PreprocessError, match="not on the 30-s epoch grid"):
        labels_from_annotations([(15.0, 30.0, "Sleep stage W")], 4, "h.edf")


def test_crop_modes() -> None:
    labels = np.array([0] * 100 + [2] * 10 + [0] * 100 + [-1] * 5, dtype=np.int8)
    assert crop_window(labels, "sleep", minutes=30) == (40, 170)
    assert crop_window(labels, "auto", minutes=5) == (90, 120)
    assert crop_window(labels, "none") == (0, 215)
    assert crop_window(labels, "auto", lights=(3, 300)) == (3, 215)
    with pytest.raises(PreprocessError, match="lights-off/on times are unknown"):
        crop_window(labels, "lights", file="x.edf")
    with pytest.raises(PreprocessError, match="no sleep epoch"):
        crop_window(np.zeros(5, dtype=np.int8), "sleep")


def test_non_wake_crop_anchors_on_unscored_and_movement_too() -> None:
    """TinySleepNet's rule: any epoch not scored W (unscored -1, movement -2 included) is an anchor."""
    labels = np.array([0] * 100 + [-2] + [0] * 20 + [2] * 10 + [0] * 100 + [-1] * 5, dtype=np.int8)
    assert crop_window(labels, "sleep", minutes=5) == (111, 141)  # sleep only: 10 epochs around N2
    assert crop_window(labels, "non-wake", minutes=5) == (90, 236)  # from the movement to the last '?'
    assert crop_window(labels, "non-wake", minutes=30) == (40, 236)
    with pytest.raises(PreprocessError, match="no epoch is other than wake"):
        crop_window(np.zeros(5, dtype=np.int8), "non-wake")
