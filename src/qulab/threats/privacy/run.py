"""One privacy experiment end to end: scenario → split → target (trained, mitigated) → attack → outcome.

:func:`run_privacy` is what the CLI calls and the page caches (its steps separately: :func:`privacy_split`,
:func:`build_target`, :func:`attack_target`). :meth:`PrivacyOutcome.to_json` holds the ``qulab privacy --json``
contract: ``train_accuracy``, ``test_accuracy``, the attack kind's own keys (see
:mod:`qulab.threats.privacy.attacks`), ``epsilon`` (and ``delta``) with a differentially private mitigation, and
``seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qulab.core.progress import Progress
from qulab.core.registry import InvalidInput, resolve_params
from qulab.data.datasets import Dataset, Split
from qulab.models.registry import MODELS, ModelSpec
from qulab.threats.privacy.attacks import PRIVACY_ATTACKS, PrivacyAttackSpec, PrivacyResult, Target
from qulab.threats.privacy.experiment import PrivacyScenario, model_entry
from qulab.threats.privacy.mitigations import PRIVACY_DEFENCES, PrivacyDefenceSpec, dp_bound, dp_defence_for


@dataclass(frozen=True)
class PrivacyOutcome:
    """An attack's result on one target, with the target's accuracies and what the run cost."""

    scenario: PrivacyScenario
    result: PrivacyResult
    train_accuracy: float
    test_accuracy: float
    epsilon: float | None
    delta: float | None
    fit_seconds: float
    attack_seconds: float
    seconds: float

    @property
    def generalisation_gap(self) -> float:
        return self.train_accuracy - self.test_accuracy

    @property
    def bound(self) -> float | None:
        """The largest membership advantage (ε, δ)-DP allows; None without DP."""
        return None if self.epsilon is None else dp_bound(self.epsilon, self.delta)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data": self.scenario.dataset, "model": self.scenario.model,
                               "attack": self.scenario.attack, "defence": self.scenario.defence,
                               "seed": self.scenario.seed, "train_accuracy": self.train_accuracy,
                               "test_accuracy": self.test_accuracy, **self.result.summary()}
        if self.epsilon is not None:
            out.update(epsilon=self.epsilon, delta=self.delta, advantage_bound=self.bound)
        out.update(fit_seconds=self.fit_seconds, attack_seconds=self.attack_seconds, seconds=self.seconds)
        return out


def privacy_split(scenario: PrivacyScenario, data: Dataset | None = None) -> Split:
    """The scenario's split (the evasion pipeline's, same seed and scaling); ``data`` for uploads."""
    from qulab.evaluation.pipeline import prepare_split

    return prepare_split(scenario.as_evasion_scenario(), data)


def attack_reason(attack: PrivacyAttackSpec, model: ModelSpec, defence: PrivacyDefenceSpec | None,
                  split: Split) -> str | None:
    """Why this attack cannot run on this model, mitigation and data, in one sentence; None when it can."""
    reason = attack.unsupported_reason(model, defence)
    if reason is None and attack.data_reason is not None:
        reason = attack.data_reason(split)
    return reason


def check_data(scenario: PrivacyScenario, split: Split) -> None:
    """Refuse, in words, an attack or model the data cannot take (before anything is trained); a model file
    whose features or classes are not the data's."""
    model = model_entry(scenario.model)
    if model.needs_images and split.image_shape is None:
        raise InvalidInput(f"{model.label} needs image inputs: choose Digits or another model.")
    if scenario.from_file:
        from qulab.models.files import opened

        opened(scenario.model).check_against(split.X_test.shape[1], tuple(split.class_names),
                                             tuple(split.feature_names))
    attack = PRIVACY_ATTACKS.get(scenario.attack)
    reason = attack.data_reason(split) if attack.data_reason is not None else None
    if reason:
        raise InvalidInput(reason)


def build_target(scenario: PrivacyScenario, split: Split) -> Target:
    """The model trained on the split's training rows, as the mitigation makes and releases it; a model file as it
    is (its training rows are the split's training rows, as the user says)."""
    from qulab.evaluation.pipeline import FittedModel

    if scenario.from_file:
        return file_target(scenario.model, split)
    spec = MODELS.get(scenario.model)
    model_params = resolve_params(spec.params, dict(scenario.model_params))
    defence = PRIVACY_DEFENCES.get(scenario.defence) if scenario.defence is not None else None
    defence_params = resolve_params(defence.params, dict(scenario.defence_params)) if defence else {}

    def make_estimator(seed: int) -> Any:
        if defence is not None and defence.estimator is not None:
            return defence.estimator(spec, model_params, defence_params, seed)
        return spec.build(**model_params, seed=seed)

    start = time.perf_counter()
    estimator = make_estimator(scenario.seed).fit(split.X_train, split.y_train)
    fit_seconds = time.perf_counter() - start
    wrap = defence.wrap if defence is not None and defence.wrap is not None else spec.art_classifier
    classifier = wrap(estimator, split.clip_values)
    postprocessors = defence.postprocessors(defence_params) if defence and defence.postprocessors else []
    if postprocessors or _outputs_logits(classifier):
        classifier.set_params(postprocessing_defences=_as_probabilities(classifier) + postprocessors)

    def harden(probabilities: np.ndarray) -> np.ndarray:
        for postprocessor in postprocessors:
            probabilities = postprocessor(probabilities)
        return probabilities

    return Target(spec, FittedModel(spec, estimator, classifier, fit_seconds), make_estimator,
                  spec.exposes if defence is None else defence.released_by(spec), harden,
                  getattr(estimator, "epsilon_", None), getattr(estimator, "delta_", None))


def file_target(scenario_model: str, split: Split) -> Target:
    """An open model file as the attacker meets it: its own outputs, nothing to retrain it with."""
    from qulab.models.files import opened

    fitted = opened(scenario_model).fitted(split)
    return Target(fitted.spec, fitted, None, fitted.spec.exposes, lambda probabilities: probabilities)


def _outputs_logits(classifier: Any) -> bool:
    """Whether the ART wrapper's predict returns the network's logits (ART's PyTorch wrapper does)."""
    from art.estimators.classification import PyTorchClassifier

    return isinstance(classifier, PyTorchClassifier)


def _as_probabilities(classifier: Any) -> list[Any]:
    """The postprocessor that makes a network release probabilities (a softmax of its logits), as scikit-learn
    models do, so attacks, hardening and LiRA read the same kind of output from every model; none otherwise."""
    if not _outputs_logits(classifier):
        return []
    from art.defences.postprocessor.postprocessor import Postprocessor

    class Softmax(Postprocessor):
        def __init__(self) -> None:
            super().__init__(is_fitted=True, apply_fit=False, apply_predict=True)

        def __call__(self, preds: np.ndarray) -> np.ndarray:
            shifted = np.exp(preds - preds.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)

    return [Softmax()]


def attack_target(scenario: PrivacyScenario, split: Split, target: Target,
                  progress: Progress | None = None) -> PrivacyOutcome:
    """Run the scenario's attack on a built target (the page keeps targets, so a new attack trains nothing);
    ``progress`` hears from attacks that report it (see ``reports_progress``)."""
    attack = PRIVACY_ATTACKS.get(scenario.attack)
    params = resolve_params(attack.params, dict(scenario.attack_params), attack.label)
    start = time.perf_counter()
    reporting = {"progress": progress} if attack.reports_progress else {}
    result = attack.run(split, target, params, scenario.seed, **reporting)
    seconds = time.perf_counter() - start
    return PrivacyOutcome(scenario, result,
                          float(np.mean(target.predict(split.X_train) == split.y_train)),
                          float(np.mean(target.predict(split.X_test) == split.y_test)),
                          target.epsilon, target.delta, target.fitted.fit_seconds, seconds,
                          target.fitted.fit_seconds + seconds)


def run_privacy(scenario: PrivacyScenario, data: Dataset | None = None, split: Split | None = None) -> PrivacyOutcome:
    """The whole flow: validated scenario → split (``data`` for uploads, or a ready ``split``) → target → attack."""
    start = time.perf_counter()
    scenario.validate()
    split = privacy_split(scenario, data) if split is None else split
    check_data(scenario, split)
    outcome = attack_target(scenario, split, build_target(scenario, split))
    return replace(outcome, seconds=time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------------------------
# Comparisons the page and the benchmark draw


def _progressed(items: Sequence[Any], progress: Progress | None, what: Callable[[Any], str]):
    for i, item in enumerate(items):
        if progress is not None:
            progress(i / len(items), what(item))
        yield item
    if progress is not None:
        progress(1.0, "done")


def sweep_defence(scenario: PrivacyScenario) -> PrivacyDefenceSpec | None:
    """The differentially private mitigation an ε sweep trains: the scenario's own when it is one, else the
    model's (:func:`~qulab.threats.privacy.mitigations.dp_defence_for`); None when the model takes none."""
    chosen = PRIVACY_DEFENCES.get(scenario.defence) if scenario.defence is not None else None
    return chosen if chosen is not None and chosen.differentially_private else \
        dp_defence_for(MODELS.get(scenario.model))


def dp_sweep(scenario: PrivacyScenario, epsilons: Sequence[float], split: Split,
             progress: Progress | None = None) -> list[PrivacyOutcome]:
    """The scenario's attack against the :func:`sweep_defence` models at each ε (its other settings as in the
    scenario)."""
    dp = sweep_defence(scenario)
    if dp is None:
        model = MODELS.get(scenario.model)
        raise InvalidInput(f"{model.label} has no differentially private mitigation here.")
    given = dict(scenario.defence_params) if scenario.defence == dp.name else {}
    return [run_privacy(replace(scenario, defence=dp.name,
                                defence_params=tuple(sorted({**given, "epsilon": float(e)}.items()))), split=split)
            for e in _progressed(epsilons, progress, lambda e: f"ε = {e:g}")]


def family_sweep(scenario: PrivacyScenario, split: Split, progress: Progress | None = None) -> list[PrivacyOutcome]:
    """The scenario's attack, undefended, on every model family it applies to (with each family's defaults)."""
    attack = PRIVACY_ATTACKS.get(scenario.attack)
    images = split.image_shape is not None
    models = [m.name for m in MODELS if attack.unsupported_reason(m) is None and (images or not m.needs_images)]
    return [run_privacy(replace(scenario, model=name, model_params=(), defence=None, defence_params=()), split=split)
            for name in _progressed(models, progress, lambda n: MODELS.get(n).label)]


def regulariser_for(model: ModelSpec) -> PrivacyDefenceSpec | None:
    """The first training-time mitigation, short of DP, that this model takes (for the side-by-side view)."""
    from qulab.threats.privacy.mitigations import TRAINING_TIME

    return next((d for d in PRIVACY_DEFENCES if d.kind == TRAINING_TIME and not d.differentially_private
                 and d.unsupported_reason(model) is None), None)


def regularised_comparison(scenario: PrivacyScenario, split: Split,
                           progress: Progress | None = None) -> tuple[PrivacyOutcome, PrivacyOutcome]:
    """The scenario's attack on the model as trained (no mitigation) and on its regularised twin."""
    model = MODELS.get(scenario.model)
    regulariser = regulariser_for(model)
    if regulariser is None:
        raise InvalidInput(f"{model.label} has no regularisation or early stopping here to compare with.")
    plain = replace(scenario, defence=None, defence_params=())
    both = [plain, replace(plain, defence=regulariser.name)]
    outcomes = [run_privacy(s, split=split) for s in _progressed(
        both, progress, lambda s: "the model as trained" if s.defence is None else regulariser.label.lower())]
    return outcomes[0], outcomes[1]
