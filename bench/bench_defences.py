"""Training time of each defence against the undefended fit of the same model, in one run (ratios, one run each).

    .venv/bin/python bench/bench_defences.py

Sanitisers reuse the undefended model (ratio 1 by construction); the training defences and randomized
smoothing train a model of their own. Numbers are from this host; the ratio is what carries over.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qulab.defences import DEFENCES, evaluate_defence  # noqa: E402
from qulab.scenario import Scenario  # noqa: E402

CANCER = dict(dataset="breast_cancer", scaling="minmax", attack="pgd", eps=0.1)
DIGITS = dict(dataset="digits", attack="pgd", eps=0.1)
CASES = [
    (Scenario(model="logistic_regression", **CANCER), ("adversarial_training", "naive_augmentation",
                                                        "feature_squeezing", "gaussian_noise")),
    (Scenario(model="torch_mlp", **CANCER), ("adversarial_training", "naive_augmentation", "randomized_smoothing")),
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


if __name__ == "__main__":
    main()
