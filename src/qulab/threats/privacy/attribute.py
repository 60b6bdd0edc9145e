"""Attribute inference: guess a record's sensitive column from its other columns — with and without the model.

Set-up (as in ART's attribute-inference examples): the model is trained on records that include the sensitive
column; the attacker holds some training records in full (to train the attack) and, for the target records, every
column except the sensitive one plus the model's prediction. ART's attacks guess a *categorical* column: a value
out of the levels seen in training. A continuous column is therefore cut into quantile bins first, and the model is
trained on the binned column; the attacker then guesses a record's bin, not its exact value. A model from a file
cannot be retrained: it answers on the records as they are, the attacker estimates the column's value (ART's
attacks on a continuous column, a regression) and is scored on the estimate's bin, as the baseline is.

The guess's accuracy alone says little (a column that follows from the others is guessed well without any model),
so ``AttributeInferenceBaseline`` makes the same guess from the other columns without the model's answers, and the
leakage is the difference (Jayaraman & Evans 2022 showed that much of what looks like attribute inference is
imputation the data alone allow).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qulab.core.registry import InvalidInput, Param
from qulab.core.threat import BLACK_BOX, DECISIONS, TRAINING_DATA, TREE_STRUCTURE, WHITE_BOX
from qulab.core.wording import accuracy_text
from qulab.data.datasets import Split
from qulab.threats.privacy.attacks import (
    ATTRIBUTE,
    PRIVACY_ATTACKS,
    FigureView,
    Metric,
    PrivacyAttackSpec,
    Target,
    privacy_threat,
)

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

    def bin(self, values: np.ndarray) -> np.ndarray:
        """Each value replaced by its bin's level (the bin's training median)."""
        return np.asarray(self.levels)[np.searchsorted(self.edges, np.asarray(values, np.float64), side="right")]

    def describe(self) -> str:
        if not self.binned:
            return f"'{self.name}' has {len(self.levels)} values; the attacker guesses which."
        return (f"'{self.name}' is continuous, so it was cut into {len(self.levels)} quantile bins at "
                f"{', '.join(f'{e:.3g}' for e in self.edges)}, each value replaced by its bin's median; the model is "
                f"trained on the binned column and the attacker guesses the bin.")


def make_categorical(split: Split, column: int, bins: int) -> tuple[Split, SensitiveColumn]:
    """The split with ``column`` made categorical: kept if it has at most :data:`MAX_LEVELS` values in training,
    else cut at its training quantiles into ``bins`` bins, each value replaced by its bin's training median (so the
    column keeps its scale and range; test values are binned by the same edges)."""
    n_features = split.X_train.shape[1]
    if not 0 <= column < n_features:
        raise InvalidInput(f"The sensitive column must be a column number from 0 to {n_features - 1}, not {column}.")
    name = split.feature_names[column]
    train = split.X_train[:, column]
    values = np.unique(train)
    if len(values) < 2:
        raise InvalidInput(f"The column '{name}' has one value in the training data: there is nothing to infer.")
    if len(values) <= MAX_LEVELS:
        return split, SensitiveColumn(column, name, tuple(float(v) for v in values))
    edges = np.unique(np.quantile(train, np.linspace(0, 1, bins + 1)[1:-1]))
    medians = np.array([np.median(train[np.searchsorted(edges, train, side="right") == b])
                        for b in range(len(edges) + 1)])
    sensitive = SensitiveColumn(column, name, tuple(float(m) for m in medians), tuple(float(e) for e in edges))

    def binned(X: np.ndarray) -> np.ndarray:
        X = X.copy()
        X[:, column] = sensitive.bin(X[:, column])
        return X

    return replace(split, X_train=binned(split.X_train), X_test=binned(split.X_test)), sensitive


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
                    predictions: np.ndarray, model_type: str, seed: int, continuous: bool = False) -> np.ndarray:
    """ART's ``AttributeInferenceBlackBox``: an attack model trained on the known records (their other columns and
    the model's prediction) guesses the targets' column.

    ``predictions`` are the model's class indices for the targets: ART's ``fit`` feeds its attack model the class
    index as one column, so ``infer`` must get the same (n, 1) column, not the one-hot rows its docstring suggests.
    ART builds its attack model (a scikit-learn forest…) without a seed, so it runs under
    :func:`qulab.core.randomness.seeded`. ``continuous``: the column is estimated (ART's regression) instead of
    chosen among the known records' values.
    """
    from art.attacks.inference.attribute_inference import AttributeInferenceBlackBox

    from qulab.core.randomness import seeded

    pred = np.asarray(predictions, dtype=np.float32).reshape(-1, 1)
    with seeded(seed):
        attack = AttributeInferenceBlackBox(classifier, attack_model_type=model_type, attack_feature=column,
                                            is_continuous=continuous)
        attack.fit(np.asarray(X_known, np.float32))
        return np.asarray(attack.infer(without(np.asarray(X_targets, np.float32), column), pred=pred), np.float64)


def baseline_guess(column: int, X_known: np.ndarray, X_targets: np.ndarray, model_type: str,
                   seed: int, continuous: bool = False) -> np.ndarray:
    """ART's ``AttributeInferenceBaseline``: the same kind of attack model, from the other columns alone."""
    from art.attacks.inference.attribute_inference import AttributeInferenceBaseline

    from qulab.core.randomness import seeded

    with seeded(seed):
        baseline = AttributeInferenceBaseline(attack_model_type=model_type, attack_feature=column,
                                              is_continuous=continuous)
        baseline.fit(np.asarray(X_known, np.float32))
        return np.asarray(baseline.infer(without(np.asarray(X_targets, np.float32), column)), np.float64)


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


# ---------------------------------------------------------------------------------------------------------------
# Registry entries



@dataclass(frozen=True)
class AttributeResult:
    """An attribute-inference run: the guesses with and without the model, on the attacked training records."""

    outcome: AttributeOutcome
    true_values: np.ndarray
    guessed: np.ndarray
    guessed_without: np.ndarray
    notes: tuple[str, ...] = ()
    kind: str = ATTRIBUTE

    def summary(self) -> dict[str, Any]:
        return self.outcome.summary()

    def per_level(self) -> list[tuple[float, int, float, float]]:
        """(level, records, attack accuracy, baseline accuracy) for each level present among the targets."""
        rows = []
        for level in self.outcome.column.levels:
            mask = np.isclose(self.true_values, level)
            if mask.any():
                rows.append((level, int(mask.sum()), accuracy(self.guessed[mask], self.true_values[mask]),
                             accuracy(self.guessed_without[mask], self.true_values[mask])))
        return rows

    def metrics(self) -> tuple[Metric, ...]:
        o = self.outcome
        return (Metric("Attack accuracy", accuracy_text(o.attack_accuracy),
                       f"Share of {o.n_targets} training records whose '{o.column.name}' the attack guessed right."),
                Metric("Baseline accuracy", accuracy_text(o.baseline_accuracy),
                       "The same guess from the other columns alone, without asking the model."),
                Metric("Leakage", f"{o.leakage:+.3f}", "Attack − baseline accuracy: what the model's answers add. "
                       "Near 0 means the model gives nothing away that the other columns did not."),
                Metric("Always the commonest value", accuracy_text(o.majority_accuracy),
                       "Accuracy of guessing the most frequent value of the known records for everyone."))


def _attribute_views(result: AttributeResult) -> list[FigureView]:
    from qulab.figures.privacy_inference import build_attribute_figure

    o = result.outcome
    return [FigureView("With the model, without it", build_attribute_figure(
        o.attack_accuracy, o.baseline_accuracy, o.majority_accuracy, result.per_level(), o.column.name,
        o.column.binned), o.column.describe() + " The leakage is the gap between the first two bars, not the "
        "attack's accuracy alone.")]


_COLUMN = Param("column", "Sensitive column", 0, "Which column the attacker guesses, counted from 0 in the data's "
                "column order (the Data page lists them).", 0, 10_000)
_BINS = Param("bins", "Bins for a continuous column", 4, f"A column with more than {MAX_LEVELS} values is cut into "
              "this many quantile bins (ART guesses one value out of a few); the attacker then guesses the bin.",
              2, MAX_LEVELS)
_KNOWN = Param("known_share", "Records the attacker knows", 0.5, "Share of the training records the attacker holds "
               "in full to train its guess; the rest are attacked.", 0.1, 0.9, 0.05)
_MODEL = Param("attack_model", "Attack model", "rf", "The classifier that learns to guess the column, with and "
               "without the model's answers (the baseline uses the same kind).", choices=("rf", "gb", "lr"),
               choice_labels=("Random forest", "Gradient boosting", "Logistic regression"))


def _attacked_model(split: Any, binned: Split, column: SensitiveColumn, target: Target,
                    seed: int) -> tuple[Any, Callable[[np.ndarray], np.ndarray], tuple[str, ...]]:
    """(ART classifier, released answers) of the model trained on the categorical column: the target itself when
    the column already was categorical or the model cannot be retrained (a file), else its twin trained the same
    way on the binned data."""
    if not column.binned:
        return target.classifier, target.released, ()
    if target.make_estimator is None:
        return target.classifier, target.released, (
            f"The model comes from a file and is not retrained: it answered on the records as they are; the "
            f"attacker estimated the continuous '{column.name}' (a regression, with and without the model's answer) "
            f"and is scored on the estimate's quantile bin, one of {len(column.levels)} cut at "
            f"{', '.join(f'{e:.3g}' for e in column.edges)}.",)
    estimator = target.make_estimator(seed).fit(binned.X_train, binned.y_train)
    classifier = target.spec.art_classifier(estimator, split.clip_values)
    return (classifier, lambda X: target.harden(np.asarray(classifier.predict(X), dtype=np.float64)),
            (f"The model was retrained on the binned column: {column.describe()}",))


def _attribute_attack(white_box: bool) -> Callable[..., AttributeResult]:
    def run(split: Any, target: Target, params: dict[str, Any], seed: int) -> AttributeResult:
        from art.estimators.classification import BlackBoxClassifier

        binned, column = make_categorical(split, params["column"], params["bins"])
        classifier, released, notes = _attacked_model(split, binned, column, target, seed)
        # A model that was not retrained on the binned column is asked about the records as they are, and the
        # attacker, who holds the known records in full, estimates the value rather than picking a level.
        as_is = column.binned and target.make_estimator is None
        queried = split if as_is else binned
        known, targets = known_and_targets(len(binned.y_train), params["known_share"], seed)
        X_known, X_targets = binned.X_train[known], binned.X_train[targets]
        predictions = np.argmax(released(queried.X_train[targets]), axis=1)
        black_box = BlackBoxClassifier(lambda X: released(np.asarray(X, dtype=np.float64)),
                                       (binned.X_train.shape[1],), int(classifier.nb_classes))
        values, counts = np.unique(X_known[:, column.index], return_counts=True)
        if white_box:
            priors = np.array([counts[np.isclose(values, v)].sum() for v in column.levels], dtype=np.float64)
            guessed = white_box_tree_guess(classifier, column.index, X_targets, predictions, column.levels,
                                           priors / priors.sum())
        else:
            guessed = black_box_guess(black_box, column.index, queried.X_train[known], X_targets, predictions,
                                      params["attack_model"], seed, continuous=as_is)
        guessed_without = baseline_guess(column.index, queried.X_train[known], X_targets, params["attack_model"],
                                         seed, continuous=as_is)
        if as_is:
            guessed, guessed_without = column.bin(guessed), column.bin(guessed_without)
        true = X_targets[:, column.index]
        outcome = AttributeOutcome(accuracy(guessed, true), accuracy(guessed_without, true), len(targets),
                                   len(known), column, accuracy(np.full(len(true), values[np.argmax(counts)]), true))
        return AttributeResult(outcome, true, guessed, guessed_without, notes)

    return run


PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "attribute_black_box", "Attribute inference (black box)",
    "Guesses a training record's sensitive column from its other columns and the model's prediction, and compares "
    "with the same guess made without the model.",
    privacy_threat(BLACK_BOX, DECISIONS, TRAINING_DATA), _attribute_attack(white_box=False), _attribute_views,
    ATTRIBUTE,
    paper="Fredrikson et al. 2014 (USENIX Security); Jayaraman & Evans 2022, Are attribute inference attacks just "
          "imputation? (CCS); ART's AttributeInferenceBlackBox against AttributeInferenceBaseline",
    params=(_COLUMN, _BINS, _KNOWN, _MODEL)))

PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "attribute_white_box_tree", "Attribute inference (white box, decision tree)",
    "Tries every value of the sensitive column in the tree: the one that reproduces the model's prediction, else "
    "the one whose leaf holds most training records; compared with the guess made without the model.",
    privacy_threat(WHITE_BOX, TREE_STRUCTURE, DECISIONS, TRAINING_DATA), _attribute_attack(white_box=True),
    _attribute_views, ATTRIBUTE,
    paper="Fredrikson, Jha, Ristenpart 2015, Model inversion attacks that exploit confidence information (CCS); "
          "ART's AttributeInferenceWhiteBoxDecisionTree against AttributeInferenceBaseline",
    params=(_COLUMN, _BINS, _KNOWN, _MODEL)))
