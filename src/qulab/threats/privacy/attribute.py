"""Attribute inference: guess a record's sensitive column from its other columns — with and without the model.

Set-up (as in ART's attribute-inference examples): the model is trained on records that include the sensitive
column; the attacker holds some training records in full (to train the attack) and, for the target records, every
column except the sensitive one plus the model's prediction. ART's attacks guess a *categorical* column: a value
out of the levels seen in training. A continuous column is therefore cut into quantile bins first, and the model is
trained on the bin numbers; the attacker then guesses a record's bin, not its exact value.

The guess's accuracy alone says little (a column that follows from the others is guessed well without any model),
so ``AttributeInferenceBaseline`` makes the same guess from the other columns without the model's answers, and the
leakage is the difference (Jayaraman & Evans 2022 call the gap the attack's real signal).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qulab.core.registry import InvalidInput
from qulab.data.datasets import Split

# A column with at most this many distinct values is taken as categorical as it is; others are binned.
MAX_LEVELS = 10


@dataclass(frozen=True)
class SensitiveColumn:
    """The attacked column and how it was made categorical (``edges`` empty when it already was)."""

    index: int
    name: str
    levels: tuple[float, ...]  # the values the attacker chooses from, in increasing order
    edges: tuple[float, ...] = ()  # inner quantile edges when the column was binned

    @property
    def binned(self) -> bool:
        return bool(self.edges)

    def describe(self) -> str:
        if not self.binned:
            return f"'{self.name}' has {len(self.levels)} values; the attacker guesses which."
        return (f"'{self.name}' is continuous, so it was cut into {len(self.levels)} quantile bins at "
                f"{', '.join(f'{e:.3g}' for e in self.edges)}; the model is trained on the bin number and the "
                f"attacker guesses the bin.")


def make_categorical(split: Split, column: int, bins: int) -> tuple[Split, SensitiveColumn]:
    """The split with ``column`` made categorical: kept if it has at most :data:`MAX_LEVELS` values in training,
    else replaced by its quantile bin number 0..bins−1 (edges from the training part only, test values binned by
    the same edges)."""
    n_features = split.X_train.shape[1]
    if not 0 <= column < n_features:
        raise InvalidInput(f"The sensitive column must be a column number from 0 to {n_features - 1}, not {column}.")
    name = split.feature_names[column]
    values = np.unique(split.X_train[:, column])
    if len(values) < 2:
        raise InvalidInput(f"The column '{name}' has one value in the training data: there is nothing to infer.")
    if len(values) <= MAX_LEVELS:
        return split, SensitiveColumn(column, name, tuple(float(v) for v in values))
    edges = np.unique(np.quantile(split.X_train[:, column], np.linspace(0, 1, bins + 1)[1:-1]))

    def binned(X: np.ndarray) -> np.ndarray:
        X = X.copy()
        X[:, column] = np.searchsorted(edges, X[:, column], side="right")
        return X

    levels = tuple(float(v) for v in range(len(edges) + 1))
    return (replace(split, X_train=binned(split.X_train), X_test=binned(split.X_test)),
            SensitiveColumn(column, name, levels, tuple(float(e) for e in edges)))


def without(X: np.ndarray, column: int) -> np.ndarray:
    """The records as the attacker sees them: every column but the sensitive one."""
    return np.delete(np.asarray(X), column, axis=1)


@dataclass(frozen=True)
class AttributeOutcome:
    """How often the sensitive value is guessed right, with the model's help and without it."""

    attack_accuracy: float
    baseline_accuracy: float
    n_targets: int
    n_known: int
    column: SensitiveColumn
    majority_accuracy: float  # always guessing the commonest level among the known records

    @property
    def leakage(self) -> float:
        """What the model's answers add to the guess: attack accuracy − baseline accuracy."""
        return self.attack_accuracy - self.baseline_accuracy

    def summary(self) -> dict[str, Any]:
        return {"attack_accuracy": self.attack_accuracy, "baseline_accuracy": self.baseline_accuracy,
                "leakage": self.leakage, "majority_accuracy": self.majority_accuracy,
                "n_targets": self.n_targets, "n_known": self.n_known, "sensitive_column": self.column.name,
                "levels": len(self.column.levels), "binned": self.column.binned}


def known_and_targets(n: int, known_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training records the attacker holds in full and of the ones it attacks (disjoint)."""
    order = np.random.default_rng(seed).permutation(n)
    n_known = int(round(known_share * n))
    if not 1 <= n_known < n:
        raise InvalidInput(f"A known share of {known_share} leaves no records to learn from or none to attack.")
    return np.sort(order[:n_known]), np.sort(order[n_known:])


def black_box_guess(classifier: Any, column: int, X_known: np.ndarray, X_targets: np.ndarray,
                    predictions: np.ndarray, model_type: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(with the model, without it): ART's ``AttributeInferenceBlackBox`` and ``AttributeInferenceBaseline``, the
    same kind of attack model, trained on the known records and run on the targets.

    ``predictions`` are the model's class indices for the targets: ART's ``fit`` feeds its attack model the class
    index as one column, so ``infer`` must get the same (n, 1) column, not the one-hot rows its docstring suggests.
    ART's attack models (its network, or a scikit-learn forest built without a seed) draw from the global
    generators, so both run under :func:`qulab.core.randomness.seeded`.
    """
    from art.attacks.inference.attribute_inference import AttributeInferenceBaseline, AttributeInferenceBlackBox

    from qulab.core.randomness import seeded

    pred = np.asarray(predictions, dtype=np.float32).reshape(-1, 1)
    X_known, X_targets = np.asarray(X_known, np.float32), np.asarray(X_targets, np.float32)
    with seeded(seed):
        attack = AttributeInferenceBlackBox(classifier, attack_model_type=model_type, attack_feature=column)
        attack.fit(X_known)
        guessed = attack.infer(without(X_targets, column), pred=pred)
    with seeded(seed):
        baseline = AttributeInferenceBaseline(attack_model_type=model_type, attack_feature=column)
        baseline.fit(X_known)
        guessed_without = baseline.infer(without(X_targets, column))
    return np.asarray(guessed, dtype=np.float64), np.asarray(guessed_without, dtype=np.float64)


def white_box_tree_guess(classifier: Any, column: int, X_targets: np.ndarray, predictions: np.ndarray,
                         levels: tuple[float, ...], priors: np.ndarray) -> np.ndarray:
    """ART's ``AttributeInferenceWhiteBoxDecisionTree`` (Fredrikson et al. 2015): try every level in the tree;
    if exactly one gives the model's prediction, guess it, else the level whose leaf holds the most training
    records times the level's prior. Deterministic.

    ART refuses the last column (it checks the column index against the record *without* the column), so the
    records are reordered to put the sensitive column first, and the tree's input with them.
    """
    from art.attacks.inference.attribute_inference import AttributeInferenceWhiteBoxDecisionTree

    n_features = X_targets.shape[1]
    if column == n_features - 1:
        classifier = _column_first(classifier, column, n_features)
        X_targets = np.concatenate([X_targets[:, column:], X_targets[:, :column]], axis=1)
        column = 0
    attack = AttributeInferenceWhiteBoxDecisionTree(classifier, attack_feature=column)
    return np.asarray(attack.infer(without(X_targets, column), np.asarray(predictions),
                                   values=list(levels), priors=list(priors)), dtype=np.float64)


def _column_first(classifier: Any, column: int, n_features: int) -> Any:
    """The tree as seen through inputs whose ``column`` comes first: split features renumbered, the fitted tree
    untouched (a deep copy)."""
    import copy

    from art.estimators.classification.scikitlearn import ScikitlearnDecisionTreeClassifier

    model = copy.deepcopy(classifier.model)
    new_index = {old: (0 if old == column else old + 1 if old < column else old) for old in range(n_features)}
    features = model.tree_.feature  # a view on the tree's own array: renumber in place (leaves stay negative)
    for node, old in enumerate(list(features)):
        if old >= 0:
            features[node] = new_index[int(old)]
    return ScikitlearnDecisionTreeClassifier(model=model, clip_values=classifier.clip_values)


def accuracy(guessed: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.isclose(np.asarray(guessed, np.float64), np.asarray(true, np.float64))))
