"""An honest evaluation of one defence: undefended vs defended on the same held-out split, under the same attack.

``evaluate_defence`` checks the inputs, computes (or takes) the undefended side once per scenario, and hands the
defended side to the entry's ``defend``; for linear models the outcome carries the exact robust accuracy (closed
form, :mod:`qulab.threats.evasion.exact`) beside the attack's, so an attack that is too weak shows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qulab.core.experiment import Scenario, freeze
from qulab.core.registry import InvalidInput, resolve_params
from qulab.data.datasets import Dataset, Split
from qulab.defences.running import defence_run, warm_up_torch
from qulab.defences.spec import DEFENCES, DefenceRun, Progress, Workload, is_torch
from qulab.evaluation.budget import BudgetSweep
from qulab.evaluation.estimates import MeasuredTimes
from qulab.evaluation.pipeline import FittedModel, attack_sweep, checked_attack_params, fit_model, prepare_split
from qulab.models.registry import MODELS
from qulab.threats.evasion.attacks import ATTACKS


@dataclass(frozen=True)
class DefenceOutcome:
    """Undefended vs defended on the same held-out test split; accuracies are shares in [0, 1].

    For preprocessing defences ``robust_defended`` is the ADAPTIVE attack's result (the honest number) and
    ``robust_nonadaptive`` the attack crafted on the undefended model and then sanitised. ``exact_*`` are the
    closed-form robust accuracies of linear models (None otherwise); ``certified_*`` belong to smoothing.
    """

    scenario: Scenario
    defence: str
    defence_params: tuple[tuple[str, Any], ...]
    kind: str
    attack_label: str
    n_test: int
    clean_undefended: float
    clean_defended: float
    robust_undefended: float
    robust_defended: float
    eps_grid: tuple[float, ...]
    curve_undefended: tuple[float, ...]
    curve_defended: tuple[float, ...]
    fit_seconds_undefended: float
    fit_seconds_defended: float
    robust_nonadaptive: float | None = None
    curve_nonadaptive: tuple[float, ...] | None = None
    exact_undefended: float | None = None
    exact_defended: float | None = None
    exact_curve_undefended: tuple[float, ...] | None = None
    exact_curve_defended: tuple[float, ...] | None = None
    certified_radii: tuple[float, ...] | None = None
    certified_accuracy: float | None = None
    certified_radius_needed: float | None = None
    certified_curve: tuple[float, ...] | None = None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def robust_gain(self) -> float:
        return self.robust_defended - self.robust_undefended

    @property
    def clean_cost(self) -> float:
        return self.clean_undefended - self.clean_defended

    @property
    def training_ratio(self) -> float:
        return self.fit_seconds_defended / max(self.fit_seconds_undefended, 1e-9)

    def robust_loss_note(self) -> str | None:
        """Why a defended robust accuracy below the undefended one need not mean much: how many test points the
        loss is, against the sampling noise of that many points (two standard errors); None when it did not lose."""
        if self.robust_gain >= 0:
            return None
        n, loss = self.n_test, -self.robust_gain
        p = self.robust_undefended
        noise = 2 * math.sqrt(p * (1 - p) / n)
        lost = f"{loss:.3f}, {round(loss * n)} of {n} test points (1 point = {1 / n:.3f})"
        if loss <= noise:
            return (f"The defended model's robust accuracy is lower by {lost}: within the noise of {n} test points "
                    f"(two standard errors: {noise:.3f}), so at this eps the defence neither helps nor hurts "
                    "measurably.")
        return (f"The defended model's robust accuracy is lower by {lost}, more than the noise of {n} test points "
                f"(two standard errors: {noise:.3f}): at this eps the defence traded robustness away (e.g. trained "
                "at another budget or norm than the attack's, or too few epochs to fit its adversarial examples).")

    def summary(self) -> dict[str, Any]:
        """The numbers as a flat dict (the CLI's JSON)."""
        keys = ("defence", "kind", "attack_label", "n_test", "clean_undefended", "clean_defended",
                "robust_undefended", "robust_defended", "robust_nonadaptive", "exact_undefended", "exact_defended",
                "certified_accuracy", "certified_radius_needed", "fit_seconds_undefended", "fit_seconds_defended",
                "seconds")
        out = {k: getattr(self, k) for k in keys}
        out.update(eps=self.scenario.eps, norm=self.scenario.norm, defence_params=dict(self.defence_params),
                   eps_grid=list(self.eps_grid), curve_undefended=list(self.curve_undefended),
                   curve_defended=list(self.curve_defended))
        if self.curve_nonadaptive is not None:
            out["curve_nonadaptive"] = list(self.curve_nonadaptive)
        out["notes"] = list(self.notes)
        return out


def default_eps_grid(eps: float) -> tuple[float, ...]:
    """Five budgets from 0 to twice the scenario's eps (or to 0.2 when eps is 0)."""
    top = 2 * eps if eps > 0 else 0.2
    return tuple(round(float(v), 6) for v in np.linspace(0.0, top, 5))


def evaluation_grid(scenario: Scenario, eps_grid: tuple[float, ...] | None = None) -> tuple[float, ...]:
    """The budgets an evaluation reports: the given grid (else :func:`default_eps_grid`) and the scenario's eps."""
    return tuple(sorted({*(eps_grid or default_eps_grid(scenario.eps)), float(scenario.eps)}))


MINIMAL_ATTACK_COST = {"deepfool": 1, "cw_l2": 5}  # one run, in budgeted-attack runs (measured on digits)
# Seconds for one attack run over the test set, by model family; others 0.3. Measured (PGD, breast cancer, this
# 2-core host under load): logistic regression 0.06 s, MLP 0.12 s, RBF SVM 3-4 s (ART's kernel gradient loops
# over the support vectors), so a sanitiser on the RBF SVM takes minutes, not seconds.
ATTACK_RUN_SECONDS = {"neural": 1.0, "kernel": 3.5}


def estimate_seconds(scenario: Scenario, defence_name: str, defence_params: dict[str, Any] | None = None,
                     n_train: int = 455, n_eps: int = 5) -> float:
    """A rough duration (seconds, this 2-core host) for the page to announce before it starts, the undefended
    side included; the first guess of :func:`learned_estimate`."""
    defence = DEFENCES.get(defence_name)
    params = resolve_params(defence.params, dict(defence_params or {}))
    model = MODELS.get(scenario.model)
    return defence.estimate(Workload(params, is_torch(model), _per_attack(scenario, n_eps), n_train))


def _per_attack(scenario: Scenario, n_eps: int = 5) -> float:
    """Rough seconds of one attack over the grid on the undefended model."""
    model, attack = MODELS.get(scenario.model), ATTACKS.get(scenario.attack)
    runs = MINIMAL_ATTACK_COST.get(attack.name, 3) if attack.minimal else n_eps  # a minimal attack runs once
    return ATTACK_RUN_SECONDS.get(model.family, 0.3) * runs * (2 if model.needs_images else 1)


def baseline_kind(scenario: Scenario) -> tuple:
    """What the undefended side's time per row of data depends on: the data set, the model, the attack and their
    settings; not eps, the seed or the number of rows (the time is scaled by rows)."""
    return ("undefended", scenario.dataset, scenario.scaling, scenario.model_key[-2:], scenario.attack,
            scenario.norm, scenario.attack_params)


def defence_kind(scenario: Scenario, defence_name: str, defence_params: dict[str, Any] | None = None) -> tuple:
    """What the defended side's time per row depends on: :func:`baseline_kind` and the defence with its settings."""
    params = resolve_params(DEFENCES.get(defence_name).params, dict(defence_params or {}))
    return ("defended", *baseline_kind(scenario)[1:], defence_name, freeze(params))


def learned_estimate(times: MeasuredTimes, scenario: Scenario, defence_name: str,
                     defence_params: dict[str, Any] | None, rows: int, n_train: int, with_baseline: bool) -> float:
    """Seconds an evaluation should take on ``rows`` rows of data: the defended side as measured for the same kind
    (:func:`record_times`) scaled to the rows, plus the undefended side's when ``with_baseline`` (it is computed
    once per scenario and shared); a side never measured comes from :func:`estimate_seconds`."""
    guess = estimate_seconds(scenario, defence_name, defence_params, n_train=n_train)
    baseline_guess = 1 + _per_attack(scenario)  # estimate_seconds counts about this much for the undefended side
    defended = times.estimate(defence_kind(scenario, defence_name, defence_params), rows)
    if defended is None:
        defended = max(guess - baseline_guess, 0.5)
    if not with_baseline:
        return defended
    baseline = times.estimate(baseline_kind(scenario), rows)
    return defended + (baseline_guess if baseline is None else baseline)


def record_times(times: MeasuredTimes, outcome: DefenceOutcome, baseline: Baseline, rows: int) -> None:
    """Remember an evaluation's measured sides for :func:`learned_estimate` (``outcome`` computed with
    ``baseline`` given, so its time is the defended side's alone)."""
    times.record(baseline_kind(outcome.scenario), rows, baseline.seconds)
    times.record(defence_kind(outcome.scenario, outcome.defence, dict(outcome.defence_params)), rows,
                 outcome.seconds)


@dataclass(frozen=True)
class Baseline:
    """The undefended side of an evaluation: one per scenario, shared by every defence compared on it.

    ``attacked`` is the budget engine's sweep of the scenario's attack on the undefended model, with its
    adversarial examples (read-only; the non-adaptive attack passes them through a sanitiser)."""

    scenario: Scenario
    grid: tuple[float, ...]
    split: Split
    model: FittedModel
    attacked: BudgetSweep
    seconds: float = 0.0  # to train and attack it

    @property
    def clean(self) -> float:
        return self.attacked.clean

    @property
    def curve(self) -> tuple[float, ...]:
        return self.attacked.accuracy


def undefended_baseline(scenario: Scenario, eps_grid: tuple[float, ...] | None = None, data: Dataset | None = None,
                        progress: Progress | None = None, split: Split | None = None) -> Baseline:
    """Train the undefended model and attack it at every budget, as the Attack Lab, the Robustness page and the
    CLI do (the same sweep of the budget engine, so the same numbers, whether it is computed here once for several
    defences or inside :func:`evaluate_defence`). ``split`` as there."""
    report = progress or (lambda fraction, text: None)
    report(0.02, "Preparing the data")
    split = split if split is not None else prepare_split(scenario, data)
    checked_attack_params(scenario, split)
    return _baseline_on(scenario, split, evaluation_grid(scenario, eps_grid), report)


def _baseline_on(scenario: Scenario, split: Split, grid: tuple[float, ...], report: Progress) -> Baseline:
    """Unlocked: the model draws from its own seeded generators and the budget engine seeds each random attack run."""
    from qulab.core.randomness import one_torch_thread

    started = time.perf_counter()
    warm_up_torch()
    with one_torch_thread():
        report(0.05, "Training the undefended model")
        base = fit_model(scenario, split)
        attacked = attack_sweep(scenario, split, base, grid, keep_examples=True,
                                progress=lambda fraction, text: report(0.15 + 0.2 * fraction,
                                                                       f"Attacking the undefended model: {text}"))
    return Baseline(scenario, grid, split, base, attacked, time.perf_counter() - started)


def evaluate_defence(scenario: Scenario, defence_name: str, defence_params: dict[str, Any] | None = None,
                     eps_grid: tuple[float, ...] | None = None, data: Dataset | None = None,
                     progress: Progress | None = None, baseline: Baseline | None = None,
                     split: Split | None = None) -> DefenceOutcome:
    """Undefended vs defended on the scenario's held-out test split, against the scenario's attack.

    The attack always uses the true labels. ``data`` carries an upload's rows; ``split`` is a split the caller
    prepared instead (the user's own train and test files, a clip range), which the scenario then only names;
    ``progress(fraction, text)`` is called between the slow steps; ``baseline`` is the scenario's
    :func:`undefended_baseline` when the caller keeps it for several defences (the numbers are the same either
    way). Raises InvalidInput for an unknown defence, a bad parameter or an incompatible model/data/attack.
    """
    started = time.perf_counter()
    report = progress or (lambda fraction, text: None)
    defence = DEFENCES.get(defence_name)
    params = resolve_params(defence.params, dict(defence_params or {}))
    model = MODELS.get(scenario.model)
    attack = ATTACKS.get(scenario.attack)
    grid = evaluation_grid(scenario, eps_grid)
    if baseline is None:
        report(0.02, "Preparing the data")
    if baseline is not None:
        split = baseline.split
    elif split is None:
        split = prepare_split(scenario, data)
    images = split.image_shape is not None
    reason = (defence.unsupported_reason(model, images=images, known_range=split.known_range)
              or defence.attack_reason(attack, scenario.norm))
    if reason is not None:
        raise InvalidInput(reason)
    attack_params = checked_attack_params(scenario, split)
    if baseline is None:
        baseline = _baseline_on(scenario, split, grid, report)
    elif (baseline.scenario, baseline.grid) != (scenario, grid):
        raise ValueError("the baseline belongs to another scenario or eps grid")

    warm_up_torch()
    # Seeded afresh where it draws globally, so a kept baseline does not change the defended numbers.
    with defence_run(scenario.seed, defence.draws_globally(model, params)):
        defended = defence.defend(DefenceRun(defence, params, scenario, model, attack, attack_params, split, baseline,
                                             grid, report))

    at = grid.index(float(scenario.eps))
    extra = dict(defended.extra)
    exact_und, exact_def = extra.pop("exact_curve_undefended", None), extra.pop("exact_curve_defended", None)
    return DefenceOutcome(
        scenario=scenario, defence=defence.name, defence_params=freeze(params), kind=defence.kind,
        attack_label=f"{attack.label} ({'L∞' if scenario.norm == 'inf' else 'L' + scenario.norm})",
        n_test=len(split.y_test), clean_undefended=baseline.clean, clean_defended=defended.clean,
        robust_undefended=baseline.curve[at], robust_defended=defended.curve[at], eps_grid=grid,
        curve_undefended=baseline.curve, curve_defended=defended.curve,
        fit_seconds_undefended=baseline.model.fit_seconds, fit_seconds_defended=defended.seconds,
        exact_undefended=exact_und[at] if exact_und else None, exact_defended=exact_def[at] if exact_def else None,
        exact_curve_undefended=exact_und, exact_curve_defended=exact_def, notes=defended.notes,
        seconds=time.perf_counter() - started, **extra)


def parse_defence_params(defence_name: str, pairs: list[str]) -> dict[str, Any]:
    """``k=v`` strings (the CLI's ``--defense-param``) parsed and validated by the defence's Params."""
    defence = DEFENCES.get(defence_name)
    known = {p.name: p for p in defence.params}
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise InvalidInput(f"defence parameters are written k=v, not {pair!r}")
        if key not in known:
            raise InvalidInput(f"{defence.label} has no parameter {key!r}; known: {', '.join(known) or 'none'}")
        values[key] = known[key].parse(text)
    return values
