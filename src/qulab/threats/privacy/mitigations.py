"""Privacy mitigations: one declarative entry each in :data:`PRIVACY_DEFENCES`; every privacy attack re-runs
against the mitigated model, so the page and ``qulab privacy --defense`` show what each one buys.

A :class:`PrivacyDefenceSpec` acts at one of two places, or both:

- **training** (``estimator``): ``estimator(model, model_params, params, seed) -> unfitted estimator`` trains in the
  model's place (stronger regularisation, fewer epochs, DP-SGD). Reference and shadow models are trained the same
  way, as an attacker who knows the training procedure would. A DP estimator sets ``epsilon_`` and ``delta_``
  when fitted; the run reports them. ``wrap(estimator, clip)`` gives its ART wrapper when the estimator is not of
  the model's own kind (DP-SGD trains a PyTorch network in a logistic regression's place).
  A diffprivlib model (ε-DP logistic regression, decision tree, random forest) is the private version of one model
  (``private_version_of``) and trains in its place.
- **output** (``postprocessors``): ``postprocessors(params) -> [ART postprocessor]`` harden what each query
  releases (top-1 label, rounded probabilities); ``releases`` is the access left to the attacker (see
  :meth:`PrivacyDefenceSpec.released_by`), so attacks needing more are refused in words.

``supports(model) -> reason | None`` says in one sentence why a model cannot take it (None: it can).
A differentially private entry names its ``accountant`` (what reports the ε its fitted estimator carries).
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
    accountant: str = ""  # a DP entry: whose accounting the ε reported is ("Opacus's RDP accountant")
    private_version_of: str | None = None  # the model whose differentially private version it trains
    trained_exposes: frozenset[str] | None = None  # what its own estimator exposes, when it replaces the model's

    @property
    def differentially_private(self) -> bool:
        return bool(self.accountant)

    def released_by(self, model: ModelSpec) -> frozenset[str]:
        """What a query of this model under this mitigation gives the attacker."""
        exposes = model.exposes if self.trained_exposes is None else self.trained_exposes
        return exposes if self.releases is None else exposes & self.releases

    def unsupported_reason(self, model: ModelSpec) -> str | None:
        if self.private_version_of is not None and model.name != self.private_version_of:
            from qulab.models.registry import MODELS

            return (f"{self.label} trains a private {MODELS.get(self.private_version_of).in_text}; it is not "
                    f"{model.a_name}: pick {MODELS.get(self.private_version_of).a_name}.")
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
    return _unfitted(model, model_params, seed).set_params(validation_fraction=params["validation_fraction"],
                                                           patience=params["patience"])


def _trained_in_epochs(model: ModelSpec) -> str | None:
    if "patience" in model.build(seed=0).get_params():
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
    "Holds out a share of the training rows and stops training once the loss on them has not improved for a few "
    "epochs, keeping the weights of the best epoch.",
    TRAINING_TIME, "Memorisation, which grows with the epochs a network sees each row.",
    (Param("patience", "Patience", 5, "Epochs without a better validation loss before training stops.", 1, 50),
     Param("validation_fraction", "Validation share", 0.2, "Share of the training rows held out to watch the loss "
           "on (the network does not train on them).", 0.05, 0.5, 0.05)),
    reference="Song & Mittal 2021, Systematic evaluation of privacy risks of machine learning models (USENIX); "
              "Prechelt 1998, Early stopping — but when?",
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
            f"{model.a_name} is trained otherwise (decision trees and random forests have diffprivlib's private "
            "versions).")


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
    estimator=_dp_estimator, wrap=_dp_wrap, supports=_dp_trainable, accountant="Opacus's RDP accountant",
    trained_exposes=ALL_ACCESS))  # whatever it replaces, the trained model is a PyTorch network


# ---------------------------------------------------------------------------------------------------------------
# Differential privacy: diffprivlib's private scikit-learn models (through qulab.threats.privacy.diffprivlib_compat)

_DIFFPRIVLIB_ACCOUNTANT = "diffprivlib's budget accountant; pure ε-DP, δ = 0"
_EPSILON = Param("epsilon", "ε", 1.0, "The privacy budget the whole fit spends; smaller ε, more noise, less leakage "
                 "(and accuracy). The data's bounds (each feature's range, the largest row norm) are read from the "
                 "training rows, which diffprivlib warns leaks a little beyond ε.", 0.01, 100.0, scale="log")


def _diffprivlib(class_name: str, carried: tuple[str, ...], settings: dict[str, Any]) -> Callable[..., Any]:
    """The estimator factory of one diffprivlib model: ε from the mitigation, the seed from the run, the ``carried``
    parameters from the model's own (logistic regression's C); a tree's depth and a forest's size stay
    diffprivlib's, as random-split trees need few levels and each tree of a forest needs enough rows."""
    def make(model: ModelSpec, model_params: dict[str, Any], params: dict[str, Any], seed: int) -> Any:
        from qulab.threats.privacy import diffprivlib_compat

        own = {name: model_params[name] for name in carried if name in model_params}
        return getattr(diffprivlib_compat, class_name)(epsilon=params["epsilon"], random_state=seed, **settings,
                                                       **own)
    return make


def _diffprivlib_wrap(estimator: Any, clip_values: Any) -> Any:
    from qulab.threats.privacy.diffprivlib_compat import art_classifier

    return art_classifier(estimator, clip_values)


def _register_diffprivlib(name: str, label: str, model: str, how: str, class_name: str, carried: tuple[str, ...],
                          settings: dict[str, Any], paper: str) -> None:
    """One diffprivlib model as the private version of ``model``."""
    PRIVACY_DEFENCES.register(PrivacyDefenceSpec(
        name, label, how, TRAINING_TIME,
        "Every membership attack: its advantage is at most (e^ε − 1)/(e^ε + 1) (δ = 0).", (_EPSILON,),
        reference=paper, estimator=_diffprivlib(class_name, carried, settings), wrap=_diffprivlib_wrap,
        accountant=_DIFFPRIVLIB_ACCOUNTANT, private_version_of=model))


_register_diffprivlib(
    "dp_logistic_regression", "Differential privacy (diffprivlib logistic regression)", "logistic_regression",
    "Fits logistic regression with objective perturbation: a random linear term added to the loss, scaled to ε "
    "(one-vs-rest for several classes, ε shared between them).", "DPLogisticRegression", ("C",), {"max_iter": 1000},
    "Chaudhuri, Monteleoni & Sarwate 2011, Differentially private empirical risk minimization (JMLR); "
    "diffprivlib 0.6 (Holohan et al. 2019)")
_register_diffprivlib("dp_decision_tree", "Differential privacy (diffprivlib decision tree)", "decision_tree",
    "Grows a tree of random splits (5 deep) without looking at the data, then labels each leaf with a noisy vote "
    "(permute-and-flip), spending ε on the labels.", "DPDecisionTreeClassifier", (), {},
    "Fletcher & Islam 2019, Decision tree classification with differential privacy (ACM CSUR); "
    "diffprivlib 0.6 (Holohan et al. 2019)")
_register_diffprivlib("dp_random_forest", "Differential privacy (diffprivlib random forest)", "random_forest",
    "Ten random-split trees (5 deep), each grown on its own share of the rows and labelled with a noisy vote; "
    "disjoint shares let every tree spend the whole ε.", "DPRandomForestClassifier", (), {},
    "Fletcher & Islam 2019 (ACM CSUR), random decision forests; diffprivlib 0.6 (Holohan et al. 2019)")


def dp_defences_for(model: ModelSpec) -> list[PrivacyDefenceSpec]:
    """The differentially private mitigations this model takes, in the registry's order."""
    return [d for d in PRIVACY_DEFENCES if d.differentially_private and d.unsupported_reason(model) is None]


def dp_defence_for(model: ModelSpec) -> PrivacyDefenceSpec | None:
    """The model's differentially private mitigation: its own private version when there is one (diffprivlib's
    logistic regression, tree, forest), else the first DP mitigation it takes (DP-SGD); None if it takes none."""
    usable = dp_defences_for(model)
    return next((d for d in usable if d.private_version_of == model.name), usable[0] if usable else None)
