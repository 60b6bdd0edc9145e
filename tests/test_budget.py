"""The budget engine against independent computations: the closed form of a linear model worked from
scikit-learn's coefficients, a direct ART call per budget for a bounded attack, and a minimal attack's per-point
norms thresholded by hand."""

from dataclasses import replace

import numpy as np
import pytest

from qulab.core.experiment import Scenario
from qulab.evaluation import budget
from qulab.evaluation.pipeline import attack_sweep, fit_model, linear_weights, prepare_split, run_attack, subsample
from qulab.threats.evasion.attacks import ATTACKS

GRID = (0.0, 0.05, 0.1, 0.2, 0.4)
DUAL = {"inf": 1, "2": 2, "1": np.inf}


def trained(scenario: Scenario, n: int | None = None):
    split = prepare_split(scenario)
    model = fit_model(scenario, split)
    return (subsample(split, n, scenario.seed) if n else split), model


def hand_distances(estimator, X, y, norm):
    """Smallest change of each point that flips a linear model, from its coefficients, one class pair at a time."""
    coef, intercept = estimator.coef_, estimator.intercept_
    if coef.shape[0] == 1:  # binary: class 1 scores w·x + b against 0
        coef, intercept = np.vstack([np.zeros_like(coef[0]), coef[0]]), np.array([0.0, intercept[0]])
    out = []
    for x, label in zip(X, y, strict=True):
        s = coef @ x + intercept
        if np.argmax(s) != label:
            out.append(0.0)
            continue
        out.append(min((s[label] - s[j]) / np.linalg.norm(coef[label] - coef[j], ord=DUAL[norm])
                       for j in range(len(s)) if j != label))
    return np.array(out)


@pytest.mark.parametrize("dataset, norm", [("synthetic", "inf"), ("iris", "2"), ("wine", "1")])
def test_exact_sweep_is_the_hand_worked_closed_form(dataset, norm):
    scenario = Scenario(dataset=dataset, scaling="standard", norm=norm)
    split, model = trained(scenario)
    exact = budget.exact_sweep(linear_weights(model), split.X_test, split.y_test, GRID, norm)
    distances = hand_distances(model.estimator, split.X_test, split.y_test, norm)
    assert exact.accuracy == pytest.approx([np.mean(distances > e) for e in GRID], abs=1e-12)
    assert exact.clean == pytest.approx(model.estimator.score(split.X_test, split.y_test))


@pytest.mark.parametrize("norm", ["inf", "2", "1"])
def test_fgm_on_a_binary_linear_model_sweeps_onto_the_closed_form(norm):
    """FGM with true labels is optimal on a binary linear model, so its sweep (margins in closed form, and ART's
    examples predicted point by point when they are kept) lies on the hand-worked exact curve."""
    scenario = Scenario(norm=norm)
    split, model = trained(scenario)
    grid = (0.0, 0.1, 0.25, 0.5) if norm == "inf" else (0.0, 0.2, 0.5, 0.9)
    distances = hand_distances(model.estimator, split.X_test, split.y_test, norm)
    expected = [np.mean(distances > e) for e in grid]
    scores = attack_sweep(scenario, split, model, grid)
    kept = attack_sweep(scenario, split, model, grid, keep_examples=True)
    assert (scores.method, kept.method) == (budget.BINARY_MARGINS, budget.RESCALED)
    assert scores.accuracy == pytest.approx(expected, abs=1e-12)
    assert kept.accuracy == pytest.approx(expected, abs=1e-12)


def test_a_bounded_attack_is_a_direct_art_call_per_budget():
    from art.attacks.evasion import ProjectedGradientDescent

    scenario = Scenario(dataset="breast_cancer", scaling="minmax", model="rbf_svm", attack="pgd",
                        attack_params=(("max_iter", 10),))
    split, model = trained(scenario, 60)
    sweep = attack_sweep(scenario, split, model, GRID, keep_examples=True)
    assert sweep.method == budget.PER_BUDGET
    one_hot = np.eye(2)[split.y_test]
    for e in GRID[1:]:
        direct = ProjectedGradientDescent(model.classifier, eps=e, eps_step=e * 0.25, max_iter=10,
                                          norm=np.inf, verbose=False).generate(split.X_test, y=one_hot)
        np.testing.assert_allclose(sweep.examples_at(e), direct, atol=1e-6)
        assert sweep.accuracy_at(e) == pytest.approx(np.mean(model.estimator.predict(direct) == split.y_test))
    assert sweep.accuracy[0] == sweep.clean == pytest.approx(np.mean(model.predict(split.X_test) == split.y_test))


def test_a_minimal_attack_runs_once_and_is_thresholded_by_its_own_norms(monkeypatch):
    from art.attacks.evasion import DeepFool

    scenario = Scenario(dataset="breast_cancer", scaling="minmax", model="rbf_svm", attack="deepfool", norm="2")
    split, model = trained(scenario, 80)
    spec = ATTACKS.get("deepfool")
    runs = []
    monkeypatch.setitem(ATTACKS._entries, "deepfool",
                        replace(spec, build=lambda *a, **k: runs.append(1) or spec.build(*a, **k)))
    grid = (0.0, 0.05, 0.1, 0.2, 0.3, 0.6)
    sweep = attack_sweep(scenario, split, model, grid, keep_examples=True)
    assert len(runs) == 1 == budget.attack_runs(spec, len(grid) - 1)

    X, y = split.X_test, split.y_test
    raw = DeepFool(model.classifier, max_iter=50, epsilon=0.02, nb_grads=2, batch_size=128,
                   verbose=False).generate(X, y=np.eye(2)[y])
    correct = model.predict(X) == y
    flips = correct & (model.predict(raw) != y)
    sizes = np.linalg.norm(raw - X, axis=1)
    for e in grid:
        assert sweep.accuracy_at(e) == pytest.approx(np.mean(correct & ~(flips & (sizes <= e))))
        kept = np.where(((sizes <= e) & correct)[:, None], raw, X)
        np.testing.assert_allclose(sweep.examples_at(e)[correct], kept[correct], atol=1e-6)
    assert sweep.accuracy[-1] < sweep.accuracy[0]


def test_run_attack_is_the_one_point_sweep():
    scenario = Scenario(dataset="iris", attack="pgd", eps=0.3, norm="2")
    split, model = trained(scenario)
    single = run_attack(scenario, split, model)
    point = attack_sweep(scenario, split, model, (0.0, 0.3), keep_examples=True)
    np.testing.assert_array_equal(single.X_adv, point.examples_at(0.3))
    assert single.adversarial_accuracy == point.accuracy_at(0.3)
    assert budget.attack_runs(ATTACKS.get("pgd"), 4) == 4 and budget.attack_runs(ATTACKS.get("fgm"), 4) == 1


def test_a_defence_can_sweep_its_own_classifier_and_decision():
    """The engine takes the classifier the attack sees and, apart from it, how the model decides: a defence that
    changes the decision (here: always class 0) is read through ``predict``."""
    scenario = Scenario(attack="pgd")
    split, model = trained(scenario)
    spec = ATTACKS.get("pgd")
    always_zero = budget.sweep(spec, model.classifier, split.X_test, split.y_test, (0.0, 0.2), "inf", {}, 0,
                               predict=lambda Z: np.zeros(len(Z), dtype=int), keep_examples=True)
    assert always_zero.accuracy == pytest.approx((np.mean(split.y_test == 0),) * 2)
    assert always_zero.examples_at(0.2).shape == split.X_test.shape


def test_progress_and_refusals():
    scenario = Scenario(attack="pgd")
    split, model = trained(scenario, 20)
    seen = []
    sweep = budget.sweep(ATTACKS.get("pgd"), model.classifier, split.X_test, split.y_test, (0.0, 0.1), "inf",
                         progress=lambda fraction, text: seen.append(fraction))
    assert seen == [0.0, 0.5, 1.0, 1.0]  # eps 0, eps 0.1 starting, its one batch of 20 points done, the end
    with pytest.raises(KeyError, match="not on this sweep's grid"):
        sweep.accuracy_at(0.3)
    with pytest.raises(ValueError, match="keep_examples"):
        sweep.examples_at(0.1)
    from qulab.core.registry import InvalidInput

    with pytest.raises(InvalidInput, match="not 2"):
        attack_sweep(replace(scenario, attack="bim", norm="2"), split, model, (0.1,))


def test_fgm_on_a_multiclass_linear_model_reads_its_scores_as_art_would_predict():
    from art.attacks.evasion import FastGradientMethod

    scenario = Scenario(dataset="iris", scaling="standard", norm="2")
    split, model = trained(scenario)
    sweep = attack_sweep(scenario, split, model, GRID)
    assert sweep.method == budget.LINEAR_SCORES
    one_hot = np.eye(3)[split.y_test]
    for e in GRID[1:]:
        direct = FastGradientMethod(model.classifier, eps=e, norm=2).generate(split.X_test, y=one_hot)
        assert sweep.accuracy_at(e) == pytest.approx(np.mean(model.estimator.predict(direct) == split.y_test))
    assert sweep.accuracy[-1] < sweep.accuracy[0]


def test_fgm_rescaled_through_a_defence_preprocessor_equals_art_per_budget():
    """What the defences need: a sweep of a defended classifier (an ART preprocessor that rounds inputs, gradients
    passed straight through) with its examples kept, equal to ART's own FGM at every budget."""
    from art.attacks.evasion import FastGradientMethod

    from qulab.defences.preprocessing import bpda_preprocessor, defended_classifier

    scenario = Scenario(dataset="breast_cancer", scaling="minmax")
    split, model = trained(scenario)
    rounded = defended_classifier(model.spec, model.estimator, split, bpda_preprocessor(lambda x: np.round(x * 4) / 4))
    sweep = budget.sweep(ATTACKS.get("fgm"), rounded, split.X_test, split.y_test, GRID, "inf", keep_examples=True)
    assert sweep.method == budget.RESCALED
    one_hot = np.eye(2)[split.y_test]
    for e in GRID[1:]:
        direct = FastGradientMethod(rounded, eps=e).generate(split.X_test, y=one_hot)
        np.testing.assert_allclose(sweep.examples_at(e), direct, atol=1e-6)
        assert sweep.accuracy_at(e) == pytest.approx(np.mean(np.argmax(rounded.predict(direct), 1) == split.y_test))
    assert sweep.accuracy[-1] < sweep.clean
