"""Poisoning attacks: the attacker writes into part of the training set. One registry entry each.

Adding an attack is one :class:`PoisoningAttackSpec` registered in :data:`POISONING_ATTACKS` (from any module
imported by :mod:`qulab.threats.poisoning`); the Poisoning page, ``qulab poison`` and the test tables read it::

    def _my_poison(split, rate, target_class, params, rng, model, progress=None):
        n = poison_count(rate, split)                         # round(rate · n_train), refused in words if too many
        idx = np.sort(rng.choice(len(split.y_train), n, replace=False))
        y = split.y_train.copy(); y[idx] = ...
        return Poisoned(split.X_train, y, idx)

    POISONING_ATTACKS.register(PoisoningAttackSpec(
        "my_poison", "My poison", "One sentence a student understands.", _my_poison,
        poisoning(BLACK_BOX), params=(Param(...),), reference="Author et al., Venue year"))

The ``poison`` callable gets

- ``split``: the clean :class:`~qulab.data.datasets.Split` (training and test part, already scaled);
- ``rate``: the share of the training set to poison; ``target_class``: the class index aimed at, or None;
- ``params``: the entry's parameters, resolved and checked; ``rng``: a ``numpy.random.Generator`` made from the
  run's seed (draw only from it; an ART class that draws from the global generators must run under
  :func:`qulab.core.randomness.seeded`, and its entry says ``global_draws=True``);
- ``model``: the victim's :class:`~qulab.evaluation.pipeline.FittedModel` trained on the clean data (its
  ``estimator`` and ART ``classifier``): what a white-box attacker knows; others ignore it;
- ``progress``: None, or ``progress(fraction, text)`` for an attack slow enough to report how far it got (the
  fraction of its own work, 0 to 1; the SVM attack reports each crafted point); the others ignore it.

It returns a :class:`Poisoned`: the training set the victim will learn from, the rows the attacker wrote (their
indices in that returned set: rows may be changed in place or appended), and for a backdoor the ``trigger`` that
stamps test inputs. Which models and data an entry runs on is the entry's ``model_reason`` (a sentence, or None)
and its ``needs_images`` / ``needs_target`` / ``min_classes``; nothing outside an entry compares its name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qulab.core.registry import InvalidInput, Param, Registry
from qulab.core.threat import POISONING, TRAINING, TRAINING_DATA, ThreatModel
from qulab.data.datasets import Split
from qulab.models.registry import ModelSpec

if TYPE_CHECKING:
    from qulab.evaluation.pipeline import FittedModel


def poisoning(knowledge: str, *access: str) -> ThreatModel:
    """A poisoning threat (NIST AI 100-2): at training time the attacker writes into the training data, knowing
    ``knowledge`` of the model and reading ``access`` from it (a surrogate's needs are the attacker's own)."""
    return ThreatModel(POISONING, knowledge, frozenset({TRAINING_DATA, *access}), TRAINING)


@dataclass(frozen=True)
class Poisoned:
    """The training set after the attack, and what the attacker did to it.

    ``indices`` are the rows of ``X_train`` / ``y_train`` the attacker wrote (sorted; changed or appended rows).
    ``trigger`` (backdoors only) stamps the trigger on a batch of inputs shaped like ``X_train``'s rows; the
    attack succeeds on a triggered input when the poisoned model predicts ``target_class``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    indices: np.ndarray
    trigger: Callable[[np.ndarray], np.ndarray] | None = None
    target_class: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def is_backdoor(self) -> bool:
        return self.trigger is not None


class PoisonFunction(Protocol):
    """An entry's attack (see the module docstring); ``progress`` is optional, and most entries ignore it."""

    def __call__(self, split: Split, rate: float, target_class: int | None, params: Mapping[str, Any],
                 rng: np.random.Generator, model: FittedModel,
                 progress: Callable[[float, str], None] | None = None) -> Poisoned: ...


def every_model(model: ModelSpec) -> str | None:
    return None


@dataclass(frozen=True)
class PoisoningAttackSpec:
    """A registry entry: what the attack does, its threat model, paper, parameters, where it runs, and ``poison``.

    ``model_reason(model)`` says in one sentence why the attack cannot run on a model (None when it can).
    """

    name: str
    label: str
    description: str
    poison: PoisonFunction
    threat: ThreatModel
    params: tuple[Param, ...] = field(default=())
    reference: str = ""
    model_reason: Callable[[ModelSpec], str | None] = every_model
    needs_images: bool = False
    needs_target: bool = False  # the scenario must name a target class (backdoors)
    min_classes: int = 2
    global_draws: bool = False  # its ART class draws from the process-global generators (run under `seeded`)

    def __post_init__(self) -> None:
        if self.threat.nist_class != POISONING or self.threat.stage != TRAINING:
            raise ValueError(f"{self.name}: a poisoning attack's threat model is poisoning at training time")

    @property
    def knowledge(self) -> str:
        return self.threat.knowledge

    def unsupported_reason(self, model: ModelSpec, n_classes: int | None = None, images: bool = True) -> str | None:
        """Why this attack cannot run on this model and data (None for data not yet known), in words."""
        reason = self.model_reason(model)
        if reason:
            return reason
        if self.needs_images and not images:
            return f"{self.label} stamps a pattern on images: choose the digits data set on the Data Sets page."
        if n_classes is not None and n_classes < self.min_classes:
            return f"{self.label} needs at least {self.min_classes} classes; this data set has {n_classes}."
        return None

    def target_reason(self, target_class: int | None, class_names: tuple[str, ...]) -> str | None:
        """Why this target class does not fit the attack and data, in words; None when it does."""
        if target_class is None:
            return (f"{self.label} needs a target class: the class the poisoned model should give triggered "
                    "inputs.") if self.needs_target else None
        if target_class >= len(class_names):
            return (f"The target class {target_class} does not exist: this data set has {len(class_names)} classes, "
                    f"numbered 0 to {len(class_names) - 1} ({', '.join(class_names[:10])}).")
        return None


POISONING_ATTACKS: Registry[PoisoningAttackSpec] = Registry("poisoning attack")


def poison_count(rate: float, split: Split, eligible: int | None = None, who: str = "The attack") -> int:
    """How many training points a rate poisons: round(rate · n_train); refused in words when more than the
    ``eligible`` points the attack may touch (e.g. those not already of the target class)."""
    n = int(round(rate * len(split.y_train)))
    if eligible is not None and n > eligible:
        raise InvalidInput(f"{who} can poison at most {eligible} of the {len(split.y_train)} training points here "
                           f"(rate {eligible / len(split.y_train):.2f}); a rate of {rate:g} asks for {n}.")
    return n
