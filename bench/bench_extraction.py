"""Model extraction on digits: agreement and accuracy of the stolen copy against the number of queries, with the
target's probabilities and with its top label only, for ART's CopycatCNN and KnockoffNets (adaptive) against
QuLab's PyTorch MLP and CNN; and equation solving against logistic regression (queries, weight error, seconds).

Prints one table per target. Run: ``PYTHONPATH=src python bench/bench_extraction.py [--quick]``.
"""

from __future__ import annotations

import sys
import time

from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.run import run_privacy


def main(quick: bool) -> None:
    points, largest = (3, 400) if quick else (6, 800)
    out = run_privacy(PrivacyScenario(dataset="digits", model="logistic_regression",
                                      attack="extraction_equation_solving")).to_json()
    print(f"equation solving, logistic regression on digits: {out['queries']} queries, agreement "
          f"{out['agreement']:.3f}, largest weight error {out['max_weight_error']:.1e}, attack "
          f"{out['attack_seconds']:.3f} s")
    for model in ("torch_mlp", "torch_cnn"):
        for attack, extra in (("extraction_copycat", ()), ("extraction_knockoff", (("sampling", "adaptive"),))):
            start = time.perf_counter()
            out = run_privacy(PrivacyScenario(
                dataset="digits", model=model, attack=attack,
                attack_params=(("queries", largest), ("curve_points", points), *extra))).to_json()
            print(f"\n{attack} against {model} (target test accuracy {out['test_accuracy']:.3f}; thief "
                  f"{out['thief']}; {time.perf_counter() - start:.0f} s)")
            print(f"{'queries':>8} | " + " | ".join(f"{a:^23}" for a in out["curve"]))
            print(f"{'':>8} | " + " | ".join(f"{'agreement':>11} {'accuracy':>11}" for _ in out["curve"]))
            for i, n in enumerate(p["queries"] for p in next(iter(out["curve"].values()))):
                print(f"{n:>8} | " + " | ".join(f"{c[i]['agreement']:>11.3f} {c[i]['stolen_accuracy']:>11.3f}"
                                                for c in out["curve"].values()))
            sys.stdout.flush()


if __name__ == "__main__":
    main("--quick" in sys.argv)
