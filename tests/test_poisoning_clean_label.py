"""The clean-label backdoor through ART's PoisoningAttackCleanLabelBackdoor on the PyTorch CNN: labels stay the
originals, only target-class images change (within the PGD budget, plus ART's trigger), the trigger gains a pull
towards the target that the clean model does not have, and the poison does not depend on the global generators."""

import numpy as np
import pytest
import torch

from qulab.models.registry import MODELS
from qulab.threats.poisoning.attacks import POISONING_ATTACKS
from qulab.threats.poisoning.backdoor import Trigger
from qulab.threats.poisoning.clean_label import clean_label_poison
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.poisoning.run import prepare, run_poisoning

SCENARIO = {"dataset": "digits", "model": "torch_cnn", "attack": "clean_label_backdoor", "target_class": 0,
            "rate": 0.08, "attack_params": (("eps", 0.3), ("max_iter", 20))}


@pytest.fixture(scope="module")
def run():
    scenario = PoisoningScenario(**SCENARIO)
    split, clean_model = prepare(scenario)
    return run_poisoning(scenario, split=split, clean_model=clean_model), split, clean_model


def test_labels_stay_and_only_target_images_change_within_budget_plus_trigger(run):
    from art.attacks.poisoning.perturbations import add_pattern_bd

    outcome, split, _ = run
    rows = outcome.poisoned.indices
    assert np.array_equal(outcome.poisoned.y_train, split.y_train)
    assert len(rows) == round(0.08 * len(split.y_train)) and np.all(split.y_train[rows] == 0)
    assert len(np.unique(rows)) == len(rows)
    others = np.setdiff1d(np.arange(len(split.y_train)), rows)
    assert np.array_equal(outcome.poisoned.X_train[others], split.X_train[others])
    changed = outcome.poisoned.X_train[rows]
    # The trigger's pixels are ART's pattern; every other pixel moved by at most the L∞ budget.
    mask = add_pattern_bd(np.zeros((1, 8, 8)), distance=1, pixel_value=1.0).reshape(64) == 1
    assert np.all(changed[:, mask] == 1.0)
    assert np.max(np.abs(changed[:, ~mask] - split.X_train[rows][:, ~mask])) <= 0.3 + 1e-6
    assert np.mean(np.abs(changed[:, ~mask] - split.X_train[rows][:, ~mask]) > 0.01) > 0.1  # PGD did move them


def test_the_trigger_now_pulls_towards_the_target_and_the_asr_is_the_models(run):
    from qulab.models.torch_nets import TorchCNNClassifier

    outcome, split, _ = run
    keep = split.y_test != 0
    triggered = Trigger("pattern", 1.0, image_shape=(8, 8), distance=1)(split.X_test[keep])
    refit = TorchCNNClassifier(epochs=15, random_state=outcome.scenario.seed).fit(outcome.poisoned.X_train,
                                                                                   outcome.poisoned.y_train)
    assert outcome.attack_success_rate == pytest.approx(np.mean(refit.predict(triggered) == 0))
    assert outcome.attack_success_rate > outcome.clean_attack_success_rate + 0.2
    assert outcome.poisoned_accuracy > outcome.clean_accuracy - 0.03


def test_the_poison_does_not_depend_on_the_global_generators(run):
    _, split, clean_model = run
    rows = np.flatnonzero(split.y_train == 0)[:20]
    trigger = Trigger("pattern", 1.0, image_shape=(8, 8), distance=1)
    results = []
    for state in (1, 2):
        np.random.seed(state)
        torch.manual_seed(state)
        results.append(clean_label_poison(split.X_train, rows, 0, trigger, clean_model.classifier, eps=0.3,
                                          max_iter=10))
    assert np.array_equal(*results)


def test_it_needs_a_network_and_images():
    spec = POISONING_ATTACKS.get("clean_label_backdoor")
    assert spec.unsupported_reason(MODELS.get("torch_mlp"), 10, images=True) is None
    assert "a decision tree has none" in spec.unsupported_reason(MODELS.get("decision_tree"), 10)
    assert "images" in spec.unsupported_reason(MODELS.get("torch_mlp"), 2, images=False)
