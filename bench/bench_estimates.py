"""Learned run-time estimates against measured times: each attack × model run is done once on ``--learn`` points
after a 2-point warm-up like the app's pilot (its time recorded in a :class:`qulab.evaluation.estimates.
MeasuredTimes`), then measured again on ``--points`` other points; the estimate for the second run is the first
run's time scaled by points. Each defence evaluation (the Defences page's) is done once at eps 0.1 (its undefended
and defended sides recorded, :func:`qulab.defences.record_times`), then measured at eps 0.2 on another seed's split,
undefended side included, as the page computes it; its estimate is :func:`qulab.defences.learned_estimate` (the
first guess, before anything was measured, is printed too). Prints each estimate, the measured time and their
ratio, and exits 1 when the ratio of a run measured at :data:`JUDGED_FROM` s or more is outside [1/2, 2] (shorter
runs are printed, not judged: the app starts them without a button, and on a shared machine their timer noise is
of their own size).

    .venv/bin/python bench/bench_estimates.py [--points 60] [--learn 30] [--dataset breast_cancer] [--only defences]
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
DEFENCE_RUNS = [  # (model, attack, norm, defence, its params): the adversarial training, a sanitiser, noise
    ("logistic_regression", "pgd", "inf", "adversarial_training", {}),
    ("torch_mlp", "pgd", "inf", "adversarial_training", {"epochs": 5}),
    ("torch_mlp", "fgm", "inf", "feature_squeezing", {}),
    ("logistic_regression", "deepfool", "2", "gaussian_noise", {}),
]
WITHIN = 2.0
JUDGED_FROM = 1.0  # seconds: the "every run over a second"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=60, help="test points of the measured run")
    parser.add_argument("--learn", type=int, default=30, help="test points of the run the estimate learns from")
    parser.add_argument("--dataset", default="breast_cancer")
    parser.add_argument("--only", choices=("attacks", "defences"), help="one of the two parts")
    args = parser.parse_args()
    rows = ([] if args.only == "defences" else attack_rows(args)) + ([] if args.only == "attacks" else
                                                                      defence_rows(args.dataset))
    judged = [r for r in rows if r[3] >= JUDGED_FROM]
    outside = [r for r in judged if not 1 / WITHIN <= r[4] <= WITHIN]
    print(f"summary: {len(judged) - len(outside)} of {len(judged)} runs of {JUDGED_FROM:g} s or more estimated "
          f"within {WITHIN:g}× of the measured time; all ratios {min(r[4] for r in rows):.2f}–"
          f"{max(r[4] for r in rows):.2f}")
    for what, model_name, *_ in outside:
        print(f"OUTSIDE {WITHIN:g}×: {what} × {model_name}")
    return 1 if outside else 0


def defence_rows(dataset: str) -> list[tuple]:
    from dataclasses import replace

    from qulab.defences import evaluate_defence, learned_estimate, record_times, undefended_baseline
    from qulab.defences.running import warm_up_torch

    warm_up_torch()  # the app does it in the background at start-up
    times = MeasuredTimes()
    rows = []
    for model_name, attack, norm, defence, params in DEFENCE_RUNS:
        learn = Scenario(dataset=dataset, scaling="minmax", model=model_name, attack=attack, norm=norm,
                         eps=0.1 if norm == "inf" else 0.5)
        split = prepare_split(learn)
        n_rows, n_train = len(split.y_train) + len(split.y_test), len(split.y_train)
        guess = learned_estimate(times, learn, defence, params, n_rows, n_train, with_baseline=True)
        baseline = undefended_baseline(learn)
        record_times(times, evaluate_defence(learn, defence, params, baseline=baseline), baseline, n_rows)
        measured_scenario = replace(learn, eps=2 * learn.eps, seed=learn.seed + 1)
        estimate = learned_estimate(times, measured_scenario, defence, params, n_rows, n_train, with_baseline=True)
        baseline = undefended_baseline(measured_scenario)
        measured = baseline.seconds + evaluate_defence(measured_scenario, defence, params, baseline=baseline).seconds
        ratio = estimate / measured if measured > 0 else float("inf")
        rows.append((f"{defence} ({attack})", model_name, estimate, measured, ratio))
        print(f"{defence + ' (' + attack + ')':>34} × {model_name:<20} estimate {estimate:8.2f} s  measured "
              f"{measured:8.2f} s  ratio {ratio:5.2f}   (first guess {guess:6.2f} s, ratio {guess / measured:5.2f})",
              flush=True)
    return rows


def attack_rows(args: argparse.Namespace) -> list[tuple]:
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
        print(f"{attack:>34} × {model_name:<20} estimate {estimate:8.2f} s  measured {measured:8.2f} s  "
              f"ratio {ratio:5.2f}", flush=True)
    return rows


if __name__ == "__main__":
    sys.exit(main())
