"""The one flow every page and the CLI share: scenario → split → fitted model → attack → outcome."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qulab.core.experiment import MODEL_FILE_PREFIX, Scenario
from qulab.core.registry import InvalidInput, resolve_params
from qulab.data.datasets import SCALINGS, Dataset, Split, clip_after_scaling, load_dataset, split_dataset
from qulab.evaluation import budget
from qulab.models.registry import MODELS, ModelSpec, linear_scores
from qulab.threats.evasion.attacks import ATTACKS


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
    """The scenario's model fitted on the split's training part; a model from a file (opened with
    :func:`qulab.models.files.open_model_file`) is attacked as it is, after it is checked against the data."""
    if scenario.model.startswith(MODEL_FILE_PREFIX):
        from qulab.models.files import opened

        return opened(scenario.model).fitted(split)
    spec = MODELS.get(scenario.model)
    params = resolve_params(spec.params, dict(scenario.model_params))
    start = time.perf_counter()
    estimator = spec.build(**params, seed=scenario.seed).fit(split.X_train, split.y_train)
    seconds = time.perf_counter() - start
    return FittedModel(spec, estimator, spec.art_classifier(estimator, split.clip_values), seconds)


def checked_attack_params(scenario: Scenario, split: Split, model: ModelSpec | None = None) -> dict[str, Any]:
    """The scenario's attack parameters, after refusing in words an attack this model, data or norm cannot take
    (before any model is fitted); ``model`` is given for a model from a file, which has no registry entry."""
    spec = ATTACKS.get(scenario.attack)
    reason = spec.unsupported_reason(model or MODELS.get(scenario.model), split.n_classes,
                                     split.image_shape is not None)
    if reason:
        raise InvalidInput(reason)
    if scenario.norm not in spec.norms:
        raise InvalidInput(f"{spec.label} measures its budget in {', '.join(spec.norms)}, not {scenario.norm}.")
    return resolve_params(spec.params, dict(scenario.attack_params))


def unit_step(scenario: Scenario, split: Split, model: FittedModel) -> np.ndarray:
    """The scenario's rescalable attack's :func:`qulab.evaluation.budget.unit_step` on the split's test points,
    computed once per model and norm (the app keeps it, so an epsilon move is one multiply and one predict)."""
    return budget.unit_step(ATTACKS.get(scenario.attack), model.classifier, split.X_test, split.y_test,
                            scenario.norm, scenario.seed)


def linear_weights(model: FittedModel) -> budget.LinearWeights | None:
    """A linear model's per-class scores (W, b), for the closed form; None for other models."""
    return linear_scores(model.estimator) if model.spec.linear else None


def attack_sweep(scenario: Scenario, split: Split, model: FittedModel, grid: Sequence[float], *,
                 step: np.ndarray | None = None, keep_examples: bool = False,
                 progress: budget.Progress | None = None) -> budget.BudgetSweep:
    """The budget engine's sweep of the scenario's attack (with its parameters and seed) on the split's test set."""
    params = checked_attack_params(scenario, split, model.spec)
    return budget.sweep(ATTACKS.get(scenario.attack), model.classifier, split.X_test, split.y_test, grid,
                        scenario.norm, params, scenario.seed, predict=model.predict, step=step,
                        linear=linear_weights(model), keep_examples=keep_examples, progress=progress,
                        images=split.image_shape is not None)


def run_attack(scenario: Scenario, split: Split, model: FittedModel, step: np.ndarray | None = None,
               progress: budget.Progress | None = None) -> AttackOutcome:
    """Attack the test set of the split with the scenario's attack, against the true labels: a sweep of one budget.

    ``step`` is the attack's :func:`unit_step` when the caller keeps it; ``progress(fraction, text)`` hears how
    much of the run is done (the same examples either way).
    """
    result = attack_sweep(scenario, split, model, (scenario.eps,), step=step, keep_examples=True,
                          progress=progress)
    return AttackOutcome(scenario=scenario, X_test=split.X_test, y_test=split.y_test, X_adv=result.examples[0],
                         pred_clean=model.predict(split.X_test), pred_adv=result.preds[0],
                         seconds=result.seconds, notes=result.notes)


def evaluate(scenario: Scenario) -> AttackOutcome:
    """The whole flow in one call (the CLI's path; pages cache the steps separately); the scenario is checked
    against the registries first, so a bad one is refused before any data is loaded."""
    split = prepare_split(scenario.validate())
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
    X_train, X_test = train.X, test.X
    if scaling != "none":
        scaler = (MinMaxScaler() if scaling == "minmax" else StandardScaler()).fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return Split(X_train=X_train, X_test=X_test, y_train=train.y, y_test=y_test,
                 feature_names=train.feature_names, class_names=train.class_names,
                 clip_values=clip_after_scaling(train.clip_values, scaling),
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
