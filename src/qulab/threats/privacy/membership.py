"""Membership inference: was this row in the model's training data? Four attacks, from the simplest to the strongest.

Members are the split's training rows and non-members its test rows. Every attack gives each row a score (higher:
more likely a member), and :class:`MembershipResult` reports them as the field does: the ROC (on log-log axes),
its AUC, the membership advantage max(TPR − FPR) (Yeom et al. 2018), the TPR at 1 % and 0.1 % FPR (Carlini et al.
2022), null where fewer than 1/FPR non-members make that rate meaningless, and a per-class breakdown.

- ``membership_gap``: ART's rule-based attack (member iff correctly classified); its advantage is exactly train
  accuracy − test accuracy, a check on everything downstream.
- ``membership_confidence`` / ``membership_loss``: ART's black-box attack, an attack model trained on the released
  probabilities (or the model's loss) of rows whose membership the attacker knows; scored on the other rows.
- ``membership_shadow``: ART's ``ShadowModels``: models trained like the target on population data teach the attack
  model what member outputs look like.
- ``membership_lira``: the likelihood-ratio attack (Carlini et al. 2022), hand-written: reference models on random
  halves of the population, a Gaussian of each row's logit-scaled confidence with and without it in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qulab.core.registry import Param
from qulab.core.threat import BLACK_BOX, DECISIONS, GREY_BOX, SCORES, TRAINING_DATA
from qulab.core.wording import accuracy_text
from qulab.threats.privacy.attacks import (
    MEMBERSHIP,
    PRIVACY_ATTACKS,
    FigureView,
    Metric,
    PrivacyAttackSpec,
    Target,
    privacy_threat,
)

LOW_FPRS = (0.01, 0.001)  # the false-positive rates the field reports a TPR at
PHI_CLIP = 1e-15  # probabilities kept this far from 0 and 1 before the logit


# ---------------------------------------------------------------------------------------------------------------
# Metrics


@dataclass(frozen=True)
class Roc:
    """A ROC curve: false- and true-positive rates at every threshold, from (0, 0) to (1, 1)."""

    fpr: np.ndarray
    tpr: np.ndarray


def roc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> Roc:
    """Every threshold's (FPR, TPR), for "member if score ≥ threshold" (scikit-learn's roc_curve, all points)."""
    from sklearn.metrics import roc_curve

    labels = np.r_[np.ones(len(member_scores)), np.zeros(len(nonmember_scores))]
    fpr, tpr, _ = roc_curve(labels, np.r_[member_scores, nonmember_scores], drop_intermediate=False)
    return Roc(fpr, tpr)


def auc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.ones(len(member_scores)), np.zeros(len(nonmember_scores))]
    return float(roc_auc_score(labels, np.r_[member_scores, nonmember_scores]))


def advantage(curve: Roc) -> float:
    """Membership advantage: the best threshold's TPR − FPR (0 for an attack no better than guessing)."""
    return float(max(0.0, np.max(curve.tpr - curve.fpr)))


def tpr_at_fpr(curve: Roc, fpr: float, n_nonmembers: int) -> float | None:
    """The largest TPR at a false-positive rate of at most ``fpr``; None when fewer than 1/fpr non-members make
    that rate a matter of one or no row."""
    if n_nonmembers < round(1 / fpr):
        return None
    return float(np.max(curve.tpr[curve.fpr <= fpr]))


@dataclass(frozen=True)
class ClassBreakdown:
    """The attack's AUC and advantage on the rows of one class."""

    name: str
    n_members: int
    n_nonmembers: int
    auc: float | None
    advantage: float | None


@dataclass(frozen=True)
class MembershipResult:
    """Per-row membership scores (higher: more likely a member) and what the field reports from them."""

    member_scores: np.ndarray
    nonmember_scores: np.ndarray
    member_classes: np.ndarray
    nonmember_classes: np.ndarray
    class_names: tuple[str, ...]
    score_label: str = "membership score"
    notes: tuple[str, ...] = ()
    kind: str = field(default=MEMBERSHIP)

    @property
    def n_members(self) -> int:
        return len(self.member_scores)

    @property
    def n_nonmembers(self) -> int:
        return len(self.nonmember_scores)

    @property
    def roc(self) -> Roc:
        return roc(self.member_scores, self.nonmember_scores)

    @property
    def auc(self) -> float:
        return auc(self.member_scores, self.nonmember_scores)

    @property
    def advantage(self) -> float:
        return advantage(self.roc)

    def tpr_at_fpr(self) -> dict[str, float | None]:
        curve = self.roc
        return {f"{f:g}": tpr_at_fpr(curve, f, self.n_nonmembers) for f in LOW_FPRS}

    def per_class(self) -> list[ClassBreakdown]:
        rows = []
        for k, name in enumerate(self.class_names):
            members = self.member_scores[self.member_classes == k]
            nonmembers = self.nonmember_scores[self.nonmember_classes == k]
            both = len(members) > 0 and len(nonmembers) > 0
            rows.append(ClassBreakdown(name, len(members), len(nonmembers),
                                       auc(members, nonmembers) if both else None,
                                       advantage(roc(members, nonmembers)) if both else None))
        return rows

    def summary(self) -> dict[str, Any]:
        return {"n_members": self.n_members, "n_nonmembers": self.n_nonmembers, "auc": self.auc,
                "advantage": self.advantage, "tpr_at_fpr": self.tpr_at_fpr()}

    def metrics(self) -> tuple[Metric, ...]:
        low = self.tpr_at_fpr()
        return (
            Metric("AUC", accuracy_text(self.auc), "Area under the ROC: 0.5 is guessing, 1 tells every row apart."),
            Metric("Membership advantage", accuracy_text(self.advantage),
                   "The best threshold's TPR − FPR: 0 is guessing, 1 is certainty."),
            *(Metric(f"TPR at {float(f):.1%} FPR", "n/a" if v is None else accuracy_text(v),
                     f"Members caught while wrongly accusing at most {float(f):.1%} of non-members"
                     + (f" (needs at least {round(1 / float(f))} non-members; there are {self.n_nonmembers})."
                        if v is None else ".")) for f, v in low.items()),
        )


def membership_views(result: MembershipResult) -> list[FigureView]:
    """The ROC on log-log axes and the per-class breakdown (the page's figures for every membership attack)."""
    from qulab.figures.privacy import build_class_breakdown, build_roc

    return [FigureView("ROC (log-log)", build_roc({"attack": result.roc}, result.n_nonmembers),
                       "True-positive rate against false-positive rate, both on log scales so the low-FPR region, "
                       "where an attack is trustworthy, is visible; the diagonal is guessing."),
            FigureView("Per class", build_class_breakdown(result.per_class()),
                       "The attack's AUC on each class's members and non-members: classes the model memorised "
                       "leak more.")]


def membership_result(target: Target, split: Any, member_scores: np.ndarray, nonmember_scores: np.ndarray,
                      members: np.ndarray | None = None, nonmembers: np.ndarray | None = None,
                      score_label: str = "membership score", notes: Sequence[str] = ()) -> MembershipResult:
    """A result on the split's rows (all of them, or the ``members``/``nonmembers`` index subsets scored)."""
    members = np.arange(len(split.y_train)) if members is None else members
    nonmembers = np.arange(len(split.y_test)) if nonmembers is None else nonmembers
    return MembershipResult(np.asarray(member_scores, dtype=np.float64),
                            np.asarray(nonmember_scores, dtype=np.float64), split.y_train[members],
                            split.y_test[nonmembers], tuple(split.class_names), score_label, tuple(notes))


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes)[y]


# ---------------------------------------------------------------------------------------------------------------
# The gap attack


def _gap(split: Any, target: Target, params: dict[str, Any], seed: int) -> MembershipResult:
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBoxRuleBased

    attack = MembershipInferenceBlackBoxRuleBased(target.classifier)
    k = split.n_classes
    members = attack.infer(split.X_train, one_hot(split.y_train, k))
    nonmembers = attack.infer(split.X_test, one_hot(split.y_test, k))
    return membership_result(target, split, members, nonmembers, score_label="correctly classified")


PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "membership_gap", "Gap attack (member if correctly classified)",
    "Guesses that a row was in the training data exactly when the model classifies it correctly.",
    privacy_threat(BLACK_BOX, DECISIONS), _gap, membership_views, MEMBERSHIP,
    paper="Yeom et al. 2018, Privacy risk in machine learning: analyzing the connection to overfitting (CSF); "
          "ART's MembershipInferenceBlackBoxRuleBased"))


# ---------------------------------------------------------------------------------------------------------------
# ART's black-box attack: on the released probabilities, or on the loss


ATTACK_MODELS = ("rf", "gb", "lr")
_ATTACK_MODEL = Param("attack_model", "Attack model", "rf", "The classifier that learns member from non-member: "
                      "random forest, gradient boosting or logistic regression.", choices=ATTACK_MODELS,
                      choice_labels=("Random forest", "Gradient boosting", "Logistic regression"))
_KNOWN = Param("known_fraction", "Known rows", 0.5, "Share of members and of non-members whose membership the "
               "attacker knows and learns from; the attack is scored on the rest.", 0.1, 0.9, 0.05)


def attack_model(name: str, seed: int) -> Any:
    """ART's default attack models, seeded (ART makes them unseeded)."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    return {"rf": lambda: RandomForestClassifier(n_estimators=100, random_state=seed),
            "gb": lambda: GradientBoostingClassifier(random_state=seed),
            "lr": lambda: LogisticRegression(max_iter=1000)}[name]()


def known_rows(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices the attacker knows (sorted) and the rest, split at ``fraction`` (at least one row on each side)."""
    order = rng.permutation(n)
    cut = min(max(1, round(fraction * n)), n - 1)
    return np.sort(order[:cut]), np.sort(order[cut:])


def _black_box(input_type: str):
    def run(split: Any, target: Target, params: dict[str, Any], seed: int) -> MembershipResult:
        from art.attacks.inference.membership_inference import MembershipInferenceBlackBox

        rng = np.random.default_rng(seed)
        known_in, members = known_rows(len(split.y_train), params["known_fraction"], rng)
        known_out, nonmembers = known_rows(len(split.y_test), params["known_fraction"], rng)
        k = split.n_classes
        attack = MembershipInferenceBlackBox(target.classifier, input_type=input_type,
                                             attack_model_type=params["attack_model"])
        # ART makes its attack model unseeded, and refuses one passed in (`if self.attack_model:` asks an unfitted
        # forest its length): the seeded one replaces ART's own, of the same kind.
        attack.attack_model = attack_model(params["attack_model"], seed)
        attack.fit(split.X_train[known_in], one_hot(split.y_train[known_in], k), split.X_test[known_out],
                   one_hot(split.y_test[known_out], k))
        scores = [attack.infer(X[rows], one_hot(y[rows], k), probabilities=True).reshape(len(rows), -1)[:, -1]
                  for X, y, rows in ((split.X_train, split.y_train, members), (split.X_test, split.y_test,
                                                                                nonmembers))]
        return membership_result(target, split, *scores, members, nonmembers,
                                 score_label="attack model's membership probability",
                                 notes=(f"Scored on the {len(members)} members and {len(nonmembers)} non-members "
                                        "the attacker did not learn from.",))
    return run


def _computes_loss(model: Any, defence: Any) -> str | None:
    if model.family != "neural" and not (defence is not None and defence.trained_exposes is not None):
        return (f"The loss attack reads the model's own loss, which ART computes for the PyTorch networks only, "
                f"not {model.a_name}: use the confidence attack.")
    if defence is not None and not defence.releases_loss:
        return f"{defence.label} releases no loss to read: use the confidence or gap attack."
    return None


PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "membership_confidence", "Confidence attack (ART black box)",
    "Learns, from rows whose membership it knows, how the released probabilities of members differ, and scores "
    "the rest.",
    privacy_threat(BLACK_BOX, SCORES, TRAINING_DATA), _black_box("prediction"), membership_views, MEMBERSHIP,
    paper="Shokri et al. 2017 (S&P); Salem et al. 2019, ML-Leaks (NDSS); ART's MembershipInferenceBlackBox",
    params=(_ATTACK_MODEL, _KNOWN)))

PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "membership_loss", "Loss attack (ART black box)",
    "Thresholds the model's loss on each row (learned from rows of known membership): training rows have a "
    "lower loss.",
    privacy_threat(GREY_BOX, SCORES, TRAINING_DATA), _black_box("loss"), membership_views, MEMBERSHIP,
    paper="Yeom et al. 2018 (CSF), the loss-threshold attack; ART's MembershipInferenceBlackBox(input_type='loss')",
    params=(Param("attack_model", "Attack model", "lr", _ATTACK_MODEL.help, choices=ATTACK_MODELS,
                  choice_labels=_ATTACK_MODEL.choice_labels), _KNOWN),
    applies=_computes_loss))
