"""Poisoning defences: detectors that flag suspect training points, so the model can be retrained without them.

Adding one is a :class:`PoisoningDefenceSpec` registered in :data:`POISONING_DEFENCES` (from any module imported by
:mod:`qulab.threats.poisoning`)::

    def _my_detector(split, model, params, rng):
        scores = ...                                  # one per training row; higher = more suspect
        return Flagged(np.flatnonzero(scores > params["threshold"]), scores)

    POISONING_DEFENCES.register(PoisoningDefenceSpec(
        "my_detector", "My detector", "One sentence.", _my_detector,
        protects_against="Label flips far from their class.", reference="Author et al., Venue year"))

The ``flag`` callable gets the *poisoned* training set as a :class:`~qulab.data.datasets.Split` (``X_train`` and
``y_train`` are what the victim learned from; the test part is clean), the
:class:`~qulab.evaluation.pipeline.FittedModel` trained on it (ART's activation and spectral detectors read its
network), the entry's resolved parameters and a ``numpy.random.Generator`` from the run's seed. It returns a
:class:`Flagged`: the indices of the training rows it flags, and per-row scores when it has them (for figures).
:func:`qulab.threats.poisoning.run.run_poisoning` scores the flags against the rows the attacker wrote and
retrains the model without the flagged rows. ``model_reason(model)`` says in a sentence why a model cannot have
the defence (None when it can).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qulab.core.registry import Param, Registry
from qulab.data.datasets import Split
from qulab.models.registry import ModelSpec
from qulab.threats.poisoning.attacks import every_model

if TYPE_CHECKING:
    from qulab.evaluation.pipeline import FittedModel


@dataclass(frozen=True)
class Flagged:
    """What a detector flags: sorted training-row indices, and a suspicion score per row when it has one (higher
    is more suspect) with the threshold it cut at."""

    indices: np.ndarray
    scores: np.ndarray | None = None
    threshold: float | None = None
    notes: tuple[str, ...] = ()


FlagFunction = Callable[[Split, "FittedModel", Mapping[str, Any], np.random.Generator], Flagged]


@dataclass(frozen=True)
class PoisoningDefenceSpec:
    """A registry entry: what the detector does, what it protects against, its paper, params, and ``flag``."""

    name: str
    label: str
    description: str
    flag: FlagFunction
    protects_against: str
    params: tuple[Param, ...] = field(default=())
    reference: str = ""
    model_reason: Callable[[ModelSpec], str | None] = every_model
    needs_images: bool = False
    global_draws: bool = False
    score_label: str = "Suspicion score"  # what Flagged.scores measure, as an axis title

    def unsupported_reason(self, model: ModelSpec, images: bool = True) -> str | None:
        reason = self.model_reason(model)
        if reason:
            return reason
        if self.needs_images and not images:
            return f"{self.label} works on images only: choose the digits data set on the Data Sets page."
        return None


POISONING_DEFENCES: Registry[PoisoningDefenceSpec] = Registry("poisoning defence")
