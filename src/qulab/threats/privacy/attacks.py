"""Privacy attacks: one declarative entry each in :data:`PRIVACY_ATTACKS`; the page, the CLI and the tests read them.

Adding an attack is one :class:`PrivacyAttackSpec` registered from a module listed at the bottom of this file
(:data:`ENTRY_MODULES`; one line per module). An entry says

- ``name``, ``label`` and a one-sentence ``description``;
- ``threat``: its :class:`~qulab.core.threat.ThreatModel`, made with :func:`privacy_threat` (NIST class PRIVACY,
  stage DEPLOYMENT). Its ``access`` is what the attacker reads from the model: ``SCORES`` (probabilities),
  ``DECISIONS`` (labels only), ``CLASS_GRADIENTS``/``LOSS_GRADIENTS`` (the model's internals), plus
  ``TRAINING_DATA`` when the attacker must know some members to learn from (ART's black-box attack). The model's
  ``exposes`` and the mitigation's ``releases`` decide whether the attacker gets it; the refusal is worded here;
- ``paper``: the reference, as a page prints it;
- ``params``: its :class:`~qulab.core.registry.Param` tuple (widgets, CLI ``--param``, URL ``attack.NAME``);
- ``run(split, target, params, seed) -> result``: the attack itself, a pure function. ``split`` is the
  :class:`~qulab.data.datasets.Split` (members = training rows, non-members = test rows), ``target`` the
  :class:`Target` (the fitted model as the attacker may query it, and how to train more like it), ``params`` the
  resolved parameters and ``seed`` the run's seed (draw only from generators made from it; see
  :mod:`qulab.core.randomness`). It returns a result object satisfying :class:`PrivacyResult`;
- ``figures(result) -> list[FigureView]``: the Plotly figures the page shows for that result (import Plotly
  inside), so the page never looks at an attack's name;
- optional ``reports_progress=True`` when ``run`` takes a keyword ``progress`` (``progress(fraction, text)`` or
  None) and calls it, on the calling thread, as its slow steps finish (LiRA: each reference model);
- optional ``applies(model, defence) -> reason | None`` and ``data_reason(split) -> reason | None`` for what the
  access check cannot see (a loss the model must compute, image data), in one sentence the user can act on;
- ``trains_like_target``: True for an attack that trains models the way the target was trained (shadow and
  reference models): it cannot run on a model from a file, which comes without its training procedure.

A result's ``kind`` and ``summary()`` fix what is reported: ``summary()`` holds the ``qulab privacy --json`` keys of
its kind (membership: ``n_members, n_nonmembers, auc, advantage, tpr_at_fpr``; extraction: ``queries, agreement,
stolen_accuracy``; attribute inference: ``attack_accuracy, baseline_accuracy``); ``metrics()`` what the page shows
as metrics. :func:`qulab.threats.privacy.run.run_privacy` adds the model's accuracies, ε and the time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qulab.core.registry import Param, Registry
from qulab.core.threat import DEPLOYMENT, PRIVACY, SCORES, TRAINING_DATA, ThreatModel

if TYPE_CHECKING:
    from qulab.data.datasets import Split
    from qulab.evaluation.pipeline import FittedModel
    from qulab.models.registry import ModelSpec
    from qulab.threats.privacy.mitigations import PrivacyDefenceSpec

MEMBERSHIP, ATTRIBUTE, INVERSION, EXTRACTION = "membership", "attribute inference", "inversion", "extraction"


def privacy_threat(knowledge: str, *access: str) -> ThreatModel:
    """A privacy threat (NIST AI 100-2): at deployment, the attacker queries the model to learn about its training
    data or the model itself; no budget norm."""
    return ThreatModel(PRIVACY, knowledge, frozenset(access), DEPLOYMENT)


@dataclass(frozen=True)
class Metric:
    """One number as the page shows it."""

    label: str
    value: str
    help: str = ""


@dataclass(frozen=True)
class FigureView:
    """A figure with its title and the caption that says how to read it."""

    title: str
    figure: Any  # plotly.graph_objects.Figure
    caption: str = ""


class PrivacyResult(Protocol):
    """What every attack's result offers the run, the page and the CLI."""

    kind: str

    def summary(self) -> dict[str, Any]: ...

    def metrics(self) -> tuple[Metric, ...]: ...


@dataclass(frozen=True)
class Target:
    """The attacked model as the attacker meets it, and how the defender trained it.

    ``fitted.classifier`` is the ART wrapper whose ``predict`` returns what the model releases (after a
    mitigation's output hardening); ``released(X)`` gives the same as plain probabilities. ``make_estimator(seed)``
    returns an unfitted estimator trained the way the target was (family, parameters, training-time mitigation):
    reference, shadow and stolen models are made with it. ``releases`` is the access the attacker gets.
    """

    spec: ModelSpec
    fitted: FittedModel
    make_estimator: Callable[[int], Any]
    releases: frozenset[str]
    harden: Callable[[np.ndarray], np.ndarray]
    epsilon: float | None = None
    delta: float | None = None

    @property
    def estimator(self) -> Any:
        return self.fitted.estimator

    @property
    def classifier(self) -> Any:
        return self.fitted.classifier

    def released(self, X: np.ndarray) -> np.ndarray:
        """The model's output on X as released to the attacker (probabilities, or their hardened form)."""
        return np.asarray(self.fitted.classifier.predict(X), dtype=np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.fitted.predict(X)


@dataclass(frozen=True)
class PrivacyAttackSpec:
    """A registry entry: what the attack does, the threat model it assumes, how it runs and how it is shown."""

    name: str
    label: str
    description: str
    threat: ThreatModel
    run: Callable[..., PrivacyResult]
    figures: Callable[[Any], list[FigureView]]
    kind: str
    paper: str = ""
    params: tuple[Param, ...] = field(default=())
    applies: Callable[[ModelSpec, PrivacyDefenceSpec | None], str | None] | None = None
    data_reason: Callable[[Split], str | None] | None = None
    trains_like_target: bool = False
    reports_progress: bool = False

    @property
    def knowledge(self) -> str:
        return self.threat.knowledge

    @property
    def needs(self) -> frozenset[str]:
        """What the attacker must get from the model (its knowledge of some training data aside)."""
        return self.threat.access - {TRAINING_DATA}

    @property
    def access(self) -> str:
        return " and ".join(sorted(self.threat.access))

    def unsupported_reason(self, model: ModelSpec, defence: PrivacyDefenceSpec | None = None) -> str | None:
        """Why this attack cannot run on this model under this mitigation, in words; None when it can."""
        if self.trains_like_target and model.from_file:
            return (f"{self.label} trains models the way the target was trained, and a model from a file comes "
                    "without its training procedure: pick an attack that needs only the model's outputs.")
        released = model.exposes if defence is None else defence.released_by(model)
        missing = sorted(self.needs - released)
        if missing:
            who = f"{model.a_name} under {defence.label.lower()}" if defence is not None and \
                defence.releases is not None else model.a_name
            return (f"{self.label} needs {' and '.join(missing)}; {who} does not release "
                    f"{'it' if len(missing) == 1 else 'them'}: pick an attack that reads "
                    f"{'decisions only' if SCORES in missing else 'what the model releases'}.")
        return self.applies(model, defence) if self.applies is not None else None


PRIVACY_ATTACKS: Registry[PrivacyAttackSpec] = Registry("privacy attack")

# Modules that register entries on import, in the order the page lists them. Add yours here (one line).
ENTRY_MODULES = (
    "qulab.threats.privacy.membership",
    "qulab.threats.privacy.extraction",
    "qulab.threats.privacy.attribute",
    "qulab.threats.privacy.inversion",
)


def _register_entries() -> None:
    import importlib

    for module in ENTRY_MODULES:
        importlib.import_module(module)


_register_entries()
