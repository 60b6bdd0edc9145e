"""The budget engine: accuracy under attack over a grid of budgets (epsilons), computed in one place.

Every page, the CLI and the defences read their numbers from :func:`sweep`, so one experiment gives the same
numbers wherever it is shown. Each attack is run as cheaply as its kind allows:

- *rescalable* attacks (FGM) move every point by eps times a direction that does not depend on eps: one
  gradient (:func:`unit_step`) is computed and rescaled per budget; on a linear model without clipping even the
  predictions follow in closed form, since its scores move linearly in eps, and on a binary one FGM is the
  optimal attack, so its curve is the exact one;
- *minimal* attacks (DeepFool, Carlini–Wagner, HopSkipJump, Boundary, ...) run once; a point counts as broken
  at eps when its perturbation is within eps;
- *bounded* attacks (PGD, BIM, Square, ...) run once per budget.

Every ART run is seeded with the experiment's seed (:func:`attack_run`), so a sweep's point equals the single
run at that budget. For linear models :func:`exact_sweep` gives the closed-form ground truth no attack can beat.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qulab.core.progress import Progress
from qulab.core.randomness import seeded_if_random
from qulab.threats.evasion.attacks import (
    AttackSpec,
    art_warnings,
    generate,
    generate_unbounded,
    within_budget,
)
from qulab.threats.evasion.exact import exact_robust_accuracy, minimal_perturbations

Predict = Callable[[np.ndarray], np.ndarray]
LinearWeights = tuple[np.ndarray, np.ndarray]  # per-class scores W @ x + b whose argmax is the prediction

RESCALED = "one gradient, rescaled per eps"
LINEAR_SCORES = "one gradient, scores linear in eps"
BINARY_MARGINS = "margin arithmetic (exact: FGM is the optimal attack on a binary linear model)"
THRESHOLDED = "one run; a point counts as broken when its perturbation is within eps"
PER_BUDGET = "one attack run per eps"
CLOSED_FORM = "closed-form minimal perturbation of a linear model"


@dataclass(frozen=True, eq=False)
class BudgetSweep:
    """Accuracy at each budget of the grid, with how it was computed (shown to the user).

    ``examples`` and ``preds`` (the adversarial points and the predictions on them, one array per budget) are kept
    only when asked for: the Attack Lab shows them and a defence passes them through its sanitiser.
    """

    label: str
    eps: tuple[float, ...]
    accuracy: tuple[float, ...]
    method: str
    seconds: float
    clean: float | None = None
    notes: tuple[str, ...] = ()
    examples: tuple[np.ndarray, ...] | None = None
    preds: tuple[np.ndarray, ...] | None = None

    def index(self, eps: float) -> int:
        """Where a budget of the grid is (a budget not on the grid is refused: it was never computed)."""
        try:
            return self.eps.index(float(eps))
        except ValueError:
            raise KeyError(f"eps = {eps:g} is not on this sweep's grid {self.eps}") from None

    def accuracy_at(self, eps: float) -> float:
        return self.accuracy[self.index(eps)]

    def examples_at(self, eps: float) -> np.ndarray:
        if self.examples is None:
            raise ValueError("this sweep did not keep its adversarial examples (keep_examples=False)")
        return self.examples[self.index(eps)]


def attack_runs(spec: AttackSpec, budgets: int) -> int:
    """How many ART runs a sweep over this many non-zero budgets makes (for time estimates)."""
    return min(budgets, 1) if spec.rescalable or spec.minimal else budgets


def attack_run(spec: AttackSpec, classifier: Any, X: np.ndarray, y: np.ndarray, eps: float, norm: str,
               params: dict[str, Any] | None, seed: int, *, unbounded: bool = False,
               done: Callable[[float], None] | None = None) -> np.ndarray:
    """One ART run of the attack, seeded with ``seed``: the same run gives the same examples wherever it is made.

    ``unbounded`` returns a minimal attack's own output, before it is held to the budget; ``done`` hears the
    share of points attacked as the run goes (the same examples: see :attr:`AttackSpec.batch`)."""
    make = generate_unbounded if unbounded else generate
    with seeded_if_random(spec, params or {}, seed):
        return make(spec, classifier, X, y, eps, norm, params, done)


def unit_step(spec: AttackSpec, classifier: Any, X: np.ndarray, y: np.ndarray, norm: str, seed: int = 0) -> np.ndarray:
    """A rescalable attack's step at eps = 1 for every point, from ART on the classifier without clipping.

    FGM's step is eps times a direction computed from one gradient at the clean point, so any eps is then
    ``clip(X + eps · step)``: exactly what ART would return.
    """
    if not spec.rescalable:
        raise ValueError(f"{spec.label}'s step depends on eps; it cannot be rescaled")
    unclipped = copy.copy(classifier)  # the caller's classifier keeps its clipping
    unclipped.set_params(clip_values=None)
    return attack_run(spec, unclipped, X, y, 1.0, norm, None, seed) - X


def _argmax_predict(classifier: Any) -> Predict:
    return lambda Z: np.argmax(classifier.predict(Z), axis=1)


# (eps, share of the points done -> None) -> (examples, predictions, accuracy); the closed forms give no examples
# and, on binary models, no predictions
Outcome = Callable[[float, Callable[[float], None] | None], tuple[np.ndarray | None, np.ndarray | None, float]]


def _plan(spec: AttackSpec, classifier: Any, X: np.ndarray, y: np.ndarray, budgets: list[float], norm: str,
          params: dict[str, Any] | None, seed: int, predict: Predict, step: np.ndarray | None,
          linear: LinearWeights | None, keep_examples: bool,
          progress: Progress | None = None) -> tuple[Outcome, str]:
    """How the sweep reads each non-zero budget, by the attack's kind (the ART runs it needs happen here; a
    minimal attack's one run tells ``progress`` how many of the points it has attacked)."""
    closed_form = spec.rescalable and linear is not None and classifier.clip_values is None and not keep_examples
    if closed_form and len(linear[0]) == 2:
        # FGM with the true labels is the optimal attack on a binary linear model: a point is predicted as the
        # other class exactly when its distance to the boundary is within eps. No ART run is needed.
        surviving = exact_robust_accuracy(exact_distances(linear, X, y, norm), np.array(budgets))
        return (lambda e, done: (None, None, float(surviving[budgets.index(e)]))), BINARY_MARGINS
    if spec.rescalable and (step is not None or len(budgets) > 1):
        step = unit_step(spec, classifier, X, y, norm, seed) if step is None else step
        if closed_form:
            W, b = linear  # the scores at eps are the clean scores + eps · the step's score change
            scores, slope = X @ W.T + b, step @ W.T
            return (lambda e, done: (None, None, float(np.mean(np.argmax(scores + e * slope, axis=1) == y)))), \
                LINEAR_SCORES
        lo, hi = classifier.clip_values if classifier.clip_values is not None else (-np.inf, np.inf)
        adversarial, method = (lambda e, done: np.clip(X + e * step, lo, hi)), RESCALED
    elif spec.minimal:
        done = None if progress is None else (lambda share: progress(share, f"{spec.label}: {share:.0%} of the "
                                                                             "points attacked"))
        raw = attack_run(spec, classifier, X, y, budgets[-1], norm, params, seed, unbounded=True,
                         done=done) if budgets else X
        adversarial, method = (lambda e, done: within_budget(X, raw, e, norm)), THRESHOLDED
    else:
        adversarial, method = (lambda e, done: attack_run(spec, classifier, X, y, e, norm, params, seed,
                                                          done=done)), PER_BUDGET

    def outcome(e: float, done: Callable[[float], None] | None) -> tuple[np.ndarray, np.ndarray, float]:
        X_adv = adversarial(e, done)
        pred = np.asarray(predict(X_adv))
        return X_adv, pred, float(np.mean(pred == y))

    return outcome, method


def sweep(spec: AttackSpec, classifier: Any, X: np.ndarray, y: np.ndarray, grid: Sequence[float], norm: str,
          params: dict[str, Any] | None = None, seed: int = 0, *, predict: Predict | None = None,
          step: np.ndarray | None = None, linear: LinearWeights | None = None, keep_examples: bool = False,
          progress: Progress | None = None, images: bool = False) -> BudgetSweep:
    """Accuracy of ``predict`` (by default the classifier's argmax) on the attack's examples at every budget.

    ``classifier`` is what the attack sees (its gradients, scores or labels); ``predict`` is how the attacked
    model decides, which a defence may change (noise, a sanitiser). ``step`` is the rescalable attack's
    :func:`unit_step` when the caller keeps it (the app does, so an epsilon move is one multiply and one predict);
    a single budget of a rescalable attack without a kept step is one ART run at that budget, which costs the
    same as the step. ``linear`` is a linear model's scores (:func:`qulab.evaluation.pipeline.linear_weights`):
    the rescaled attack's accuracy then follows from them without predicting (when no examples are kept and
    nothing is clipped). Budget 0 is the clean point. ``images``: ART's warnings keep their image wording.
    """
    grid = tuple(float(e) for e in grid)
    predict = predict or _argmax_predict(classifier)
    budgets = sorted({e for e in grid if e > 0})
    start = time.perf_counter()
    pred_clean = np.asarray(predict(X))
    clean = float(np.mean(pred_clean == y))
    examples, preds, accuracy = [], [], []
    with art_warnings(images) as notes:
        outcome, method = _plan(spec, classifier, X, y, budgets, norm, params, seed, predict, step, linear,
                                keep_examples, progress)
        for i, e in enumerate(grid):
            done = None
            if progress and method == PER_BUDGET:
                text = f"{spec.label}: eps = {e:.3g} ({i + 1} of {len(grid)})"
                progress(i / len(grid), text)
                done = lambda share, i=i, text=text: progress((i + share) / len(grid), text)  # noqa: E731
            X_adv, pred, correct = outcome(e, done) if e > 0 else (X, pred_clean, clean)
            examples.append(X_adv)
            preds.append(pred)
            accuracy.append(correct)
    if progress:
        progress(1.0, f"{spec.label}: done")
    return BudgetSweep(spec.label, grid, tuple(accuracy), method, time.perf_counter() - start, clean,
                       tuple(notes),
                       tuple(examples) if keep_examples else None, tuple(preds) if keep_examples else None)


def exact_distances(weights: LinearWeights, X: np.ndarray, y: np.ndarray, norm: str) -> np.ndarray:
    """Each point's exact distance to misclassification under a linear model (0 for misclassified points)."""
    return minimal_perturbations(*weights, X, y, norm)


def exact_sweep(weights: LinearWeights, X: np.ndarray, y: np.ndarray, grid: Sequence[float],
                norm: str) -> BudgetSweep:
    """The closed-form curve of a linear model: the lowest accuracy any attack can reach at each budget
    (clipping to a valid range is not taken into account; it can only make attacks harder)."""
    start = time.perf_counter()
    distances = exact_distances(weights, X, y, norm)
    accuracy = np.atleast_1d(exact_robust_accuracy(distances, np.asarray(grid, dtype=float)))
    return BudgetSweep("Exact (closed form)", tuple(map(float, grid)), tuple(map(float, accuracy)), CLOSED_FORM,
                       time.perf_counter() - start, float(np.mean(distances > 0)))
