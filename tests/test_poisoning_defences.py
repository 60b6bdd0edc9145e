"""Sanitisation defences: what they flag (against an independent computation), and their effect on the model."""

import numpy as np
import pytest

from qulab.threats.poisoning.defences import POISONING_DEFENCES
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.poisoning.run import run_poisoning
from qulab.threats.poisoning.sanitise import neighbour_disagreement, out_of_fold_loss

# A decision tree memorises flipped labels, so random flips hurt it and removing them shows.
NOISY_TREE = {"dataset": "moons", "dataset_params": (("n_samples", 300),), "model": "decision_tree", "rate": 0.3,
              "seed": 0}
SETTINGS = {"knn_cleaning": (), "loss_removal": (("share", 0.3),)}


def test_knn_votes_equal_a_brute_force_count_over_standardised_distances():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)) * [1, 10, 100], rng.integers(0, 3, size=40)
    share, majority = neighbour_disagreement(X, y, k=5)
    Z = (X - X.mean(0)) / X.std(0)
    distances = np.linalg.norm(Z[:, None] - Z[None], axis=2)
    np.fill_diagonal(distances, np.inf)  # a point is not its own neighbour
    for i in range(40):
        votes = np.bincount(y[np.argsort(distances[i])[:5]], minlength=3)
        assert share[i] == votes.max() / 5 and majority[i] == votes.argmax()


def test_loss_removal_flags_the_given_share_highest_out_of_fold_loss_first():
    outcome = run_poisoning(PoisoningScenario(**NOISY_TREE, attack="label_flip", defence="loss_removal",
                                              defence_params=(("share", 0.25),)))
    flagged, scores = outcome.flagged.indices, outcome.flagged.scores
    assert len(flagged) == round(0.25 * outcome.n_train)
    rest = np.setdiff1d(np.arange(outcome.n_train), flagged)
    assert scores[flagged].min() >= scores[rest].max()
    # The loss is the cross-entropy under the point's own label: a hand check on separable data (tiny losses)
    # with one point given the wrong label (by far the largest loss).
    X = np.r_[np.zeros((20, 1)), np.ones((20, 1))] + np.linspace(0, 0.1, 40)[:, None]
    y = np.r_[np.zeros(20, int), np.ones(20, int)]
    y[3] = 1
    loss = out_of_fold_loss(X, y, seed=0)
    assert np.argmax(loss) == 3 and np.sort(loss)[-2] < np.log(2) < loss[3]


@pytest.mark.parametrize("defence", list(SETTINGS))
def test_each_defence_finds_random_flips_and_the_model_retrained_without_them_recovers(defence):
    outcome = run_poisoning(PoisoningScenario(**NOISY_TREE, attack="label_flip", defence=defence,
                                              defence_params=SETTINGS[defence]))
    assert outcome.detection_precision >= 0.7 and outcome.detection_recall >= 0.7
    assert outcome.poisoned_accuracy < outcome.clean_accuracy - 0.2
    assert outcome.defended_accuracy > outcome.poisoned_accuracy + 0.15
    # Precision and recall from the sets themselves.
    found = len(set(outcome.flagged.indices) & set(outcome.poisoned.indices))
    assert outcome.detection_precision == found / len(outcome.flagged.indices)
    assert outcome.detection_recall == found / outcome.n_poisoned


def test_loss_removal_misses_the_flips_ranked_by_the_same_kind_of_loss():
    """The flips a surrogate ranks most damaging sit where the loss says they belong: the weakness in numbers."""
    outcome = run_poisoning(PoisoningScenario(**NOISY_TREE, attack="label_flip_damaging", defence="loss_removal",
                                              defence_params=(("share", 0.3),)))
    assert outcome.detection_recall < 0.1


def test_knn_cleaning_misses_a_digits_backdoor_because_the_stamped_points_neighbour_each_other():
    """The honest limit: the 4-pixel pattern moves the stamped images together, so each one's neighbours are
    other stamped images relabelled as the target; the label vote agrees with the poison (ART's activation and
    spectral detectors are the tools for backdoors)."""
    outcome = run_poisoning(PoisoningScenario(dataset="digits", model="decision_tree", attack="backdoor",
                                              target_class=0, rate=0.1, seed=3, defence="knn_cleaning"))
    assert outcome.attack_success_rate > 0.8
    assert outcome.detection_recall < 0.3
    assert outcome.defended_attack_success_rate > 0.8


def test_every_sanitiser_is_tested_here():
    """The defences of qulab.threats.poisoning.sanitise (the network detectors have their own tests)."""
    sanitisers = {d.name for d in POISONING_DEFENCES if d.flag.__module__ == "qulab.threats.poisoning.sanitise"}
    assert sanitisers == {*SETTINGS, "roni"}  # RONI: the hand case below


def test_roni_flags_the_points_whose_removal_makes_the_refitted_model_more_accurate():
    """A hand case with one point per group: two clusters on a line, three labels flipped deep inside the other
    cluster. A tree refitted without one of them gets its neighbours in the validation half right again; removing
    a clean point changes nothing."""
    from types import SimpleNamespace

    from sklearn.tree import DecisionTreeClassifier

    from qulab.data.datasets import Split

    X = np.r_[np.linspace(0, 1, 20), np.linspace(3, 4, 20)][:, None]
    y = np.r_[np.zeros(20, int), np.ones(20, int)]
    flipped = np.array([5, 10, 30])
    y[flipped] = 1 - y[flipped]
    split = Split(X, X[:2], y, y[:2], ("x",), ("a", "b"), None, "none")
    model = SimpleNamespace(estimator=DecisionTreeClassifier(random_state=0))
    roni = POISONING_DEFENCES.get("roni")
    flagged = roni.flag(split, model, {"max_refits": 42, "tolerance": 0.0}, np.random.default_rng(0))
    assert set(flagged.indices) == set(flipped)
    assert np.all(flagged.scores[flipped] > 0) and np.all(np.delete(flagged.scores, flipped) <= 0)


def test_roni_is_refused_on_networks_in_words():
    from qulab.models.registry import MODELS

    assert "too slow" in POISONING_DEFENCES.get("roni").unsupported_reason(MODELS.get("torch_mlp"))
