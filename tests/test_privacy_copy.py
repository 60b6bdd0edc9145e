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


def test_knockoff_adaptive_with_labels_keeps_the_all_reward_and_asks_n_queries(setting):
    """With top-label answers the certainty reward is 1 for every query; the guarded "all" reward counts it 0
    instead of dividing by its zero variance, and the run asks one query per step, n in all."""
    from qulab.threats.privacy.extraction import _knockoff

    pool, X_test, y_test, target = setting
    oracle = Counting(victim_answers(target, LABELS))
    attack = _knockoff(as_victim(oracle, 6, 3), 40, False, {"epochs": 5, "sampling": "adaptive", "reward": "all"})
    assert attack.reward == "all"
    own_labels = target.predict(pool)  # the attacker's labels for its pool: adaptive sampling groups it by class
    stolen = train_copy(attack, thief(target), pool, own_labels, seed=2)
    assert oracle.rows == 40
    assert np.isfinite(stolen.predict(X_test)).all()


def test_normalised_rewards_count_a_reward_that_never_varied_as_zero():
    from qulab.threats.privacy.extraction import normalised_rewards

    got = normalised_rewards(np.array([1.0, 0.5, 2.0]), np.array([1.0, 0.2, 1.0]), np.array([0.0, 0.09, 4.0]))
    np.testing.assert_allclose(got, [0.0, 0.3 / 0.3, 1.0 / 2.0])


def test_the_guarded_all_reward_is_arts_own_while_every_reward_varies():
    """Same answers, same copy outputs: ART's _reward_all and the guarded one give the same sequence of rewards
    (and the same running means and variances) when no variance is zero."""
    from art.attacks.extraction import KnockoffNets

    from qulab.threats.privacy.extraction import _knockoff

    victim = as_victim(lambda X: np.full((len(X), 3), 1 / 3, dtype=np.float32), 6, 3)
    guarded = _knockoff(victim, 10, True, {"epochs": 1, "sampling": "adaptive", "reward": "all"})
    art = KnockoffNets(victim, nb_stolen=10, sampling_strategy="adaptive", reward="all")
    rng = np.random.default_rng(0)
    for attack in (guarded, art):
        attack.y_avg, attack.reward_avg, attack.reward_var = np.zeros(3), np.zeros(3), np.zeros(3)
    for n in range(1, 12):
        y_output, y_hat = rng.dirichlet(np.ones(3), size=(1,)), rng.dirichlet(np.ones(3), size=(1,))
        assert guarded._reward_all(y_output, y_hat, n) == pytest.approx(art._reward_all(y_output, y_hat, n),
                                                                           rel=1e-12)
    np.testing.assert_allclose(guarded.reward_var, art.reward_var, rtol=1e-12)


def small_tree_setting():
    """The 60-row CSV case that crashed: a fully grown tree answers probabilities of 0 and 1 only."""
    from own_files import own_arrays
    from sklearn.tree import DecisionTreeClassifier

    X, y = own_arrays()
    X, y = X[:60].astype(np.float32), y[:60]
    return X[:30], y[:30], X[30:], DecisionTreeClassifier(random_state=0).fit(X[:30], y[:30])


def test_knockoff_on_a_small_tree_crashed_in_art_and_now_asks_n_queries():
    from art.attacks.extraction import KnockoffNets

    from qulab.core.randomness import seeded
    from qulab.threats.privacy.extraction import _knockoff, agreement, extraction_curve

    pool, own_labels, X_test, tree = small_tree_setting()
    assert set(np.unique(tree.predict_proba(X_test))) == {0.0, 1.0}  # certainty is 1 for every answer
    make_thief = lambda: untrained_like(TorchMLPClassifier(), 3, np.arange(2), seed=5)  # noqa: E731
    params = {"epochs": 5, "sampling": "adaptive", "reward": "all"}
    with pytest.raises(ValueError, match="NaN"), seeded(3), np.errstate(invalid="ignore"):  # ART as it is: 0 / 0
        KnockoffNets(as_victim(victim_answers(tree, PROBABILITIES), 3, 2), nb_epochs=5, nb_stolen=30,
                     sampling_strategy="adaptive", reward="all").extract(pool, own_labels,
                                                                         thieved_classifier=make_thief())
    oracle = Counting(victim_answers(tree, PROBABILITIES))
    stolen = train_copy(_knockoff(as_victim(oracle, 3, 2), 30, True, params), make_thief(), pool, own_labels,
                        seed=3)
    assert oracle.rows == 30
    predicted = stolen.predict(X_test).argmax(axis=1)
    (point,) = extraction_curve(lambda n: _knockoff(as_victim(victim_answers(tree, PROBABILITIES), 3, 2), n, True,
                                                    params),
                                make_thief, pool, own_labels, X_test, tree.predict(X_test), tree.predict(X_test),
                                (30,), seed=3)
    assert point.queries == 30
    assert point.agreement == pytest.approx(agreement(predicted, tree.predict(X_test)))
    assert 0.0 <= point.agreement <= 1.0


def test_the_knockoff_entry_runs_on_a_60_row_csv_tree():
    """The page's and the CLI's path: uploaded data, a decision tree, adaptive sampling with the "all" reward,
    both answers: each curve ends at the queries the attacker could ask (its 30 training rows)."""
    from own_files import dataset

    from qulab.threats.privacy.experiment import PrivacyScenario
    from qulab.threats.privacy.run import run_privacy

    out = run_privacy(PrivacyScenario(
        dataset="upload:small", model="decision_tree", attack="extraction_knockoff", seed=1,
        attack_params=(("queries", 30), ("curve_points", 2), ("epochs", 5))), dataset(slice(0, 60))).to_json()
    assert out["queries"] == 30
    assert list(out["curve"]) == [PROBABILITIES, LABELS]
    for points in out["curve"].values():
        assert [p["queries"] for p in points] == [15, 30]
        assert all(0.0 <= p["agreement"] <= 1.0 and 0.0 <= p["stolen_accuracy"] <= 1.0 for p in points)


def test_adaptive_sampling_refuses_in_one_sentence_when_a_class_has_no_rows(setting):
    from qulab.core.registry import InvalidInput
    from qulab.threats.privacy.extraction import _knockoff

    pool, _, _, target = setting
    attack = _knockoff(as_victim(victim_answers(target, LABELS), 6, 3), 20, False,
                       {"epochs": 1, "sampling": "adaptive", "reward": "all"})
    labels = np.where(target.predict(pool) == 1, 2, target.predict(pool))  # classes 0 and 2, none of class 1
    with pytest.raises(InvalidInput, match="choose random sampling"):
        train_copy(attack, thief(target), pool, labels, seed=2)


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
