"""Training time of each defence against the undefended fit of the same model, in one run (ratios, one run each);
then the Defences page's way of comparing several defences (the undefended side computed once and shared) against
evaluating each defence on its own, with the same numbers asserted.

    .venv/bin/python bench/bench_defences.py

Sanitisers reuse the undefended model (ratio 1 by construction); the training defences and randomized
smoothing train a model of their own. Numbers are from this host; the ratio is what carries over.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qulab.core.experiment import Scenario  # noqa: E402
from qulab.defences import DEFENCES, evaluate_defence, undefended_baseline  # noqa: E402

CANCER = dict(dataset="breast_cancer", scaling="minmax", attack="pgd", eps=0.1)
DIGITS = dict(dataset="digits", attack="pgd", eps=0.1)
CASES = [
    (Scenario(model="logistic_regression", **CANCER), ("adversarial_training", "naive_augmentation",
                                                        "feature_squeezing", "gaussian_noise")),
    (Scenario(model="torch_mlp", **CANCER), ("adversarial_training", "naive_augmentation", "randomized_smoothing")),
    # The RBF SVM exposes gradients, so the sanitisers and naive augmentation run on it (the hand-kept list missed it).
    (Scenario(model="rbf_svm", **CANCER), ("naive_augmentation", "feature_squeezing", "gaussian_noise")),
    (Scenario(model="torch_cnn", **DIGITS), ("adversarial_training", "spatial_smoothing", "jpeg_compression",
                                             "randomized_smoothing")),
]


def main() -> None:
    warnings.filterwarnings("ignore")
    print(f"{'data':<14}{'model':<21}{'defence':<22}{'undefended s':>13}{'defended s':>12}{'ratio':>8}"
          f"{'clean':>14}{'robust@0.1':>14}")
    for scenario, names in CASES:
        for name in names:
            o = evaluate_defence(scenario, name, eps_grid=(scenario.eps,))
            robust = f"{o.robust_undefended:.2f}->{o.robust_defended:.2f}"
            print(f"{scenario.dataset:<14}{scenario.model:<21}{DEFENCES.get(name).name:<22}"
                  f"{o.fit_seconds_undefended:>13.2f}{o.fit_seconds_defended:>12.2f}{o.training_ratio:>8.1f}"
                  f"{o.clean_undefended:>7.2f}->{o.clean_defended:.2f}{robust:>14}", flush=True)


def shared_baseline() -> None:
    """Three sanitisers on the digits CNN (default five budgets), as the page evaluates them and one by one."""
    scenario = Scenario(model="torch_cnn", **DIGITS)
    names = ("feature_squeezing", "spatial_smoothing", "jpeg_compression")
    start = time.perf_counter()
    alone = [evaluate_defence(scenario, name) for name in names]
    seconds_alone = time.perf_counter() - start
    start = time.perf_counter()
    baseline = undefended_baseline(scenario)
    shared = [evaluate_defence(scenario, name, baseline=baseline) for name in names]
    seconds_shared = time.perf_counter() - start
    for a, b in zip(alone, shared, strict=True):
        assert (a.curve_undefended, a.curve_defended, a.curve_nonadaptive) == (
            b.curve_undefended, b.curve_defended, b.curve_nonadaptive)
    print(f"\n3 sanitisers, digits CNN, 5 budgets: each on its own {seconds_alone:.1f} s, undefended side shared "
          f"{seconds_shared:.1f} s, ratio {seconds_alone / seconds_shared:.2f}x (same numbers)")


if __name__ == "__main__":
    main()
    shared_baseline()
