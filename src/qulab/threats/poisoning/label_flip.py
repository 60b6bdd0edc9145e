"""Label flipping: the attacker changes labels only (an availability attack). Not in ART: it is data manipulation.

``label_flip`` picks the rows at random (towards the target class when one is named); ``label_flip_damaging``
picks the most damaging first, ranked by a logistic-regression surrogate the attacker trains on the clean
training data: the highest loss under the new label, or the nearest the boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from qulab.core.registry import Param
from qulab.core.threat import BLACK_BOX, GREY_BOX
from qulab.data.datasets import Split
from qulab.threats.poisoning.attacks import POISONING_ATTACKS, Poisoned, PoisoningAttackSpec, poison_count, poisoning

FLIP_PAPER = ("Biggio, Nelson & Laskov, Support Vector Machines Under Adversarial Label Noise, ACML 2011; "
              "Xiao, Xiao & Eckert, Adversarial Label Flips Attack on Support Vector Machines, ECAI 2012")


def _flippable(split: Split, target_class: int | None) -> np.ndarray:
    """The rows a flip may touch: all of them, or those not already of the target class."""
    rows = np.arange(len(split.y_train))
    return rows if target_class is None else rows[split.y_train != target_class]


def _label_flip(split: Split, rate: float, target_class: int | None, params: Mapping[str, Any],
                rng: np.random.Generator, model: Any, progress: Any = None) -> Poisoned:
    rows = _flippable(split, target_class)
    n = poison_count(rate, split, len(rows), "Label flipping towards that class")
    chosen = np.sort(rng.choice(rows, size=n, replace=False))
    y = split.y_train.copy()
    if target_class is None:  # each to another class, uniformly
        y[chosen] = (y[chosen] + rng.integers(1, split.n_classes, size=n)) % split.n_classes
    else:
        y[chosen] = target_class
    return Poisoned(split.X_train, y, chosen, target_class=target_class)


def surrogate_probabilities(split: Split) -> np.ndarray:
    """Class probabilities of the attacker's surrogate (standardised logistic regression) on the training rows,
    one column per class of the data (a class absent from training has probability 0)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    surrogate = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(split.X_train, split.y_train)
    proba = np.zeros((len(split.y_train), split.n_classes))
    proba[:, surrogate.classes_] = surrogate.predict_proba(split.X_train)
    return proba


def _damaging_flip(split: Split, rate: float, target_class: int | None, params: Mapping[str, Any],
                   rng: np.random.Generator, model: Any, progress: Any = None) -> Poisoned:
    rows = _flippable(split, target_class)
    n = poison_count(rate, split, len(rows), "Label flipping towards that class")
    proba = surrogate_probabilities(split)[rows]
    own = proba[np.arange(len(rows)), split.y_train[rows]]
    others = proba.copy()
    others[np.arange(len(rows)), split.y_train[rows]] = -np.inf  # a flip never keeps the label
    if target_class is not None:
        new = np.full(len(rows), target_class)
    elif params["order"] == "loss":  # the wrong label the surrogate finds least likely: the highest loss
        new = np.argmin(np.where(np.isinf(others), np.inf, others), axis=1)
    else:  # the runner-up class: the label just across the nearest boundary
        new = np.argmax(others, axis=1)
    flipped_to = proba[np.arange(len(rows)), new]
    if params["order"] == "loss":  # the cross-entropy under the new label
        badness = -np.log(np.clip(flipped_to, 1e-12, None))
    else:  # the smallest margin first, among points the surrogate gets right (flipping the others helps it)
        margin = own - flipped_to
        badness = np.where(margin >= 0, -margin, margin - 2)
    # Highest badness first; ties broken by the run's draws, so equal points are not taken in row order.
    order = np.lexsort((rng.random(len(rows)), -badness))[:n]
    y = split.y_train.copy()
    y[rows[order]] = new[order]
    return Poisoned(split.X_train, y, np.sort(rows[order]), target_class=target_class)


POISONING_ATTACKS.register(PoisoningAttackSpec(
    "label_flip", "Label flipping (random)",
    "Changes the labels of randomly chosen training points: to another class at random, or to the target class "
    "when one is named.",
    _label_flip, poisoning(BLACK_BOX), reference=FLIP_PAPER))

POISONING_ATTACKS.register(PoisoningAttackSpec(
    "label_flip_damaging", "Label flipping (most damaging first)",
    "Flips the labels that hurt most first, as ranked by a logistic regression the attacker trains on the same "
    "data: the highest loss under the new label, or the points nearest the decision boundary.",
    _damaging_flip, poisoning(GREY_BOX), reference=FLIP_PAPER,
    params=(Param("order", "Which points first", "loss",
                  "Highest loss: the points the surrogate is surest of, given the label it finds least likely. "
                  "Nearest the boundary: the points the surrogate is least sure of, given the runner-up label.",
                  choices=("loss", "margin"), choice_labels=("Highest loss first", "Nearest the boundary first")),)))
