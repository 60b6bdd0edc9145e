"""Exact robustness of linear models: closed-form minimal adversarial perturbations.

For per-class scores f_k(x) = w_k·x + b_k, the smallest perturbation (in norm p) that moves a correctly
classified point x of class y across the boundary with class j is (f_y(x) − f_j(x)) / ‖w_y − w_j‖_q with q
the dual norm of p (q = 1 for an L∞ budget, 2 for L2, ∞ for L1). Its minimum over j is the point's exact
distance to misclassification; no attack can do better, so it is the ground truth attacks are judged by.
Clipping to a valid input range is not taken into account (it can only make attacks harder).
"""

from __future__ import annotations

import numpy as np

DUAL_NORM = {"inf": 1.0, "2": 2.0, "1": np.inf}


def minimal_perturbations(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray, norm: str) -> np.ndarray:
    """Per-point minimal perturbation size; 0 for points already misclassified."""
    scores = X @ W.T + b
    own = scores[np.arange(len(y)), y]
    q = DUAL_NORM[norm]
    distances = np.full(len(y), np.inf)
    for j in range(W.shape[0]):
        others = y != j
        if not others.any():
            continue
        gap = own[others] - scores[others, j]
        weight = np.linalg.norm(W[y[others]] - W[j], ord=q, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            distance = np.where(weight > 0, gap / weight, np.where(gap > 0, np.inf, 0.0))
        distances[others] = np.minimum(distances[others], distance)
    return np.clip(distances, 0.0, None)


def exact_robust_accuracy(distances: np.ndarray, eps: np.ndarray | float) -> np.ndarray | float:
    """Share of points whose minimal perturbation exceeds eps, for one eps or a whole grid at once."""
    ordered = np.sort(distances)
    survivors = len(ordered) - np.searchsorted(ordered, np.asarray(eps), side="right")
    result = survivors / len(ordered)
    return float(result) if np.ndim(result) == 0 else result
