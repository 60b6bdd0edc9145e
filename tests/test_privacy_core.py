"""The privacy experiment value, its registries' refusals and the membership metrics, against independent sums."""

from __future__ import annotations

import numpy as np
import pytest

from qulab.core.registry import InvalidInput
from qulab.threats.privacy.attacks import PRIVACY_ATTACKS
from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.membership import Roc, advantage, auc, roc, tpr_at_fpr
from qulab.threats.privacy.mitigations import PRIVACY_DEFENCES, dp_bound


def test_scenario_round_trips_through_dict_json_and_query() -> None:
    scenario = PrivacyScenario(dataset="moons", model="torch_mlp", attack="membership_confidence", seed=7,
                               dataset_params=(("noise", 0.3),), model_params=(("epochs", 20),),
                               attack_params=(("attack_model", "lr"),), defence="dp_sgd",
                               defence_params=(("epsilon", 4.0),)).validate()
    assert PrivacyScenario.from_dict(scenario.to_dict()) == scenario
    assert PrivacyScenario.from_json(scenario.to_json()) == scenario
    assert PrivacyScenario.from_query(scenario.to_query()) == scenario
    assert "attack.attack_model=lr" in scenario.to_query() and "defence.epsilon=4.0" in scenario.to_query()
    assert hash(scenario) == hash(PrivacyScenario.from_json(scenario.to_json()))


@pytest.mark.parametrize(("fields", "words"), [
    ({"attack": "nope"}, "unknown privacy attack 'nope'"),
    ({"model": "linear_svm", "attack": "membership_confidence"}, "needs scores; a linear SVM does not release it"),
    ({"attack": "membership_confidence", "defence": "top1_label"}, "under top-1 label only does not release it"),
    ({"attack": "membership_loss", "model": "random_forest"}, "PyTorch networks only"),
    ({"defence": "dp_sgd", "model": "decision_tree"}, "DP-SGD is offered for the PyTorch MLP"),
    ({"defence_params": (("epsilon", 1.0),)}, "without a defence"),
    ({"defence": "dp_sgd", "model": "torch_mlp", "defence_params": (("epsilon", 0.0),)}, "between 0.1 and 100"),
    ({"test_size": 1.0}, "between 0 and 1"),
])
def test_refusals_are_one_sentence(fields: dict, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        PrivacyScenario(**fields).validate()


def test_every_entry_declares_a_privacy_threat_and_a_paper() -> None:
    for attack in PRIVACY_ATTACKS:
        assert attack.threat.nist_class == "privacy" and attack.threat.stage == "deployment"
        assert attack.paper and attack.description.endswith(".")
    for defence in PRIVACY_DEFENCES:
        assert defence.description.endswith(".") and defence.reference


def test_metrics_on_a_hand_worked_case() -> None:
    members, nonmembers = np.array([0.9, 0.8, 0.4]), np.array([0.7, 0.3, 0.2, 0.1])
    # Pairs (member > non-member): 0.9 beats 4, 0.8 beats 4, 0.4 beats 3 → 11 of 12.
    assert auc(members, nonmembers) == pytest.approx(11 / 12)
    # Threshold 0.8: TPR 2/3, FPR 0 → 2/3; threshold 0.4: TPR 1, FPR 1/4 → 3/4 (the best).
    assert advantage(roc(members, nonmembers)) == pytest.approx(0.75)
    curve = Roc(np.array([0, 0.005, 0.01, 0.5, 1]), np.array([0, 0.2, 0.3, 0.9, 1]))
    assert tpr_at_fpr(curve, 0.01, 100) == 0.3 and tpr_at_fpr(curve, 0.001, 100) is None
    assert tpr_at_fpr(curve, 0.001, 1000) == 0.0


def test_dp_bound_closed_form() -> None:
    assert dp_bound(0.0, 0.0) == 0.0
    assert dp_bound(1.0, 1e-5) == pytest.approx((np.e - 1 + 2e-5) / (np.e + 1))
    assert dp_bound(1000.0, 0.0) == 1.0


def test_figures_read_on_log_axes_and_draw_the_bound() -> None:
    from qulab.figures.privacy import build_advantage_vs_epsilon, build_roc

    fig = build_roc({"attack": Roc(np.array([0.0, 0.0, 0.01, 0.5, 1.0]), np.array([0.0, 0.1, 0.3, 0.9, 1.0]))}, 200)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    attack = fig.data[1]
    assert list(attack.x) == [0.01, 0.5, 1.0] and list(attack.y) == [0.3, 0.9, 1.0]  # zeros have no log place
    assert fig.layout.xaxis.range[0] == pytest.approx(np.log10(1 / 200))  # one non-member's FPR
    fig = build_advantage_vs_epsilon([0.5, 2.0], [0.01, 0.05], 1e-5, "gap attack")
    bound = fig.data[0]
    assert all(y == pytest.approx(dp_bound(x, 1e-5)) for x, y in zip(bound.x, bound.y, strict=True))
