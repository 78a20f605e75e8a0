"""Cohen's kappa of two label arrays."""

import numpy as np
import pytest

from cloud_removal.algorithms.core.agreement import kappa


def test_identical_labels_give_one():
    a = np.array([[0, 1], [2, 1]])
    assert kappa(a, a) == 1.0
    assert kappa(np.zeros(4), np.zeros(4)) == 1.0  # one class in both: full agreement, not 0/0


def test_known_value():
    # 2 x 2 table [[20, 5], [10, 15]] of n = 50: po = 0.7, pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4
    a = np.array([0] * 25 + [1] * 25)
    b = np.array([0] * 20 + [1] * 5 + [0] * 10 + [1] * 15)
    assert kappa(a, b) == pytest.approx(0.4)


def test_sizes_must_match():
    with pytest.raises(ValueError, match="differ in size"):
        kappa(np.zeros(3), np.zeros(4))
