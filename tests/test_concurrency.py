"""Random experiments run by many sessions at once give exactly the numbers each gives alone.

Streamlit serves every session from a thread of one process, and ART draws from the process-global generators;
each experiment below draws randomly (random starts, random search, shuffled order, Gaussian noise, a network's
initial weights and batch order). They run in six threads at once, three rounds over, and every array must equal
the one from running that experiment alone. Deterministic defences and the undefended baseline run without the
lock: beside those random runs they too give their numbers alone, and they never wait for the lock.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qulab.core.experiment import Scenario
from qulab.core.randomness import _GLOBAL_GENERATORS
from qulab.defences import evaluate_defence, undefended_baseline
from qulab.evaluation.pipeline import fit_model, prepare_split, run_attack, subsample

TABULAR = Scenario(dataset="breast_cancer", scaling="minmax", eps=0.1)
IMAGES = Scenario(dataset="digits", model="torch_mlp", attack="square", eps=0.2, model_params=(("epochs", 5),),
                  attack_params=(("max_iter", 10),))
PGD_RANDOM_START = Scenario(**{**TABULAR.__dict__, "attack": "pgd",
                               "attack_params": (("max_iter", 5), ("num_random_init", 2))})
HOP_SKIP_JUMP = Scenario(**{**TABULAR.__dict__, "attack": "hop_skip_jump", "norm": "2", "eps": 0.3,
                            "attack_params": (("max_iter", 2), ("max_eval", 100), ("init_size", 20))})
UNIVERSAL = Scenario(**{**TABULAR.__dict__, "attack": "universal", "attack_params": (("max_iter", 2),)})
MLP = Scenario(**{**TABULAR.__dict__, "model": "torch_mlp", "model_params": (("epochs", 5),)})

Experiment = Callable[[], tuple[np.ndarray, ...]]


@pytest.fixture(scope="module")
def experiments() -> dict[str, Experiment]:
    """Six experiments on models fitted once here (read-only afterwards), a few points each."""
    tabular = prepare_split(TABULAR)
    linear = fit_model(TABULAR, tabular)
    few = subsample(tabular, 10, 0)
    images = prepare_split(IMAGES)
    mlp = fit_model(IMAGES, images)
    few_images = subsample(images, 10, 0)

    def attack(scenario: Scenario, split, model) -> Experiment:
        return lambda: (run_attack(scenario, split, model).X_adv,)

    def smoothing() -> tuple[np.ndarray, ...]:
        outcome = evaluate_defence(MLP, "randomized_smoothing", {"epochs": 1, "n_certify": 50},
                                   eps_grid=(0.0, 0.1))
        return np.array(outcome.certified_radii), np.array(outcome.curve_defended)

    return {
        "pgd_random_start": attack(PGD_RANDOM_START, few, linear),
        "hop_skip_jump": attack(HOP_SKIP_JUMP, few, linear),
        "square": attack(IMAGES, few_images, mlp),
        "universal": attack(UNIVERSAL, few, linear),
        "randomized_smoothing": smoothing,
        "mlp_training": lambda: (fit_model(MLP, tabular).estimator.predict_proba(tabular.X_test),),
    }


def test_random_experiments_in_six_threads_equal_each_run_alone(experiments):
    alone = {name: run() for name, run in experiments.items()}
    start = threading.Barrier(len(experiments))

    def together(run: Experiment) -> tuple[np.ndarray, ...]:
        start.wait()
        return run()

    for _ in range(3):
        with ThreadPoolExecutor(len(experiments)) as pool:
            futures = {name: pool.submit(together, run) for name, run in experiments.items()}
            concurrent = {name: future.result() for name, future in futures.items()}
        for name, arrays in concurrent.items():
            for got, expected in zip(arrays, alone[name], strict=True):
                np.testing.assert_array_equal(got, expected, err_msg=name)


def _curves(outcome) -> tuple[np.ndarray, ...]:
    return np.array(outcome.curve_undefended), np.array(outcome.curve_defended), np.array(outcome.curve_nonadaptive)


def test_a_deterministic_defence_and_a_baseline_beside_random_attacks_equal_each_run_alone(experiments):
    """Feature squeezing and the undefended baseline run without the lock, while random attacks take it and seed
    the global generators: their numbers must not move (nor the attacks')."""
    grid = (0.0, 0.1)
    unlocked = {
        "feature_squeezing": lambda: _curves(evaluate_defence(TABULAR, "feature_squeezing", eps_grid=grid)),
        "baseline": lambda: (np.array(undefended_baseline(PGD_RANDOM_START, grid).curve),),
    }
    runs = {**unlocked, **{name: experiments[name] for name in ("pgd_random_start", "hop_skip_jump", "universal")}}
    alone = {name: run() for name, run in runs.items()}
    for _ in range(2):
        with ThreadPoolExecutor(len(runs)) as pool:
            futures = {name: pool.submit(run) for name, run in runs.items()}
            concurrent = {name: future.result() for name, future in futures.items()}
        for name, arrays in concurrent.items():
            for got, expected in zip(arrays, alone[name], strict=True):
                np.testing.assert_array_equal(got, expected, err_msg=name)


@pytest.fixture
def lock_held_elsewhere():
    """The global generators' lock, held by another thread (a long random run in another session) until the end."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _GLOBAL_GENERATORS:
            taken.set()
            release.wait()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    taken.wait()
    yield
    release.set()
    holder.join()


def _finishes(run: Callable[[], object], timeout: float = 300) -> bool:
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    return not worker.is_alive()


def test_a_deterministic_defence_and_the_baseline_never_wait_for_the_lock(lock_held_elsewhere):
    assert _finishes(lambda: evaluate_defence(TABULAR, "feature_squeezing", eps_grid=(0.0, 0.1)))
    assert _finishes(lambda: evaluate_defence(TABULAR, "adversarial_training", eps_grid=(0.0, 0.1)))
