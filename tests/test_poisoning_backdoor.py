"""The backdoor through ART's PoisoningAttackBackdoor: what it writes into the training set, and its attack success
rate checked against an independent computation from the poisoned model's predictions on triggered inputs."""

import numpy as np
import pytest

from qulab.core.registry import InvalidInput
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.poisoning.run import prepare, run_poisoning

DIGITS = {"dataset": "digits", "model": "decision_tree", "attack": "backdoor", "target_class": 0, "seed": 3}
TABLE = {"dataset": "breast_cancer", "scaling": "standard", "model": "decision_tree", "attack": "backdoor",
         "target_class": 1}


def _refit(outcome, split, X, y):
    """The scenario's tree fitted again, independently of the pipeline (same seed: the same tree)."""
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(random_state=outcome.scenario.seed).fit(X, y)


def test_digits_pattern_backdoor_writes_art_pattern_and_target_labels_and_its_asr_is_the_models():
    from art.attacks.poisoning.perturbations import add_pattern_bd

    outcome = run_poisoning(PoisoningScenario(**DIGITS, rate=0.1))
    split, _ = prepare(outcome.scenario)
    rows = outcome.poisoned.indices
    assert len(rows) == round(0.1 * len(split.y_train)) and np.all(split.y_train[rows] != 0)
    images = add_pattern_bd(split.X_train[rows].reshape(-1, 8, 8), distance=1, pixel_value=1.0)
    assert np.array_equal(outcome.poisoned.X_train[rows], images.reshape(len(rows), 64))
    assert np.all(outcome.poisoned.y_train[rows] == 0)
    others = np.setdiff1d(np.arange(len(split.y_train)), rows)
    assert np.array_equal(outcome.poisoned.X_train[others], split.X_train[others])
    assert np.array_equal(outcome.poisoned.y_train[others], split.y_train[others])

    # ASR from scratch: triggered test inputs whose true class is not 0, through an independently refitted model.
    keep = split.y_test != 0
    triggered = add_pattern_bd(split.X_test[keep].reshape(-1, 8, 8), distance=1, pixel_value=1.0).reshape(-1, 64)
    poisoned_model = _refit(outcome, split, outcome.poisoned.X_train, outcome.poisoned.y_train)
    expected = np.mean(poisoned_model.predict(triggered) == 0)
    assert outcome.attack_success_rate == pytest.approx(expected, abs=1e-12)
    assert outcome.poisoned_accuracy == pytest.approx(np.mean(poisoned_model.predict(split.X_test) == split.y_test))
    clean_model = _refit(outcome, split, split.X_train, split.y_train)
    assert outcome.clean_attack_success_rate == pytest.approx(np.mean(clean_model.predict(triggered) == 0))
    # And the backdoor works: the trigger now means "0", which it did not before.
    assert outcome.attack_success_rate > 0.8 > 0.2 > outcome.clean_attack_success_rate


def test_the_single_pixel_trigger_is_arts_add_single_bd():
    from art.attacks.poisoning.perturbations import add_single_bd

    outcome = run_poisoning(PoisoningScenario(**DIGITS, rate=0.05, attack_params=(("trigger", "pixel"),
                                                                                    ("distance", 2))))
    split, _ = prepare(outcome.scenario)
    rows = outcome.poisoned.indices
    expected = add_single_bd(split.X_train[rows].reshape(-1, 8, 8), distance=2, pixel_value=1.0).reshape(-1, 64)
    assert np.array_equal(outcome.poisoned.X_train[rows], expected)


def test_tabular_trigger_sets_the_chosen_columns_to_the_chosen_share_of_their_range():
    outcome = run_poisoning(PoisoningScenario(**TABLE, rate=0.1, attack_params=(("column", 3), ("width", 2),
                                                                                   ("level", 2.0))))
    split, _ = prepare(outcome.scenario)
    low, high = split.X_train[:, 3:5].min(), split.X_train[:, 3:5].max()
    rows = outcome.poisoned.indices
    assert np.all(outcome.poisoned.X_train[rows][:, 3:5] == low + 2.0 * (high - low))
    assert np.array_equal(np.delete(outcome.poisoned.X_train[rows], [3, 4], axis=1),
                          np.delete(split.X_train[rows], [3, 4], axis=1))
    triggered = split.X_test[split.y_test != 1].copy()
    triggered[:, 3:5] = low + 2.0 * (high - low)
    model = _refit(outcome, split, outcome.poisoned.X_train, outcome.poisoned.y_train)
    assert outcome.attack_success_rate == pytest.approx(np.mean(model.predict(triggered) == 1))
    assert outcome.attack_success_rate > 0.9


@pytest.mark.parametrize(("changes", "words"), [
    ({"target_class": None}, "needs a target class"),
    ({"attack_params": (("trigger", "pattern"),)}, "A pixel trigger needs images"),
    ({"attack_params": (("column", 29), ("width", 2))}, "columns 29 to 30 do not exist: this data has 30"),
])
def test_a_backdoor_that_does_not_fit_the_data_is_refused_in_words(changes, words):
    with pytest.raises(InvalidInput, match=words):
        run_poisoning(PoisoningScenario(**{**TABLE, **changes}))


def test_rate_zero_keeps_the_training_set_and_reports_the_triggers_effect_on_the_clean_model():
    outcome = run_poisoning(PoisoningScenario(**DIGITS, rate=0.0))
    assert outcome.n_poisoned == 0
    assert outcome.attack_success_rate == outcome.clean_attack_success_rate
