"""Privacy mitigations: one declarative entry each in :data:`PRIVACY_DEFENCES`; every privacy attack re-runs
against the mitigated model, so the page and ``qulab privacy --defense`` show what each one buys.

A :class:`PrivacyDefenceSpec` acts at one of two places, or both:

- **training** (``estimator``): ``estimator(model, model_params, params, seed) -> unfitted estimator`` trains in the
  model's place (stronger regularisation, fewer epochs, DP-SGD). Reference and shadow models are trained the same
  way, as an attacker who knows the training procedure would. A DP estimator sets ``epsilon_`` and ``delta_``
  when fitted; the run reports them. ``wrap(estimator, clip)`` gives its ART wrapper when the estimator is not of
  the model's own kind (DP-SGD trains a PyTorch network in a logistic regression's place).
- **output** (``postprocessors``): ``postprocessors(params) -> [ART postprocessor]`` harden what each query
  releases (top-1 label, rounded probabilities); ``releases`` is the access left to the attacker (see
  :meth:`PrivacyDefenceSpec.released_by`), so attacks needing more are refused in words.

``supports(model) -> reason | None`` says in one sentence why a model cannot take it (None: it can).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qulab.core.registry import Param, Registry
from qulab.core.threat import DECISIONS, SCORES
from qulab.models.registry import ALL_ACCESS

if TYPE_CHECKING:
    from qulab.models.registry import ModelSpec

TRAINING_TIME, OUTPUT = "training", "output"


@dataclass(frozen=True)
class PrivacyDefenceSpec:
    """A registry entry: what the mitigation changes, where, and on which models."""

    name: str
    label: str
    description: str
    kind: str
    protects: str  # what it bounds or hides, in one sentence
    params: tuple[Param, ...] = field(default=())
    reference: str = ""
    estimator: Callable[..., Any] | None = None
    wrap: Callable[[Any, Any], Any] | None = None
    postprocessors: Callable[[dict[str, Any]], list[Any]] | None = None
    releases: frozenset[str] | None = None  # None: releases what the model exposes
    releases_loss: bool = True  # whether an attacker can still read the model's own loss
    supports: Callable[[ModelSpec], str | None] | None = None
    differentially_private: bool = False
    trained_exposes: frozenset[str] | None = None  # what its own estimator exposes, when it replaces the model's

    def released_by(self, model: ModelSpec) -> frozenset[str]:
        """What a query of this model under this mitigation gives the attacker."""
        exposes = model.exposes if self.trained_exposes is None else self.trained_exposes
        return exposes if self.releases is None else exposes & self.releases

    def unsupported_reason(self, model: ModelSpec) -> str | None:
        return self.supports(model) if self.supports is not None else None


PRIVACY_DEFENCES: Registry[PrivacyDefenceSpec] = Registry("privacy defence")


# ---------------------------------------------------------------------------------------------------------------
# Training time: regularisation and early stopping


def _unfitted(model: ModelSpec, model_params: dict[str, Any], seed: int) -> Any:
    return model.build(**model_params, seed=seed)


def _regularised(model: ModelSpec, model_params: dict[str, Any], params: dict[str, Any], seed: int) -> Any:
    """The model's estimator with its own regularisation knob turned up by ``strength``: C divided by it (linear
    models, SVMs), weight decay 1e-4 × it (PyTorch MLP), leaves of at least ``strength`` rows (trees, forests,
    boosting)."""
    estimator = _unfitted(model, model_params, seed)
    knobs = estimator.get_params()
    strength = params["strength"]
    if "C" in knobs:
        estimator.set_params(C=knobs["C"] / strength)
    elif "weight_decay" in knobs:
        estimator.set_params(weight_decay=1e-4 * strength)
    elif "min_samples_leaf" in knobs:
        estimator.set_params(min_samples_leaf=max(1, round(strength)))
    return estimator


def _regularisable(model: ModelSpec) -> str | None:
    knobs = model.build(seed=0).get_params()
    if {"C", "weight_decay", "min_samples_leaf"} & set(knobs):
        return None
    return f"{model.label} has no regularisation knob here (C, weight decay or leaf size); try early stopping."


def _early_stopped(model: ModelSpec, model_params: dict[str, Any], params: dict[str, Any], seed: int) -> Any:
    estimator = _unfitted(model, model_params, seed)
    return estimator.set_params(epochs=min(params["epochs"], estimator.get_params()["epochs"]))


def _trained_in_epochs(model: ModelSpec) -> str | None:
    if "epochs" in model.build(seed=0).get_params():
        return None
    return f"Early stopping applies to models trained in epochs (the PyTorch networks), not {model.a_name}."


PRIVACY_DEFENCES.register(PrivacyDefenceSpec(
    "regularisation", "Stronger regularisation",
    "Turns up the model's own regularisation (C ÷ strength, weight decay, larger leaves), so it fits the training "
    "rows less closely.",
    TRAINING_TIME, "A smaller gap between training and test behaviour, which membership attacks feed on.",
    (Param("strength", "Strength", 100.0, "How much stronger than the model's own setting (C is divided by it, "
           "weight decay is 1e-4 × it, leaves hold at least this many rows).", 1.0, 1000.0, scale="log"),),
    reference="Shokri et al. 2017, Membership inference attacks against machine learning models (S&P), §VI",
    estimator=_regularised, supports=_regularisable))

PRIVACY_DEFENCES.register(PrivacyDefenceSpec(
    "early_stopping", "Early stopping",
    "Trains a network for fewer epochs, stopping before it memorises its training rows.",
    TRAINING_TIME, "Memorisation, which grows with the epochs a network sees each row.",
    (Param("epochs", "Epochs", 10, "Training stops after this many passes (or the model's own, if fewer).",
           1, 300),),
    reference="Song & Mittal 2021, Systematic evaluation of privacy risks of machine learning models (USENIX)",
    estimator=_early_stopped, supports=_trained_in_epochs))


# ---------------------------------------------------------------------------------------------------------------
# Output hardening: ART's postprocessors on every query


def _top1(params: dict[str, Any]) -> list[Any]:
    from art.defences.postprocessor import ClassLabels

    class TopLabel(ClassLabels):
        """ART's ClassLabels with its indexing fixed: 1.20.1 sets ``labels[:, argmax] = 1``, a 1 in every row for
        each class any row predicts (all ones once two classes are predicted); one 1 per row is meant."""

        def __call__(self, preds: np.ndarray) -> np.ndarray:
            labels = np.zeros_like(preds)
            labels[np.arange(len(preds)), np.argmax(preds, axis=1)] = 1
            return labels

    return [TopLabel()]


def _rounded(params: dict[str, Any]) -> list[Any]:
    from art.defences.postprocessor import Rounded

    return [Rounded(decimals=params["decimals"])]


def _has_scores(model: ModelSpec) -> str | None:
    return None if SCORES in model.exposes else (f"{model.label} releases decisions only already; output hardening "
                                                 "has nothing to remove.")


PRIVACY_DEFENCES.register(PrivacyDefenceSpec(
    "top1_label", "Top-1 label only",
    "Releases only the predicted class, never the probabilities (ART's ClassLabels postprocessor, its indexing "
    "fixed).",
    OUTPUT, "Attacks that read confidence; label-only attacks (the gap attack) are untouched.",
    reference="Shokri et al. 2017, §VI (restrict the prediction vector to top-k classes)",
    postprocessors=_top1, releases=frozenset({DECISIONS}), releases_loss=False, supports=_has_scores))

PRIVACY_DEFENCES.register(PrivacyDefenceSpec(
    "rounded_scores", "Rounded probabilities",
    "Releases probabilities rounded to a few decimals (ART's Rounded postprocessor).",
    OUTPUT, "The small confidence differences between members and non-members, below the rounding step.",
    (Param("decimals", "Decimals", 1, "Digits kept after the point.", 1, 6),),
    reference="Shokri et al. 2017, §VI (coarsen the precision of the prediction vector)",
    postprocessors=_rounded, releases=frozenset({SCORES, DECISIONS}), releases_loss=False, supports=_has_scores))


# ---------------------------------------------------------------------------------------------------------------
# Differential privacy: DP-SGD with Opacus


def dp_bound(epsilon: float, delta: float) -> float:
    """The largest membership advantage (TPR − FPR) any attack can reach against an (ε, δ)-DP learner:
    (e^ε − 1 + 2δ)/(e^ε + 1) (Humphries et al. 2023; Kairouz et al. 2015's hypothesis-testing region), capped at 1."""
    if epsilon > 700:  # e^ε overflows; the bound is 1 long before
        return 1.0
    grow = math.exp(epsilon)
    return min(1.0, (grow - 1 + 2 * delta) / (grow + 1))


def _dp_estimator(model: ModelSpec, model_params: dict[str, Any], params: dict[str, Any], seed: int) -> Any:
    from qulab.threats.privacy.dp import DPMLPClassifier

    knobs = model.build(**model_params, seed=seed).get_params()
    hidden = knobs.get("hidden_layer_sizes", ())  # a logistic regression is a network without hidden layers
    return DPMLPClassifier(hidden_layer_sizes=hidden, epochs=params["epochs"], target_epsilon=params["epsilon"],
                           delta=params["delta"], max_grad_norm=params["max_grad_norm"], random_state=seed)


def _dp_wrap(estimator: Any, clip_values: Any) -> Any:
    from qulab.models.torch_nets import to_art_classifier

    return to_art_classifier(estimator, clip_values=clip_values)


def _dp_trainable(model: ModelSpec) -> str | None:
    knobs = model.build(seed=0).get_params()
    if "hidden_layer_sizes" in knobs or (model.linear and SCORES in model.exposes):
        return None
    return (f"DP-SGD is offered for the PyTorch MLP and for logistic regression (as a one-layer network); "
            f"{model.a_name} is trained otherwise. (diffprivlib, which has DP trees and forests, does not import "
            "with scikit-learn 1.9.)")


PRIVACY_DEFENCES.register(PrivacyDefenceSpec(
    "dp_sgd", "Differential privacy (DP-SGD, Opacus)",
    "Trains with per-example gradient clipping and Gaussian noise (Opacus), tuned to a target ε; the ε reported "
    "is its accountant's.",
    TRAINING_TIME, "Every membership attack: its advantage is at most (e^ε − 1 + 2δ)/(e^ε + 1).",
    (Param("epsilon", "Target ε", 2.0, "The privacy budget the noise is tuned to; smaller ε, more noise, less "
           "leakage (and accuracy).", 0.1, 100.0, scale="log"),
     Param("delta", "δ", 1e-5, "The probability the ε guarantee may fail; below 1/n.", 1e-7, 1e-3, scale="log"),
     Param("max_grad_norm", "Clipping norm", 1.0, "Each example's gradient is clipped to this length.", 0.1, 10.0,
           0.1),
     Param("epochs", "Epochs", 30, "Passes over the training data (more passes spend more ε).", 1, 200)),
    reference="Abadi et al. 2016, Deep learning with differential privacy (CCS); Opacus 1.6 (Yousefpour et al. 2021)",
    estimator=_dp_estimator, wrap=_dp_wrap, supports=_dp_trainable, differentially_private=True,
    trained_exposes=ALL_ACCESS))  # whatever it replaces, the trained model is a PyTorch network


def dp_defence() -> PrivacyDefenceSpec:
    """The differentially private mitigation (the one whose ε the advantage-against-ε chart sweeps)."""
    return next(d for d in PRIVACY_DEFENCES if d.differentially_private)
