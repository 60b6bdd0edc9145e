"""What ART only logs (to a logger nobody reads) reaches the user as notes on the outcome."""

from dataclasses import replace

import pytest

from qulab.core.experiment import Scenario
from qulab.evaluation.pipeline import fit_model, prepare_split, run_attack

CANCER = Scenario(dataset="breast_cancer", scaling="minmax", norm="2", eps=0.5)


@pytest.fixture(scope="module")
def fitted():
    split = prepare_split(CANCER)
    split = replace(split, X_test=split.X_test[:15], y_test=split.y_test[:15])
    return split, fit_model(CANCER, split)


def test_hop_skip_jump_without_a_starting_point_says_so(fitted):
    split, model = fitted
    scenario = replace(CANCER, attack="hop_skip_jump", attack_params=(("init_size", 10), ("max_iter", 2)))
    notes = run_attack(scenario, split, model).notes
    assert len(notes) == 1
    assert "Failed to draw a random starting point that the model misclassifies" in notes[0]  # tabular data
    assert "init_size" in notes[0]


def test_deepfool_on_probabilities_is_flagged(fitted):
    split, model = fitted
    notes = run_attack(replace(CANCER, attack="deepfool"), split, model).notes
    assert any("overshoots" in note for note in notes)


def test_a_clean_run_has_no_notes(fitted):
    split, model = fitted
    outcome = run_attack(replace(CANCER, attack="fgm"), split, model)
    assert outcome.notes == () and outcome.summary()["notes"] == []
