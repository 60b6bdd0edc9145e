"""Cost of each poisoning attack and detector against a plain fit of the same model on the same split, in one run.

    .venv/bin/python bench/bench_poisoning.py [--repeats 3]

For every registered attack (and every registered detector, on the training set that attack poisoned) and each
case below where the entry runs, the median time of the entry's own step — ``poison`` or ``flag`` — over the
repeats, next to the median time of fitting the case's model on the clean training set: the ratio is what carries
over to other hosts. The whole run of a scenario (clean fit, poisoned fit, detector, refit) is timed too. Entries
added later (e.g. the PyTorch ones) are picked up from the registries; a case an entry cannot take is skipped with
its reason.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qulab.core.registry import InvalidInput, resolve_params  # noqa: E402
from qulab.evaluation.pipeline import fit_model  # noqa: E402
from qulab.models.registry import MODELS  # noqa: E402
from qulab.threats.poisoning.attacks import POISONING_ATTACKS  # noqa: E402
from qulab.threats.poisoning.defences import POISONING_DEFENCES  # noqa: E402
from qulab.threats.poisoning.experiment import PoisoningScenario  # noqa: E402
from qulab.threats.poisoning.run import check_data, poison_split, prepare, run_poisoning  # noqa: E402

RATE = 0.1
CASES = (
    PoisoningScenario(dataset="breast_cancer", scaling="standard", model="logistic_regression", rate=RATE),
    PoisoningScenario(dataset="moons", dataset_params=(("n_samples", 2000),), model="decision_tree", rate=RATE),
    PoisoningScenario(dataset="digits", model="logistic_regression", rate=RATE),
)


LONG_STEP = 5.0  # seconds: one sample of a step this long is enough (RONI on digits refits dozens of times)


def median_seconds(repeats: int, step, *args) -> float:
    """The median time of ``step(*args)`` over the repeats (one run for a long step)."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(*args)
        samples.append(time.perf_counter() - start)
        if samples[-1] > LONG_STEP:
            break
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(f"{'data':<14}{'model':<21}{'step':<40}{'fit s':>8}{'step s':>9}{'ratio':>8}{'whole run s':>13}")
    for case in CASES:
        split, clean_model = prepare(case)
        fit = median_seconds(args.repeats, fit_model, case.clean_scenario(), split)
        for attack in POISONING_ATTACKS:
            scenario = replace(case, attack=attack.name, target_class=0 if attack.needs_target else None)
            try:
                scenario.validate()
                check_data(scenario, split)
                poisoned = poison_split(scenario, split, clean_model)  # some refuse only once they see the data
            except InvalidInput as reason:
                print(f"{case.dataset:<14}{case.model:<21}{attack.name:<40}skipped: {reason}")
                continue
            cost = median_seconds(args.repeats, poison_split, scenario, split, clean_model)
            whole = run_poisoning(scenario, split=split, clean_model=clean_model).seconds
            print(f"{case.dataset:<14}{case.model:<21}{attack.name:<40}{fit:>8.3f}{cost:>9.3f}{cost / fit:>8.2f}"
                  f"{whole:>13.2f}", flush=True)
            seen = replace(split, X_train=poisoned.X_train, y_train=poisoned.y_train)
            poisoned_model = fit_model(case.clean_scenario(), seen)
            for defence in POISONING_DEFENCES:
                reason = defence.unsupported_reason(MODELS.get(case.model), split.image_shape is not None)
                step = f"  {defence.name} (on {attack.name})"
                if reason:
                    print(f"{case.dataset:<14}{case.model:<21}{step:<40}skipped: {reason}")
                    continue
                params = resolve_params(defence.params, {})
                cost = median_seconds(args.repeats, defence.flag, seen, poisoned_model, params,
                                      np.random.default_rng(0))
                whole = run_poisoning(replace(scenario, defence=defence.name), split=split,
                                      clean_model=clean_model).seconds
                print(f"{case.dataset:<14}{case.model:<21}{step:<40}{fit:>8.3f}{cost:>9.3f}{cost / fit:>8.2f}"
                      f"{whole:>13.2f}", flush=True)


if __name__ == "__main__":
    main()
