"""Robustness curves: accuracy against epsilon for several attacks on one model, read from the budget engine
(:mod:`qulab.evaluation.budget`), beside the exact curve for linear models and each curve's gap to it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qulab.core.experiment import Scenario
from qulab.core.registry import InvalidInput
from qulab.data.datasets import Split
from qulab.evaluation import budget
from qulab.evaluation.budget import BudgetSweep, Progress
from qulab.evaluation.pipeline import FittedModel, attack_sweep, linear_weights

Curve = BudgetSweep  # a robustness curve is a sweep without its examples


def eps_grid(eps_max: float, steps: int) -> np.ndarray:
    if steps < 2:
        raise InvalidInput(f"a curve needs at least 2 steps, not {steps}")
    return np.linspace(0.0, eps_max, steps)


def exact_distances(split: Split, model: FittedModel, norm: str) -> np.ndarray | None:
    """Each test point's exact distance to misclassification, for linear models; None otherwise."""
    weights = linear_weights(model)
    return None if weights is None else budget.exact_distances(weights, split.X_test, split.y_test, norm)


def exact_curve(split: Split, model: FittedModel, grid: Sequence[float], norm: str) -> Curve | None:
    """The closed-form curve of a linear model (the lowest any attack can reach); None for other models."""
    weights = linear_weights(model)
    return None if weights is None else budget.exact_sweep(weights, split.X_test, split.y_test, grid, norm)


def attack_curve(scenario: Scenario, split: Split, model: FittedModel, grid: Sequence[float],
                 progress: Progress | None = None) -> Curve:
    """Accuracy of the scenario's attack at each eps of the grid."""
    return attack_sweep(scenario, split, model, grid, progress=progress)


def gap_table(curves: Sequence[Curve], exact: Curve | None) -> list[dict[str, object]]:
    """One row per curve (the exact one first): how it was computed, its time and, when the exact curve is known,
    its largest gap above it (an attack's sub-optimality; 0 for the exact curve itself)."""
    rows: list[dict[str, object]] = []
    for curve in ([exact] if exact is not None else []) + list(curves):
        row: dict[str, object] = {"Curve": curve.label, "How it was computed": curve.method,
                                  "Seconds": round(curve.seconds, 3)}
        if exact is not None:
            row["Largest gap to exact"] = round(float(np.max(np.subtract(curve.accuracy, exact.accuracy))), 3)
        rows.append(row)
    return rows
