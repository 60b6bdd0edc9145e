"""The PyTorch/ART poisoning pieces measured: the digits backdoor against ART's detectors (the issue's acceptance
figures), the clean-label backdoor's pull, and the SVM poisoning attack's cost and effect.

    .venv/bin/python bench/bench_poisoning_torch.py [--quick]

1. Backdoor (ART pattern, target 0) on digits with the PyTorch CNN and MLP at poison rates 0.05, 0.08, 0.10, each
   with activation clustering (default: last hidden layer, exclusionary reclassification on; and with it off) and
   spectral signatures (expected share per class = 5 × rate, i.e. the target class's share, multiplier 1): clean
   accuracy, poisoned accuracy, ASR (and the clean model's on the same triggered inputs), detection recall,
   precision and false-positive rate, accuracy and ASR of the model retrained without the flagged points.
2. Clean-label backdoor on the digits CNN at rate 0.08 for three PGD budgets: ASR against the clean model's.
3. SVM poisoning (breast cancer, min-max): ART's per-entry kernel matrix against the one-call one (ratio), the
   seconds per crafted point at a few sizes, and the validation hinge loss with no poison, with the unmoved
   label-flipped starts and with ART's crafted points, over six draws.
Seconds are from this host (a shared 2-core machine); ratios carry over.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qulab.threats.poisoning.experiment import PoisoningScenario  # noqa: E402
from qulab.threats.poisoning.run import prepare, run_poisoning  # noqa: E402

DETECTORS = (
    ("activation_clustering", lambda rate: ()),
    ("activation_clustering", lambda rate: (("exclusionary_threshold", 0.0),)),
    ("spectral_signatures", lambda rate: (("expected_rate", min(0.5, 5 * rate)), ("eps_multiplier", 1.0))),
)


def _fmt(value) -> str:
    return "   -" if value is None else f"{value:.3f}"


def backdoor_table(models: tuple[str, ...], rates: tuple[float, ...]) -> None:
    print("1. digits backdoor (pattern, target 0) against ART's detectors")
    print(f"{'model':<10}{'rate':>5} {'detector':<34}{'acc':>6}{'pois':>7}{'ASR':>7}{'ASR0':>7}{'recall':>7}"
          f"{'prec':>7}{'FPR':>7}{'d.acc':>7}{'d.ASR':>7}{'s':>7}")
    for model in models:
        base = PoisoningScenario(dataset="digits", model=model, attack="backdoor", target_class=0)
        split, clean_model = prepare(base)
        for rate in rates:
            for name, params in DETECTORS:
                scenario = PoisoningScenario(dataset="digits", model=model, attack="backdoor", target_class=0,
                                             rate=rate, defence=name, defence_params=params(rate))
                o = run_poisoning(scenario, split=split, clean_model=clean_model)
                n_clean = o.n_train - o.n_poisoned
                fpr = len(np.setdiff1d(o.flagged.indices, o.poisoned.indices)) / n_clean
                label = name + ("" if not params(rate) else " " + ",".join(f"{k}={v:g}" for k, v in params(rate)))
                print(f"{model:<10}{rate:>5.2f} {label[:33]:<34}{o.clean_accuracy:>6.3f}{o.poisoned_accuracy:>7.3f}"
                      f"{o.attack_success_rate:>7.3f}{o.clean_attack_success_rate:>7.3f}"
                      f"{_fmt(o.detection_recall):>7}{_fmt(o.detection_precision):>7}{fpr:>7.3f}"
                      f"{o.defended_accuracy:>7.3f}{o.defended_attack_success_rate:>7.3f}{o.seconds:>7.1f}",
                      flush=True)


def clean_label_table(budgets: tuple[float, ...]) -> None:
    print("\n2. clean-label backdoor, digits CNN, rate 0.08 (80 % of the zeros), target 0, PGD 20 steps")
    base = PoisoningScenario(dataset="digits", model="torch_cnn", attack="clean_label_backdoor", target_class=0,
                             rate=0.08)
    split, clean_model = prepare(base)
    print(f"{'eps':>5}{'acc':>7}{'pois':>7}{'ASR':>7}{'ASR0':>7}{'s':>7}")
    for eps in budgets:
        o = run_poisoning(replace(base, attack_params=(("eps", eps), ("max_iter", 20))), split=split,
                          clean_model=clean_model)
        print(f"{eps:>5.2f}{o.clean_accuracy:>7.3f}{o.poisoned_accuracy:>7.3f}{o.attack_success_rate:>7.3f}"
              f"{o.clean_attack_success_rate:>7.3f}{o.seconds:>7.1f}", flush=True)


def _hinge(X_train, y_train, X_val, y_val) -> float:
    from sklearn.svm import SVC

    margins = (2 * y_val - 1) * SVC(kernel="linear").fit(X_train, y_train).decision_function(X_val)
    return float(np.maximum(0.0, 1.0 - margins).mean())


def svm_table(sizes: tuple[tuple[int, int], ...], draws: int) -> None:
    from art.estimators.classification.scikitlearn import ScikitlearnSVC
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.svm import SVC

    from qulab.threats.poisoning.svm_attack import fast_q_svc, svm_poison_points

    print("\n3. SVM poisoning (ART PoisoningAttackSVM), breast cancer min-max")
    X, y = load_breast_cancer(return_X_y=True)
    X = MinMaxScaler().fit_transform(X)
    model = SVC(kernel="linear").fit(X[:100], y[:100])
    timings = []
    for wrapper in (ScikitlearnSVC(model=model, clip_values=(0.0, 1.0)), fast_q_svc(model, (0.0, 1.0))):
        start = time.perf_counter()
        wrapper.q_submatrix(model.support_vectors_, X[100:200])
        timings.append(time.perf_counter() - start)
    print(f"kernel matrix, {len(model.support_vectors_)} support vectors × 100 points: ART loop {timings[0]:.3f} s, "
          f"one call {timings[1]:.4f} s, ratio {timings[0] / timings[1]:.0f}×")
    for n_train, n_val in sizes:
        start = time.perf_counter()
        svm_poison_points(X[:n_train], y[:n_train], X[:3], X[300:300 + n_val], y[300:300 + n_val],
                          clip_values=(0.0, 1.0), seed=0, max_iter=10)
        print(f"{n_train} training, {n_val} validation points, 10 steps: {(time.perf_counter() - start) / 3:.2f} s "
              "per crafted point", flush=True)
    rows = []
    for draw in range(draws):
        order = np.random.default_rng(draw).permutation(len(y))
        Xd, yd = X[order], y[order]
        X_train, y_train, X_val, y_val, starts = Xd[:60], yd[:60], Xd[60:90], yd[60:90], Xd[:5]
        points, labels = svm_poison_points(X_train, y_train, starts, X_val, y_val, clip_values=(0.0, 1.0), seed=1,
                                           max_iter=10)
        rows.append((_hinge(X_train, y_train, X_val, y_val),
                     _hinge(np.vstack([X_train, starts]), np.append(y_train, labels), X_val, y_val),
                     _hinge(np.vstack([X_train, points]), np.append(y_train, labels), X_val, y_val)))
    for draw, (clean, unmoved, crafted) in enumerate(rows):
        print(f"draw {draw}: validation hinge loss clean {clean:.3f}, 5 unmoved flipped starts {unmoved:.3f}, "
              f"5 crafted points {crafted:.3f}")
    crafted_wins = sum(c > u for _, u, c in rows)
    print(f"crafted above unmoved in {crafted_wins} of {len(rows)} draws")
    scenario = PoisoningScenario(dataset="breast_cancer", scaling="minmax", test_size=0.85, model="linear_svm",
                                 attack="svm_poisoning", rate=0.1)
    o = run_poisoning(scenario)
    print(f"whole run, linear SVM on 85 training points, rate 0.1 ({o.n_poisoned} points): accuracy "
          f"{o.clean_accuracy:.3f} -> {o.poisoned_accuracy:.3f} in {o.seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the CNN at rate 0.1 only, one budget, small SVM")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.quick:
        backdoor_table(("torch_cnn",), (0.1,))
        clean_label_table((0.3,))
        svm_table(((50, 30),), 2)
    else:
        backdoor_table(("torch_cnn", "torch_mlp"), (0.05, 0.08, 0.1))
        clean_label_table((0.1, 0.3, 0.5))
        svm_table(((50, 30), (100, 30), (100, 100)), 6)


if __name__ == "__main__":
    main()
