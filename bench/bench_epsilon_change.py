"""An epsilon change on the Attack Demo, server side: QuLab's cached path vs the codelab's way.

The codelab's way regenerates the data, retrains the model and re-wraps it on every rerun before
attacking; QuLab keeps the fitted model and FGM's unit step (st.cache_resource) and re-runs only the rescaled
attack and the figure.
Both are timed in this one process on the same scenario; the ratio is what we report.

    .venv/bin/python bench/bench_epsilon_change.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from art.attacks.evasion import FastGradientMethod
from art.estimators.classification.scikitlearn import SklearnClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from qulab.core.experiment import Scenario
from qulab.data.datasets import make_codelab_classification
from qulab.evaluation.pipeline import fit_model, prepare_split, run_attack, unit_step
from qulab.figures.codelab import build_attack_scatter
from qulab.models.registry import linear_scores


def codelab_rerun(eps: float) -> tuple[float, float]:
    """What the codelab's script does on every slider move."""
    data = make_codelab_classification()
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.2, random_state=42,
                                                        stratify=data.y)
    model = LogisticRegression(max_iter=5000, random_state=42).fit(X_train, y_train)
    classifier = SklearnClassifier(model=model)
    X_adv = FastGradientMethod(classifier, eps=eps).generate(X_test, y=np.eye(2)[y_test])
    pred, pred_adv = model.predict(X_test), model.predict(X_adv)
    build_attack_scatter(X_test, X_adv, pred, pred_adv, data.class_names, data.feature_names)
    return float(np.mean(pred == y_test)), float(np.mean(pred_adv == y_test))


def qulab_rerun(scenario: Scenario, split, model, step) -> tuple[float, float]:
    """QuLab's rerun after an epsilon move: the fitted model and FGM's unit step come from the cache."""
    outcome = run_attack(scenario, split, model, step)
    W, b = linear_scores(model.estimator)
    build_attack_scatter(outcome.X_test, outcome.X_adv, outcome.pred_clean, outcome.pred_adv,
                         split.class_names, split.feature_names, (W[1] - W[0], float(b[1] - b[0])))
    return outcome.clean_accuracy, outcome.adversarial_accuracy


def timed(fn, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    scenario = Scenario(eps=0.3)
    split = prepare_split(scenario)
    model = fit_model(scenario, split)
    step = unit_step(scenario, split, model)
    assert codelab_rerun(0.3) == qulab_rerun(scenario, split, model, step), "both ways must give the same numbers"
    codelab = timed(lambda: codelab_rerun(0.3), args.repeats)
    qulab = timed(lambda: qulab_rerun(scenario, split, model, step), args.repeats)
    print(f"codelab way (regenerate, retrain, attack, figure): {codelab * 1000:8.2f} ms median")
    print(f"QuLab (cached model and step; attack and figure): {qulab * 1000:8.2f} ms median")
    print(f"ratio codelab / QuLab: {codelab / qulab:.2f}x  ({args.repeats} repeats each, one process)")


if __name__ == "__main__":
    main()
