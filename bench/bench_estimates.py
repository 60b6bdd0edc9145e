"""Learned run-time estimates against measured times: each attack × model run is done once on ``--learn`` points
after a 2-point warm-up like the app's pilot (its time recorded in a :class:`qulab.evaluation.estimates.
MeasuredTimes`), then measured again on ``--points`` other points; the estimate for the second run is the first
run's time scaled by points. Prints each estimate, the measured time and their ratio, and exits 1 when the ratio
of a run measured at :data:`JUDGED_FROM` s or more is outside [1/2, 2] (shorter runs are printed, not judged:
the app starts them without a button, and on a shared machine their timer noise is of their own size).

    .venv/bin/python bench/bench_estimates.py [--points 60] [--learn 30] [--dataset breast_cancer]
"""

from __future__ import annotations

import argparse
import sys

from qulab.core.experiment import Scenario
from qulab.evaluation.estimates import MeasuredTimes
from qulab.evaluation.pipeline import fit_model, prepare_split, run_attack, subsample

RUNS = [  # (attack, model, norm): fast gradient attacks, an iterative one, and the decision-based ones the issue names
    ("fgm", "logistic_regression", "inf"),
    ("pgd", "logistic_regression", "inf"),
    ("pgd", "torch_mlp", "inf"),
    ("deepfool", "torch_mlp", "2"),
    ("hop_skip_jump", "rbf_svm", "2"),
    ("boundary", "decision_tree", "2"),
]
WITHIN = 2.0
JUDGED_FROM = 1.0  # seconds: the "every run over a second"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=60, help="test points of the measured run")
    parser.add_argument("--learn", type=int, default=30, help="test points of the run the estimate learns from")
    parser.add_argument("--dataset", default="breast_cancer")
    args = parser.parse_args()
    times = MeasuredTimes()
    rows = []
    for attack, model_name, norm in RUNS:
        scenario = Scenario(dataset=args.dataset, model=model_name, attack=attack, eps=0.3, norm=norm,
                            scaling="standard")
        split = prepare_split(scenario)
        model = fit_model(scenario, split)
        run_attack(scenario, subsample(split, 2, scenario.seed), model)  # one-off costs, as the app's pilot pays
        learned = run_attack(scenario, subsample(split, args.learn, scenario.seed), model)
        times.record((attack, model_name), args.learn, learned.seconds)
        estimate = times.estimate((attack, model_name), args.points)
        measured = run_attack(scenario, subsample(split, args.points, scenario.seed + 1), model).seconds
        ratio = estimate / measured if measured > 0 else float("inf")
        rows.append((attack, model_name, estimate, measured, ratio))
        print(f"{attack:>14} × {model_name:<20} estimate {estimate:8.2f} s  measured {measured:8.2f} s  "
              f"ratio {ratio:5.2f}", flush=True)
    judged = [r for r in rows if r[3] >= JUDGED_FROM]
    outside = [r for r in judged if not 1 / WITHIN <= r[4] <= WITHIN]
    print(f"summary: {len(judged) - len(outside)} of {len(judged)} runs of {JUDGED_FROM:g} s or more estimated "
          f"within {WITHIN:g}× of the measured time; all ratios {min(r[4] for r in rows):.2f}–"
          f"{max(r[4] for r in rows):.2f}")
    for attack, model_name, *_ in outside:
        print(f"OUTSIDE {WITHIN:g}×: {attack} × {model_name}")
    return 1 if outside else 0


if __name__ == "__main__":
    sys.exit(main())
