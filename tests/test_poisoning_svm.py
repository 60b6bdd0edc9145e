"""ART's SVM poisoning attack (Biggio et al.): the one-call kernel matrix equals ART's loop, the poison raises the
validation hinge loss, the same seed gives the same points whatever the global
generators hold, and the run reports progress, can be cancelled, and is refused past its budget or on big data."""

import numpy as np
import pytest

from qulab.core.registry import InvalidInput
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.poisoning.run import run_poisoning
from qulab.threats.poisoning.svm_attack import fast_q_svc, svm_poison_points


@pytest.fixture(scope="module")
def cancer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import MinMaxScaler

    X, y = load_breast_cancer(return_X_y=True)
    X = MinMaxScaler().fit_transform(X)
    order = np.random.default_rng(0).permutation(len(y))
    return X[order], y[order]


def _hinge(X_train, y_train, X_val, y_val):
    from sklearn.svm import SVC

    margins = (2 * y_val - 1) * SVC(kernel="linear").fit(X_train, y_train).decision_function(X_val)
    return np.maximum(0.0, 1.0 - margins).mean()


def test_the_one_call_kernel_matrix_is_arts_loop(cancer):
    from art.estimators.classification.scikitlearn import ScikitlearnSVC
    from sklearn.svm import SVC

    X, y = cancer
    model = SVC(kernel="linear").fit(X[:40], y[:40])
    rows, cols = model.support_vectors_, X[40:60]
    expected = ScikitlearnSVC(model=model, clip_values=(0.0, 1.0)).q_submatrix(rows, cols)
    np.testing.assert_allclose(fast_q_svc(model, (0.0, 1.0)).q_submatrix(rows, cols), expected, rtol=1e-12,
                               atol=1e-12)


def test_crafted_points_raise_the_validation_loss_over_the_clean_set_and_stay_in_range(cancer):
    """The poison hurts: the SVM refitted with it has a higher validation hinge loss than the clean one. (Whether
    ART's gradient steps beat the unmoved label-flipped starts is measured, not asserted: in
    bench/bench_poisoning_torch.py they mostly do not; docs/art-findings.md.)"""
    from sklearn.svm import SVC

    X, y = cancer
    X_train, y_train, X_val, y_val, starts = X[:60], y[:60], X[60:90], y[60:90], X[:5]
    points, labels = svm_poison_points(X_train, y_train, starts, X_val, y_val, clip_values=(0.0, 1.0), seed=1,
                                       max_iter=10)
    assert np.array_equal(labels, 1 - SVC(kernel="linear").fit(X_train, y_train).predict(starts))
    assert points.min() >= 0.0 and points.max() <= 1.0 and not np.allclose(points, starts)
    poisoned = _hinge(np.vstack([X_train, points]), np.append(y_train, labels), X_val, y_val)
    assert poisoned > _hinge(X_train, y_train, X_val, y_val)


def test_same_seed_same_points_whatever_the_global_generators_hold_and_progress_is_reported(cancer):
    X, y = cancer
    seen, results = [], []
    for state in (3, 4):
        np.random.seed(state)
        results.append(svm_poison_points(X[:40], y[:40], X[:2], X[40:60], y[40:60], clip_values=(0.0, 1.0),
                                         seed=7, max_iter=4, progress=lambda done, total: seen.append((done, total))))
    assert np.array_equal(results[0][0], results[1][0])
    assert seen[:3] == [(0, 2), (1, 2), (2, 2)]


def test_a_progress_callback_cancels_by_raising_and_the_budget_refuses_in_words(cancer):
    X, y = cancer

    def cancel(done, total):
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        svm_poison_points(X[:40], y[:40], X[:3], X[40:60], y[40:60], clip_values=(0.0, 1.0), seed=0, max_iter=3,
                          progress=cancel)
    with pytest.raises(InvalidInput, match="crafted 0 of 3 points within its 0 s budget"):
        svm_poison_points(X[:40], y[:40], X[:3], X[40:60], y[40:60], clip_values=(0.0, 1.0), seed=0, max_iter=3,
                          time_budget=0.0)


@pytest.mark.parametrize(("scenario", "words"), [
    ({"dataset": "breast_cancer"}, "at most 100 training points; this split has 455"),
    ({"dataset": "blobs", "dataset_params": (("n_samples", 100),)}, "works on two classes; this data set has 3"),
])
def test_big_or_multiclass_data_is_refused_in_words(scenario, words):
    with pytest.raises(InvalidInput, match=words):
        run_poisoning(PoisoningScenario(**scenario, model="linear_svm", attack="svm_poisoning", rate=0.05))


def test_run_poisoning_forwards_its_progress_so_the_bar_moves_per_poison_point():
    """Each crafted point moves the run's bar, inside the poisoning step (0.2 to 0.4 of the run); the number of
    points is the rate's share of the training rows, counted by hand here."""
    scenario = PoisoningScenario(dataset="moons", dataset_params=(("n_samples", 100),), test_size=0.5,
                                 model="linear_svm", attack="svm_poisoning", rate=0.06,
                                 attack_params=(("max_iter", 2), ("n_val", 10)))
    heard: list[tuple[float, str]] = []
    outcome = run_poisoning(scenario, progress=lambda fraction, text: heard.append((fraction, text)))
    n_points = round(0.06 * 50)  # 50 training rows
    assert outcome.n_poisoned == n_points == 3
    crafting = [(fraction, text) for fraction, text in heard if text.startswith("Crafting poison points")]
    assert [text for _, text in crafting] == [f"Crafting poison points: {k} of 3 done…" for k in range(4)]
    np.testing.assert_allclose([fraction for fraction, _ in crafting], [0.2 + 0.2 * k / 3 for k in range(4)])
    fractions = [fraction for fraction, _ in heard]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_entries_that_do_not_report_ignore_the_progress():
    heard: list[float] = []
    run_poisoning(PoisoningScenario(dataset="moons", dataset_params=(("n_samples", 100),), model="linear_svm",
                                    attack="label_flip", rate=0.1), progress=lambda f, _: heard.append(f))
    assert heard == [0.0, 0.2, 0.4, 1.0]
