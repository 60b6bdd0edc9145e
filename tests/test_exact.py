"""The closed-form minimal perturbation of linear models, checked by hand-worked cases."""

import numpy as np
import pytest

from qulab.threats.evasion.exact import exact_robust_accuracy, minimal_perturbations


def test_binary_hand_worked_distances_for_each_norm():
    # f(x) = 3·x1 − 4·x2 + 1 written as the two classes (0, w); ‖w‖₁ = 7, ‖w‖₂ = 5, ‖w‖∞ = 4.
    W, b = np.array([[0.0, 0.0], [3.0, -4.0]]), np.array([0.0, 1.0])
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # f = 4, −3, 0
    y = np.array([1, 0, 1])
    assert minimal_perturbations(W, b, X, y, "inf") == pytest.approx([4 / 7, 3 / 7, 0.0])
    assert minimal_perturbations(W, b, X, y, "2") == pytest.approx([4 / 5, 3 / 5, 0.0])
    assert minimal_perturbations(W, b, X, y, "1") == pytest.approx([1.0, 3 / 4, 0.0])


def test_misclassified_points_have_zero_distance():
    W, b = np.array([[0.0], [1.0]]), np.array([0.0, 0.0])
    assert minimal_perturbations(W, b, np.array([[2.0]]), np.array([0]), "inf") == pytest.approx([0.0])


def test_multiclass_takes_the_nearest_other_class():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    b = np.zeros(3)
    x, y = np.array([[2.0, 1.0]]), np.array([0])
    # vs class 1: (2 − 1)/‖(1, −1)‖₂ = 1/√2 ; vs class 2: (2 + 2)/‖(2, 0)‖₂ = 2
    assert minimal_perturbations(W, b, x, y, "2") == pytest.approx([1 / np.sqrt(2)])


def test_robust_accuracy_over_a_grid_matches_pointwise():
    distances = np.array([0.0, 0.1, 0.2, 0.2, 0.5])
    grid = np.array([0.0, 0.1, 0.15, 0.2, 0.6])
    expected = [np.mean(distances > e) for e in grid]
    np.testing.assert_allclose(exact_robust_accuracy(distances, grid), expected)
    assert exact_robust_accuracy(distances, 0.15) == pytest.approx(0.6)
