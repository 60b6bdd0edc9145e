"""ART's backdoor detectors on QuLab's PyTorch CNN: they find a digits backdoor, their numbers are the flags', and
the same seed flags the same points.

One poisoned CNN is trained per module (8 % backdoor on digits, target 0: the poison stays the minority of class 0,
the case the size heuristic is built for; 10 % is measured in bench/bench_poisoning_torch.py)."""

import numpy as np
import pytest

from qulab.models.registry import MODELS
from qulab.threats.poisoning.defences import POISONING_DEFENCES
from qulab.threats.poisoning.detectors import activation_clustering, spectral_signatures
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.poisoning.run import _fit_on, poison_split, prepare, run_poisoning

BACKDOOR = {"dataset": "digits", "model": "torch_cnn", "attack": "backdoor", "target_class": 0, "rate": 0.08}


@pytest.fixture(scope="module")
def poisoned():
    """The clean split and model, the poisoned training set and the CNN trained on it."""
    scenario = PoisoningScenario(**BACKDOOR).validate()
    split, clean_model = prepare(scenario)
    attack = poison_split(scenario, split, clean_model)
    model = _fit_on(scenario, split, attack.X_train, attack.y_train, "The poison")
    is_poisoned = np.zeros(len(attack.y_train), bool)
    is_poisoned[attack.indices] = True
    return attack, model, is_poisoned, split, clean_model


def test_activation_clustering_finds_the_backdoor_and_retraining_without_it_removes_it(poisoned):
    *_, split, clean_model = poisoned
    outcome = run_poisoning(PoisoningScenario(**BACKDOOR, defence="activation_clustering"), split=split,
                            clean_model=clean_model)
    flagged, rows = outcome.flagged.indices, outcome.poisoned.indices
    hits = len(np.intersect1d(flagged, rows))
    # The run's precision and recall are the flags' own, counted here by hand.
    assert outcome.detection_recall == pytest.approx(hits / len(rows))
    assert outcome.detection_precision == pytest.approx(hits / len(flagged))
    false_positive_rate = (len(flagged) - hits) / (outcome.n_train - len(rows))
    assert outcome.attack_success_rate > 0.9
    assert outcome.detection_recall >= 0.8 and false_positive_rate <= 0.2
    assert outcome.defended_attack_success_rate < 0.2


def test_spectral_signatures_flag_the_top_share_of_every_class_by_the_returned_scores(poisoned):
    attack, model, is_poisoned, *_ = poisoned
    y = attack.y_train
    found = spectral_signatures(model.estimator, attack.X_train, y, seed=0, expected_rate=0.2, eps_multiplier=1.5)
    # ART's cut, recomputed from the scores: in each class, the points at or above its 70 % quantile.
    expected = np.zeros(len(y), bool)
    for k in np.unique(y):
        rows = y == k
        expected[rows] = found.scores[rows] >= np.quantile(found.scores[rows], 1 - 1.5 * 0.2)
    assert np.array_equal(np.flatnonzero(expected), found.indices)
    # The poison stands out in its class: the share of the target class's poison flagged is well above the 30 %
    # a random pick of the same size would find.
    in_target = y == attack.target_class
    assert is_poisoned[found.indices].sum() / is_poisoned[in_target].sum() > 0.5


def test_the_same_seed_flags_the_same_points(poisoned):
    attack, model, *_ = poisoned
    runs = [activation_clustering(model.estimator, attack.X_train, attack.y_train, seed=5, nb_clusters=3).indices
            for _ in range(2)]
    assert np.array_equal(*runs) and len(runs[0])


def test_detectors_are_offered_on_networks_only_and_say_why_not():
    for name in ("activation_clustering", "spectral_signatures"):
        spec = POISONING_DEFENCES.get(name)
        assert spec.unsupported_reason(MODELS.get("torch_cnn")) is None
        assert spec.unsupported_reason(MODELS.get("torch_mlp")) is None
        reason = spec.unsupported_reason(MODELS.get("random_forest"))
        assert "a random forest has none" in reason
