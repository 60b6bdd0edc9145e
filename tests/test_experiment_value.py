"""The experiment value and the threat model: round trips, and every refusal at the library's edge with its sentence.

The cases are generated from the registries, so a new attack, model, data set or defence is covered by adding its
entry.
"""

import json
import math
import re
from dataclasses import replace

import pytest

from qulab import cli
from qulab.core.experiment import MAX_EPS, Scenario
from qulab.core.registry import InvalidInput, Param
from qulab.core.threat import (
    BLACK_BOX,
    DEPLOYMENT,
    EVASION,
    GRADIENTS,
    NORM_NAMES,
    NORMS,
    SCORES,
    WHITE_BOX,
    ThreatModel,
    evasion,
)
from qulab.data.datasets import DATASETS
from qulab.defences import DEFENCES
from qulab.models.registry import MODELS
from qulab.threats.evasion.attacks import ATTACKS

ENTRIES = {"dataset": DATASETS, "model": MODELS, "attack": ATTACKS, "defence": DEFENCES}


def _unusual(param: Param):
    """A valid value other than the default, with an awkward float to test exact round trips."""
    if param.kind == "choice":
        return param.choices[-1]
    if param.kind == "bool":
        return not param.default
    if param.kind == "int":
        return int(param.high)
    return param.low + (param.high - param.low) / 3


def _with_every_param(kind: str, name: str) -> Scenario:
    """A valid scenario that names ``name`` as its ``kind`` and sets each of its parameters to an unusual value."""
    base = Scenario(dataset="digits", scaling="minmax", seed=7, test_size=0.3) if kind == "model" else Scenario(
        seed=7, test_size=0.3)
    entry = ENTRIES[kind].get(name)
    params = tuple((p.name, _unusual(p)) for p in entry.params)
    changes = {kind: name, f"{kind}_params": params}
    if kind == "attack":
        changes.update(norm=entry.norms[-1], eps=0.30000000000000004, model=_model_for(entry))
    if kind == "model":
        attack = next(a for a in ATTACKS if a.unsupported_reason(entry, a.min_classes, images=True) is None)
        changes.update(attack=attack.name, norm=attack.norms[0])
    if kind == "defence":
        changes.update(model=entry.models[0])
    return replace(base, **changes)


def _model_for(attack) -> str:
    """The first model that can give the attack what it needs."""
    return next(m.name for m in MODELS if attack.unsupported_reason(m, attack.min_classes, images=True) is None)


ROUND_TRIP = [pytest.param(_with_every_param(kind, name), id=f"{kind}-{name}")
              for kind, registry in ENTRIES.items() for name in registry.names()]


@pytest.mark.parametrize("scenario", ROUND_TRIP)
def test_every_entry_round_trips_through_dict_json_and_query(scenario):
    scenario.validate()
    for back in (Scenario.from_dict(scenario.to_dict()), Scenario.from_json(scenario.to_json()),
                 Scenario.from_query(scenario.to_query()), Scenario.from_query(scenario.query_params())):
        assert back == scenario and hash(back) == hash(scenario)
        assert back.to_dict() == scenario.to_dict()  # same values, same types
    assert json.loads(scenario.to_json()) == scenario.to_dict()


def test_query_string_is_readable_and_keeps_old_data_links():
    scenario = Scenario(dataset="moons", dataset_params=(("noise", 0.3),), attack="pgd", norm="2", eps=0.5,
                        attack_params=(("max_iter", 7),), defence="gaussian_noise", defence_params=(("sigma", 0.2),))
    assert scenario.to_query() == ("data=moons&attack=pgd&eps=0.5&norm=2&defence=gaussian_noise&noise=0.3"
                                   "&attack.max_iter=7&defence.sigma=0.2")
    assert Scenario().to_query() == ""  # defaults are left out
    assert Scenario.from_query("?data=moons&noise=0.3") == Scenario(dataset="moons", dataset_params=(("noise", 0.3),))


def test_a_csv_file_round_trips_with_its_class_column_as_text():
    scenario = Scenario(dataset="csv:data/train set.csv", dataset_params=(("target", "label"),), seed=3)
    assert scenario.to_query() == "data=csv%3Adata%2Ftrain+set.csv&seed=3&target=label"
    for back in (Scenario.from_query(scenario.to_query()), Scenario.from_json(scenario.to_json())):
        assert back == scenario and hash(back) == hash(scenario)


def test_parameters_are_kept_in_name_order_so_equal_scenarios_hash_alike():
    one = Scenario(model="torch_mlp", model_params=(("hidden", 8), ("epochs", 5)))
    other = Scenario(model="torch_mlp", model_params=(("epochs", 5), ("hidden", 8)))
    assert one == other and hash(one) == hash(other) and len({one, other}) == 1
    assert one.model_params == (("epochs", 5), ("hidden", 8))


# ---------------------------------------------------------------------------------------------------------
# Refused when made: the shape of the value


CONSTRUCTION = [
    ({"norm": "3"}, "The norm must be one of inf, 2, 1, not '3'."),
    ({"eps": -0.1}, "The budget eps must be non-negative, not -0.1."),
    ({"eps": math.nan}, "The budget eps must be a finite number, not nan."),
    ({"eps": math.inf}, "The budget eps must be a finite number, not inf."),
    ({"eps": "0.1"}, "The budget eps must be a finite number, not '0.1'."),
    ({"seed": -1}, "The seed must be a whole number from 0 to 4294967295, not -1."),
    ({"seed": 2**32}, "The seed must be a whole number from 0 to 4294967295, not 4294967296."),
    ({"seed": 1.5}, "The seed must be a whole number from 0 to 4294967295, not 1.5."),
    ({"seed": True}, "The seed must be a whole number from 0 to 4294967295, not True."),
    ({"test_size": 0.0}, "The test size must be between 0 and 1, not 0.0."),
    ({"test_size": 1}, "The test size must be between 0 and 1, not 1."),
    ({"test_size": math.nan}, "The test size must be between 0 and 1, not nan."),
    ({"attack": 3}, "The attack must be a name, not 3."),
    ({"attack_params": (("max_iter", [1, 2]),)}, "attack_params must be distinct (name, value) pairs"),
    ({"attack_params": (("max_iter", 1), ("max_iter", 2))}, "attack_params must be distinct (name, value) pairs"),
]


@pytest.mark.parametrize(("fields", "sentence"), CONSTRUCTION, ids=[str(f) for f, _ in CONSTRUCTION])
def test_construction_refuses_with_one_sentence(fields, sentence):
    with pytest.raises(InvalidInput) as refused:
        Scenario(**fields)
    assert str(refused.value).startswith(sentence) and "\n" not in str(refused.value)


@pytest.mark.parametrize("norm", NORMS)
def test_each_norm_has_its_own_budget_bound(norm):
    """L2 and L1 lengths of a per-feature change of 1e4 on 500 features: √500 and 500 times the L∞ bound."""
    bound = {"inf": 1e4, "2": 1e4 * 500**0.5, "1": 1e4 * 500}[norm]
    assert MAX_EPS[norm] == pytest.approx(bound)
    assert Scenario(norm=norm, eps=bound).eps == bound
    sentence = f"The budget eps must be at most {bound:g} in the {NORM_NAMES[norm]} norm"
    with pytest.raises(InvalidInput, match=re.escape(sentence)):
        Scenario(norm=norm, eps=bound * 1.001)


# ---------------------------------------------------------------------------------------------------------
# Refused by validate(): the names and parameters, against the registries


@pytest.mark.parametrize("kind", ENTRIES)
def test_unknown_names_are_refused_naming_the_choices(kind):
    registry = ENTRIES[kind]
    with pytest.raises(InvalidInput) as refused:
        Scenario(**{kind: "no_such_thing"}).validate()
    assert str(refused.value) == (f"unknown {registry.kind} 'no_such_thing'; choose from "
                                  f"{', '.join(registry.names())}")


NORM_CASES = [(a.name, n) for a in ATTACKS for n in NORMS if n not in a.norms]


@pytest.mark.parametrize(("attack", "norm"), NORM_CASES, ids=[f"{a}-L{n}" for a, n in NORM_CASES])
def test_a_norm_the_attack_lacks_is_refused(attack, norm):
    spec = ATTACKS.get(attack)
    with pytest.raises(InvalidInput) as refused:
        Scenario(attack=attack, norm=norm).validate()
    sentence = str(refused.value)
    assert sentence.startswith(f"{spec.label} works in the ") and sentence.endswith(f", not {NORM_NAMES[norm]}.")
    assert all(NORM_NAMES[n] in sentence for n in spec.norms) and sentence.count(".") == 1


PAIRS = [(a.name, m.name) for a in ATTACKS for m in MODELS]


@pytest.mark.parametrize(("attack", "model"), PAIRS, ids=[f"{a}-{m}" for a, m in PAIRS])
def test_a_model_that_cannot_give_the_attack_what_it_needs_is_refused(attack, model):
    """Access (gradients, scores, the tree) and a network are the model's to give; classes and images are the
    data's and are checked once the data is split."""
    spec, model_spec = ATTACKS.get(attack), MODELS.get(model)
    scenario = Scenario(attack=attack, model=model, norm=spec.norms[0])
    cannot = not spec.needs <= model_spec.exposes or (
        (spec.needs_neural or spec.needs_neural_images) and model_spec.family != "neural")
    if cannot:
        with pytest.raises(InvalidInput) as refused:
            scenario.validate()
        assert str(refused.value).startswith(spec.label) and "\n" not in str(refused.value)
    else:
        assert scenario.validate() is scenario


@pytest.mark.parametrize(("kind", "name"), [(k, e.name) for k, r in ENTRIES.items() for e in r])
def test_an_unknown_parameter_is_refused_naming_the_known_ones(kind, name):
    entry = ENTRIES[kind].get(name)
    fit = {"norm": entry.norms[0], "model": _model_for(entry)} if kind == "attack" else {}
    with pytest.raises(InvalidInput) as refused:
        Scenario(**{kind: name, f"{kind}_params": (("no_such", 1),)}, **fit).validate()
    known = ", ".join(p.name for p in entry.params) or "none"
    assert str(refused.value) == f"{entry.label} has no parameter 'no_such'; its parameters are {known}."


BAD_VALUES = [
    pytest.param(kind, entry.name, param, value, fragment, id=f"{entry.name}-{param.name}-{value}")
    for kind, registry in ENTRIES.items() for entry in registry for param in entry.params
    for value, fragment in (
        [(param.high + abs(param.high) + 1, f"must be between {param.low} and {param.high}")]
        if param.kind in ("int", "float") else [])
    + ([(math.nan, "must be a finite number, not nan"), (math.inf, "must be a finite number, not inf"),
        ("0.1", "must be a number, not '0.1'")] if param.kind == "float" else [])
    + ([(2.5, "must be a whole number, not 2.5"), (True, "must be a whole number, not True")]
       if param.kind == "int" else [])
    + ([("no_such", "must be one of")] if param.kind == "choice" else [])
]


@pytest.mark.parametrize(("kind", "name", "param", "value", "fragment"), BAD_VALUES)
def test_a_parameter_out_of_range_or_of_the_wrong_type_is_refused(kind, name, param, value, fragment):
    entry = ENTRIES[kind].get(name)
    fit = {"norm": entry.norms[0], "model": _model_for(entry)} if kind == "attack" else {}
    with pytest.raises(InvalidInput) as refused:
        Scenario(**{kind: name, f"{kind}_params": ((param.name, value),)}, **fit).validate()
    assert str(refused.value).startswith(f"{entry.label}: {param.name} {fragment}")


def test_defence_parameters_without_a_defence_are_refused():
    with pytest.raises(InvalidInput, match="^Defence parameters were given without a defence.$"):
        Scenario(defence_params=(("sigma", 0.1),)).validate()


def test_evaluate_refuses_before_loading_any_data(monkeypatch):
    """`evaluate(Scenario(attack="bim", norm="2"))` used to run L∞ and report L2."""
    import qulab.evaluation.pipeline as pipeline

    def must_not_run(*_args, **_kwargs):
        raise AssertionError("the data was loaded for a refused scenario")

    monkeypatch.setattr(pipeline, "load_dataset", must_not_run)
    with pytest.raises(InvalidInput, match=r"^Basic Iterative Method works in the L∞ norm only, not L2\.$"):
        pipeline.evaluate(Scenario(attack="bim", norm="2"))


# ---------------------------------------------------------------------------------------------------------
# The URL query


@pytest.mark.parametrize(("query", "sentence"), [
    ("seed=-1", "The seed must be a whole number from 0 to 4294967295, not -1."),
    ("seed=1.5", "The seed '1.5' is not a whole number from 0 to 4294967295."),
    ("eps=big", "The eps 'big' is not a number."),
    ("eps=nan", "The budget eps must be a finite number, not nan."),
    ("attack=pgd&attack.step_fraction=nan", "Projected Gradient Descent: step_fraction must be a finite number"),
    ("attack=pgd&attack.max_iter=x", "max_iter must be an integer, not 'x'"),
    ("attack=bim&norm=2", "Basic Iterative Method works in the L∞ norm only, not L2."),
    ("attack.max_iter=3", "The query key 'attack.max_iter' names no parameter of the attack 'fgm'; its parameters "
                          "are none."),
    ("noise=0.3", "The query key 'noise' names no parameter of the data set 'synthetic'; its parameters are "
                  "n_samples."),
    ("colour=red", "The query key 'colour' names no parameter of the data set 'synthetic'"),
    ("eps=0.1&eps=0.2", "The query gives 'eps' twice."),
    ("data=upload:0123456789ab", "an uploaded file, which a link cannot carry; upload the file again."),
    ("model=nope", "unknown model 'nope'"),
])
def test_bad_queries_are_refused_with_one_sentence(query, sentence):
    with pytest.raises(InvalidInput) as refused:
        Scenario.from_query(query)
    assert sentence in str(refused.value) and "\n" not in str(refused.value)


def test_a_lenient_query_skips_keys_that_belong_to_nothing_here():
    """A page's URL also holds other pages' keys; those are skipped, but a bad value of a known key is not."""
    assert Scenario.from_query({"tab": "2", "data": "iris", "noise": "0.3"}, strict=False) == Scenario(
        dataset="iris")
    with pytest.raises(InvalidInput, match="attack.foo"):
        Scenario.from_query({"attack.foo": "1"}, strict=False)


# ---------------------------------------------------------------------------------------------------------
# Param.validate and the threat model


@pytest.mark.parametrize(("param", "value", "fragment"), [
    (Param("x", "X", 0.5, "h", 0.0, 1.0), math.nan, "finite"),
    (Param("x", "X", 0.5, "h"), -math.inf, "finite"),
    (Param("x", "X", 0.5, "h", 0.0, 1.0), None, "must be a number, not None"),
    (Param("n", "N", 3, "h", 1, 9), 3.0, "must be a whole number, not 3.0"),
    (Param("b", "B", True, "h"), 1, "must be true or false, not 1"),
    (Param("c", "C", "a", "h", choices=("a", "b")), "z", "must be one of a, b, not 'z'"),
])
def test_param_validate_refuses_nan_infinity_and_wrong_types(param, value, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        param.validate(value)
    assert param.validate(param.default) == param.default


def _declares_an_evasion_threat_model(threat):
    assert isinstance(threat, ThreatModel)
    assert (threat.nist_class, threat.stage) == (EVASION, DEPLOYMENT)
    assert threat.norms and set(threat.norms) <= set(NORMS)
    # a black-box attacker gets no gradients; a white-box one uses the model's internals
    assert not (threat.knowledge == BLACK_BOX and threat.access & GRADIENTS)
    assert threat.knowledge != WHITE_BOX or threat.access - {SCORES}
    assert threat.to_dict() == {"nist_class": EVASION, "knowledge": threat.knowledge,
                                "access": sorted(threat.access), "stage": DEPLOYMENT, "norms": list(threat.norms)}


@pytest.mark.parametrize("attack", ATTACKS.names())
def test_every_attack_declares_an_evasion_threat_model(attack):
    spec = ATTACKS.get(attack)
    _declares_an_evasion_threat_model(spec.threat)
    assert (spec.needs, spec.norms, spec.knowledge, spec.nist) == (
        spec.threat.access, spec.threat.norms, spec.threat.knowledge, spec.threat.nist_class)


@pytest.mark.parametrize("defence", DEFENCES.names())
def test_every_defence_declares_the_evasion_threat_model_it_is_evaluated_against(defence):
    """The declared attacker is one the defence's evaluation can field: in each declared norm some registered
    attack has the access the defended model offers, and the declaration is what ``qulab list`` prints."""
    spec = DEFENCES.get(defence)
    _declares_an_evasion_threat_model(spec.threat)
    assert spec.threat.knowledge == WHITE_BOX  # evaluated adaptively: the attacker knows the defence
    for norm in spec.threat.norms:
        assert any(a.threat.covers(norm, spec.offers) for a in ATTACKS), (defence, norm)
    assert spec.offers is None or spec.threat.access <= spec.offers  # no more access than the model gives
    listed = {d["name"]: d for d in cli.listing()["defences"]}
    assert listed[defence]["threat"] == spec.threat.to_dict()


def test_threat_model_checks_its_values_and_answers_coverage():
    threat = evasion(WHITE_BOX, *GRADIENTS, norms=("inf", "2"))
    assert threat.covers("2") and not threat.covers("1")
    assert threat.covers(offered=frozenset(GRADIENTS | {SCORES})) and not threat.covers(offered=frozenset({SCORES}))
    assert threat.norm_reason("2") is None
    assert threat.norm_reason("1", "PGD") == "PGD works in the L∞ or L2 norm, not L1."
    no_budget = ThreatModel("privacy", BLACK_BOX, frozenset({SCORES}), DEPLOYMENT)
    assert no_budget.norm_reason("2", "Membership inference") == (
        "Membership inference has no budget norm, so a norm (L2) does not apply.")
    with pytest.raises(ValueError, match="NIST class"):
        ThreatModel("theft", WHITE_BOX, frozenset(), DEPLOYMENT)
    with pytest.raises(ValueError, match="an access"):
        evasion(WHITE_BOX, "telepathy", norms=("2",))


def test_a_defence_refuses_at_the_edge_what_its_threat_model_and_its_models_exclude(monkeypatch):
    """Before any data: an attack needing access the defended model does not give, a model the defence does not
    run on, and a norm outside the declared threat model (shown by declaring smoothing L2-only here)."""
    from qulab.core.threat import LOSS_GRADIENTS

    smoothing = DEFENCES.get("randomized_smoothing")
    network = Scenario(model="torch_mlp", defence="randomized_smoothing")
    with pytest.raises(InvalidInput) as refused:
        replace(network, attack="deepfool", norm="2").validate()
    assert str(refused.value) == smoothing.attack_reason(ATTACKS.get("deepfool"))
    assert str(refused.value).startswith("Randomized smoothing (certified) gives attacks only loss gradients, "
                                         "and DeepFool needs class gradients.")
    with pytest.raises(InvalidInput, match=r"^Randomized smoothing \(certified\) works with these models only"):
        replace(network, model="logistic_regression").validate()
    monkeypatch.setitem(DEFENCES._entries, "randomized_smoothing",
                        replace(smoothing, threat=evasion(WHITE_BOX, LOSS_GRADIENTS, norms=("2",))))
    with pytest.raises(InvalidInput) as refused:
        network.validate()
    assert str(refused.value) == "Randomized smoothing (certified) works in the L2 norm only, not L∞."
    assert replace(network, norm="2").validate()
    from qulab.defences import evaluate_defence  # the library's own entry refuses it too, before any training

    with pytest.raises(InvalidInput, match=r"^Randomized smoothing \(certified\) works in the L2 norm only, not L∞\.$"):
        evaluate_defence(network, "randomized_smoothing")
