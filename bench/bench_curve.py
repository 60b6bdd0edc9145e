"""A 51-point FGM robustness curve: QuLab's curve vs one ART FastGradientMethod.generate per epsilon.

Three comparisons, each timed in this one run (ratios, not absolute times, are what we report):

1. In process, logistic regression on 100,000 test points (make_classification, 2 classes):
   curves.attack_curve (margin arithmetic) vs the ART loop; ratio (target >= 1,000x) and the largest
   accuracy difference in percentage points (target <= 0.5).
2. In process, a non-linear model (PyTorch MLP) on fewer points: one gradient rescaled per eps vs the ART
   loop (target >= 5x).
3. End to end as processes on the same 100,000 test points written as CSV files: `qulab curve` vs an
   equivalent ART-loop script (target >= 10x).

    .venv/bin/python bench/bench_curve.py [--n-test 100000] [--features 10] [--mlp-test 5000] [--skip-process]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

from qulab.core.experiment import Scenario
from qulab.data.datasets import Dataset
from qulab.evaluation.curves import attack_curve, eps_grid
from qulab.evaluation.pipeline import fit_model, split_with_test_set

STEPS, EPS_MAX, N_TRAIN = 51, 0.5, 10_000
SRC = str(Path(__file__).resolve().parents[1] / "src")


def make_data(n_test: int, features: int, seed: int = 0) -> tuple[Dataset, Dataset]:
    X, y = make_classification(n_samples=N_TRAIN + n_test, n_features=features, n_informative=min(features, 5),
                               n_redundant=0, class_sep=1.0, flip_y=0.02, random_state=seed)
    names, classes = tuple(f"f{i}" for i in range(features)), ("0", "1")
    return (Dataset(X[:N_TRAIN], y[:N_TRAIN], names, classes), Dataset(X[N_TRAIN:], y[N_TRAIN:], names, classes))


def art_loop(classifier, predict, X: np.ndarray, y: np.ndarray, grid: np.ndarray, norm: float = np.inf) -> np.ndarray:
    """The baseline: one ART FastGradientMethod.generate per epsilon, then predict."""
    from art.attacks.evasion import FastGradientMethod

    one_hot = np.eye(classifier.nb_classes)[y]
    accuracy = []
    for eps in grid:
        X_adv = FastGradientMethod(classifier, eps=float(eps), norm=norm).generate(X, y=one_hot) if eps > 0 else X
        accuracy.append(np.mean(predict(X_adv) == y))
    return np.array(accuracy)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def best_of(fn, repeats: int):
    times = []
    for _ in range(repeats):
        result, seconds = timed(fn)
        times.append(seconds)
    return result, min(times)


def in_process(scenario: Scenario, train: Dataset, test: Dataset, label: str, repeats: int) -> tuple[float, float]:
    split = split_with_test_set(train, test, scenario.scaling, scenario.seed)
    model = fit_model(scenario, split)
    grid = eps_grid(EPS_MAX, STEPS)
    curve, qulab_seconds = best_of(lambda: attack_curve(scenario, split, model, grid), repeats)
    art, art_seconds = timed(lambda: art_loop(model.classifier, model.predict, split.X_test, split.y_test, grid))
    diff = 100 * np.max(np.abs(np.array(curve.accuracy) - art))
    ratio = art_seconds / qulab_seconds
    print(f"[{label}] {len(split.y_test):,} test points, {STEPS} eps in [0, {EPS_MAX}], L-inf")
    print(f"  QuLab curves.attack_curve ({curve.method}): {qulab_seconds * 1000:10.2f} ms (best of {repeats})")
    print(f"  ART loop (FastGradientMethod.generate per eps):  {art_seconds * 1000:10.2f} ms (one run)")
    print(f"  ratio ART / QuLab: {ratio:,.0f}x   max accuracy difference: {diff:.3f} percentage points")
    return ratio, diff


ART_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np, pandas as pd
    from art.attacks.evasion import FastGradientMethod
    from art.estimators.classification.scikitlearn import SklearnClassifier
    from sklearn.linear_model import LogisticRegression
    train, test = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
    features = [c for c in train.columns if c != "label"]
    model = LogisticRegression(max_iter=5000, random_state=42).fit(train[features].to_numpy(), train["label"])
    X, y = test[features].to_numpy(), test["label"].to_numpy()
    classifier, one_hot = SklearnClassifier(model=model), np.eye(2)[y]
    grid, accuracy = np.linspace(0.0, float(sys.argv[3]), int(sys.argv[4])), []
    for eps in grid:
        X_adv = FastGradientMethod(classifier, eps=float(eps)).generate(X, y=one_hot) if eps > 0 else X
        accuracy.append(float(np.mean(model.predict(X_adv) == y)))
    print(json.dumps({"eps": grid.tolist(), "adversarial_accuracy": accuracy}))
""")


def as_processes(train: Dataset, test: Dataset) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for name, data in (("train", train), ("test", test)):
            frame = pd.DataFrame(data.X, columns=list(data.feature_names)).assign(label=data.y)
            paths[name] = Path(folder) / f"{name}.csv"
            frame.to_csv(paths[name], index=False, float_format="%.6g")
        script = Path(folder) / "art_loop.py"
        script.write_text(ART_SCRIPT)
        qulab_cmd = [sys.executable, "-m", "qulab.cli", "curve", "--data", f"csv:{paths['train']}", "--target",
                     "label", "--test-data", f"csv:{paths['test']}", "--eps-max", str(EPS_MAX), "--steps",
                     str(STEPS), "--json"]
        art_cmd = [sys.executable, str(script), str(paths["train"]), str(paths["test"]), str(EPS_MAX), str(STEPS)]
        qulab, qulab_seconds = timed(lambda: subprocess.run(qulab_cmd, capture_output=True, text=True, env=env,
                                                            check=True))
        art, art_seconds = timed(lambda: subprocess.run(art_cmd, capture_output=True, text=True, env=env,
                                                        check=True))
    ours, theirs = json.loads(qulab.stdout), json.loads(art.stdout)
    diff = 100 * np.max(np.abs(np.array(ours["adversarial_accuracy"]) - np.array(theirs["adversarial_accuracy"])))
    ratio = art_seconds / qulab_seconds
    print(f"[end to end, processes] {ours['n_test']:,} test points from CSV, {STEPS} eps, logistic regression")
    print(f"  `qulab curve ... --json`:      {qulab_seconds:8.2f} s (of which the curve itself "
          f"{ours['attack_seconds'] * 1000:.1f} ms)")
    print(f"  ART-loop script:                {art_seconds:8.2f} s")
    print(f"  ratio ART / QuLab: {ratio:.1f}x   max accuracy difference: {diff:.3f} percentage points")
    return ratio, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-test", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--mlp-test", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-process", action="store_true")
    args = parser.parse_args()

    train, test = make_data(args.n_test, args.features)
    results = {"linear": in_process(Scenario(), train, test, "logistic regression, margin arithmetic",
                                    args.repeats)}
    small_train, small_test = make_data(args.mlp_test, args.features, seed=1)
    mlp = Scenario(model="torch_mlp", model_params=(("epochs", 10), ("hidden", 32)))
    results["mlp"] = in_process(mlp, small_train, small_test, "PyTorch MLP, one gradient rescaled", 1)
    if not args.skip_process:
        results["process"] = as_processes(train, test)
    targets = {"linear": 1000, "mlp": 5, "process": 10}
    print("summary: " + ", ".join(f"{name} {ratio:,.1f}x (target >= {targets[name]}x, "
                                  f"{'met' if ratio >= targets[name] else 'MISSED'})"
                                  for name, (ratio, _) in results.items()))


if __name__ == "__main__":
    main()
