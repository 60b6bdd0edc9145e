"""Optimised poison points against a linear SVM (Biggio, Nelson & Laskov 2012) through ART's ``PoisoningAttackSVM``.

Each poison point starts as a copy of a training point with the other label and climbs, by gradient ascent, the
hinge loss of an SVM refitted with it on validation points, so one point moves the boundary as far as it can.

ART's attack refits the SVM at every step, and its ``ScikitlearnSVC.q_submatrix`` fills the kernel matrix between
support vectors (and between each validation point and them) one sklearn kernel call per entry, so a step costs
(support vectors² + validation points × support vectors) Python-level calls. :func:`fast_q_svc` gives ART the same
matrix from one kernel call (checked equal to ART's loop in the tests; bench/bench_poisoning_torch.py measures
both). Even so the lab offers the attack only on small training sets, crafts the points one by one with a progress
callback, and stops at a time budget. A run that hits
the budget is refused rather than cut short: how far it got would depend on the machine's load, and the same
experiment must give the same numbers. ART draws a small jitter from NumPy's global generator, so the crafting runs
under :func:`qulab.core.randomness.seeded`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from qulab.core.randomness import seeded
from qulab.core.registry import InvalidInput, Param
from qulab.core.threat import WHITE_BOX
from qulab.data.datasets import Split
from qulab.threats.poisoning.attacks import POISONING_ATTACKS, Poisoned, PoisoningAttackSpec, poison_count, poisoning

BIGGIO = "Biggio, Nelson & Laskov, Poisoning Attacks against Support Vector Machines, ICML 2012"
MAX_TRAIN = 100  # training points the attacker's SVM is refitted on at every step

Progress = Callable[[int, int], None]  # (points done, points asked); it may raise to cancel


def fast_q_svc(model: Any, clip_values: tuple[float, float]) -> Any:
    """ART's ``ScikitlearnSVC`` around ``model``, whose ``q_submatrix`` (Q[r, c] = K(row r, col c) · y_r · y_c with
    y = ±1 the model's predictions) is one kernel call instead of one per entry."""
    from art.estimators.classification.scikitlearn import ScikitlearnSVC

    class OneCallQ(ScikitlearnSVC):
        def q_submatrix(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
            y_row = np.where(self.model.predict(rows) == 0, -1, 1)
            y_col = np.where(self.model.predict(cols) == 0, -1, 1)
            return self._kernel(rows, cols) * np.outer(y_row, y_col)

    return OneCallQ(model=model, clip_values=clip_values)


def svm_poison_points(X_train: np.ndarray, y_train: np.ndarray, starts: np.ndarray, X_val: np.ndarray,
                      y_val: np.ndarray, *, clip_values: tuple[float, float], seed: int, C: float = 1.0,
                      step: float = 0.1, max_iter: int = 10, time_budget: float | None = None,
                      progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Poison points and their labels for a binary problem (labels 0/1): each of ``starts`` (rows like X_train)
    gets the label a linear SVM fitted on the clean training set does not give it, then moves by ART's gradient
    ascent on the validation hinge loss, inside ``clip_values``.

    ``progress(done, total)`` is called before the first and after every point. Past ``time_budget`` seconds no new
    point is started and :class:`~qulab.core.registry.InvalidInput` says how far it got.
    """
    from art.attacks.poisoning import PoisoningAttackSVM
    from sklearn.svm import SVC

    onehot = np.eye(2)
    surrogate = SVC(C=C, kernel="linear").fit(X_train, y_train)
    labels = 1 - surrogate.predict(starts).astype(np.int64)
    attack = PoisoningAttackSVM(classifier=fast_q_svc(surrogate, clip_values), step=step,
                                eps=1.0, x_train=X_train, y_train=onehot[y_train], x_val=X_val, y_val=onehot[y_val],
                                max_iter=max_iter, verbose=False)
    report = progress or (lambda done, total: None)
    start, points = time.perf_counter(), []
    report(0, len(starts))
    with seeded(seed):
        for k, (point, label) in enumerate(zip(starts, labels, strict=True)):
            if time_budget is not None and time.perf_counter() - start > time_budget:
                raise InvalidInput(f"The SVM poisoning attack crafted {k} of {len(starts)} points within its "
                                   f"{time_budget:g} s budget: lower the poison rate or the steps, or raise the "
                                   "budget.")
            # ART's poison() does this per point (each against the clean training set) and then predicts through
            # ART's SVC wrapper, which sklearn 1.9's SVC breaks; so the points are made here, one at a time.
            points.append(attack.generate_attack_point(np.array(point, dtype=np.float64), onehot[label])[0])
            report(k + 1, len(starts))
    return np.array(points).reshape(len(starts), X_train.shape[1]), labels


def _svm_poison(split: Split, rate: float, target_class: int | None, params: Mapping[str, Any],
                rng: np.random.Generator, model: Any,
                progress: Callable[[float, str], None] | None = None) -> Poisoned:
    n_train = len(split.y_train)
    if split.n_classes != 2:
        raise InvalidInput(f"ART's SVM poisoning attack works on two classes; this data set has {split.n_classes}.")
    if n_train > MAX_TRAIN:
        raise InvalidInput(f"ART's SVM poisoning attack refits the SVM at every step, so the lab runs it on at most "
                           f"{MAX_TRAIN} training points; this split has {n_train}: choose fewer samples (e.g. the "
                           "two moons with 120) or a larger test share.")
    n = poison_count(rate, split)
    starts = np.sort(rng.choice(n_train, size=n, replace=False))
    val = np.sort(rng.choice(n_train, size=min(params["n_val"], n_train), replace=False))
    low, high = split.clip_values or (float(split.X_train.min()), float(split.X_train.max()))
    points, labels = svm_poison_points(
        split.X_train, split.y_train, split.X_train[starts], split.X_train[val], split.y_train[val],
        clip_values=(low, high), seed=int(rng.integers(2**31 - 1)), C=params["C"], step=params["step"],
        max_iter=params["max_iter"], time_budget=params["time_budget"],
        progress=None if progress is None else lambda done, total: progress(
            done / total if total else 1.0, f"Crafting poison points: {done} of {total} done…"))
    X = np.vstack([split.X_train, points])
    y = np.concatenate([split.y_train, labels])
    return Poisoned(X, y, np.arange(n_train, n_train + n), target_class=target_class)


POISONING_ATTACKS.register(PoisoningAttackSpec(
    "svm_poisoning", "Optimised poison points (SVM)",
    "Adds training points with the wrong label, each moved by gradient ascent to where it raises a linear SVM's "
    "error on validation points the most.",
    _svm_poison, poisoning(WHITE_BOX), reference=BIGGIO, global_draws=True,
    params=(
        Param("C", "Attacker's SVM C", 1.0, "The regularisation of the linear SVM the points are optimised against.",
              0.01, 100.0, scale="log"),
        Param("step", "Step size", 0.1, "How far each gradient step moves a poison point (in feature units).",
              0.01, 1.0, 0.01),
        Param("max_iter", "Steps per point", 10, "Gradient steps per poison point; each refits the SVM.", 2, 50),
        Param("n_val", "Validation points", 30,
              "Training points whose hinge loss the attack raises; each costs time at every step.", 10, 100),
        Param("time_budget", "Time budget (s)", 120.0,
              "The run is refused if crafting the points takes longer than this.", 5.0, 1800.0, 5.0),
    )))
