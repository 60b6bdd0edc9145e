"""The server-side cost of an epsilon change in the app with 100,000 test points (FGM on logistic regression).

On a slider move the app keeps the split, the fitted model and FGM's unit step (st.cache_resource) and
re-runs pipeline.run_attack with that step, then the figure builder (figures.build_attack_scatter subsamples
to 150 points). Target: < 0.3 s per move. For reference it also times a fresh ART FastGradientMethod run per
move (what the app would do without the cached step).

    .venv/bin/python bench/bench_app_epsilon.py [--n-test 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from qulab.core.experiment import Scenario
from qulab.data.datasets import make_codelab_classification, split_dataset
from qulab.evaluation.pipeline import fit_model, run_attack, unit_step
from qulab.figures.codelab import build_attack_scatter
from qulab.models.registry import linear_scores

N_TRAIN = 10_000
EPS_MOVES = (0.1, 0.2, 0.3, 0.25, 0.15)


def median_time(fn, eps_values) -> float:
    samples = []
    for eps in eps_values:
        start = time.perf_counter()
        fn(eps)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-test", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1, help="passes over the five epsilon moves")
    args = parser.parse_args()
    data = make_codelab_classification(n_samples=N_TRAIN + args.n_test)
    split = split_dataset(data, test_size=args.n_test / (N_TRAIN + args.n_test), seed=42)
    scenario = Scenario()
    model = fit_model(scenario, split)
    W, b = linear_scores(model.estimator)
    boundary = (W[1] - W[0], float(b[1] - b[0]))
    moves = EPS_MOVES * args.repeats

    start = time.perf_counter()
    step = unit_step(scenario, split, model)  # once per model and norm (st.cache_resource in the app)
    step_seconds = time.perf_counter() - start

    def app_rerun(eps: float) -> float:
        outcome = run_attack(scenario.with_eps(eps), split, model, step)
        build_attack_scatter(outcome.X_test, outcome.X_adv, outcome.pred_clean, outcome.pred_adv,
                             split.class_names, split.feature_names, boundary)
        return outcome.adversarial_accuracy

    pred_clean = model.predict(split.X_test)

    def big_batch_art(eps: float) -> float:
        from art.attacks.evasion import FastGradientMethod

        X_adv = FastGradientMethod(model.classifier, eps=eps, batch_size=len(split.X_test)).generate(
            split.X_test, y=np.eye(2)[split.y_test])
        pred_adv = model.predict(X_adv)
        build_attack_scatter(split.X_test, X_adv, pred_clean, pred_adv, split.class_names, split.feature_names,
                             boundary)
        return float(np.mean(pred_adv == split.y_test))

    for eps in (0.1, 0.3):
        same = [app_rerun(eps), big_batch_art(eps)]
        assert max(same) - min(same) <= 1e-4, f"both paths must agree at eps={eps}: {same}"
    app = median_time(app_rerun, moves)
    big = median_time(big_batch_art, moves)
    print(f"epsilon change, FGM on logistic regression, {len(split.y_test):,} test points "
          f"(median of {len(moves)} moves; figure subsampled to 150 points)")
    print(f"  app path: run_attack with the cached unit step + build_attack_scatter: {app * 1000:9.1f} ms  "
          f"(target < 300 ms: {'met' if app < 0.3 else 'MISSED'}; the step itself, once per model: "
          f"{step_seconds * 1000:.0f} ms)")
    print(f"  ART FastGradientMethod with batch_size={len(split.y_test)} + predict + figure:  {big * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
