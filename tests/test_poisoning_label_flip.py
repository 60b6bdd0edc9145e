"""Label flipping (issue 12's acceptance): how many labels change and which, and what that does to the model."""

from dataclasses import replace

import numpy as np
import pytest

from qulab.core.registry import InvalidInput
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.poisoning.run import prepare, rate_curve, run_poisoning

BINARY = {"dataset": "synthetic", "dataset_params": (("n_samples", 200),)}
THREE = {"dataset": "blobs", "dataset_params": (("n_samples", 150),), "model": "decision_tree"}
FLIPS = ("label_flip", "label_flip_damaging")


@pytest.mark.parametrize("attack", FLIPS)
@pytest.mark.parametrize("rate", [0.0, 0.013, 0.25, 0.5])
@pytest.mark.parametrize("target", [None, 2])
def test_exactly_round_rate_times_n_train_labels_change_and_only_those(attack, rate, target):
    outcome = run_poisoning(PoisoningScenario(**THREE, attack=attack, rate=rate, target_class=target))
    split, _ = prepare(outcome.scenario)
    changed = np.flatnonzero(outcome.poisoned.y_train != split.y_train)
    assert outcome.n_train == len(split.y_train) == 120
    assert outcome.n_poisoned == round(rate * 120)
    assert np.array_equal(changed, outcome.poisoned.indices)  # each chosen label really changed, no other did
    assert np.array_equal(outcome.poisoned.X_train, split.X_train)  # labels only
    if target is not None:
        assert set(outcome.poisoned.y_train[changed]) <= {target}


def test_a_rate_beyond_the_points_not_of_the_target_class_is_refused_in_words():
    with pytest.raises(InvalidInput, match="can poison at most 80 of the 120 training points"):
        run_poisoning(PoisoningScenario(**THREE, rate=0.9, target_class=0))


def test_flipping_every_label_towards_one_class_is_refused_in_words():
    with pytest.raises(InvalidInput, match="leaves class 'Class 1' in the training set"):
        run_poisoning(PoisoningScenario(**BINARY, rate=0.5, target_class=1))


def test_on_a_binary_set_accuracy_falls_with_the_rate_and_past_half_the_model_follows_the_flips():
    curve = rate_curve(PoisoningScenario(**BINARY), (0.0, 0.2, 0.35, 0.65, 0.8), seeds=range(5))
    mean = curve.mean("poisoned_accuracy")
    assert np.all(np.diff(mean) < 0), mean
    assert np.array_equal(mean[0], curve.mean("clean_accuracy")[0])  # rate 0 is the clean model, seed by seed
    assert mean[3] < 0.3 and mean[4] < 0.2  # it learned the flipped labels: well under chance
    assert curve.n_poisoned == (0, 32, 56, 104, 128)


def test_most_damaging_first_hurts_more_than_random_at_the_same_rate():
    scenario = PoisoningScenario(**BINARY, rate=0.2)
    random = rate_curve(scenario, (0.2,), seeds=range(4)).mean("poisoned_accuracy")[0]
    damaging = rate_curve(replace(scenario, attack="label_flip_damaging"), (0.2,), seeds=range(4))
    assert damaging.mean("poisoned_accuracy")[0] < random - 0.1


@pytest.mark.parametrize("order", ["loss", "margin"])
def test_most_damaging_first_takes_the_points_the_surrogate_ranks_first(order):
    """Independently: on a binary set the flip is to the other class, so 'loss' takes the points whose own label
    the surrogate is surest of, and 'margin' those it gets right by the least."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    outcome = run_poisoning(PoisoningScenario(**BINARY, attack="label_flip_damaging", rate=0.15,
                                              attack_params=(("order", order),)))
    split, _ = prepare(outcome.scenario)
    surrogate = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(split.X_train, split.y_train)
    own = surrogate.predict_proba(split.X_train)[np.arange(len(split.y_train)), split.y_train]
    rank = -own if order == "loss" else np.where(own >= 0.5, own, own + 2)  # lower rank = flipped first
    flipped = np.isin(np.arange(len(own)), outcome.poisoned.indices)
    assert rank[flipped].max() <= rank[~flipped].min()
    assert np.all(outcome.poisoned.y_train[flipped] == 1 - split.y_train[flipped])
