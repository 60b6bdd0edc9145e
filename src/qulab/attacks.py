"""Evasion attacks from ART: one registry entry each, with its threat model declared."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qulab.models import LOSS_GRADIENTS, ModelSpec
from qulab.registry import Param, Registry
from qulab.scenario import norm_order

WHITE_BOX = "white-box"
BLACK_BOX = "black-box"
EVASION = "evasion (NIST AI 100-2: integrity violation at deployment time)"


@dataclass(frozen=True)
class AttackSpec:
    """A registry entry: how to build the ART attack and the threat model it assumes."""

    name: str
    label: str
    description: str
    build: Callable[..., Any]
    knowledge: str
    needs: str
    norms: tuple[str, ...]
    targeted: bool = False
    nist: str = EVASION
    params: tuple[Param, ...] = field(default=())
    uses_eps: bool = True

    def unsupported_reason(self, model: ModelSpec) -> str | None:
        """Why this attack cannot run on the model, in plain words; None when it can."""
        if self.needs in model.exposes:
            return None
        return f"{self.label} needs {self.needs}; a {model.label.lower()} has none."


ATTACKS: Registry[AttackSpec] = Registry("attack")

EPSILON = Param("eps", "Epsilon", 0.1,
                "The attack's budget: the largest change allowed to each feature (L∞), or the length of the "
                "whole change (L2, L1), in the units of the features.", 0.0, 0.5, 0.01)


def _fgm(classifier: Any, eps: float, norm: str) -> Any:
    from art.attacks.evasion import FastGradientMethod

    return FastGradientMethod(estimator=classifier, eps=eps, norm=norm_order(norm), targeted=False)


ATTACKS.register(AttackSpec(
    name="fgm",
    label="Fast Gradient Method",
    description=("One step of size epsilon along the sign (L∞) or the direction (L2, L1) of the loss "
                 "gradient (Goodfellow et al., 2015)."),
    build=_fgm,
    knowledge=WHITE_BOX,
    needs=LOSS_GRADIENTS,
    norms=("inf", "2", "1"),
))


def generate(spec: AttackSpec, classifier: Any, X: np.ndarray, y: np.ndarray, eps: float, norm: str,
             params: dict[str, Any] | None = None) -> np.ndarray:
    """Adversarial versions of X, crafted against the true labels y.

    Without labels ART attacks the model's own predictions, and the reported "adversarial accuracy"
    can then exceed the clean accuracy. ART's progress bars and log lines are kept out of the caller's
    output.
    """
    attack = spec.build(classifier, eps=eps, norm=norm, **(params or {}))
    labels = np.eye(classifier.nb_classes)[y]
    with _quiet():
        return attack.generate(x=X, y=labels).astype(X.dtype, copy=False)


@contextlib.contextmanager
def _quiet():
    art_logger = logging.getLogger("art")
    level = art_logger.level
    art_logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        art_logger.setLevel(level)
