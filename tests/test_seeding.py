"""Random attacks give the same numbers for the same scenario seed, whatever ran before them."""

import ast
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import qulab
from qulab.core.experiment import Scenario
from qulab.core.randomness import seeded
from qulab.core.registry import resolve_params
from qulab.defences import DEFENCES, DefenceSpec, evaluate_defence, undefended_baseline
from qulab.evaluation.curves import attack_curve
from qulab.evaluation.pipeline import fit_model, prepare_split, run_attack, subsample
from qulab.models.registry import MODELS
from qulab.threats.evasion.attacks import ATTACKS

HSJ = Scenario(dataset="breast_cancer", scaling="minmax", attack="hop_skip_jump", norm="2", eps=0.3,
               attack_params=(("max_iter", 3), ("max_eval", 100), ("init_size", 20)))


@pytest.fixture(scope="module")
def fitted():
    split = prepare_split(HSJ)
    return subsample(split, 12, 0), fit_model(HSJ, split)


def _disturb(seed: int) -> None:
    np.random.seed(seed)
    random.seed(seed)


def test_a_random_attack_repeats_exactly_whatever_the_global_state(fitted):
    """HopSkipJump draws its start from an OS-seeded RandomState in ART; without QuLab's fix two runs on these
    points differ by up to 0.0105 per feature."""
    split, model = fitted
    _disturb(1)
    first = run_attack(HSJ, split, model).X_adv
    _disturb(2)
    second = run_attack(HSJ, split, model).X_adv
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, split.X_test)  # it did attack


def test_the_seed_changes_the_draws(fitted):
    split, model = fitted
    a = run_attack(HSJ, split, model).X_adv
    b = run_attack(replace(HSJ, seed=7), split, model).X_adv  # same model and points, other attack seed
    assert not np.array_equal(a, b)


def test_a_curve_point_equals_the_single_run_at_that_eps(fitted):
    split, model = fitted
    single = run_attack(HSJ, split, model)
    curve = attack_curve(HSJ, split, model, [0.0, HSJ.eps])
    assert curve.accuracy[1] == pytest.approx(single.adversarial_accuracy)


def test_seeded_restores_the_global_generators():
    _disturb(3)
    before_numpy, before_python = np.random.random(), random.random()
    _disturb(3)
    with seeded(0):
        np.random.random()
        random.random()
    assert (np.random.random(), random.random()) == (before_numpy, before_python)


def test_square_attack_runs_on_the_mlp():
    """Square attacks image inputs; the MLP takes flat rows, so the image view flattens first (it crashed)."""
    scenario = Scenario(dataset="digits", model="torch_mlp", attack="square", eps=0.2,
                        model_params=(("epochs", 5),), attack_params=(("max_iter", 10),))
    split = prepare_split(scenario)
    model = fit_model(scenario, split)
    outcome = run_attack(scenario, subsample(split, 20, 0), model)
    assert np.abs(outcome.X_adv - outcome.X_test).max() <= 0.2 + 1e-6
    assert outcome.adversarial_accuracy <= outcome.clean_accuracy


# The one module allowed to seed or read the process-global generators (it does so under its lock).
GLOBAL_GENERATORS_HOME = "core/randomness.py"
# Constructors of generators of one's own (seeded from the run's seed), which never touch the global state.
OWN_GENERATORS = {"numpy.random." + name for name in ("default_rng", "Generator", "SeedSequence", "PCG64",
                                                      "RandomState")} | {"random.Random", "torch.Generator"}
TORCH_DRAWS = {f"torch.{name}" for name in ("rand", "randn", "randint", "randperm", "rand_like", "randn_like",
                                            "randint_like", "normal", "bernoulli", "multinomial", "poisson")}


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str:
    """``np.random.seed`` → ``numpy.random.seed``, following the file's import aliases; "" for other calls."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return ""
    return ".".join([aliases[node.id], *reversed(parts)])


def _global_generator_calls(source: str) -> list[str]:
    tree = ast.parse(source)
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update({alias.asname or alias.name: alias.name for alias in node.names})
        elif isinstance(node, ast.ImportFrom) and node.module:
            aliases.update({alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names})
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func, aliases)
        global_draw = (name.startswith(("numpy.random.", "random.")) and name not in OWN_GENERATORS) \
            or name in {"torch.manual_seed", "torch.seed", "torch.random.manual_seed", "torch.random.seed",
                        "torch.set_num_threads", "torch.set_num_interop_threads"} \
            or (name in TORCH_DRAWS and not any(k.arg == "generator" for k in node.keywords))
        if global_draw:
            found.append(f"line {node.lineno}: {name}")
    return found


def test_the_scan_finds_each_kind_of_global_draw():
    source = ("import random\nimport numpy as np\nimport torch\nfrom numpy import random as npr\n"
              "np.random.seed(1)\nrandom.seed(1)\ntorch.manual_seed(1)\nnp.random.uniform()\nnpr.choice(3)\n"
              "random.shuffle([])\ntorch.randn(3)\ntorch.set_num_threads(1)\n"
              "np.random.default_rng(1).uniform()\ntorch.randn(3, generator=torch.Generator())\nrandom.Random(1)\n")
    assert _global_generator_calls(source) == [
        "line 5: numpy.random.seed", "line 6: random.seed", "line 7: torch.manual_seed",
        "line 8: numpy.random.uniform", "line 9: numpy.random.choice", "line 10: random.shuffle",
        "line 11: torch.randn", "line 12: torch.set_num_threads"]


def test_only_the_randomness_module_touches_the_global_generators():
    """Everything else draws from generators made from the run's seed and leaves torch's thread count to the shared
    guard, so concurrent sessions cannot disturb one another."""
    root = Path(qulab.__file__).parent
    found = {path.relative_to(root).as_posix(): calls for path in sorted(root.rglob("*.py"))
             if (calls := _global_generator_calls(path.read_text()))}
    assert set(found) == {GLOBAL_GENERATORS_HOME}, found


DETERMINISTIC = [name for name in ATTACKS.names()
                 if not ATTACKS.get(name).draws_globally(resolve_params(ATTACKS.get(name).params, {}))]


def test_the_random_attacks_are_the_ones_declared():
    """What ART 1.20's sources draw from the global generators, by attack (see core/randomness.py)."""
    random_starts = resolve_params(ATTACKS.get("pgd").params, {"num_random_init": 1})
    assert set(ATTACKS.names()) - set(DETERMINISTIC) == {"universal", "hop_skip_jump", "boundary", "zoo", "square",
                                                          "auto_attack"}
    assert ATTACKS.get("pgd").draws_globally(random_starts)


@pytest.mark.parametrize("attack", DETERMINISTIC)
def test_an_attack_declared_deterministic_ignores_the_global_generators(attack):
    """Such an attack runs without the lock, beside other sessions' draws: its examples must not depend on them."""
    import torch
    from test_attack_table import CASES, fitted, small_split

    base, model_name, model_params, attack_params = CASES[attack]
    scenario = replace(base, model=model_name, attack=attack, norm=ATTACKS.get(attack).norms[0],
                       model_params=tuple(sorted(model_params.items())),
                       attack_params=tuple(sorted(attack_params.items())))
    split, model = small_split(scenario), fitted(scenario)
    runs = []
    for seed in (1, 2):
        _disturb(seed)
        torch.manual_seed(seed)
        runs.append(run_attack(scenario, split, model).X_adv)
    np.testing.assert_array_equal(*runs)


def test_pgd_random_starts_follow_the_seed(fitted):
    """Random starts make PGD random (so the concurrency test's PGD draws), from the scenario's seed alone; without
    them PGD starts at the clean point, as before the parameter existed."""
    split, model = fitted
    pgd = replace(HSJ, attack="pgd", norm="inf", eps=0.1, attack_params=(("max_iter", 5), ("num_random_init", 1)))
    by_seed = [run_attack(replace(pgd, seed=seed), split, model).X_adv for seed in (42, 42, 7)]
    np.testing.assert_array_equal(by_seed[0], by_seed[1])
    assert not np.array_equal(by_seed[0], by_seed[2])
    clean_start = replace(pgd, attack_params=(("max_iter", 5),))
    np.testing.assert_array_equal(run_attack(clean_start, split, model).X_adv,
                                  run_attack(replace(clean_start, seed=7), split, model).X_adv)


DEFENCE_TABULAR = Scenario(dataset="breast_cancer", scaling="minmax", eps=0.1)
DEFENCE_MLP = replace(DEFENCE_TABULAR, model="torch_mlp", model_params=(("epochs", 5),))
DEFENCE_IMAGES = Scenario(dataset="digits", eps=0.1)
# (scenario, defence, params, whether its run draws from the global generators): every entry, and adversarial
# training both ways (ART's trainer for networks, the closed form for linear models).
DEFENCE_CASES = {
    "adversarial_training/linear": (DEFENCE_TABULAR, "adversarial_training", {}, False),
    "adversarial_training/torch": (DEFENCE_MLP, "adversarial_training", {"epochs": 2}, True),
    "naive_augmentation/torch": (DEFENCE_MLP, "naive_augmentation", {"epochs": 5}, False),
    "feature_squeezing": (DEFENCE_TABULAR, "feature_squeezing", {}, False),
    "gaussian_noise": (DEFENCE_TABULAR, "gaussian_noise", {}, True),
    "spatial_smoothing": (DEFENCE_IMAGES, "spatial_smoothing", {}, False),
    "jpeg_compression": (DEFENCE_IMAGES, "jpeg_compression", {}, False),
    "randomized_smoothing": (DEFENCE_MLP, "randomized_smoothing", {"epochs": 1, "n_certify": 50}, True),
}


def test_every_defence_has_a_declaration_case():
    assert {case[1] for case in DEFENCE_CASES.values()} == set(DEFENCES.names())


@pytest.mark.parametrize("case", DEFENCE_CASES)
def test_a_defence_draws_globally_exactly_when_it_declares_so(case, monkeypatch):
    """Run unlocked under two global states: a defence declared deterministic (it runs without the lock) gives the
    same numbers, one declared random gives others (so its lock is needed, as ART 1.20.1's sources say:
    GaussianAugmentation and randomized smoothing add np.random / torch noise, AdversarialTrainer shuffles with
    np.random; FeatureSqueezing, SpatialSmoothing, JpegCompression and the closed-form L-BFGS draw nothing)."""
    import torch

    scenario, name, params, random_run = DEFENCE_CASES[case]
    assert DEFENCES.get(name).draws_globally(MODELS.get(scenario.model), resolve_params(
        DEFENCES.get(name).params, params)) is random_run
    grid = (0.0, scenario.eps)
    baseline = undefended_baseline(scenario, grid)
    monkeypatch.setattr(DefenceSpec, "draws_globally", lambda self, model, params: False)
    runs = []
    for seed in (1, 2):
        _disturb(seed)
        torch.manual_seed(seed)
        outcome = evaluate_defence(scenario, name, params, grid, baseline=baseline)
        runs.append({key: value for key, value in outcome.summary().items() if "seconds" not in key}
                    | {"certified_radii": outcome.certified_radii})
    assert (runs[0] != runs[1]) is random_run
