"""The one flow every page and the CLI share: scenario → split → fitted model → attack → outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qulab.core.experiment import Scenario
from qulab.core.randomness import seeded_if_random
from qulab.core.registry import InvalidInput, resolve_params
from qulab.data.datasets import SCALINGS, Dataset, Split, load_dataset, split_dataset
from qulab.models.registry import MODELS, ModelSpec
from qulab.threats.evasion.attacks import ATTACKS, art_warnings, generate


@dataclass(frozen=True)
class FittedModel:
    """A trained estimator and its ART wrapper; never mutated once built."""

    spec: ModelSpec
    estimator: Any
    classifier: Any
    fit_seconds: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.estimator.predict(X)).astype(np.int64)


@dataclass(frozen=True)
class AttackOutcome:
    """Clean and adversarial test points with the model's predictions on both."""

    scenario: Scenario
    X_test: np.ndarray
    y_test: np.ndarray
    X_adv: np.ndarray
    pred_clean: np.ndarray
    pred_adv: np.ndarray
    seconds: float
    notes: tuple[str, ...] = ()  # what ART warned about (e.g. no adversarial starting point found)

    @property
    def n_test(self) -> int:
        return len(self.y_test)

    @property
    def clean_accuracy(self) -> float:
        return float(np.mean(self.pred_clean == self.y_test))

    @property
    def adversarial_accuracy(self) -> float:
        return float(np.mean(self.pred_adv == self.y_test))

    @property
    def flipped(self) -> int:
        """How many predictions the attack changed."""
        return int(np.sum(self.pred_clean != self.pred_adv))

    @property
    def success_rate(self) -> float:
        """Share of correctly classified points that the attack turned into errors."""
        correct = self.pred_clean == self.y_test
        return float(np.mean(self.pred_adv[correct] != self.y_test[correct])) if correct.any() else 0.0

    def perturbation_norms(self, ord: float) -> np.ndarray:
        return np.linalg.norm((self.X_adv - self.X_test).reshape(self.n_test, -1), ord=ord, axis=1)

    def summary(self) -> dict[str, Any]:
        """The numbers the page shows and the CLI prints."""
        linf, l2 = self.perturbation_norms(np.inf), self.perturbation_norms(2)
        return {
            "clean_accuracy": self.clean_accuracy,
            "adversarial_accuracy": self.adversarial_accuracy,
            "attack_success_rate": self.success_rate,
            "flipped": self.flipped,
            "eps": self.scenario.eps,
            "norm": self.scenario.norm,
            "n_test": self.n_test,
            "median_linf": float(np.median(linf)),
            "max_linf": float(np.max(linf)),
            "median_l2": float(np.median(l2)),
            "max_l2": float(np.max(l2)),
            "seconds": self.seconds,
            "notes": list(self.notes),
        }


def prepare_split(scenario: Scenario, data: Dataset | None = None) -> Split:
    """The scenario's train/test split; ``data`` is given for uploads, which have no registry name."""
    if data is None:
        data = load_dataset(scenario.dataset, dict(scenario.dataset_params), seed=scenario.seed)
    return split_dataset(data, scenario.test_size, scenario.seed, scenario.scaling)


def fit_model(scenario: Scenario, split: Split) -> FittedModel:
    spec = MODELS.get(scenario.model)
    params = resolve_params(spec.params, dict(scenario.model_params))
    start = time.perf_counter()
    estimator = spec.build(**params, seed=scenario.seed).fit(split.X_train, split.y_train)
    seconds = time.perf_counter() - start
    return FittedModel(spec, estimator, spec.art_classifier(estimator, split.clip_values), seconds)


def unit_step(scenario: Scenario, split: Split, model: FittedModel) -> np.ndarray:
    """A rescalable attack's step at eps = 1 for every test point (from ART, on the model without clipping).

    FGM's step is eps times a direction computed from one gradient at the clean point, so this is computed once
    per model and norm, and any eps is then ``clip(X + eps · step)``: exactly what ART would return.
    """
    spec = ATTACKS.get(scenario.attack)
    if not spec.rescalable:
        raise ValueError(f"{spec.label}'s step depends on eps; it cannot be rescaled")
    unclipped = model.spec.art_classifier(model.estimator, None)
    return generate(spec, unclipped, split.X_test, split.y_test, 1.0, scenario.norm) - split.X_test


def run_attack(scenario: Scenario, split: Split, model: FittedModel, step: np.ndarray | None = None) -> AttackOutcome:
    """Attack the test set of the split with the scenario's attack, against the true labels.

    ``step`` is the attack's :func:`unit_step` when the caller keeps it (the app does, so an epsilon move is
    one multiply and one predict).
    """
    spec = ATTACKS.get(scenario.attack)
    reason = spec.unsupported_reason(model.spec, split.n_classes, split.image_shape is not None)
    if reason:
        raise InvalidInput(reason)
    params = resolve_params(spec.params, dict(scenario.attack_params))
    start = time.perf_counter()
    if step is not None:
        lo, hi = split.clip_values or (-np.inf, np.inf)
        X_adv = np.clip(split.X_test + scenario.eps * step, lo, hi)
        notes: list[str] = []
    else:
        with art_warnings() as notes, seeded_if_random(spec, params, scenario.seed):
            X_adv = generate(spec, model.classifier, split.X_test, split.y_test, scenario.eps, scenario.norm, params)
    seconds = time.perf_counter() - start
    return AttackOutcome(scenario=scenario, X_test=split.X_test, y_test=split.y_test, X_adv=X_adv,
                         pred_clean=model.predict(split.X_test), pred_adv=model.predict(X_adv),
                         seconds=seconds, notes=tuple(notes))


def evaluate(scenario: Scenario) -> AttackOutcome:
    """The whole flow in one call (the CLI's path; pages cache the steps separately)."""
    split = prepare_split(scenario)
    return run_attack(scenario, split, fit_model(scenario, split))


def split_with_test_set(train: Dataset, test: Dataset, scaling: str = "none", seed: int = 42) -> Split:
    """A split from an explicit test set: the scaler is fitted on ``train`` only; classes are matched by name.

    The test set must have the training set's features (same names, same order); its classes must be among
    the training classes (a test set may lack some of them).
    """
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    if scaling not in SCALINGS:
        raise InvalidInput(f"scaling must be one of {', '.join(SCALINGS)}, not {scaling!r}")
    if tuple(test.feature_names) != tuple(train.feature_names):
        missing = [f for f in train.feature_names if f not in test.feature_names]
        extra = [f for f in test.feature_names if f not in train.feature_names]
        detail = "; ".join(part for part in (
            f"missing {', '.join(map(repr, missing[:5]))}" if missing else "",
            f"not in training {', '.join(map(repr, extra[:5]))}" if extra else "",
        ) if part) or "same names in a different order"
        raise InvalidInput(f"the test set's feature columns differ from the training set's ({detail}); "
                           f"give both files the same feature columns")
    code = {name: k for k, name in enumerate(train.class_names)}
    unknown = sorted({name for name in test.class_names if name not in code})
    if unknown:
        raise InvalidInput(f"the test set has classes the training set lacks: {', '.join(map(repr, unknown[:5]))}")
    y_test = np.array([code[name] for name in test.class_names], dtype=np.int64)[test.y] if len(test.y) else test.y
    X_train, X_test, clip = train.X, test.X, train.clip_values
    if scaling != "none":
        scaler = (MinMaxScaler() if scaling == "minmax" else StandardScaler()).fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        clip = (0.0, 1.0) if scaling == "minmax" and clip is not None else None
    return Split(X_train=X_train, X_test=X_test, y_train=train.y, y_test=y_test,
                 feature_names=train.feature_names, class_names=train.class_names, clip_values=clip,
                 scaling=scaling, image_shape=train.image_shape)


def subsample(split: Split, n: int, seed: int) -> Split:
    """The split with at most ``n`` test points, drawn with ``seed`` (in their original order); the training
    part is untouched, so the fitted model stays the same."""
    if n <= 0:
        raise InvalidInput(f"the number of test points to attack must be positive, not {n}")
    if n >= len(split.y_test):
        return split
    keep = np.sort(np.random.default_rng(seed).choice(len(split.y_test), size=n, replace=False))
    return replace(split, X_test=split.X_test[keep], y_test=split.y_test[keep])
