"""Run a poisoning scenario: clean model, poisoned model, attack success, detection and the defended model.

:func:`run_poisoning` is the one flow the page and ``qulab poison`` share; :func:`rate_curve` repeats the attack
over poison rates and seeds (the clean split and model are made once per seed). The metrics are the field's
(BackdoorBench, NIST AI 100-2): the clean accuracy of the clean and of the poisoned model on the clean test set;
for a backdoor the attack success rate (ASR: triggered test inputs whose true class is not the target that the
model assigns to the target); for a detector its precision and recall against the rows the attacker wrote, and
the accuracy and ASR of the model retrained without the flagged rows.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qulab.core.progress import Progress
from qulab.core.randomness import seeded
from qulab.core.registry import InvalidInput, resolve_params
from qulab.data.datasets import Dataset, Split
from qulab.evaluation.pipeline import FittedModel, fit_model, prepare_split
from qulab.models.registry import MODELS
from qulab.threats.poisoning.attacks import POISONING_ATTACKS, Poisoned
from qulab.threats.poisoning.defences import POISONING_DEFENCES, Flagged
from qulab.threats.poisoning.experiment import PoisoningScenario

# Streams of the run's seed, so the attacker's and the defender's draws never share numbers.
_ATTACK_STREAM, _DEFENCE_STREAM = 1, 2


def _quiet(fraction: float, text: str) -> None:
    return None


@dataclass(frozen=True)
class PoisoningOutcome:
    """One scenario's result. Predictions are kept for the figures; ``summary()`` holds the reported numbers.

    ``triggered`` are the test inputs whose true class is not the target, with the trigger stamped on them
    (backdoors only; None otherwise); ``pred_*_triggered`` are the models' predictions on them.
    """

    scenario: PoisoningScenario
    n_train: int
    poisoned: Poisoned
    y_test: np.ndarray
    pred_clean: np.ndarray
    pred_poisoned: np.ndarray
    triggered: np.ndarray | None
    pred_clean_triggered: np.ndarray | None
    pred_poisoned_triggered: np.ndarray | None
    flagged: Flagged | None
    pred_defended: np.ndarray | None
    pred_defended_triggered: np.ndarray | None
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def n_poisoned(self) -> int:
        return len(self.poisoned.indices)

    @property
    def clean_accuracy(self) -> float:
        return _accuracy(self.pred_clean, self.y_test)

    @property
    def poisoned_accuracy(self) -> float:
        return _accuracy(self.pred_poisoned, self.y_test)

    def _asr(self, pred: np.ndarray | None) -> float | None:
        if pred is None or len(pred) == 0:
            return None
        return float(np.mean(pred == self.poisoned.target_class))

    @property
    def attack_success_rate(self) -> float | None:
        return self._asr(self.pred_poisoned_triggered)

    @property
    def clean_attack_success_rate(self) -> float | None:
        """The same triggered inputs on the clean model: what the trigger does without any poison."""
        return self._asr(self.pred_clean_triggered)

    @property
    def detection_precision(self) -> float | None:
        """Share of the flagged rows that the attacker wrote (None when nothing is flagged)."""
        if self.flagged is None or len(self.flagged.indices) == 0:
            return None
        return float(np.isin(self.flagged.indices, self.poisoned.indices).mean())

    @property
    def detection_recall(self) -> float | None:
        """Share of the attacker's rows that were flagged (None when nothing was poisoned)."""
        if self.flagged is None or self.n_poisoned == 0:
            return None
        return float(np.isin(self.poisoned.indices, self.flagged.indices).mean())

    @property
    def defended_accuracy(self) -> float | None:
        return None if self.pred_defended is None else _accuracy(self.pred_defended, self.y_test)

    @property
    def defended_attack_success_rate(self) -> float | None:
        return self._asr(self.pred_defended_triggered)

    def summary(self) -> dict[str, Any]:
        """The numbers the page shows and ``qulab poison --json`` prints (absent parts left out)."""
        result: dict[str, Any] = {"rate": self.scenario.rate, "n_train": self.n_train, "n_poisoned": self.n_poisoned,
                                  "clean_accuracy": self.clean_accuracy, "poisoned_accuracy": self.poisoned_accuracy}
        if self.poisoned.is_backdoor:
            result["attack_success_rate"] = self.attack_success_rate
            result["clean_attack_success_rate"] = self.clean_attack_success_rate
        if self.flagged is not None:
            result.update(n_flagged=len(self.flagged.indices), detection_precision=self.detection_precision,
                          detection_recall=self.detection_recall, defended_accuracy=self.defended_accuracy)
            if self.poisoned.is_backdoor:
                result["defended_attack_success_rate"] = self.defended_attack_success_rate
        result.update(seconds=self.seconds, notes=list(self.notes))
        return result


def _accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(pred == y))


def prepare(scenario: PoisoningScenario, data: Dataset | None = None) -> tuple[Split, FittedModel]:
    """The scenario's clean split and the model trained on it (``data`` carries an upload's rows)."""
    clean = scenario.clean_scenario()
    split = prepare_split(clean, data)
    check_data(scenario, split)
    return split, fit_model(clean, split)


def check_data(scenario: PoisoningScenario, split: Split) -> None:
    """Refuse in words what the data cannot take (images, classes, the target class), before any fit."""
    attack = POISONING_ATTACKS.get(scenario.attack)
    images = split.image_shape is not None
    reason = (attack.unsupported_reason(MODELS.get(scenario.model), split.n_classes, images)
              or attack.target_reason(scenario.target_class, split.class_names))
    if not reason and scenario.defence is not None:
        reason = POISONING_DEFENCES.get(scenario.defence).unsupported_reason(MODELS.get(scenario.model), images)
    if reason:
        raise InvalidInput(reason)


def _fit_on(scenario: PoisoningScenario, split: Split, X: np.ndarray, y: np.ndarray, what: str) -> FittedModel:
    """The scenario's model trained on (X, y) in place of the clean training set; refused in words when the
    poison or the defence left fewer than two classes to learn."""
    classes = np.unique(y)
    if len(classes) < 2:
        only = f"class {split.class_names[classes[0]]!r}" if len(classes) else "nothing"
        raise InvalidInput(f"{what} leaves {only} in the training set, and a classifier needs two classes: "
                           "lower the poison rate.")
    return fit_model(scenario.clean_scenario(), replace(split, X_train=X, y_train=y))


def poison_split(scenario: PoisoningScenario, split: Split, clean_model: FittedModel,
                 progress: Progress | None = None) -> Poisoned:
    """The attacker's move: the scenario's attack on the clean training set, drawing from the run's seed;
    ``progress(fraction, text)`` hears from an entry that reports its own progress."""
    attack = POISONING_ATTACKS.get(scenario.attack)
    params = resolve_params(attack.params, dict(scenario.attack_params), attack.label)
    rng = np.random.default_rng([scenario.seed, _ATTACK_STREAM])
    with seeded(scenario.seed) if attack.global_draws else contextlib.nullcontext():
        return attack.poison(split, scenario.rate, scenario.target_class, params, rng, clean_model,
                             progress=progress)


def run_poisoning(scenario: PoisoningScenario, data: Dataset | None = None, *, split: Split | None = None,
                  clean_model: FittedModel | None = None, progress: Progress | None = None) -> PoisoningOutcome:
    """The whole poisoning flow for one scenario; ``split`` and ``clean_model`` are passed when the caller keeps
    them (the app's caches, :func:`rate_curve`), else made here. The scenario is validated first."""
    report = progress or _quiet
    start = time.perf_counter()
    scenario.validate()
    if split is None or clean_model is None:
        report(0.0, "Training the clean model…")
        split, clean_model = prepare(scenario, data)
    else:
        check_data(scenario, split)
    report(0.2, "Poisoning the training set…")
    poisoned = poison_split(scenario, split, clean_model,
                            lambda fraction, text: report(0.2 + 0.2 * fraction, text))  # within 0.2 to 0.4
    report(0.4, "Training on the poisoned data…")
    model = _fit_on(scenario, split, poisoned.X_train, poisoned.y_train, "The poison")
    triggered = pred_clean_triggered = pred_poisoned_triggered = None
    if poisoned.is_backdoor:
        triggered = triggered_test_inputs(split, poisoned)
        pred_clean_triggered, pred_poisoned_triggered = clean_model.predict(triggered), model.predict(triggered)
    flagged = pred_defended = pred_defended_triggered = None
    notes = list(poisoned.notes)
    if scenario.defence is not None:
        report(0.6, "Looking for the poison…")
        defence = POISONING_DEFENCES.get(scenario.defence)
        params = resolve_params(defence.params, dict(scenario.defence_params), defence.label)
        rng = np.random.default_rng([scenario.seed, _DEFENCE_STREAM])
        seen = replace(split, X_train=poisoned.X_train, y_train=poisoned.y_train)
        with seeded(scenario.seed) if defence.global_draws else contextlib.nullcontext():
            flagged = defence.flag(seen, model, params, rng)
        notes.extend(flagged.notes)
        keep = np.setdiff1d(np.arange(len(poisoned.y_train)), flagged.indices)
        report(0.8, "Training without the flagged points…")
        defended = _fit_on(scenario, split, poisoned.X_train[keep], poisoned.y_train[keep], defence.label)
        pred_defended = defended.predict(split.X_test)
        if triggered is not None:
            pred_defended_triggered = defended.predict(triggered)
    report(1.0, "Done")
    return PoisoningOutcome(
        scenario=scenario, n_train=len(split.y_train), poisoned=poisoned, y_test=split.y_test,
        pred_clean=clean_model.predict(split.X_test), pred_poisoned=model.predict(split.X_test),
        triggered=triggered, pred_clean_triggered=pred_clean_triggered,
        pred_poisoned_triggered=pred_poisoned_triggered, flagged=flagged, pred_defended=pred_defended,
        pred_defended_triggered=pred_defended_triggered, seconds=time.perf_counter() - start, notes=tuple(notes))


def triggered_test_inputs(split: Split, poisoned: Poisoned) -> np.ndarray:
    """The test inputs whose true class is not the target, with the trigger stamped on them (the ASR's inputs)."""
    return poisoned.trigger(split.X_test[split.y_test != poisoned.target_class])


@dataclass(frozen=True)
class RateCurve:
    """Metrics over poison rates (rows) × seeds (columns); ``attack_success_rate`` only for backdoors, the
    ``defended_*`` and ``detection_*`` ones only with a defence (NaN where a metric is undefined)."""

    scenario: PoisoningScenario
    rates: tuple[float, ...]
    seeds: tuple[int, ...]
    metrics: dict[str, np.ndarray]
    n_poisoned: tuple[int, ...]
    seconds: float
    runs: tuple[tuple[PoisoningScenario, dict[str, Any]], ...] = ()  # each point's experiment and its summary()

    def mean(self, metric: str) -> np.ndarray:
        """The metric's mean over seeds per rate (NaN where it is undefined at every seed)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self.metrics[metric], axis=1)


CURVE_METRICS = ("clean_accuracy", "poisoned_accuracy", "attack_success_rate", "detection_precision",
                 "detection_recall", "defended_accuracy", "defended_attack_success_rate")


def rate_curve(scenario: PoisoningScenario, rates: Sequence[float], seeds: Sequence[int], data: Dataset | None = None,
               progress: Progress | None = None) -> RateCurve:
    """The scenario at each rate × seed; per seed, the split and the clean model are made once. A seed changes
    the split, the model's initialisation and the attacker's draws together."""
    if not rates or not seeds:
        raise InvalidInput("A poison-rate curve needs at least one rate and one seed.")
    report = progress or _quiet
    start = time.perf_counter()
    checked = [replace(scenario, rate=rate, seed=seed).validate() for seed in seeds for rate in rates]
    values = {name: np.full((len(rates), len(seeds)), np.nan) for name in CURVE_METRICS}
    counts = [0] * len(rates)
    runs = []
    for j, seed in enumerate(seeds):
        split, clean_model = prepare(checked[j * len(rates)], data)
        for i, rate in enumerate(rates):
            report((j * len(rates) + i) / (len(rates) * len(seeds)), f"Rate {rate:g}, seed {seed}…")
            outcome = run_poisoning(checked[j * len(rates) + i], split=split, clean_model=clean_model)
            counts[i] = outcome.n_poisoned
            runs.append((checked[j * len(rates) + i], outcome.summary()))
            for name in CURVE_METRICS:
                value = getattr(outcome, name)
                values[name][i, j] = np.nan if value is None else value
    report(1.0, "Done")
    return RateCurve(scenario, tuple(rates), tuple(seeds), values, tuple(counts), time.perf_counter() - start,
                     tuple(runs))
