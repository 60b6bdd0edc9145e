"""Membership attacks against independent computations: the gap attack's closed form, LiRA on a hand-worked case,
ART's black-box attack called directly, and the mitigations' effect where it is exact."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.membership import balanced_halves, lira_scores, logit_confidence, one_hot
from qulab.threats.privacy.run import attack_target, build_target, privacy_split, run_privacy

TREE = PrivacyScenario(dataset="breast_cancer", model="decision_tree", attack="membership_gap", seed=3)
FOREST = PrivacyScenario(dataset="moons", model="random_forest", attack="membership_lira", seed=5,
                         dataset_params=(("n_samples", 300), ("noise", 0.4)), model_params=(("n_estimators", 10),),
                         attack_params=(("n_reference", 8),))


def test_gap_advantage_is_train_minus_test_accuracy() -> None:
    outcome = run_privacy(TREE)
    split = privacy_split(TREE)
    tree = build_target(TREE, split).estimator
    train, test = np.mean(tree.predict(split.X_train) == split.y_train), np.mean(tree.predict(split.X_test) ==
                                                                                split.y_test)
    assert train - test > 0.05  # an over-fitted tree, so the identity is not 0 = 0
    assert outcome.result.advantage == pytest.approx(train - test, abs=1e-9)
    assert outcome.to_json()["advantage"] == pytest.approx(outcome.train_accuracy - outcome.test_accuracy, abs=1e-9)
    assert outcome.to_json()["n_members"] == len(split.y_train) and outcome.to_json()["n_nonmembers"] == len(
        split.y_test)


def test_rounding_leaves_the_gap_attack_as_it_was_and_regularisation_shrinks_it() -> None:
    plain = run_privacy(TREE).result.advantage
    assert run_privacy(replace(TREE, defence="rounded_scores", defence_params=(("decimals", 1),))).result.advantage \
        == pytest.approx(plain, abs=1e-12)  # the gap attack reads decisions, which rounding keeps
    regularised = run_privacy(replace(TREE, defence="regularisation", defence_params=(("strength", 20.0),)))
    assert regularised.result.advantage < plain


def test_top1_hardening_releases_one_hot_rows() -> None:
    scenario = replace(TREE, model="logistic_regression", defence="top1_label")
    split = privacy_split(scenario)
    target = build_target(scenario, split)
    released = target.released(split.X_test)
    assert np.array_equal(released, one_hot(target.predict(split.X_test), split.n_classes))


def test_a_network_releases_probabilities_like_every_other_model() -> None:
    scenario = replace(FOREST, model="torch_mlp", model_params=(("epochs", 5), ("hidden", 8)), attack_params=())
    split = privacy_split(scenario)
    target = build_target(scenario, split)
    assert np.allclose(target.released(split.X_test), target.estimator.predict_proba(split.X_test), atol=1e-6)


def test_confidence_attack_matches_a_direct_art_call() -> None:
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox

    from qulab.threats.privacy.membership import known_rows

    scenario = replace(TREE, attack="membership_confidence", attack_params=(("attack_model", "lr"),))
    result = run_privacy(scenario).result
    split = privacy_split(scenario)
    target = build_target(scenario, split)
    rng = np.random.default_rng(scenario.seed)
    known_in, members = known_rows(len(split.y_train), 0.5, rng)
    known_out, nonmembers = known_rows(len(split.y_test), 0.5, rng)
    attack = MembershipInferenceBlackBox(target.classifier, attack_model_type="lr")  # ART's own attack model
    attack.fit(split.X_train[known_in], one_hot(split.y_train[known_in], 2), split.X_test[known_out],
               one_hot(split.y_test[known_out], 2))
    direct = attack.infer(split.X_train[members], one_hot(split.y_train[members], 2), probabilities=True)
    assert np.allclose(result.member_scores, direct.reshape(len(members), -1)[:, -1])
    assert result.n_members == len(members) and result.n_nonmembers == len(nonmembers)


def test_lira_scores_on_a_hand_worked_case() -> None:
    # Two rows, four reference models; row 0 was in models 0 and 1, row 1 in models 2 and 3.
    keep = np.array([[True, False], [True, False], [False, True], [False, True]])
    phi = np.array([[3.0, 0.0], [5.0, 1.0], [1.0, 2.0], [1.0, 4.0]])
    target = np.array([4.0, 0.0])
    # Per row: row 0 in {3, 5} (median 4, sd 1), out {1, 1} (median 1, sd 0 → floor 1e-6);
    # row 1 in {2, 4} (median 3, sd 1), out {0, 1} (median 0.5, sd 0.5).
    per_row = lira_scores(target, phi, keep, fixed_variance=False)
    log_n = lambda x, mu, sd: -0.5 * ((x - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)  # noqa: E731
    assert per_row[0] == pytest.approx(log_n(4, 4, 1) - log_n(4, 1, 1e-6))
    assert per_row[1] == pytest.approx(log_n(0, 3, 1) - log_n(0, 0.5, 0.5))
    # One σ for all rows: in-residuals ±1, ±1 → σ_in 1; out-residuals 0, 0, ±0.5 → σ_out √(0.5/4).
    pooled = lira_scores(target, phi, keep, fixed_variance=True)
    sd_out = np.sqrt(0.5 / 4)
    assert pooled[1] == pytest.approx(log_n(0, 3, 1) - log_n(0, 0.5, sd_out))
    from scipy.stats import norm  # an independent density

    assert pooled[0] == pytest.approx(norm.logpdf(4, 4, 1) - norm.logpdf(4, 1, sd_out))


def test_logit_confidence_and_balanced_halves() -> None:
    proba = np.array([[0.8, 0.2], [0.5, 0.5]])
    assert np.allclose(logit_confidence(proba, np.array([0, 1])), [np.log(4), 0.0])
    keep = balanced_halves(6, 50, np.random.default_rng(0))
    assert keep.shape == (6, 50) and (keep.sum(axis=0) == 3).all()


def test_lira_beats_the_gap_attack_on_an_overfitted_forest_and_repeats_itself() -> None:
    lira = run_privacy(FOREST)
    gap = run_privacy(replace(FOREST, attack="membership_gap", attack_params=()))
    assert lira.result.auc > gap.result.auc + 0.05
    again = run_privacy(FOREST)
    assert np.array_equal(again.result.member_scores, lira.result.member_scores)


def test_shadow_models_run_on_the_pytorch_mlp_and_repeat_themselves() -> None:
    scenario = replace(FOREST, model="torch_mlp", model_params=(("epochs", 5), ("hidden", 8)),
                       attack="membership_shadow", attack_params=(("n_shadow", 2), ("attack_model", "lr")))
    first, second = run_privacy(scenario), run_privacy(scenario)
    assert 0 <= first.result.auc <= 1 and first.result.n_members + first.result.n_nonmembers == 300
    assert np.array_equal(first.result.member_scores, second.result.member_scores)


def test_dp_sgd_reports_its_accountants_epsilon_and_stays_under_the_bound() -> None:
    from opacus.accountants import RDPAccountant

    from qulab.threats.privacy.mitigations import dp_bound

    scenario = replace(FOREST, model="logistic_regression", model_params=(), attack="membership_gap",
                       attack_params=(), defence="dp_sgd", defence_params=(("epsilon", 0.5), ("epochs", 5)))
    split = privacy_split(scenario)
    target = build_target(scenario, split)
    outcome = attack_target(scenario, split, target)
    n, batch = len(split.y_train), 64
    steps_per_epoch = -(-n // batch)
    accountant = RDPAccountant()  # an independent account of the same noise, sampling rate and steps
    accountant.history = [(target.estimator.noise_multiplier_, 1 / steps_per_epoch,
                           5 * steps_per_epoch)]
    assert outcome.epsilon == pytest.approx(accountant.get_epsilon(1e-5), abs=1e-9)
    assert outcome.epsilon <= 0.5 + 1e-6
    assert outcome.to_json()["epsilon"] == outcome.epsilon
    assert outcome.result.advantage <= dp_bound(outcome.epsilon, 1e-5)
    assert outcome.to_json()["advantage_bound"] == pytest.approx(dp_bound(outcome.epsilon, 1e-5))


@pytest.mark.slow  # trains every model family (about 90 s on a loaded 2-core machine)
def test_across_model_families_the_gap_attack_advantage_is_each_familys_gap() -> None:
    from qulab.threats.privacy.run import family_sweep

    scenario = PrivacyScenario(dataset="iris", test_size=0.5, seed=1)
    outcomes = family_sweep(scenario, privacy_split(scenario))
    assert {o.scenario.model for o in outcomes} >= {"logistic_regression", "decision_tree", "torch_mlp"}
    assert "torch_cnn" not in {o.scenario.model for o in outcomes}  # iris has no images
    for outcome in outcomes:
        assert outcome.result.advantage == pytest.approx(max(outcome.generalisation_gap, 0.0), abs=1e-9)
