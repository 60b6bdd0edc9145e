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

from qulab.core.progress import Progress
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
            "lr": lambda: LogisticRegression()}[name]()  # as ART makes it (deterministic already)


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


# ---------------------------------------------------------------------------------------------------------------
# Population data: what shadow and reference models are trained on


def population(split: Any) -> tuple[np.ndarray, np.ndarray]:
    """The rows the attacker draws training sets from: members and non-members together (Carlini et al.'s setting;
    an attacker's own data from the same distribution would play the same part)."""
    return np.vstack([split.X_train, split.X_test]), np.r_[split.y_train, split.y_test]


def full_proba(estimator: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """predict_proba with one column per class of the data, also for a model whose training half lacked a class."""
    proba = np.zeros((len(X), n_classes))
    proba[:, np.asarray(estimator.classes_, dtype=np.int64)] = estimator.predict_proba(X)
    return proba


def fit_in_parallel(make: Any, jobs: Sequence[tuple[np.ndarray, np.ndarray, int]], n_jobs: int = 2,
                    progress: Progress | None = None, what: str = "model") -> list[Any]:
    """``make(seed).fit(X, y)`` for each (X, y, seed), on threads (scikit-learn's and torch's loops release the
    GIL; torch keeps one thread per fit); results in the order given. ``progress(fraction, text)`` is called on
    the calling thread as each result arrives, in that order ("{what} k of n")."""
    from joblib import Parallel, delayed

    arriving = Parallel(n_jobs=min(n_jobs, len(jobs)), prefer="threads", return_as="generator")(
        delayed(lambda X, y, seed: make(seed).fit(X, y))(X, y, seed) for X, y, seed in jobs)
    fitted = []
    for model in arriving:
        fitted.append(model)
        if progress is not None:
            progress(len(fitted) / len(jobs), f"{what} {len(fitted)} of {len(jobs)}")
    return fitted


def child_seeds(seed: int, n: int) -> list[int]:
    """n independent seeds derived from the run's."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]


# ---------------------------------------------------------------------------------------------------------------
# Shadow models (ART)


def _shadow(split: Any, target: Target, params: dict[str, Any], seed: int) -> MembershipResult:
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox, ShadowModels
    from art.estimators.classification.scikitlearn import ScikitlearnClassifier

    X, y = population(split)
    k = split.n_classes
    # ART's template must know its classes, so it wraps the fitted target; each shadow is scikit-learn's clone of
    # it (same estimator and parameters, mitigation included, unfitted), trained as the target was.
    # (ART's SklearnClassifier factory refuses estimators outside scikit-learn, such as the PyTorch nets' sklearn
    # face; its generic ScikitlearnClassifier takes any.)
    template = ScikitlearnClassifier(model=target.estimator)
    shadows = ShadowModels(template, num_shadow_models=params["n_shadow"], disjoint_datasets=False,
                           random_state=seed)
    (in_x, in_y, in_pred), (out_x, out_y, out_pred) = shadows.generate_shadow_dataset(X, one_hot(y, k))
    attack = MembershipInferenceBlackBox(target.classifier, attack_model_type=params["attack_model"])
    attack.attack_model = attack_model(params["attack_model"], seed)  # seeded; see _black_box
    # The shadows' outputs pass through the target's output hardening, so the attack learns what it will see.
    attack.fit(in_x, in_y, out_x, out_y, pred=target.harden(in_pred), test_pred=target.harden(out_pred))
    scores = [attack.infer(X_, one_hot(y_, k), probabilities=True).reshape(len(X_), -1)[:, -1]
              for X_, y_ in ((split.X_train, split.y_train), (split.X_test, split.y_test))]
    return membership_result(target, split, *scores, score_label="attack model's membership probability",
                             notes=(f"{params['n_shadow']} shadow models, each trained like the target on a random "
                                    "half of the population (members and non-members together).",))


PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "membership_shadow", "Shadow models (ART)",
    "Trains shadow models the way the target was trained, on data whose membership it chose, and learns from "
    "their outputs how a member's output looks.",
    privacy_threat(GREY_BOX, SCORES), _shadow, membership_views, MEMBERSHIP, trains_like_target=True,
    paper="Shokri et al. 2017, Membership inference attacks against machine learning models (S&P); "
          "ART's ShadowModels",
    params=(Param("n_shadow", "Shadow models", 3, "How many shadow models to train (each costs one fit).", 1, 16),
            _ATTACK_MODEL)))


# ---------------------------------------------------------------------------------------------------------------
# LiRA (Carlini et al. 2022), hand-written


def logit_confidence(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """φ = log(p_y / (1 − p_y)): the confidence in the true class on a logit scale, where Carlini et al. found it
    close to Gaussian over training runs."""
    p = np.clip(proba[np.arange(len(y)), y], PHI_CLIP, 1 - PHI_CLIP)
    return np.log(p) - np.log1p(-p)


def balanced_halves(n_models: int, n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """keep[m, i]: whether row i is in reference model m's training half. Each row is in exactly ⌊M/2⌋ models
    (Carlini et al.'s construction), so every row has reference models with it and without it."""
    order = rng.uniform(size=(n_models, n_rows)).argsort(axis=0)
    return order < n_models // 2


def lira_scores(target_phi: np.ndarray, reference_phi: np.ndarray, keep: np.ndarray,
                fixed_variance: bool = True) -> np.ndarray:
    """The online likelihood ratio per row: log N(φ; μ_in, σ_in) − log N(φ; μ_out, σ_out), higher for members.

    μ_in/μ_out are the medians of the row's φ over the reference models that trained on it / did not (as in
    Carlini et al.'s code). σ is per row, or, with ``fixed_variance`` (their choice for few reference models),
    one σ_in and one σ_out for all rows: the spread of every φ around its row's mean.
    """
    inside = np.where(keep, reference_phi, np.nan)
    outside = np.where(keep, np.nan, reference_phi)
    mu_in, mu_out = np.nanmedian(inside, axis=0), np.nanmedian(outside, axis=0)
    if fixed_variance:
        sd_in = np.sqrt(np.nanmean((inside - np.nanmean(inside, axis=0)) ** 2))
        sd_out = np.sqrt(np.nanmean((outside - np.nanmean(outside, axis=0)) ** 2))
    else:
        sd_in, sd_out = np.nanstd(inside, axis=0), np.nanstd(outside, axis=0)
    sd_in, sd_out = np.maximum(sd_in, 1e-6), np.maximum(sd_out, 1e-6)  # a constant φ (hardened output) is no spread

    def log_density(x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
        return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)

    return log_density(target_phi, mu_in, sd_in) - log_density(target_phi, mu_out, sd_out)


def _lira(split: Any, target: Target, params: dict[str, Any], seed: int,
          progress: Progress | None = None) -> MembershipResult:
    X, y = population(split)
    k, n_models = split.n_classes, params["n_reference"]
    keep = balanced_halves(n_models, len(y), np.random.default_rng(seed))
    models = fit_in_parallel(target.make_estimator,
                             [(X[keep[m]], y[keep[m]], s) for m, s in enumerate(child_seeds(seed, n_models))],
                             progress=progress, what="reference model")
    reference_phi = np.stack([logit_confidence(target.harden(full_proba(model, X, k)), y) for model in models])
    target_phi = logit_confidence(target.released(X), y)
    scores = lira_scores(target_phi, reference_phi, keep, params["fixed_variance"])
    n_members = len(split.y_train)
    return membership_result(target, split, scores[:n_members], scores[n_members:],
                             score_label="log likelihood ratio (member vs non-member)",
                             notes=(f"{n_models} reference models trained like the target, each on a random half "
                                    f"of the {len(y)} rows; each row was in {n_models // 2} of them.",))


PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "membership_lira", "Likelihood-ratio attack (LiRA)",
    "Trains reference models with and without each row and asks whether the target's confidence on the row looks "
    "more like the 'with' or the 'without' ones.",
    privacy_threat(GREY_BOX, SCORES), _lira, membership_views, MEMBERSHIP, trains_like_target=True,
    paper="Carlini et al. 2022, Membership inference attacks from first principles (S&P), online LiRA",
    params=(Param("n_reference", "Reference models", 16, "Models trained on random halves of the data; more give "
                  "better Gaussians (Carlini et al. used 64–256) and cost one fit each.", 2, 128, 2),
            Param("fixed_variance", "One variance for all rows", True, "Estimate σ once over all rows (better with "
                  "few reference models) instead of per row.")),
    reports_progress=True))
