"""A result as `qulab evaluate --json` / `qulab curve --json` print it, built from library values, so a run saved by
a page reads like one saved by the CLI (same keys, same numbers for the same experiment)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qulab.core.experiment import Scenario


def header(scenario: Scenario, clip_values: Any) -> dict[str, Any]:
    """What every result starts with: the names, norm, scaling, seed and the attack's input range."""
    return {"data": scenario.dataset, "model": scenario.model, "attack": scenario.attack, "norm": scenario.norm,
            "scaling": scenario.scaling, "seed": scenario.seed,
            "clip": None if clip_values is None else [float(v) for v in clip_values]}


def attack_result(scenario: Scenario, clip_values: Any, outcome: Any, fit_seconds: float) -> dict[str, Any]:
    """One budget: `qulab evaluate --json` (``outcome`` an AttackOutcome)."""
    return {**header(scenario, clip_values), **outcome.summary(), "attack_seconds": outcome.seconds,
            "fit_seconds": fit_seconds, "seconds": outcome.seconds + fit_seconds}


def curve_result(scenario: Scenario, clip_values: Any, curve: Any, exact: Any, n_test: int,
                 fit_seconds: float) -> dict[str, Any]:
    """A grid of budgets: `qulab curve --json` (``curve`` and ``exact`` budget sweeps; ``exact`` may be None)."""
    result = {**header(scenario, clip_values), "clean_accuracy": curve.clean, "eps": list(curve.eps),
              "adversarial_accuracy": list(curve.accuracy), "n_test": n_test, "method": curve.method,
              "attack_seconds": curve.seconds, "fit_seconds": fit_seconds}
    if exact is not None:
        result["exact_accuracy"] = list(exact.accuracy)
    result["seconds"] = curve.seconds + fit_seconds
    return result


def defence_result(outcome: Any, grid: Sequence[float] | None) -> dict[str, Any]:
    """Undefended vs defended (``outcome`` a DefenceOutcome), the defended numbers leading, as the CLI gives it
    with --defense (without the header)."""
    result = outcome.summary()
    result.update(clean_accuracy=outcome.clean_defended, adversarial_accuracy=outcome.robust_defended,
                  undefended={"clean_accuracy": outcome.clean_undefended,
                              "adversarial_accuracy": outcome.robust_undefended})
    if grid is not None:
        index = [outcome.eps_grid.index(e) for e in grid]
        result.update(eps=list(grid), adversarial_accuracy=[outcome.curve_defended[i] for i in index])
        result["undefended"]["adversarial_accuracy"] = [outcome.curve_undefended[i] for i in index]
        if outcome.exact_curve_defended is not None:
            result["exact_accuracy"] = [outcome.exact_curve_defended[i] for i in index]
        if outcome.curve_nonadaptive is not None:
            result["nonadaptive_accuracy"] = [outcome.curve_nonadaptive[i] for i in index]
    return result


def timings_of(result: dict[str, Any]) -> dict[str, float]:
    """A result's times (every number under a key ending in 'seconds'), as a run's timings."""
    return {key: float(value) for key, value in result.items()
            if key.endswith("seconds") and isinstance(value, (int, float)) and not isinstance(value, bool)}


def poisoning_header(scenario: Any) -> dict[str, Any]:
    """What `qulab poison --json` starts with (a PoisoningScenario's names, target class, defence, seed, scaling)."""
    return {"data": scenario.dataset, "model": scenario.model, "attack": scenario.attack,
            "target_class": scenario.target_class, "defence": scenario.defence, "seed": scenario.seed,
            "scaling": scenario.scaling}
