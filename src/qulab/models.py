"""Model families: one registry entry each, with what ART can ask of the fitted model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from qulab.registry import Param, Registry

# What an attack may need from a model, from most to least informative.
LOSS_GRADIENTS = "loss gradients"
CLASS_GRADIENTS = "class gradients"
SCORES = "scores"
DECISIONS = "decisions"


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: how to build the estimator, wrap it for ART, and what it exposes."""

    name: str
    label: str
    family: str
    description: str
    build: Callable[..., Any]
    exposes: frozenset[str]
    params: tuple[Param, ...] = field(default=())
    linear: bool = False
    wrap: Callable[..., Any] | None = None

    def art_classifier(self, estimator: Any, clip_values: tuple[float, float] | None) -> Any:
        """The fitted estimator behind ART's interface (scikit-learn wrapper unless the entry says otherwise)."""
        if self.wrap is not None:
            return self.wrap(estimator, clip_values)
        from art.estimators.classification.scikitlearn import SklearnClassifier

        return SklearnClassifier(model=estimator, clip_values=clip_values)


MODELS: Registry[ModelSpec] = Registry("model")

MODELS.register(ModelSpec(
    name="logistic_regression",
    label="Logistic regression",
    family="linear",
    description="A linear model of the log-odds; its decision boundary is a hyperplane.",
    build=lambda C=1.0, seed=0: LogisticRegression(C=C, max_iter=5000, random_state=seed),
    exposes=frozenset({LOSS_GRADIENTS, CLASS_GRADIENTS, SCORES, DECISIONS}),
    params=(Param("C", "Inverse regularisation C", 1.0,
                  "Smaller C means a stronger L2 penalty and smaller weights.", 0.001, 1000.0),),
    linear=True,
))


def linear_scores(estimator: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-class linear scores f_k(x) = W[k]·x + b[k] whose argmax is the prediction.

    A binary scikit-learn model stores one weight vector w (positive side = class 1); it is written as the
    two classes (0, w) so binary and multiclass share the margin arithmetic.
    """
    W = np.atleast_2d(np.asarray(estimator.coef_, dtype=np.float64))
    b = np.atleast_1d(np.asarray(estimator.intercept_, dtype=np.float64))
    if W.shape[0] == 1:
        W = np.vstack([np.zeros_like(W[0]), W[0]])
        b = np.array([0.0, b[0]])
    return W, b
