"""Accuracy over an epsilon grid for the Defences stage: attacked (any classifier) and exact (linear models)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from qulab.core.experiment import Scenario
from qulab.data.datasets import Split
from qulab.defences.running import accuracy
from qulab.models.registry import linear_scores
from qulab.threats.evasion.attacks import generate, generate_unbounded, within_budget
from qulab.threats.evasion.exact import exact_robust_accuracy, minimal_perturbations


def default_eps_grid(eps: float) -> tuple[float, ...]:
    """Five budgets from 0 to twice the scenario's eps (or to 0.2 when eps is 0)."""
    top = 2 * eps if eps > 0 else 0.2
    return tuple(round(float(v), 6) for v in np.linspace(0.0, top, 5))


def evaluation_grid(scenario: Scenario, eps_grid: tuple[float, ...] | None = None) -> tuple[float, ...]:
    """The budgets an evaluation reports: the given grid (else :func:`default_eps_grid`) and the scenario's eps."""
    return tuple(sorted({*(eps_grid or default_eps_grid(scenario.eps)), float(scenario.eps)}))


def examples_by_eps(attack: Any, attack_params: dict[str, Any], classifier: Any, X: np.ndarray, y: np.ndarray,
                    norm: str) -> Callable[[float], np.ndarray]:
    """Adversarial examples at any eps. A minimal attack's result does not depend on eps, so it runs once and is
    read at each budget (as in :func:`qulab.evaluation.curves.attack_curve`)."""
    if not attack.minimal:
        return lambda eps: generate(attack, classifier, X, y, eps, norm, attack_params)
    runs: list[np.ndarray] = []

    def at(eps: float) -> np.ndarray:
        if not runs:
            runs.append(generate_unbounded(attack, classifier, X, y, eps, norm, attack_params))
        return within_budget(X, runs[0], eps, norm)

    return at


def robust_curve(attack: Any, attack_params: dict[str, Any], classifier: Any, predict: Callable, X: np.ndarray,
                 y: np.ndarray, eps_grid: tuple[float, ...], norm: str, clean: float,
                 step: Callable[[int, int], None]) -> tuple[list[float], dict]:
    """Robust accuracy at every eps of the grid, and the adversarial examples per eps (for reuse)."""
    examples_at = examples_by_eps(attack, attack_params, classifier, X, y, norm)
    accuracies, examples = [], {}
    for i, eps in enumerate(eps_grid):
        step(i, len(eps_grid))
        if eps == 0:
            accuracies.append(clean)
            examples[eps] = X
            continue
        X_adv = examples_at(eps)
        examples[eps] = X_adv
        accuracies.append(accuracy(predict(X_adv), y))
    return accuracies, examples


def exact_curve(estimator: Any, split: Split, norm: str, grid: tuple[float, ...]) -> tuple[float, ...]:
    """The closed-form robust accuracy of a linear estimator at every eps of the grid."""
    W, b = linear_scores(estimator)
    distances = minimal_perturbations(W, b, split.X_test, split.y_test, norm)
    return tuple(float(v) for v in np.atleast_1d(exact_robust_accuracy(distances, np.asarray(grid))))
