"""Attribute inference (ART's black-box and decision-tree white-box attacks against ART's baseline).

Independent checks: the binning against numpy's own quantiles, and two hand-built data sets whose answer is known —
a label that *is* the sensitive column (the model's prediction gives it away: leakage near 1 − 1/3) and a column
the model never sees through (no leakage) — plus the renumbered tree against the original's predictions.
"""

from __future__ import annotations

import numpy as np
import pytest

from qulab.core.registry import InvalidInput
from qulab.data.datasets import Dataset, split_dataset
from qulab.threats.privacy.attribute import MAX_LEVELS, make_categorical
from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.run import run_privacy


def dataset(label_is_column: bool, n: int = 600, seed: int = 0) -> Dataset:
    """Column 2 is sensitive, with 3 values; the label is that column, or the sign of column 0 (column 2 then
    independent of everything)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[:, 2] = rng.integers(0, 3, n)
    y = X[:, 2].astype(np.int64) if label_is_column else (X[:, 0] > 0).astype(np.int64)
    classes = ("a", "b", "c") if label_is_column else ("neg", "pos")
    return Dataset(X=X, y=y, feature_names=("f0", "f1", "secret", "f3"), class_names=classes)


def run(data: Dataset, attack: str, model: str = "decision_tree", **params):
    scenario = PrivacyScenario(dataset="upload:test", model=model, attack=attack, scaling="none",
                               attack_params=tuple({"column": 2, **params}.items()))
    return run_privacy(scenario, data=data).to_json()


def test_a_label_that_is_the_column_leaks_it_to_the_black_box_attack():
    out = run(dataset(label_is_column=True), "attribute_black_box")
    assert out["attack_accuracy"] >= 0.95  # the prediction is the column (the tree fits it exactly)
    assert out["baseline_accuracy"] <= 0.5  # the other columns are noise: about 1/3
    assert out["leakage"] == pytest.approx(out["attack_accuracy"] - out["baseline_accuracy"])
    assert out["leakage"] >= 0.45
    assert out["binned"] is False and out["levels"] == 3


def test_the_white_box_tree_attack_finds_the_one_value_that_reproduces_each_prediction():
    """Hand-worked: the tree splits on the secret column only, so for every record exactly one of the three values
    gives the model's prediction, and ART picks it."""
    out = run(dataset(label_is_column=True), "attribute_white_box_tree")
    assert out["attack_accuracy"] == 1.0
    assert out["baseline_accuracy"] <= 0.5


def test_a_column_the_model_does_not_use_leaks_nothing():
    out = run(dataset(label_is_column=False), "attribute_black_box", model="logistic_regression")
    assert abs(out["leakage"]) <= 0.1
    assert out["attack_accuracy"] <= 0.5  # about 1/3: neither guess has anything to go on


def test_the_same_seed_gives_the_same_guesses():
    data = dataset(label_is_column=True, n=300)
    first, second = (run(data, "attribute_black_box") for _ in range(2))
    for key in ("attack_accuracy", "baseline_accuracy", "n_targets"):
        assert first[key] == second[key]


def test_a_continuous_column_is_binned_at_training_quantiles_and_keeps_its_scale():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    data = Dataset(X=X, y=(X[:, 1] > 0).astype(np.int64), feature_names=("a", "b", "c"), class_names=("0", "1"))
    split = split_dataset(data, 0.25, 0, "none")
    binned, column = make_categorical(split, 0, 4)
    train = split.X_train[:, 0]
    edges = np.quantile(train, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(column.edges, edges)
    bins = np.digitize(train, edges)  # independent: numpy's digitize instead of searchsorted
    medians = [np.median(train[bins == b]) for b in range(4)]
    np.testing.assert_allclose(column.levels, medians)
    np.testing.assert_allclose(binned.X_train[:, 0], np.asarray(medians)[bins])
    np.testing.assert_array_equal(binned.X_train[:, 1:], split.X_train[:, 1:])  # other columns untouched
    assert column.binned and "quantile bins" in column.describe()
    assert len(np.unique(binned.X_test[:, 0])) <= 4


def test_columns_that_cannot_be_attacked_are_refused_in_words():
    split = split_dataset(dataset(label_is_column=True), 0.25, 0, "none")
    with pytest.raises(InvalidInput, match="from 0 to 3"):
        make_categorical(split, 4, 4)
    constant = Dataset(X=np.column_stack([np.ones(40), np.arange(40.0)]), y=np.arange(40) % 2,
                       feature_names=("one", "n"), class_names=("0", "1"))
    with pytest.raises(InvalidInput, match="one value"):
        make_categorical(split_dataset(constant, 0.25, 0, "none"), 0, 4)
    assert MAX_LEVELS == 10


def test_the_last_column_reaches_arts_white_box_attack_through_a_renumbered_tree():
    """ART refuses the last column; the tree renumbered to take it first predicts exactly as the original."""
    from art.estimators.classification.scikitlearn import ScikitlearnDecisionTreeClassifier
    from sklearn.tree import DecisionTreeClassifier

    from qulab.threats.privacy.attribute import _column_first

    data = dataset(label_is_column=False)
    tree = DecisionTreeClassifier(random_state=0).fit(data.X, data.y)
    moved = _column_first(ScikitlearnDecisionTreeClassifier(tree), 3, 4)
    X_moved = np.concatenate([data.X[:, 3:], data.X[:, :3]], axis=1)
    np.testing.assert_array_equal(moved.predict(X_moved).argmax(axis=1), tree.predict(data.X))
