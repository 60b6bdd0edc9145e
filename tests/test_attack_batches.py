"""An attack run batch by batch (so the Attack Lab's progress bar moves with the work) gives exactly the examples
of one run: checked for every attack that declares a batch, against the direct call, on data without a known range
(the case where ART would otherwise read the range from each batch)."""

from __future__ import annotations

import numpy as np
import pytest

from qulab.core.experiment import Scenario
from qulab.evaluation.budget import attack_run
from qulab.evaluation.pipeline import fit_model, prepare_split, run_attack, subsample
from qulab.models.registry import MODELS
from qulab.threats.evasion.attacks import ATTACKS

MODELS_TRIED = ("logistic_regression", "decision_tree", "torch_mlp")  # the first that runs the attack is used
BATCHED = [spec for spec in ATTACKS if spec.batch_size({}) is not None and spec.batch_size({}) < 200]  # not FGM
SETTINGS = {"pgd": {"num_random_init": 1}, "hop_skip_jump": {"max_iter": 2, "max_eval": 100, "init_size": 10},
            "boundary": {"max_iter": 10, "init_size": 10}, "zoo": {"max_iter": 5},
            "cw_l2": {"max_iter": 3, "binary_search_steps": 1}, "cw_linf": {"max_iter": 3},
            "elastic_net": {"max_iter": 3, "binary_search_steps": 1}}


def _case(spec):
    model_name = next(m for m in MODELS_TRIED if spec.unsupported_reason(MODELS.get(m)) is None)
    scenario = Scenario(dataset="breast_cancer", scaling="standard", test_size=0.5, model=model_name,
                        attack=spec.name, eps=0.3, norm=spec.norms[0])
    split = prepare_split(scenario)
    assert split.clip_values is None
    model = fit_model(scenario, split)
    batch = spec.batch_size(SETTINGS.get(spec.name, {}))
    # A whole batch and a part one (a few points for the slow per-point attacks).
    return scenario, subsample(split, batch + 3, 0), model, batch


@pytest.mark.parametrize("spec", BATCHED, ids=lambda spec: spec.name)
def test_a_run_in_batches_gives_the_examples_of_one_run(spec):
    scenario, split, model, batch = _case(spec)
    params = SETTINGS.get(spec.name, {})
    run = lambda done=None: attack_run(spec, model.classifier, split.X_test, split.y_test, 0.3,  # noqa: E731
                                       scenario.norm, params, 7, unbounded=True, done=done)
    shares: list[float] = []
    batched = run(shares.append)
    whole = run()
    np.testing.assert_array_equal(batched, whole)
    n = len(split.y_test)
    expected = [min(end, n) / n for end in range(batch, n + batch, batch)]
    assert shares == pytest.approx(expected) and len(shares) >= 2


def test_the_attack_labs_run_with_progress_equals_the_direct_call():
    """run_attack with a progress callback (how the Attack Lab runs it) against the plain call; the bar goes
    up to the end and never back."""
    scenario = Scenario(dataset="breast_cancer", scaling="minmax", model="logistic_regression", attack="pgd",
                        eps=0.2, attack_params=(("max_iter", 5),))
    split = prepare_split(scenario)
    model = fit_model(scenario, split)
    seen: list[float] = []
    with_bar = run_attack(scenario, split, model, progress=lambda fraction, text: seen.append(fraction))
    plain = run_attack(scenario, split, model)
    np.testing.assert_array_equal(with_bar.X_adv, plain.X_adv)
    np.testing.assert_array_equal(with_bar.pred_adv, plain.pred_adv)
    assert len(seen) >= 4 and seen == sorted(seen) and seen[-1] == 1.0
