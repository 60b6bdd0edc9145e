"""Robustness curves: accuracy against epsilon, as cheaply as each attack allows.

- FGM moves every point by eps times a direction that does not depend on eps, so its direction is computed
  once and only rescaled; on a linear model even the predictions follow by margin arithmetic (scores move
  linearly in eps), and on a binary linear model FGM is the optimal attack, so its curve is the exact one.
- Minimal attacks (DeepFool, Carlini–Wagner, HopSkipJump, ...) run once; a point counts as broken at eps when
  its perturbation is within eps.
- Other budgeted attacks (PGD, BIM, ...) run once per eps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qulab.core.experiment import Scenario
from qulab.core.randomness import seeded_if_random
from qulab.core.registry import InvalidInput, resolve_params
from qulab.data.datasets import Split
from qulab.evaluation.pipeline import FittedModel, unit_step
from qulab.models.registry import linear_scores
from qulab.threats.evasion.attacks import (
    ATTACKS,
    AttackSpec,
    fits_budget,
    generate,
    generate_unbounded,
    perturbation_sizes,
)
from qulab.threats.evasion.exact import exact_robust_accuracy, minimal_perturbations

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Curve:
    """Accuracy at each epsilon, with how it was computed (shown to the user)."""

    label: str
    eps: tuple[float, ...]
    accuracy: tuple[float, ...]
    method: str
    seconds: float


def eps_grid(eps_max: float, steps: int) -> np.ndarray:
    if steps < 2:
        raise InvalidInput(f"a curve needs at least 2 steps, not {steps}")
    return np.linspace(0.0, eps_max, steps)


def exact_distances(split: Split, model: FittedModel, norm: str) -> np.ndarray | None:
    """Each test point's exact distance to misclassification, for linear models; None otherwise."""
    if not model.spec.linear:
        return None
    W, b = linear_scores(model.estimator)
    return minimal_perturbations(W, b, split.X_test, split.y_test, norm)


def exact_curve(split: Split, model: FittedModel, grid: Sequence[float], norm: str) -> Curve | None:
    start = time.perf_counter()
    distances = exact_distances(split, model, norm)
    if distances is None:
        return None
    accuracy = exact_robust_accuracy(distances, np.asarray(grid))
    return Curve("Exact (closed form)", tuple(map(float, grid)), tuple(map(float, accuracy)),
                 "closed-form minimal perturbation of a linear model", time.perf_counter() - start)


def _rescaled_accuracies(scenario: Scenario, split: Split, model: FittedModel,
                         grid: np.ndarray) -> tuple[np.ndarray, str]:
    X, y, norm = split.X_test, split.y_test, scenario.norm
    if model.spec.linear and split.clip_values is None:
        W, b = linear_scores(model.estimator)
        if W.shape[0] == 2:
            # Binary linear model: FGM lowers every margin by eps·‖w‖_q, which is optimal (the exact curve).
            return exact_robust_accuracy(exact_distances(split, model, norm), grid), "margin arithmetic (exact)"
        scores, slope = X @ W.T + b, unit_step(scenario, split, model) @ W.T
        accuracy = [np.mean(np.argmax(scores + e * slope, axis=1) == y) for e in grid]
        return np.array(accuracy), "one gradient, scores linear in eps"
    direction = unit_step(scenario, split, model)
    lo, hi = split.clip_values or (-np.inf, np.inf)
    accuracy = [np.mean(model.predict(np.clip(X + e * direction, lo, hi)) == y) for e in grid]
    return np.array(accuracy), "one gradient, rescaled per eps"


def attack_curve(scenario: Scenario, split: Split, model: FittedModel, grid: Sequence[float],
                 progress: Progress | None = None) -> Curve:
    """Accuracy of the scenario's attack at each eps of the grid."""
    spec: AttackSpec = ATTACKS.get(scenario.attack)
    reason = spec.unsupported_reason(model.spec, split.n_classes, split.image_shape is not None)
    if reason:
        raise InvalidInput(reason)
    params = resolve_params(spec.params, dict(scenario.attack_params))
    grid = np.asarray(grid, dtype=float)
    X, y = split.X_test, split.y_test
    start = time.perf_counter()
    if spec.rescalable:
        accuracy, method = _rescaled_accuracies(scenario, split, model, grid)
    elif spec.minimal:
        with seeded_if_random(spec, params, scenario.seed):
            X_adv = generate_unbounded(spec, model.classifier, X, y, float(grid.max()), scenario.norm, params)
        correct = model.predict(X) == y
        broken = correct & (model.predict(X_adv) != y)
        sizes = perturbation_sizes(X, X_adv, scenario.norm)
        accuracy = np.array([np.mean(correct & ~(broken & fits_budget(sizes, e))) for e in grid])
        method = "one run; a point counts as broken when its perturbation is within eps"
    else:
        accuracy = []
        for i, e in enumerate(grid):
            if progress:
                progress(i / len(grid), f"{spec.label}: eps = {e:.3g} ({i + 1} of {len(grid)})")
            # Seeded as run_attack seeds it, so a curve's point equals that single run.
            with seeded_if_random(spec, params, scenario.seed):
                X_adv = generate(spec, model.classifier, X, y, float(e), scenario.norm, params) if e > 0 else X
            accuracy.append(np.mean(model.predict(X_adv) == y))
        accuracy, method = np.array(accuracy), "one attack run per eps"
    if progress:
        progress(1.0, f"{spec.label}: done")
    return Curve(spec.label, tuple(map(float, grid)), tuple(map(float, accuracy)), method,
                 time.perf_counter() - start)
