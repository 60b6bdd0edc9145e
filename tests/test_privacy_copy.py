"""Copy extraction with ART's CopycatCNN and KnockoffNets against a small QuLab torch net (tiny data).

Independent checks: a counting oracle (ART asks exactly the number of queries it is told), a direct ART call with
the same seed and initial weights (the wiring adds nothing), the top-label answers against the target's own
predictions, and agreement computed by hand from the two models' predictions.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification

from qulab.models.torch_nets import TorchMLPClassifier, untrained_like
from qulab.threats.privacy.extraction import (
    LABELS,
    PROBABILITIES,
    as_victim,
    extraction_curve,
    label_answers,
    probability_answers,
    train_copy,
)


def victim_answers(target, answers):
    return probability_answers(target.predict_proba) if answers == PROBABILITIES else label_answers(
        target.predict, len(target.classes_))


@pytest.fixture(scope="module")
def setting():
    X, y = make_classification(n_samples=500, n_features=6, n_informative=5, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, class_sep=1.5, random_state=0)
    X = X.astype(np.float32)
    target = TorchMLPClassifier(hidden_layer_sizes=(16,), epochs=20, random_state=0).fit(X[:300], y[:300])
    return X[:300], X[300:], y[300:], target


class Counting:
    def __init__(self, answer):
        self.answer, self.rows = answer, 0

    def __call__(self, X):
        self.rows += len(X)
        return self.answer(X)


def copycat(victim, n, use_probability):
    from art.attacks.extraction import CopycatCNN

    return CopycatCNN(victim, batch_size_fit=32, batch_size_query=64, nb_epochs=15, nb_stolen=n,
                      use_probability=use_probability)


def thief(target):
    return untrained_like(target, 6, target.classes_, seed=5)


def test_top_label_answers_are_the_targets_predictions(setting):
    pool, X_test, _, target = setting
    rows = victim_answers(target, LABELS)(X_test)
    np.testing.assert_array_equal(rows.argmax(axis=1), target.predict(X_test))
    assert set(np.unique(rows)) == {0.0, 1.0}
    np.testing.assert_allclose(victim_answers(target, PROBABILITIES)(X_test),
                               target.predict_proba(X_test), rtol=1e-6)


@pytest.mark.parametrize("answers", [PROBABILITIES, LABELS])
def test_the_copy_asks_exactly_n_queries_and_matches_a_direct_art_call(setting, answers):
    from art.attacks.extraction import CopycatCNN

    from qulab.core.randomness import seeded

    pool, X_test, _, target = setting
    oracle = Counting(victim_answers(target, answers))
    victim = as_victim(oracle, 6, 3)
    stolen = train_copy(copycat(victim, 120, answers == PROBABILITIES), thief(target), pool, None, seed=9)
    assert oracle.rows == 120
    with seeded(9):  # the same run by hand: ART's own call, the same seed, the same initial weights
        direct = CopycatCNN(as_victim(victim_answers(target, answers), 6, 3), batch_size_fit=32,
                            batch_size_query=64, nb_epochs=15, nb_stolen=120,
                            use_probability=answers == PROBABILITIES).extract(pool, thieved_classifier=thief(target))
    np.testing.assert_array_equal(stolen.predict(X_test), direct.predict(X_test))


def test_more_queries_buy_agreement_and_the_same_seed_the_same_curve(setting):
    pool, X_test, y_test, target = setting
    victim = as_victim(victim_answers(target, PROBABILITIES), 6, 3)
    target_test = target.predict(X_test)

    def curve(seed):
        return extraction_curve(lambda n: copycat(victim, n, True), lambda: thief(target), pool, None, X_test,
                                y_test, target_test, (6, 300), seed)

    few, many = curve(1)
    assert many.agreement > few.agreement + 0.1
    assert many.agreement > 0.85
    assert curve(1) == (few, many)
    # Agreement by hand, from a copy trained the same way.
    stolen = train_copy(copycat(victim, 300, True), thief(target), pool, None, seed=1)
    assert many.agreement == pytest.approx(np.mean(stolen.predict(X_test).argmax(axis=1) == target_test))


def test_knockoff_adaptive_with_labels_runs_where_arts_all_reward_would_divide_by_zero(setting):
    """ART's 'all' reward normalises by the certainty reward's variance, which is 0 for one-hot answers (NaN
    probabilities, then a crash in np.random.choice); the entry's builder switches the label run to the loss."""
    from qulab.threats.privacy.extraction import _knockoff

    pool, X_test, y_test, target = setting
    victim = as_victim(victim_answers(target, LABELS), 6, 3)
    attack = _knockoff(victim, 40, False, {"epochs": 5, "sampling": "adaptive", "reward": "all"})
    assert attack.reward == "loss"
    own_labels = target.predict(pool)  # the attacker's labels for its pool: adaptive sampling groups it by class
    stolen = train_copy(attack, thief(target), pool, own_labels, seed=2)
    assert np.isfinite(stolen.predict(X_test)).all()


def test_the_copycat_entry_trains_on_probabilities_not_on_the_wrappers_logits():
    """Through the privacy run on digits: a copy trained on the target's probabilities agrees with it far above
    chance (trained on the ART wrapper's logits it stayed at 0.10), and the JSON keeps the CLI contract."""
    from qulab.threats.privacy.experiment import PrivacyScenario
    from qulab.threats.privacy.run import run_privacy

    out = run_privacy(PrivacyScenario(
        dataset="digits", model="torch_mlp", attack="extraction_copycat", model_params=(("epochs", 10),),
        attack_params=(("queries", 300), ("curve_points", 1), ("epochs", 15), ("answers", "probabilities")),
    )).to_json()
    assert {"queries", "agreement", "stolen_accuracy", "seconds"} <= set(out)
    assert out["queries"] == 300
    assert out["agreement"] > 0.7
    assert list(out["curve"]) == ["probabilities"]
