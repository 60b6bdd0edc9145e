"""Data sanitisation against label flips: flag training points whose label disagrees with the data around them.

Both work on any model (they read the training data only, not the victim): kNN label cleaning compares each
label with its neighbours' (Paudice et al.), loss-based removal drops the points an out-of-fold logistic regression
finds least likely under their own label. Distances and fits use standardised features, so no single raw feature
decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from qulab.core.registry import Param
from qulab.data.datasets import Split
from qulab.models.registry import ModelSpec
from qulab.threats.poisoning.defences import POISONING_DEFENCES, Flagged, PoisoningDefenceSpec

PAUDICE = ("Paudice, Muñoz-González & Lupu, Label Sanitization against Label Flipping Poisoning Attacks, "
           "ECML PKDD workshops 2018")
LOSS_PAPER = ("Koh, Steinhardt & Liang, Stronger Data Poisoning Attacks Break Data Sanitization Defenses, "
              "Machine Learning 2022 (loss-based sanitisation)")


def _standardised(X: np.ndarray) -> np.ndarray:
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit_transform(X)


def neighbour_disagreement(X: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per training point: the share of its k nearest other points (standardised features) carrying the most
    common label among them, and that label."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(y) - 1)
    neighbours = NearestNeighbors(n_neighbors=k).fit(_standardised(X)).kneighbors(return_distance=False)
    labels = y[neighbours]  # (n, k); kneighbors() without X leaves each point out of its own neighbours
    counts = np.stack([np.sum(labels == c, axis=1) for c in range(int(y.max()) + 1)], axis=1)
    return counts.max(axis=1) / k, counts.argmax(axis=1)


def _knn_cleaning(split: Split, model: Any, params: Mapping[str, Any], rng: np.random.Generator) -> Flagged:
    share, majority = neighbour_disagreement(split.X_train, split.y_train, params["k"])
    disagree = majority != split.y_train
    scores = np.where(disagree, share, 0.0)  # how strongly the neighbours vote against the label
    return Flagged(np.flatnonzero(disagree & (share >= params["agreement"])), scores, params["agreement"])


def out_of_fold_loss(X: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Each point's cross-entropy under its own label, from a logistic regression that did not see it (5 folds):
    a model's loss on its own training points is near zero wherever it memorises them."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    smallest = int(np.bincount(y)[np.unique(y)].min())
    cv = StratifiedKFold(n_splits=min(5, max(smallest, 2)), shuffle=True, random_state=seed)
    surrogate = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    proba = cross_val_predict(surrogate, X, y, cv=cv, method="predict_proba")
    classes = np.unique(y)
    column = np.searchsorted(classes, y)
    return -np.log(np.clip(proba[np.arange(len(y)), column], 1e-12, None))


def _loss_removal(split: Split, model: Any, params: Mapping[str, Any], rng: np.random.Generator) -> Flagged:
    loss = out_of_fold_loss(split.X_train, split.y_train, int(rng.integers(2**31 - 1)))
    n = int(round(params["share"] * len(loss)))
    order = np.argsort(-loss, kind="stable")[:n]
    threshold = float(loss[order[-1]]) if n else None
    return Flagged(np.sort(order), loss, threshold)


POISONING_DEFENCES.register(PoisoningDefenceSpec(
    "knn_cleaning", "kNN label cleaning",
    "Flags each training point whose k nearest neighbours mostly carry another label.",
    _knn_cleaning, protects_against="Label flips inside a class's region (random or targeted flips).",
    reference=PAUDICE, score_label="Share of the neighbours voting for another label",
    params=(Param("k", "Neighbours k", 10, "How many nearest training points vote on each label.", 1, 50),
            Param("agreement", "Agreement needed", 0.6,
                  "The share of the neighbours that must agree on another label before the point is flagged.",
                  0.5, 1.0, 0.05))))

POISONING_DEFENCES.register(PoisoningDefenceSpec(
    "loss_removal", "Loss-based removal",
    "Removes the training points that a logistic regression trained without them finds least likely under "
    "their own label.",
    _loss_removal, protects_against="Label flips of points that sit deep in another class (high-loss flips).",
    reference=LOSS_PAPER, score_label="Out-of-fold loss under the point's own label",
    params=(Param("share", "Share of the training set removed", 0.1,
                  "How much of the training set to remove, highest loss first: set it to the poison rate you "
                  "expect.", 0.0, 0.5, 0.01),)))


def _roni(split: Split, model: Any, params: Mapping[str, Any], rng: np.random.Generator) -> Flagged:
    """Reject On Negative Impact in groups: the training rows are cut into two halves; each half in turn is the
    validation set while the other is split into random groups, and a group is flagged when the model refitted
    without it scores better on the validation half than the model fitted on the whole other half. About
    ``max_refits`` refits in all, whatever the size of the training set."""
    from sklearn.base import clone

    n = len(split.y_train)
    halves = np.array_split(rng.permutation(n), 2)
    per_half = max(1, (params["max_refits"] - 2) // 2)
    gain = np.zeros(n)

    def accuracy(rows: np.ndarray, validation: np.ndarray) -> float:
        if len(np.unique(split.y_train[rows])) < 2:  # nothing to learn from one class: no information
            return -np.inf
        fitted = clone(model.estimator).fit(split.X_train[rows], split.y_train[rows])
        return float(np.mean(fitted.predict(split.X_train[validation]) == split.y_train[validation]))

    for train, validation in ((halves[0], halves[1]), (halves[1], halves[0])):
        base = accuracy(train, validation)
        for group in np.array_split(train, min(per_half, len(train))):
            gain[group] = accuracy(np.setdiff1d(train, group), validation) - base
    return Flagged(np.flatnonzero(gain > params["tolerance"]), gain, params["tolerance"])


def _refits_affordable(model: ModelSpec) -> str | None:
    if model.family == "neural":
        return ("RONI refits the model once per group of training points; a PyTorch network's training is too slow "
                "for that here: choose a scikit-learn model.")
    return None


POISONING_DEFENCES.register(PoisoningDefenceSpec(
    "roni", "RONI (reject on negative impact)",
    "Refits the model without each small group of training points and flags the groups whose removal makes it "
    "more accurate on held-out training data.",
    _roni, protects_against="Poison that measurably hurts accuracy (label flips), on models cheap to refit.",
    reference=("Nelson et al., Exploiting Machine Learning to Subvert Your Spam Filter, LEET 2008 (RONI: Reject "
               "On Negative Impact)"),
    score_label="Validation accuracy gained by removing the point's group", model_reason=_refits_affordable,
    params=(Param("max_refits", "Refits (at most)", 60,
                  "How many times the model is refitted: more refits, smaller groups, finer flags, longer runs.",
                  4, 400, 2),
            Param("tolerance", "Gain needed to flag", 0.0,
                  "How much the held-out accuracy must rise without a group before the group is flagged.",
                  0.0, 0.1, 0.005))))
