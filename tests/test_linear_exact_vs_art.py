"""The closed form (qulab.threats.evasion.exact) against ART's attacks on linear models, on data generated here.

- Binary: one FGM step is the optimal attack in every norm (steepest ascent of a linear margin), so ART's FGM
  accuracy equals the exact robust accuracy for L∞, L2 and L1.
- Multiclass: no attack can beat the optimum, so FGM's and PGD's accuracy is never below the exact one, and
  every DeepFool perturbation that flips a point is at least the exact distance (L2).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.datasets import make_classification

from qulab.core.experiment import Scenario
from qulab.data.datasets import Dataset, split_dataset
from qulab.evaluation.curves import exact_curve, exact_distances
from qulab.evaluation.pipeline import fit_model, run_attack
from qulab.threats.evasion.attacks import ATTACKS, generate_unbounded, perturbation_sizes
from qulab.threats.evasion.exact import exact_robust_accuracy

EPS = {"inf": [0.0, 0.05, 0.1, 0.2, 0.4], "2": [0.0, 0.1, 0.25, 0.5, 1.0], "1": [0.0, 0.2, 0.5, 1.0, 2.0]}
LINEAR = ["logistic_regression", "linear_svm"]


def make_split(n_classes: int, seed: int):
    X, y = make_classification(n_samples=600, n_features=5, n_informative=4, n_redundant=0, n_classes=n_classes,
                               n_clusters_per_class=1, class_sep=1.5, random_state=seed)
    data = Dataset(X=X, y=y, feature_names=tuple(f"f{i}" for i in range(5)),
                   class_names=tuple(f"c{k}" for k in range(n_classes)))
    return split_dataset(data, test_size=0.3, seed=seed, scaling="standard")


@pytest.fixture(scope="module", params=LINEAR)
def binary(request):
    scenario = Scenario(model=request.param, attack="fgm")
    split = make_split(2, seed=1)
    return scenario, split, fit_model(scenario, split)


@pytest.fixture(scope="module", params=LINEAR)
def multiclass(request):
    scenario = Scenario(model=request.param)
    split = make_split(4, seed=2)
    return scenario, split, fit_model(scenario, split)


def near_the_budget(distances: np.ndarray, eps: float) -> int:
    """Points whose exact distance is within float32 rounding of eps (ART computes the step in float32)."""
    return int(np.sum(np.abs(distances - eps) <= 1e-5 * max(eps, 1.0)))


@pytest.mark.parametrize("norm", ["inf", "2", "1"], ids=["Linf", "L2", "L1"])
def test_binary_fgm_accuracy_equals_exact_curve(binary, norm):
    scenario, split, model = binary
    exact = exact_curve(split, model, EPS[norm], norm)
    distances = exact_distances(split, model, norm)
    assert exact.accuracy[0] == pytest.approx(model.estimator.score(split.X_test, split.y_test))
    assert exact.accuracy[-1] < exact.accuracy[0], "the largest budget should break some points"
    for eps, expected in zip(EPS[norm], exact.accuracy, strict=True):
        outcome = run_attack(replace(scenario, eps=eps, norm=norm), split, model)
        allowed = near_the_budget(distances, eps) / outcome.n_test
        assert abs(outcome.adversarial_accuracy - expected) <= allowed + 1e-12, (eps, norm)


@pytest.mark.parametrize("attack, norm", [("fgm", "inf"), ("fgm", "2"), ("pgd", "inf"), ("pgd", "2")],
                         ids=["FGM-Linf", "FGM-L2", "PGD-Linf", "PGD-L2"])
def test_multiclass_attacks_never_beat_the_exact_curve(multiclass, attack, norm):
    scenario, split, model = multiclass
    assert split.n_classes == 4
    exact = exact_curve(split, model, EPS[norm], norm)
    assert exact.accuracy[-1] < exact.accuracy[0]
    for eps, optimum in zip(EPS[norm], exact.accuracy, strict=True):
        outcome = run_attack(replace(scenario, attack=attack, eps=eps, norm=norm,
                                     attack_params=(("max_iter", 10),) if attack == "pgd" else ()), split, model)
        assert outcome.adversarial_accuracy >= optimum - 1e-12, (attack, norm, eps)
        assert outcome.adversarial_accuracy <= outcome.clean_accuracy


def test_multiclass_deepfool_distances_are_at_least_exact(multiclass):
    _, split, model = multiclass
    X, y = split.X_test, split.y_test
    X_adv = generate_unbounded(ATTACKS.get("deepfool"), model.classifier, X, y, 1.0, "2", {"max_iter": 50})
    flipped = (model.predict(X_adv) != y) & (model.predict(X) == y)
    assert flipped.sum() > len(y) // 2, "DeepFool should flip most correctly classified points"
    found = perturbation_sizes(X, X_adv, "2")[flipped]
    exact = exact_distances(split, model, "2")[flipped]
    assert np.all(found >= exact * (1 - 1e-5)), np.min(found / exact)
    # Read as a curve, it is never below the exact one.
    grid = np.array(EPS["2"])
    correct = model.predict(X) == y
    deepfool_acc = [np.mean(correct & ~(np.isin(np.arange(len(y)), np.flatnonzero(flipped)[found <= e]))) for e in grid]
    assert np.all(np.array(deepfool_acc) >= exact_robust_accuracy(exact_distances(split, model, "2"), grid) - 1e-12)
