"""Run ids pinned as literal strings, for representative experiment values of every kind.

A run's id is the SHA-256 of its spelled-out experiment (store/run.py), so it is the name every stored run, shared
link and report refers to. A change that moves an id (a renamed field, a default spelled differently, a number
written as 1 instead of 1.0) silently orphans every stored run and breaks every shared link, while every other
test still passes, since they compute ids with the same code. These literals were computed once from the code
and are the one place a pinned literal is right: if one fails, the change broke stored runs; keep the id, or
change it on purpose with a migration of the store.
"""

from __future__ import annotations

import pytest

from qulab.core.experiment import Scenario
from qulab.store.run import id_for, run_for
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.privacy.experiment import PrivacyScenario

PINNED = [
    pytest.param(Scenario(), "4e39538a2ab686430c14c490faf66a65efcd8e7cb44bd58006e453476c8aba30", id="evasion default"),
    pytest.param(Scenario(dataset="moons", dataset_params=(("noise", 0.3),), attack="pgd", eps=0.5, norm="2",
                          attack_params=(("max_iter", 10),)),
                 "418b59b2243e131d26910568ef83c355a3b2581a8b14e5472aee035a18b6e4b3", id="evasion pgd L2"),
    pytest.param(Scenario(dataset="breast_cancer", scaling="minmax", model="rbf_svm", model_params=(("C", 10.0),),
                          attack="hop_skip_jump", eps=0.3, seed=7, test_size=0.3),
                 "b02e705d81bdfc68c36114ee76370575d22858741efd53f08caa8aafe4f61ef9", id="evasion rbf svm seeded"),
    pytest.param(Scenario(dataset="digits", model="torch_mlp", attack="pgd", eps=0.3, defence="feature_squeezing",
                          defence_params=(("bit_depth", 1),)),
                 "52276250392d8c8295c82660fdebbc8b46f54b07aaa7fe22d9b0a4fe017d7a91", id="defence"),
    pytest.param(Scenario(attack="pgd", defence="adversarial_training"),
                 "6e5874825335bcd00cfed725dc7c7a296e44f94c8d4ffb1178333a81bdadc019", id="defence at its defaults"),
    pytest.param(PoisoningScenario(),
                 "8645604a437abeae08085b6aa2f498fe6499ff230257b519689cda226da420f7", id="poisoning default"),
    pytest.param(PoisoningScenario(dataset="digits", model="decision_tree", attack="backdoor", rate=0.1,
                                   target_class=0, attack_params=(("level", 2.0),)),
                 "6287f8b66de37225f6e53c55e169801bd5292ec5f46f05713abb5d096294500f", id="poisoning backdoor"),
    pytest.param(PoisoningScenario(dataset="moons", attack="label_flip", rate=0.3, defence="knn_cleaning",
                                   defence_params=(("k", 5),), seed=3),
                 "7340194d69d2a5fac394d3a20388ec2abe195aecfdf52cd09b0422d88956fc69", id="poisoning defended"),
    pytest.param(PoisoningScenario(dataset="breast_cancer", model="linear_svm", attack="svm_poisoning", rate=0.05,
                                   scaling="standard"),
                 "a96c8779a07b360939f5b0ca070e265b8931c7cf3624815981711f1da00e11b2", id="poisoning svm"),
    pytest.param(PrivacyScenario(),
                 "3ff394e7bca48192ba847456a411a98d066a40b3659edad90ccac1853a3c2dce", id="privacy default"),
    pytest.param(PrivacyScenario(dataset="digits", model="random_forest", attack="membership_lira",
                                 attack_params=(("n_reference", 8),)),
                 "57da5e28b59c4cbff4686deb6c75e2400556dcc298c8b4a5f8d2bde10e51fcae", id="privacy lira"),
    pytest.param(PrivacyScenario(model="torch_mlp", attack="membership_gap", defence="dp_sgd",
                                 defence_params=(("epsilon", 1.0),)),
                 "d03e122e16a77e3af24f9e7308541b8886540b30e7c0e23a8a991aa4c4cae6d7", id="privacy dp-sgd"),
    pytest.param(PrivacyScenario(dataset="wine", model="logistic_regression", attack="extraction_equation_solving",
                                 test_size=0.4, scaling="standard"),
                 "d88a64ead28a2d45ed97d5bda158ed74edea04b8783bd64fbed956efbf233976", id="privacy extraction"),
]


@pytest.mark.parametrize(("value", "pinned"), PINNED)
def test_the_run_id_of_an_experiment_value_never_changes(value, pinned):
    assert value.validate() is value
    assert id_for(value) == pinned
    assert run_for(value, {"clean_accuracy": 0.5}).id == pinned  # results are not part of the name


@pytest.mark.parametrize(("whole", "real"), [
    (PoisoningScenario(rate=1), PoisoningScenario(rate=1.0)),
    (PoisoningScenario(rate=0), PoisoningScenario(rate=0.0)),
    (Scenario(eps=1), Scenario(eps=1.0)),
    (Scenario(model="rbf_svm", model_params=(("C", 10),)), Scenario(model="rbf_svm", model_params=(("C", 10.0),))),
    (PoisoningScenario(attack="backdoor", attack_params=(("level", 2),)),
     PoisoningScenario(attack="backdoor", attack_params=(("level", 2.0),))),
    (PrivacyScenario(model="torch_mlp", defence="dp_sgd", defence_params=(("epsilon", 1),)),
     PrivacyScenario(model="torch_mlp", defence="dp_sgd", defence_params=(("epsilon", 1.0),))),
], ids=["poison rate 1", "poison rate 0", "eps", "model C", "attack level", "defence epsilon"])
def test_a_whole_number_for_a_float_is_the_same_run(whole, real):
    """JSON writes 1 and 1.0 differently, so a number is spelled by its field's or parameter's type before it is
    hashed: code or a JSON file giving 1 names the run the page (a float slider) and the CLI (1.0) name."""
    assert id_for(whole.validate()) == id_for(real.validate())
