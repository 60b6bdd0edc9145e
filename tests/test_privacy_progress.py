"""LiRA reports each reference model as it arrives, in order, on the calling thread; its result is the one the
reference models give when trained one after another."""

from __future__ import annotations

import threading

import numpy as np

from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.membership import (
    balanced_halves,
    child_seeds,
    fit_in_parallel,
    full_proba,
    lira_scores,
    logit_confidence,
    population,
)
from qulab.threats.privacy.run import attack_target, build_target, privacy_split

N_REFERENCE = 6
SCENARIO = PrivacyScenario(dataset="iris", scaling="minmax", test_size=0.5, seed=5, model="logistic_regression",
                           attack="membership_lira", attack_params=(("n_reference", N_REFERENCE),))


def test_lira_calls_progress_once_per_reference_model_in_order_on_the_calling_thread() -> None:
    split = privacy_split(SCENARIO)
    target = build_target(SCENARIO, split)
    calls = []
    outcome = attack_target(SCENARIO, split, target,
                            lambda done, text: calls.append((done, text, threading.get_ident())))
    caller = threading.get_ident()
    assert calls == [(k / N_REFERENCE, f"reference model {k} of {N_REFERENCE}", caller)
                     for k in range(1, N_REFERENCE + 1)]

    # The same scores from reference models trained one after another, in the order of their seeds.
    X, y = population(split)
    keep = balanced_halves(N_REFERENCE, len(y), np.random.default_rng(SCENARIO.seed))
    models = [target.make_estimator(seed).fit(X[keep[m]], y[keep[m]])
              for m, seed in enumerate(child_seeds(SCENARIO.seed, N_REFERENCE))]
    reference_phi = np.stack([logit_confidence(full_proba(model, X, split.n_classes), y) for model in models])
    scores = lira_scores(logit_confidence(target.released(X), y), reference_phi, keep)
    n = len(split.y_train)
    assert np.allclose(outcome.result.member_scores, scores[:n])
    assert np.allclose(outcome.result.nonmember_scores, scores[n:])


def test_attacks_without_progress_run_as_before() -> None:
    """The gap attack takes no progress argument; the run passes none to it."""
    scenario = PrivacyScenario(dataset="iris", scaling="minmax", test_size=0.5, seed=5, model="decision_tree")
    split = privacy_split(scenario)
    calls = []
    outcome = attack_target(scenario, split, build_target(scenario, split), lambda *a: calls.append(a))
    assert calls == [] and outcome.result.advantage == max(0.0, outcome.train_accuracy - outcome.test_accuracy)


class _Blocking:
    """A fake estimator whose first fit waits until the second has finished, so results arrive out of order."""

    finished: list[int] = []

    def __init__(self, seed: int, second_done: threading.Event) -> None:
        self.seed, self.second_done = seed, second_done

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Blocking:
        if self.seed == 0:
            self.second_done.wait(timeout=60)
        self.finished.append(self.seed)
        if self.seed == 1:
            self.second_done.set()
        return self


def test_results_and_progress_keep_the_given_order_when_fits_finish_out_of_order() -> None:
    second_done = threading.Event()
    _Blocking.finished = []
    calls = []
    jobs = [(np.zeros((2, 1)), np.zeros(2), seed) for seed in range(4)]
    fitted = fit_in_parallel(lambda seed: _Blocking(seed, second_done), jobs, n_jobs=2,
                             progress=lambda done, text: calls.append((done, text, threading.get_ident())))
    assert _Blocking.finished.index(1) < _Blocking.finished.index(0)  # the second fit did finish first
    assert [model.seed for model in fitted] == [0, 1, 2, 3]
    assert calls == [(k / 4, f"model {k} of 4", threading.get_ident()) for k in range(1, 5)]
