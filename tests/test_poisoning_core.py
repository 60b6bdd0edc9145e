"""The poisoning skeleton: the experiment value's round trips and refusals, the registries' declarations, and the
run's bookkeeping (rate 0 is the clean model, the flag metrics against a hand-worked case)."""

from dataclasses import replace

import numpy as np
import pytest

from qulab.core.registry import InvalidInput, Param
from qulab.core.threat import POISONING, TRAINING, TRAINING_DATA
from qulab.models.registry import MODELS
from qulab.threats.poisoning.attacks import POISONING_ATTACKS, Poisoned
from qulab.threats.poisoning.defences import POISONING_DEFENCES, Flagged
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.poisoning.run import PoisoningOutcome, run_poisoning

SMALL = {"dataset": "moons", "dataset_params": (("n_samples", 200),)}


def _unusual(param: Param):
    if param.kind == "choice":
        return param.choices[-1]
    if param.kind == "bool":
        return not param.default
    if param.kind == "int":
        return int(param.high)
    return param.low + (param.high - param.low) / 3


@pytest.mark.parametrize("attack", POISONING_ATTACKS.names())
def test_every_attack_round_trips_through_dict_json_and_query(attack):
    entry = POISONING_ATTACKS.get(attack)
    model = next(m.name for m in MODELS if entry.model_reason(m) is None)  # the first model the attack runs on
    scenario = PoisoningScenario(**SMALL, attack=attack, model=model, rate=0.30000000000000004, target_class=1, seed=7,
                                 attack_params=tuple((p.name, _unusual(p)) for p in entry.params), scaling="minmax")
    assert PoisoningScenario.from_dict(scenario.to_dict()) == scenario
    assert PoisoningScenario.from_json(scenario.to_json()) == scenario
    assert PoisoningScenario.from_query(scenario.to_query()) == scenario
    assert "target_class=1" in scenario.to_query() and "rate=0.30000000000000004" in scenario.to_query()


def test_the_default_scenario_has_an_empty_query_and_no_target_reads_back_as_none():
    assert PoisoningScenario().to_query() == ""
    assert PoisoningScenario.from_query("target_class=").target_class is None


@pytest.mark.parametrize(("changes", "words"), [
    ({"rate": 1.5}, "poison rate must be a share"),
    ({"rate": float("nan")}, "poison rate must be a share"),
    ({"target_class": -1}, "target class must be a class number"),
    ({"target_class": True}, "target class must be a class number"),
    ({"seed": -1}, "seed must be a whole number"),
    ({"test_size": 1.0}, "test size must be between 0 and 1"),
])
def test_bad_shapes_are_refused_in_one_sentence(changes, words):
    with pytest.raises(InvalidInput, match=words):
        PoisoningScenario(**changes)


@pytest.mark.parametrize(("changes", "words"), [
    ({"attack": "nope"}, "unknown poisoning attack 'nope'"),
    ({"defence": "nope"}, "unknown poisoning defence 'nope'"),
    ({"model": "nope"}, "unknown model 'nope'"),
    ({"attack_params": (("nope", 1),)}, "has no parameter 'nope'"),
    ({"defence_params": (("k", 3),)}, "Defence parameters were given without a defence"),
])
def test_bad_names_are_refused_by_validate(changes, words):
    with pytest.raises(InvalidInput, match=words):
        PoisoningScenario(**changes).validate()


def test_query_refusals_name_the_key():
    with pytest.raises(InvalidInput, match="'attack.nope' names no parameter"):
        PoisoningScenario.from_query("attack=label_flip&attack.nope=1")
    with pytest.raises(InvalidInput, match="target class 'x' is not a class number"):
        PoisoningScenario.from_query("target_class=x")


@pytest.mark.parametrize("entry", list(POISONING_ATTACKS), ids=lambda e: e.name)
def test_every_attack_declares_a_poisoning_threat_at_training_time_with_its_paper(entry):
    assert entry.threat.nist_class == POISONING and entry.threat.stage == TRAINING
    assert TRAINING_DATA in entry.threat.access
    assert entry.description.endswith(".") and entry.reference


@pytest.mark.parametrize("entry", list(POISONING_DEFENCES), ids=lambda e: e.name)
def test_every_defence_says_what_it_protects_against_with_its_paper(entry):
    assert entry.description.endswith(".") and entry.protects_against and entry.reference


def test_a_target_class_beyond_the_data_is_refused_in_words():
    with pytest.raises(InvalidInput, match="target class 5 does not exist: this data set has 2 classes"):
        run_poisoning(PoisoningScenario(**SMALL, target_class=5))


def test_rate_zero_is_exactly_the_clean_model():
    outcome = run_poisoning(PoisoningScenario(**SMALL, rate=0.0))
    assert outcome.n_poisoned == 0
    assert np.array_equal(outcome.pred_poisoned, outcome.pred_clean)
    assert outcome.poisoned_accuracy == outcome.clean_accuracy


def _outcome(poisoned_rows, flagged_rows, n=10) -> PoisoningOutcome:
    empty = np.zeros(0, dtype=int)
    poisoned = Poisoned(np.zeros((n, 1)), np.zeros(n, dtype=int), np.array(poisoned_rows, dtype=int))
    return PoisoningOutcome(PoisoningScenario(), n, poisoned, empty, empty, empty, None, None, None,
                            Flagged(np.array(flagged_rows, dtype=int)), empty, None, 0.0)


def test_detection_precision_and_recall_on_a_hand_worked_case():
    outcome = _outcome([1, 2, 3, 4], [3, 4, 5])  # 2 of 3 flags are poison; 2 of 4 poisoned rows found
    assert outcome.detection_precision == pytest.approx(2 / 3)
    assert outcome.detection_recall == pytest.approx(2 / 4)
    assert _outcome([1], []).detection_precision is None  # nothing flagged: precision undefined
    assert _outcome([], [2]).detection_recall is None  # nothing poisoned: recall undefined


def test_the_same_scenario_gives_the_same_numbers_and_another_seed_other_flips():
    scenario = PoisoningScenario(**SMALL, rate=0.2)
    first, again = run_poisoning(scenario), run_poisoning(scenario)
    assert np.array_equal(first.poisoned.indices, again.poisoned.indices)
    assert first.summary() | {"seconds": 0} == again.summary() | {"seconds": 0}
    other = run_poisoning(replace(scenario, seed=43))
    assert not np.array_equal(first.poisoned.indices, other.poisoned.indices)
