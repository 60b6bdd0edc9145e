"""Model families: one registry entry each, with what ART can ask of the fitted model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qulab.core.experiment import MODEL_FILE_PREFIX
from qulab.core.registry import Param, Registry

# What a model exposes to an attacker; the names live with the threat model (re-exported here for callers).
from qulab.core.threat import (  # noqa: F401
    CLASS_GRADIENTS,
    DECISIONS,
    GRADIENTS,
    LOSS_GRADIENTS,
    SCORES,
    TREE_STRUCTURE,
)
from qulab.core.wording import in_running_text, with_article


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
    needs_images: bool = False
    wrap: Callable[..., Any] | None = None

    @property
    def from_file(self) -> bool:
        """A user's model file (:mod:`qulab.models.files`), named by its content: it is attacked as it is."""
        return self.name.startswith(MODEL_FILE_PREFIX)

    @property
    def in_text(self) -> str:
        """The model's name mid-sentence ("logistic regression", "RBF SVM")."""
        return in_running_text(self.label)

    @property
    def a_name(self) -> str:
        """The name with its article ("a decision tree", "an RBF SVM")."""
        return with_article(self.in_text)

    def art_classifier(self, estimator: Any, clip_values: tuple[float, float] | None) -> Any:
        """The fitted estimator behind ART's interface (scikit-learn wrapper unless the entry says otherwise)."""
        if self.wrap is not None:
            return self.wrap(estimator, clip_values)
        from art.estimators.classification.scikitlearn import SklearnClassifier

        return SklearnClassifier(model=estimator, clip_values=clip_values)


MODELS: Registry[ModelSpec] = Registry("model")

C_PARAM = Param("C", "Inverse regularisation C", 1.0,
                "Smaller C means a stronger penalty and a simpler model.", 0.001, 1000.0, scale="log")


def _svc_wrap(estimator: Any, clip_values: tuple[float, float] | None) -> Any:
    """scikit-learn 1.9's default probability='deprecated' is truthy, so ART would call the missing
    predict_proba and crash; passing probability=False instead warns of the deprecation. A fitted SVC without
    probabilities is what it is, so say so to ART."""
    from art.estimators.classification.scikitlearn import ScikitlearnSVC

    estimator.probability = False
    return ScikitlearnSVC(model=estimator, clip_values=clip_values)


# Builders import scikit-learn when a model is built, so reading the catalogue (`qulab list`) stays light.
def _logistic_regression(C: float = 1.0, seed: int = 0) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000, random_state=seed)


def _linear_svm(C: float = 1.0, seed: int = 0) -> Any:
    from sklearn.svm import LinearSVC

    return LinearSVC(C=C, max_iter=20_000, random_state=seed)


def _rbf_svm(C: float = 1.0, seed: int = 0) -> Any:
    from sklearn.svm import SVC

    return SVC(C=C, random_state=seed)


def _decision_tree(max_depth: int = 0, seed: int = 0) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=max_depth or None, random_state=seed)


def _random_forest(n_estimators: int = 100, seed: int = 0) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=n_estimators, random_state=seed)


def _gradient_boosting(n_estimators: int = 100, seed: int = 0) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=n_estimators, random_state=seed)


def _torch_wrap(estimator: Any, clip_values: tuple[float, float] | None) -> Any:
    from qulab.models.torch_nets import to_art_classifier

    return to_art_classifier(estimator, clip_values=clip_values)


def _torch_mlp(hidden: int = 64, epochs: int = 60, seed: int = 0) -> Any:
    from qulab.models.torch_nets import TorchMLPClassifier

    return TorchMLPClassifier(hidden_layer_sizes=(hidden, hidden), epochs=epochs, random_state=seed)


def _torch_cnn(epochs: int = 15, seed: int = 0) -> Any:
    from qulab.models.torch_nets import TorchCNNClassifier

    return TorchCNNClassifier(epochs=epochs, random_state=seed)


ALL_ACCESS = frozenset({LOSS_GRADIENTS, CLASS_GRADIENTS, SCORES, DECISIONS})

for spec in (
    ModelSpec("logistic_regression", "Logistic regression", "linear",
              "A linear model of the log-odds; its decision boundary is a hyperplane.",
              _logistic_regression,
              ALL_ACCESS, (C_PARAM,), linear=True),
    ModelSpec("linear_svm", "Linear SVM", "linear",
              "A maximum-margin hyperplane (one-vs-rest for several classes); it outputs decisions, not "
              "probabilities.",
              _linear_svm,
              GRADIENTS | {DECISIONS}, (C_PARAM,), linear=True),
    ModelSpec("rbf_svm", "RBF SVM", "kernel",
              "A support-vector machine with a Gaussian kernel: curved boundaries; decisions only.",
              _rbf_svm, GRADIENTS | {DECISIONS}, (C_PARAM,),
              wrap=_svc_wrap),
    ModelSpec("decision_tree", "Decision tree", "tree",
              "Axis-aligned splits; piecewise constant, so it has no gradients.",
              _decision_tree,
              frozenset({SCORES, DECISIONS, TREE_STRUCTURE}),
              (Param("max_depth", "Maximum depth", 0, "How many splits deep the tree may grow; 0 means "
                     "unlimited: it grows until its leaves are pure.", 0, 30, zero_label="unlimited"),)),
    ModelSpec("random_forest", "Random forest", "ensemble",
              "An average of decision trees on bootstrap samples; no gradients.",
              _random_forest,
              frozenset({SCORES, DECISIONS}),
              (Param("n_estimators", "Trees", 100, "How many trees to average.", 5, 500, 5),)),
    ModelSpec("gradient_boosting", "Gradient boosting", "ensemble",
              "Trees fitted one after another to the previous ones' errors; no gradients.",
              _gradient_boosting,
              frozenset({SCORES, DECISIONS}),
              (Param("n_estimators", "Boosting rounds", 100, "How many trees to add in sequence.", 5, 500, 5),)),
    ModelSpec("torch_mlp", "Neural network (PyTorch MLP)", "neural",
              "Two hidden ReLU layers trained with Adam; differentiable, so every attack applies.",
              _torch_mlp, ALL_ACCESS,
              (Param("hidden", "Units per hidden layer", 64, "Width of each of the two hidden layers.", 4, 512, 4),
               Param("epochs", "Training epochs", 60, "Passes over the training data.", 5, 300, 5)),
              wrap=_torch_wrap),
    ModelSpec("torch_cnn", "Convolutional network (PyTorch CNN)", "neural",
              "Two convolution blocks for the 8×8 digit images; differentiable.",
              _torch_cnn, ALL_ACCESS,
              (Param("epochs", "Training epochs", 15, "Passes over the training data.", 2, 100, 1),),
              needs_images=True, wrap=_torch_wrap),
):
    MODELS.register(spec)


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


def binary_boundary(estimator: Any) -> tuple[np.ndarray, float] | None:
    """A binary linear model's decision boundary {x : normal·x + offset = 0} (class 1 on the positive side), for
    drawing; None for a multiclass model, whose regions no single line separates."""
    W, b = linear_scores(estimator)
    return (W[1] - W[0], float(b[1] - b[0])) if W.shape[0] == 2 else None
