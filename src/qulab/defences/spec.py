"""What a defence is: one declarative entry (claims, parameters, models, adaptive attack, behaviour) in DEFENCES.

Nothing outside an entry looks at a defence's name: the models it runs on follow from what each model declares
(:class:`ModelRequirement`), and what it does is the entry's ``defend`` and ``estimate`` callables, filled in by
the kind's helper (:func:`qulab.defences.training.training_defence`,
:func:`qulab.defences.preprocessing.preprocessing_defence`,
:func:`qulab.defences.certification.certification_defence`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qulab.core.experiment import Scenario
from qulab.core.progress import Progress
from qulab.core.registry import Param, Registry
from qulab.core.threat import NORMS, WHITE_BOX, ThreatModel, evasion
from qulab.data.datasets import Split
from qulab.models.registry import GRADIENTS, MODELS, SCORES, ModelSpec
from qulab.threats.evasion.attacks import ATTACKS, AttackSpec

if TYPE_CHECKING:
    from qulab.defences.evaluate import Baseline

TRAINING, PREPROCESSING, POSTPROCESSING = "training", "preprocessing", "postprocessing"
CERTIFICATION, DETECTION = "certification", "detection"
KINDS = (TRAINING, PREPROCESSING, POSTPROCESSING, CERTIFICATION, DETECTION)


# The attacker an honest evaluation assumes: one who knows the defence and has the defended model's gradients
# (adaptive white box), in any norm the scenario's attack measures its budget in.
ADAPTIVE_WHITE_BOX = evasion(WHITE_BOX, *GRADIENTS, norms=NORMS)


@dataclass(frozen=True)
class ModelRequirement:
    """Which models a defence runs on, decided from what each model declares (never a list of model names)."""

    accepts: Callable[[ModelSpec], bool]
    why_not: str  # one sentence: why the other models cannot have it


def has_gradients(model: ModelSpec) -> bool:
    return model.exposes >= GRADIENTS


def is_torch(model: ModelSpec) -> bool:
    """A PyTorch network (the neural family): ART can retrain and smooth its module."""
    return model.family == "neural"


NEEDS_GRADIENTS = ModelRequirement(
    has_gradients, "the adaptive attack differentiates through the model, and trees and ensembles have no gradients.")
NEEDS_ROBUST_TRAINER = ModelRequirement(
    lambda model: is_torch(model) or (model.linear and SCORES in model.exposes),
    "it needs a trainer that regenerates adversarial examples while it learns: ART's for PyTorch networks, the "
    "closed-form worst case of the logistic loss for linear models with probabilities; the others have neither.")
NEEDS_TORCH = ModelRequirement(
    is_torch, "ART's randomized smoothing retrains and samples a PyTorch network; other models have no module.")


@dataclass(frozen=True)
class Workload:
    """What a duration estimate depends on (see :func:`qulab.defences.evaluate.estimate_seconds`)."""

    params: dict[str, Any]
    torch_model: bool
    per_attack: float  # seconds for one attack over the grid on the undefended model
    n_train: int


@dataclass(frozen=True)
class DefenceRun:
    """Everything a defence's ``defend`` gets: the checked inputs and the undefended side it is compared with."""

    defence: DefenceSpec
    params: dict[str, Any]
    scenario: Scenario
    model: ModelSpec
    attack: AttackSpec
    attack_params: dict[str, Any]
    split: Split
    baseline: Baseline
    grid: tuple[float, ...]
    report: Progress


@dataclass(frozen=True)
class Defended:
    """The defended side of an evaluation, as ``defend`` returns it; ``extra`` fills DefenceOutcome's optional
    fields (``exact_curve_*``, ``curve_nonadaptive``, ``certified_*``)."""

    clean: float
    curve: tuple[float, ...]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DefenceSpec:
    """A registry entry: what the defence does, what it claims, how it is attacked, where it breaks, what it
    runs on, and the callables that run it. ``train``, ``preprocessor`` and ``adaptive_examples`` are the
    kind-specific pieces the kind's ``defend`` uses (None where the kind has none). ``threat`` is the attacker the
    defence is evaluated against."""

    name: str
    label: str
    kind: str
    description: str
    protects_against: str
    known_weakness: str
    adaptive_attack: str
    requirement: ModelRequirement
    defend: Callable[[DefenceRun], Defended]
    estimate: Callable[[Workload], float]
    threat: ThreatModel
    params: tuple[Param, ...] = field(default=())
    train: Callable[[DefenceRun], Any] | None = None
    preprocessor: Callable[[dict[str, Any], Split], Any] | None = None
    adaptive_examples: Callable[..., np.ndarray | None] | None = None
    needs_images: bool = False
    needs_range: bool = False  # features must lie in a known range (min-max scaling or images)
    works: bool = True  # False for the lesson that shows a defence that fails
    reference: str = ""
    offers: frozenset[str] | None = None  # what the defended model gives attacks; None: whatever the model gives
    # Whether its run (training, sanitising, certifying) draws from the process-global generators, as ART's noise
    # and shuffling do: then the defended side runs seeded under the lock (qulab.core.randomness.seeded), otherwise
    # unlocked beside other sessions. A test on the model and params where that depends on them.
    global_draws: bool | Callable[[ModelSpec, Mapping[str, Any]], bool] = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")

    def draws_globally(self, model: ModelSpec, params: Mapping[str, Any]) -> bool:
        return self.global_draws(model, params) if callable(self.global_draws) else self.global_draws

    @property
    def models(self) -> tuple[str, ...]:
        """The registered models this defence runs on (derived from what each model declares)."""
        return tuple(model.name for model in MODELS if self.requirement.accepts(model))

    @property
    def families(self) -> tuple[str, ...]:
        """The model families this defence supports."""
        return tuple(sorted({MODELS.get(name).family for name in self.models}))

    def unsupported_reason(self, model: ModelSpec, images: bool = False, known_range: bool = True) -> str | None:
        """Why this defence cannot run with this model and data, in plain words; None when it can."""
        if not self.requirement.accepts(model):
            labels = "; ".join(MODELS.get(n).in_text for n in self.models)
            return (f"{self.label} works with these models only: {labels}. It cannot run on {model.a_name}: "
                    f"{self.requirement.why_not}")
        if self.needs_images and not images:
            return f"{self.label} works on images only: choose the digits data set on the Data Sets page."
        if self.needs_range and not known_range:
            return (f"{self.label} needs features in a known range [0, 1]: choose min-max scaling on the Data Sets "
                    "page (images already are).")
        return None

    def attack_reason(self, attack: AttackSpec, norm: str | None = None) -> str | None:
        """Why this attack (in ``norm``, when given) cannot run against the defended model, in plain words; None
        when it can. The norm must be one the defence's threat model declares."""
        if norm is not None and (reason := self.threat.norm_reason(norm, self.label)):
            return reason
        if attack.threat.covers(offered=self.offers):
            return None
        usable = ", ".join(a.label for a in ATTACKS if a.threat.covers(offered=self.offers))
        return (f"{self.label} gives attacks only {', '.join(sorted(self.offers))}, and {attack.label} needs "
                f"{', '.join(sorted(attack.needs - self.offers))}. Attacks that work here: {usable}.")


DEFENCES: Registry[DefenceSpec] = Registry("defence")


def defendable_models() -> list[ModelSpec]:
    """The models at least one registered defence runs on, in registry order."""
    return [model for model in MODELS if any(defence.requirement.accepts(model) for defence in DEFENCES)]
