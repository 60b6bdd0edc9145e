"""Model extraction: rebuild a model from the answers it gives to queries.

Two routes. *Equation solving* (Tramèr et al., "Stealing Machine Learning Models via Prediction APIs", USENIX
Security 2016, §4.1): a logistic regression's log-odds are linear in its input, so each probability answer is one
linear equation in the weights and d+1 answers pin a d-feature model down exactly — hand-written here (ART has no
such attack) and checked against the target's own coefficients. *Learning a copy* (ART's ``CopycatCNN``, Correia-
Silva et al. 2018, and ``KnockoffNets``, Orekondy et al. 2019): train a network of the attacker's own on the
target's answers to inputs the attacker holds, and measure how often the copy agrees with the target on inputs
neither has seen, as the number of queries grows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qulab.core.registry import InvalidInput

ProbabilityOracle = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class StolenLinearModel:
    """A softmax-linear model, ``p = softmax(W x + b)``, as the equation-solving attack rebuilds it.

    A softmax is unchanged when the same vector is added to every row of (W, b), so a model is only determined up
    to that shift; the attack fixes it by making the first class's row zero. A binary logistic regression is the
    two-class case with rows (0, w) and (0, b).
    """

    W: np.ndarray  # (K, d), W[0] == 0
    b: np.ndarray  # (K,), b[0] == 0
    queries: int

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.W.T + self.b

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices 0..K-1 (the target's column order)."""
        return np.argmax(self.decision_function(X), axis=1)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        scores = self.decision_function(X)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)


def relative_to_first_class(W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) with the first class's row subtracted from every row: the representative of the softmax's
    equivalence class that :class:`StolenLinearModel` uses, so two models compare row by row."""
    W, b = np.atleast_2d(np.asarray(W, dtype=np.float64)), np.atleast_1d(np.asarray(b, dtype=np.float64))
    return W - W[0], b - b[0]


def query_region(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the attacker draws queries: the mean and spread of inputs like the target's (a feature that never
    varies, like a digit's always-blank corner pixel, still gets spread 1, or the system would be singular)."""
    X = np.asarray(X, dtype=np.float64)
    spread = X.std(axis=0)
    return X.mean(axis=0), np.where(spread > 0, spread, 1.0)


def equation_solving_queries(n_features: int, center: np.ndarray, spread: np.ndarray, seed: int) -> np.ndarray:
    """The d+1 inputs the attacker asks about: Gaussian draws around ``center`` with per-feature ``spread``.

    Random points are in general position with probability one, so the (d+1)×(d+1) system [X 1] is invertible;
    drawing them where the data lie keeps the probabilities away from 0 and 1, where log-odds lose precision.
    """
    rng = np.random.default_rng(seed)
    return center + spread * rng.standard_normal((n_features + 1, n_features))


def solve_softmax_linear(X: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) with W[0] = 0 from n = d+1 inputs and the target's probabilities on them.

    For a softmax-linear model, log(p_k / p_0) = (w_k − w_0)·x + (b_k − b_0): one linear system [X 1] θ_k = log
    ratio per class k, all with the same matrix (the binary logit log(p/(1−p)) is the case K = 2).
    """
    X, proba = np.asarray(X, dtype=np.float64), np.asarray(proba, dtype=np.float64)
    n, d = X.shape
    if n != d + 1:
        raise ValueError(f"equation solving takes exactly d+1 = {d + 1} queries, not {n}")
    if np.any(proba <= 0):
        raise InvalidInput("The target answered a probability of exactly 0 or 1, which has no log-odds; lower the "
                           "query spread so the queries fall where the target is less certain.")
    log_ratios = np.log(proba) - np.log(proba[:, :1])  # (n, K), first column 0
    theta = np.linalg.solve(np.hstack([X, np.ones((n, 1))]), log_ratios)  # (d+1, K)
    return theta[:d].T.copy(), theta[d].copy()


def extract_by_equation_solving(predict_proba: ProbabilityOracle, n_features: int, center: np.ndarray,
                                spread: np.ndarray, seed: int) -> StolenLinearModel:
    """Steal a softmax-linear model (logistic regression, binary or multinomial) with exactly d+1 queries."""
    X = equation_solving_queries(n_features, center, spread, seed)
    W, b = solve_softmax_linear(X, predict_proba(X))
    return StolenLinearModel(W=W, b=b, queries=len(X))


def agreement(stolen_predictions: np.ndarray, target_predictions: np.ndarray) -> float:
    """Share of inputs on which the stolen model predicts what the target predicts."""
    return float(np.mean(np.asarray(stolen_predictions) == np.asarray(target_predictions)))


# ---------------------------------------------------------------------------------------------------------------
# Learning a copy: ART's CopycatCNN and KnockoffNets

PROBABILITIES, LABELS = "probabilities", "labels"
ANSWERS = (PROBABILITIES, LABELS)


def victim_answers(predict_proba: ProbabilityOracle, answers: str) -> ProbabilityOracle:
    """What the target's API returns per query: its probabilities, or only its top label (one-hot rows)."""
    if answers == PROBABILITIES:
        return lambda X: np.asarray(predict_proba(X), dtype=np.float32)

    def top_label(X: np.ndarray) -> np.ndarray:
        proba = np.asarray(predict_proba(X))
        return np.eye(proba.shape[1], dtype=np.float32)[np.argmax(proba, axis=1)]

    return top_label


def as_victim(answer: ProbabilityOracle, n_features: int, n_classes: int) -> Any:
    """The target as ART sees it in an extraction: a black box that answers queries, nothing more."""
    from art.estimators.classification import BlackBoxClassifier

    return BlackBoxClassifier(answer, input_shape=(n_features,), nb_classes=n_classes)


@dataclass(frozen=True)
class CopyPoint:
    """One point of an extraction curve: a copy trained on ``queries`` answers, judged on held-out inputs."""

    queries: int
    agreement: float  # copy's prediction == target's prediction
    stolen_accuracy: float  # copy's prediction == true label


def train_copy(attack: Any, thief: Any, X_pool: np.ndarray, y_pool: np.ndarray | None, seed: int) -> Any:
    """Run an ART extraction attack (``attack.extract``) with the thief network; returns the trained thief.

    ART draws the queried pool points from NumPy's global generator and the thief's minibatch order from torch's,
    so the run holds :func:`qulab.core.randomness.seeded`: the same seed asks the same queries and trains the same
    copy.
    """
    from qulab.core.randomness import seeded

    with seeded(seed):
        return attack.extract(np.asarray(X_pool, dtype=np.float32), y_pool, thieved_classifier=thief)


def extraction_curve(make_attack: Callable[[int], Any], make_thief: Callable[[], Any], X_pool: np.ndarray,
                     y_pool: np.ndarray | None, X_eval: np.ndarray, y_eval: np.ndarray,
                     target_eval_predictions: np.ndarray, query_counts: tuple[int, ...], seed: int,
                     progress: Callable[[float], None] | None = None) -> tuple[CopyPoint, ...]:
    """Agreement and accuracy of a fresh copy per number of queries (each copy starts from the same initial
    weights, so the curve shows what more queries buy, not a different start)."""
    points = []
    for i, n in enumerate(query_counts):
        thief = train_copy(make_attack(n), make_thief(), X_pool, y_pool, seed)
        predicted = np.argmax(thief.predict(np.asarray(X_eval, dtype=np.float32)), axis=1)
        points.append(CopyPoint(int(n), agreement(predicted, target_eval_predictions),
                                float(np.mean(predicted == np.asarray(y_eval)))))
        if progress is not None:
            progress((i + 1) / len(query_counts))
    return tuple(points)
