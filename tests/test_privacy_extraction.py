"""Equation-solving extraction (Tramèr et al. 2016) against the target's own coefficients.

Independent checks: the weights scikit-learn fitted (``coef_``, ``intercept_``), the target's own predictions and
probabilities, and a counting oracle for the number of queries.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression

from qulab.core.registry import InvalidInput
from qulab.threats.privacy.extraction import (
    agreement,
    extract_by_equation_solving,
    query_region,
    relative_to_first_class,
    solve_softmax_linear,
)


class CountingOracle:
    """The target's predict_proba, counting the rows it is asked about."""

    def __init__(self, model):
        self.model, self.rows = model, 0

    def __call__(self, X):
        self.rows += len(X)
        return self.model.predict_proba(X)


def fitted(n_classes: int, n_features: int, seed: int):
    X, y = make_classification(n_samples=400, n_features=n_features, n_informative=n_features - 1, n_redundant=0,
                               n_classes=n_classes, n_clusters_per_class=1, random_state=seed)
    return X[:300], y[:300], X[300:], LogisticRegression(C=10.0, max_iter=5000).fit(X[:300], y[:300])


def steal(model, X_train, seed=0, spread=0.1):
    oracle = CountingOracle(model)
    center, scale = query_region(X_train)
    return extract_by_equation_solving(oracle, X_train.shape[1], center, spread * scale, seed), oracle


@pytest.mark.parametrize("n_features", [2, 7, 20])
def test_binary_model_is_recovered_from_exactly_d_plus_one_queries(n_features):
    X_train, _, X_test, target = fitted(2, n_features, seed=n_features)
    stolen, oracle = steal(target, X_train)
    assert oracle.rows == stolen.queries == n_features + 1
    # Binary: no invariance to remove; sklearn's single weight vector is the stolen class-1 row.
    np.testing.assert_allclose(stolen.W[1], target.coef_[0], rtol=0, atol=1e-6)
    assert stolen.b[1] == pytest.approx(target.intercept_[0], abs=1e-6)
    assert agreement(stolen.predict(X_test), target.predict(X_test)) == 1.0
    np.testing.assert_allclose(stolen.predict_proba(X_test), target.predict_proba(X_test), atol=1e-9)


def test_multinomial_model_is_recovered_up_to_the_softmax_shift():
    """Softmax(Wx + b) is unchanged when one vector is added to every row, so rows are compared after the first
    class's row is subtracted from each (the stolen model is built that way); probabilities compare directly."""
    X_train, _, X_test, target = fitted(4, 6, seed=3)
    stolen, oracle = steal(target, X_train)
    assert oracle.rows == 6 + 1  # every answer carries all four probabilities: K−1 equations per query
    W, b = relative_to_first_class(target.coef_, target.intercept_)
    np.testing.assert_allclose(stolen.W, W, rtol=0, atol=1e-6)
    np.testing.assert_allclose(stolen.b, b, rtol=0, atol=1e-6)
    assert agreement(stolen.predict(X_test), target.predict(X_test)) == 1.0
    np.testing.assert_allclose(stolen.predict_proba(X_test), target.predict_proba(X_test), atol=1e-9)


def test_digits_sixty_four_pixels_including_blank_ones():
    """Digits have pixels that are 0 in every image: the query region still varies them (else [X 1] is singular)."""
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    target = LogisticRegression(max_iter=5000).fit(X[:1400], y[:1400])
    stolen, oracle = steal(target, X[:1400])
    assert oracle.rows == 65
    W, b = relative_to_first_class(target.coef_, target.intercept_)
    np.testing.assert_allclose(stolen.W, W, rtol=0, atol=1e-6)
    np.testing.assert_allclose(stolen.b, b, rtol=0, atol=1e-6)
    assert agreement(stolen.predict(X[1400:]), target.predict(X[1400:])) == 1.0


def test_hand_worked_binary_case():
    """p = σ(2·x₁ − x₂ + 0.5): three queries (0,0), (1,0), (0,1) give logits 0.5, 2.5, −0.5."""
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    p1 = 1 / (1 + np.exp(-np.array([0.5, 2.5, -0.5])))
    W, b = solve_softmax_linear(X, np.column_stack([1 - p1, p1]))
    np.testing.assert_allclose(W, [[0, 0], [2, -1]], atol=1e-12)
    np.testing.assert_allclose(b, [0, 0.5], atol=1e-12)


def test_the_same_seed_asks_the_same_queries_and_another_seed_other_ones():
    X_train, _, _, target = fitted(2, 5, seed=1)
    first, second, other = (steal(target, X_train, seed=s)[0] for s in (4, 4, 5))
    np.testing.assert_array_equal(first.W, second.W)
    assert not np.array_equal(first.W, other.W)
    np.testing.assert_allclose(first.W, other.W, atol=1e-6)  # other queries, same model


def test_a_saturated_answer_is_refused_in_words():
    X_train, _, _, target = fitted(2, 5, seed=1)
    with pytest.raises(InvalidInput, match="lower the query spread"):
        steal(target, X_train, spread=1e4)
    with pytest.raises(ValueError, match="exactly d\\+1"):
        solve_softmax_linear(np.zeros((2, 2)), np.full((2, 2), 0.5))


def test_the_entry_through_the_privacy_run_keeps_the_cli_contract():
    from qulab.threats.privacy.experiment import PrivacyScenario
    from qulab.threats.privacy.run import run_privacy

    outcome = run_privacy(PrivacyScenario(dataset="iris", model="logistic_regression",
                                          attack="extraction_equation_solving", scaling="standard"))
    out = outcome.to_json()
    assert {"queries", "agreement", "stolen_accuracy", "seconds"} <= set(out)
    assert out["queries"] == 4 + 1
    assert out["agreement"] == 1.0
    assert out["stolen_accuracy"] == pytest.approx(out["test_accuracy"])  # it predicts what the target predicts
    assert out["max_weight_error"] < 1e-6


def test_models_the_equation_cannot_describe_are_refused_in_words():
    from qulab.models.registry import MODELS
    from qulab.threats.privacy.attacks import PRIVACY_ATTACKS

    attack = PRIVACY_ATTACKS.get("extraction_equation_solving")
    assert attack.unsupported_reason(MODELS.get("logistic_regression")) is None
    assert "not linear" in attack.unsupported_reason(MODELS.get("torch_mlp"))
    assert "scores" in attack.unsupported_reason(MODELS.get("linear_svm"))  # linear, but no probabilities


def test_query_counts_halve_from_the_largest():
    from qulab.threats.privacy.extraction import query_counts

    assert query_counts(400, 4) == (50, 100, 200, 400)
    assert query_counts(400, 1) == (400,)
    assert query_counts(5, 8) == (2, 5)
