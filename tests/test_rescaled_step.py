"""FGM from a cached unit step (the app's epsilon path) equals a fresh ART FastGradientMethod run."""

import numpy as np
import pytest

from qulab.core.experiment import Scenario
from qulab.evaluation.pipeline import fit_model, prepare_split, run_attack, unit_step


@pytest.mark.parametrize("dataset, model, scaling, norm", [
    ("breast_cancer", "rbf_svm", "minmax", "inf"),
    ("iris", "logistic_regression", "standard", "2"),
    ("digits", "logistic_regression", "none", "inf"),  # digits are clipped to [0, 1]
], ids=["rbf-svm-linf", "multiclass-lr-l2", "clipped-digits"])
def test_rescaled_step_matches_art(dataset, model, scaling, norm):
    base = Scenario(dataset=dataset, model=model, scaling=scaling, norm=norm)
    split = prepare_split(base)
    fitted = fit_model(base, split)
    step = unit_step(base, split, fitted)
    for eps in (0.05, 0.3):
        scenario = base.with_eps(eps)
        fast, fresh = run_attack(scenario, split, fitted, step), run_attack(scenario, split, fitted)
        np.testing.assert_allclose(fast.X_adv, fresh.X_adv, atol=1e-5)
        assert fast.adversarial_accuracy == fresh.adversarial_accuracy


def test_only_rescalable_attacks_have_a_unit_step():
    scenario = Scenario(attack="pgd")
    split = prepare_split(scenario)
    with pytest.raises(ValueError, match="depends on eps"):
        unit_step(scenario, split, fit_model(scenario, split))
