"""Calibration on dev data: class offsets for the stance head."""

import numpy as np

from training.calibrate import _macro_f1, fit_class_offsets


def test_offsets_undo_a_head_that_overpredicts_the_last_class():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    logits = np.eye(3)[labels] * 2.0 + rng.normal(0, 1.0, (600, 3))
    logits[:, 2] += 2.0  # a "neutral" habit the training data taught
    offsets = fit_class_offsets(logits, labels, ["news"] * 600)
    assert offsets[2] == 0.0 and offsets[0] > 0.5 and offsets[1] > 0.5
    before = _macro_f1(labels, logits.argmax(1), 3)
    after = _macro_f1(labels, (logits + offsets).argmax(1), 3)
    assert after > before + 0.1


def test_a_well_balanced_head_keeps_small_offsets():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 600)
    logits = np.eye(3)[labels] * 3.0 + rng.normal(0, 1.0, (600, 3))
    assert np.abs(fit_class_offsets(logits, labels, ["a", "b"] * 300)).max() <= 0.5
