"""One F1 convention for validation and test, the Dreem protocol's weighted F1, bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

from physioex.inference.metrics import bootstrap_ci, confusion, metrics_from_confusion, staging_metrics


def _night(
    seed: int, n: int = 400, classes: tuple[int, ...] = (0, 1, 2, 3, 4)
) -> tuple[np.ndarray, np.ndarray]:
    """A scored night over ``classes`` and a prediction that is right 70 % of the time."""
    rng = np.random.default_rng(seed)
    y = rng.choice(classes, size=n)
    wrong = rng.random(n) < 0.3
    p = np.where(wrong, rng.choice(classes, size=n), y)
    y[rng.random(n) < 0.05] = -1  # unscored epochs never count
    return y, p


def test_a_perfect_night_without_n3_scores_one() -> None:
    y = np.array([0, 0, 1, 2, 2, 4, 4, -1, -2])
    m = staging_metrics(y, np.where(y < 0, 3, y))  # unscored/movement epochs predicted N3 do not count
    assert m["f1_macro"] == 1.0 and m["accuracy"] == 1.0 and m["kappa"] == 1.0 and m["f1_weighted"] == 1.0


def test_pooled_metrics_equal_sklearn_when_every_class_is_present() -> None:
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

    y, p = _night(0)
    t, q = y[y >= 0], p[y >= 0]
    m = staging_metrics(y, p)
    assert m["accuracy"] == pytest.approx(accuracy_score(t, q))
    assert m["f1_macro"] == pytest.approx(f1_score(t, q, labels=range(5), average="macro"))
    assert m["f1_weighted"] == pytest.approx(f1_score(t, q, labels=range(5), average="weighted"))
    assert m["kappa"] == pytest.approx(cohen_kappa_score(t, q))
    assert list(m["f1_per_class"].values()) == pytest.approx(
        list(f1_score(t, q, labels=range(5), average=None))
    )


@pytest.mark.parametrize("classes", [(0, 1, 2, 3, 4), (0, 2, 4), (1, 2)])
def test_validation_f1_agrees_with_test_f1(classes: tuple[int, ...]) -> None:
    """torchmetrics (training's validation F1) and the test metrics give the same macro F1."""
    import torch
    from torchmetrics.classification import MulticlassF1Score

    y, p = _night(1, classes=classes)
    tm = MulticlassF1Score(num_classes=5, average="macro", ignore_index=-1)
    tm.update(torch.from_numpy(p), torch.from_numpy(y))
    assert staging_metrics(y, p)["f1_macro"] == pytest.approx(float(tm.compute()), abs=1e-6)


def test_bootstrap_interval_is_seeded_and_brackets_the_pooled_value() -> None:
    nights = [_night(s, n=200 + 50 * s) for s in range(8)]
    cms = [confusion(y, p) for y, p in nights]
    pooled = metrics_from_confusion(sum(cms))
    ci = bootstrap_ci(cms, n_resamples=300, seed=3)
    assert ci == bootstrap_ci(cms, n_resamples=300, seed=3)
    assert ci != bootstrap_ci(cms, n_resamples=300, seed=4)
    for key in ("accuracy", "f1_macro", "kappa"):
        lo, hi = ci[key]
        assert lo < pooled[key] < hi and hi - lo < 0.2
    one_night = metrics_from_confusion(cms[0])["accuracy"]
    single = bootstrap_ci(cms[:1], n_resamples=50)  # one night: every resample is that night
    assert single["accuracy"] == pytest.approx([one_night, one_night])
