"""FGM on binary logistic regression against the closed form.

With true labels, one FGM step of size eps (L∞) lowers the signed margin y·f(x) of every point by exactly
eps·‖w‖₁, which is the smallest L∞ change that can; so the adversarial accuracy at eps is the share of test
points whose margin exceeds eps·‖w‖₁.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from qulab.core.experiment import Scenario
from qulab.evaluation.pipeline import evaluate, fit_model, prepare_split, run_attack
from qulab.models.registry import MODELS, linear_scores
from qulab.threats.evasion.attacks import ATTACKS, generate
from qulab.threats.evasion.exact import exact_robust_accuracy, minimal_perturbations

EPS_GRID = [0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5]


@pytest.fixture(scope="module")
def fitted():
    scenario = Scenario()
    split = prepare_split(scenario)
    return scenario, split, fit_model(scenario, split)


def closed_form_accuracy(estimator, X, y, eps):
    """Hand-worked margin arithmetic straight from scikit-learn's coefficients."""
    w, b = estimator.coef_[0], estimator.intercept_[0]
    signed_margin = (2 * y - 1) * (X @ w + b)
    return np.mean(signed_margin > eps * np.abs(w).sum())


@pytest.mark.parametrize("eps", EPS_GRID)
def test_fgm_adversarial_accuracy_equals_closed_form(fitted, eps):
    scenario, split, model = fitted
    outcome = run_attack(scenario.with_eps(eps), split, model)
    expected = closed_form_accuracy(model.estimator, split.X_test, split.y_test, eps)
    assert outcome.adversarial_accuracy == pytest.approx(expected, abs=1e-12)


def test_library_minimal_perturbations_match_hand_formula(fitted):
    _, split, model = fitted
    W, b = linear_scores(model.estimator)
    distances = minimal_perturbations(W, b, split.X_test, split.y_test, "inf")
    for eps in EPS_GRID:
        assert exact_robust_accuracy(distances, eps) == pytest.approx(
            closed_form_accuracy(model.estimator, split.X_test, split.y_test, eps), abs=1e-12)


def test_eps_zero_keeps_clean_accuracy_and_points(fitted):
    scenario, split, model = fitted
    outcome = run_attack(scenario.with_eps(0.0), split, model)
    assert outcome.adversarial_accuracy == outcome.clean_accuracy
    assert outcome.clean_accuracy == pytest.approx(model.estimator.score(split.X_test, split.y_test))
    np.testing.assert_allclose(outcome.X_adv, split.X_test, atol=1e-6)
    assert outcome.flipped == 0


def test_adversarial_accuracy_non_increasing_in_eps(fitted):
    scenario, split, model = fitted
    accuracies = [run_attack(scenario.with_eps(eps), split, model).adversarial_accuracy for eps in EPS_GRID]
    assert all(later <= earlier for earlier, later in zip(accuracies, accuracies[1:], strict=False))
    assert accuracies[-1] < accuracies[0], "the largest budget should flip at least one prediction"


def test_perturbation_respects_linf_budget(fitted):
    scenario, split, model = fitted
    summary = run_attack(scenario.with_eps(0.3), split, model).summary()
    assert summary["max_linf"] == pytest.approx(0.3, abs=1e-6)


def test_true_labels_matter_against_direct_art_call():
    """Without labels ART attacks the predictions; with them our numbers match a direct ART call."""
    from art.attacks.evasion import FastGradientMethod
    from art.estimators.classification.scikitlearn import ScikitlearnLogisticRegression

    X, y = make_classification(n_samples=400, n_features=2, n_informative=2, n_redundant=0,
                               n_clusters_per_class=1, flip_y=0.2, random_state=3)
    model = LogisticRegression().fit(X, y)
    classifier = ScikitlearnLogisticRegression(model)
    direct = FastGradientMethod(classifier, eps=1.0).generate(X, y=np.eye(2)[y])
    ours = generate(ATTACKS.get("fgm"), MODELS.get("logistic_regression").art_classifier(model, None),
                    X, y, eps=1.0, norm="inf")
    np.testing.assert_allclose(ours, direct)
    # Attacking the predictions pushes misclassified points back towards their true class: too optimistic.
    without_labels = FastGradientMethod(classifier, eps=1.0).generate(X)
    assert np.mean(model.predict(without_labels) == y) > np.mean(model.predict(ours) == y)


def test_evaluate_matches_the_cached_steps():
    scenario = Scenario(eps=0.25)
    split = prepare_split(scenario)
    stepwise = run_attack(scenario, split, fit_model(scenario, split))
    assert evaluate(scenario).summary()["adversarial_accuracy"] == stepwise.adversarial_accuracy
