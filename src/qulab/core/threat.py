"""Threat models as values: what an attacker is assumed to know, reach and change, in NIST AI 100-2 terms.

Every attack entry declares the threat model it assumes, and every defence entry the threat model it is evaluated
against, so the pages, the CLI and the checks read one declaration instead of loose fields. Plain data: importing
this module costs nothing (``qulab list`` prints it without scikit-learn, ART or torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# NIST AI 100-2 (Adversarial Machine Learning: a taxonomy) attack classes.
EVASION, POISONING, PRIVACY = "evasion", "poisoning", "privacy"
NIST_CLASSES = (EVASION, POISONING, PRIVACY)

WHITE_BOX, GREY_BOX, BLACK_BOX = "white-box", "grey-box", "black-box"
KNOWLEDGE = (WHITE_BOX, GREY_BOX, BLACK_BOX)

# When in the model's life the attacker acts.
TRAINING, DEPLOYMENT = "training", "deployment"
STAGES = (TRAINING, DEPLOYMENT)

# What an attack may need from a model, from most to least informative (a model entry says which it exposes).
LOSS_GRADIENTS = "loss gradients"
CLASS_GRADIENTS = "class gradients"
SCORES = "scores"
DECISIONS = "decisions"  # labels only
TREE_STRUCTURE = "the tree's structure"
TRAINING_DATA = "training data"  # poisoning: the attacker writes into it; privacy: the attacker asks about it
GRADIENTS = frozenset({LOSS_GRADIENTS, CLASS_GRADIENTS})
ACCESS = (LOSS_GRADIENTS, CLASS_GRADIENTS, SCORES, DECISIONS, TREE_STRUCTURE, TRAINING_DATA)

NORMS = ("inf", "2", "1")
NORM_NAMES = {"inf": "L∞", "2": "L2", "1": "L1"}


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")


@dataclass(frozen=True)
class ThreatModel:
    """Who the attacker is: NIST class, knowledge, access to the model, lifecycle stage and budget norms.

    ``norms`` is empty where a budget norm does not apply (poisoning by label flips, membership inference).
    """

    nist_class: str
    knowledge: str
    access: frozenset[str]
    stage: str
    norms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _one_of(self.nist_class, NIST_CLASSES, "the NIST class")
        _one_of(self.knowledge, KNOWLEDGE, "the attacker's knowledge")
        _one_of(self.stage, STAGES, "the lifecycle stage")
        for access in self.access:
            _one_of(access, ACCESS, "an access")
        for norm in self.norms:
            _one_of(norm, NORMS, "a norm")

    def norm_reason(self, norm: str, who: str = "This attack") -> str | None:
        """Why a budget in ``norm`` does not fit this threat model, as one sentence; None when it does."""
        if norm in self.norms:
            return None
        if not self.norms:
            return f"{who} has no budget norm, so a norm ({NORM_NAMES.get(norm, repr(norm))}) does not apply."
        labels = " or ".join(NORM_NAMES[n] for n in self.norms)
        only = " only" if len(self.norms) == 1 else ""
        return f"{who} works in the {labels} norm{only}, not {NORM_NAMES.get(norm, repr(norm))}."

    def covers(self, norm: str | None = None, offered: frozenset[str] | None = None) -> bool:
        """Whether a budget in ``norm`` fits, and whether a model offering ``offered`` gives the attacker enough
        access (None skips either check)."""
        return (norm is None or norm in self.norms) and (offered is None or self.access <= offered)

    def to_dict(self) -> dict[str, Any]:
        return {"nist_class": self.nist_class, "knowledge": self.knowledge, "access": sorted(self.access),
                "stage": self.stage, "norms": list(self.norms)}


def evasion(knowledge: str, *access: str, norms: tuple[str, ...]) -> ThreatModel:
    """An evasion threat (NIST: at deployment, the attacker changes test inputs within a budget).

    Attack entries declare the access they need; defence entries declare the attacker they are evaluated
    against (for an adaptive white-box evaluation: ``evasion(WHITE_BOX, *GRADIENTS, norms=...)``).
    """
    return ThreatModel(EVASION, knowledge, frozenset(access), DEPLOYMENT, norms)
