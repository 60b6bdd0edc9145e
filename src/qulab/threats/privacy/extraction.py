"""Model extraction: rebuild a model from the answers it gives to queries.

Two routes. *Equation solving* (Tramèr et al., "Stealing Machine Learning Models via Prediction APIs", USENIX
Security 2016, §4.1): a logistic regression's log-odds are linear in its input, so each probability answer is one
linear equation in the weights and d+1 answers pin a d-feature model down exactly — hand-written here (ART has no
such attack) and checked against the target's own coefficients. *Learning a copy* (ART's ``CopycatCNN``, Correia-
Silva et al. 2018, and ``KnockoffNets``, Orekondy et al. 2019): train a network of the attacker's own on the
target's answers to inputs the attacker holds, and measure how often the copy agrees with the target on inputs
neither has seen, as the number of queries grows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qulab.core.registry import InvalidInput, Param
from qulab.core.threat import BLACK_BOX, DECISIONS, SCORES
from qulab.core.wording import accuracy_text
from qulab.threats.privacy.attacks import (
    EXTRACTION,
    PRIVACY_ATTACKS,
    FigureView,
    Metric,
    PrivacyAttackSpec,
    Target,
    privacy_threat,
)

ProbabilityOracle = Callable[[np.ndarray], np.ndarray]
CHECK_QUERIES = 100  # fresh queries on which the attacker checks its stolen model against the target's answers


@dataclass(frozen=True)
class StolenLinearModel:
    """A softmax-linear model, ``p = softmax(W x + b)``, as the equation-solving attack rebuilds it.

    A softmax is unchanged when the same vector is added to every row of (W, b), so a model is only determined up
    to that shift; the attack fixes it by making the first class's row zero. A binary logistic regression is the
    two-class case with rows (0, w) and (0, b).
    """

    W: np.ndarray  # (K, d), W[0] == 0
    b: np.ndarray  # (K,), b[0] == 0
    queries: int

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.W.T + self.b

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices 0..K-1 (the target's column order)."""
        return np.argmax(self.decision_function(X), axis=1)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        scores = self.decision_function(X)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)


def relative_to_first_class(W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) with the first class's row subtracted from every row: the representative of the softmax's
    equivalence class that :class:`StolenLinearModel` uses, so two models compare row by row."""
    W, b = np.atleast_2d(np.asarray(W, dtype=np.float64)), np.atleast_1d(np.asarray(b, dtype=np.float64))
    return W - W[0], b - b[0]


def query_region(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the attacker draws queries: the mean and spread of inputs like the target's (a feature that never
    varies, like a digit's always-blank corner pixel, still gets spread 1, or the system would be singular)."""
    X = np.asarray(X, dtype=np.float64)
    spread = X.std(axis=0)
    return X.mean(axis=0), np.where(spread > 0, spread, 1.0)


def equation_solving_queries(n_features: int, center: np.ndarray, spread: np.ndarray, seed: int) -> np.ndarray:
    """The d+1 inputs the attacker asks about: Gaussian draws around ``center`` with per-feature ``spread``.

    Random points are in general position with probability one, so the (d+1)×(d+1) system [X 1] is invertible;
    drawing them where the data lie keeps the probabilities away from 0 and 1, where log-odds lose precision.
    """
    rng = np.random.default_rng(seed)
    # Float32 values: ART's wrappers cast inputs to float32 before the model sees them, and a query the model saw
    # rounded would put an error of 1e-8 into every equation (measured: weights off by 1e-4 on digits).
    return (center + spread * rng.standard_normal((n_features + 1, n_features))).astype(np.float32).astype(np.float64)


def solve_softmax_linear(X: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) with W[0] = 0 from n = d+1 inputs and the target's probabilities on them.

    For a softmax-linear model, log(p_k / p_0) = (w_k − w_0)·x + (b_k − b_0): one linear system [X 1] θ_k = log
    ratio per class k, all with the same matrix (the binary logit log(p/(1−p)) is the case K = 2).
    """
    X, proba = np.asarray(X, dtype=np.float64), np.asarray(proba, dtype=np.float64)
    n, d = X.shape
    if n != d + 1:
        raise ValueError(f"equation solving takes exactly d+1 = {d + 1} queries, not {n}")
    if np.any(proba <= 0):
        raise InvalidInput("The target answered a probability of exactly 0 or 1 (saturated, or rounded by a "
                           "mitigation), which has no log-odds; lower the query spread so the queries fall where the "
                           "target is less certain.")
    log_ratios = np.log(proba) - np.log(proba[:, :1])  # (n, K), first column 0
    theta = np.linalg.solve(np.hstack([X, np.ones((n, 1))]), log_ratios)  # (d+1, K)
    return theta[:d].T.copy(), theta[d].copy()


def extract_by_equation_solving(predict_proba: ProbabilityOracle, n_features: int, center: np.ndarray,
                                spread: np.ndarray, seed: int) -> StolenLinearModel:
    """Steal a softmax-linear model (logistic regression, binary or multinomial) with exactly d+1 queries."""
    X = equation_solving_queries(n_features, center, spread, seed)
    W, b = solve_softmax_linear(X, predict_proba(X))
    return StolenLinearModel(W=W, b=b, queries=len(X))


def agreement(stolen_predictions: np.ndarray, target_predictions: np.ndarray) -> float:
    """Share of inputs on which the stolen model predicts what the target predicts."""
    return float(np.mean(np.asarray(stolen_predictions) == np.asarray(target_predictions)))


# ---------------------------------------------------------------------------------------------------------------
# Learning a copy: ART's CopycatCNN and KnockoffNets

PROBABILITIES, LABELS = "probabilities", "labels"
ANSWERS = (PROBABILITIES, LABELS)


def label_answers(predict: Callable[[np.ndarray], np.ndarray], n_classes: int) -> ProbabilityOracle:
    """A target that answers with its top label only, as ART's extraction attacks take it: one-hot rows."""
    return lambda X: np.eye(n_classes, dtype=np.float32)[np.asarray(predict(X), dtype=np.int64)]


def probability_answers(predict_proba: ProbabilityOracle) -> ProbabilityOracle:
    """A target that answers with its probabilities (float32, as ART's thief trains on them)."""
    return lambda X: np.asarray(predict_proba(X), dtype=np.float32)


def released_probabilities(target: Any) -> ProbabilityOracle:
    """The target's probabilities as its API releases them (after any output hardening).

    The estimator's own ``predict_proba`` rather than ``Target.released`` (the ART wrapper's ``predict``): the
    wrapper answers in float32, and a bare torch wrapper with logits (a thief trained on logits as soft labels
    learned nothing: 0.10 agreement on digits).
    """
    return lambda X: target.harden(np.asarray(target.estimator.predict_proba(np.asarray(X, dtype=np.float64)),
                                              dtype=np.float64))


def as_victim(answer: ProbabilityOracle, n_features: int, n_classes: int) -> Any:
    """The target as ART sees it in an extraction: a black box that answers queries, nothing more."""
    from art.estimators.classification import BlackBoxClassifier

    return BlackBoxClassifier(answer, input_shape=(n_features,), nb_classes=n_classes)


@dataclass(frozen=True)
class CopyPoint:
    """One point of an extraction curve: a copy trained on ``queries`` answers, judged on held-out inputs."""

    queries: int
    agreement: float  # copy's prediction == target's prediction
    stolen_accuracy: float  # copy's prediction == true label


def train_copy(attack: Any, thief: Any, X_pool: np.ndarray, y_pool: np.ndarray | None, seed: int) -> Any:
    """Run an ART extraction attack (``attack.extract``) with the thief network; returns the trained thief.

    ART draws the queried pool points from NumPy's global generator and the thief's minibatch order from torch's,
    so the run holds :func:`qulab.core.randomness.seeded`: the same seed asks the same queries and trains the same
    copy.
    """
    from qulab.core.randomness import seeded

    with seeded(seed):
        return attack.extract(np.asarray(X_pool, dtype=np.float32), y_pool, thieved_classifier=thief)


def extraction_curve(make_attack: Callable[[int], Any], make_thief: Callable[[], Any], X_pool: np.ndarray,
                     y_pool: np.ndarray | None, X_eval: np.ndarray, y_eval: np.ndarray,
                     target_eval_predictions: np.ndarray, query_counts: tuple[int, ...], seed: int,
                     progress: Callable[[float], None] | None = None) -> tuple[CopyPoint, ...]:
    """Agreement and accuracy of a fresh copy per number of queries (each copy starts from the same initial
    weights, so the curve shows what more queries buy, not a different start)."""
    points = []
    for i, n in enumerate(query_counts):
        thief = train_copy(make_attack(n), make_thief(), X_pool, y_pool, seed)
        predicted = np.argmax(thief.predict(np.asarray(X_eval, dtype=np.float32)), axis=1)
        points.append(CopyPoint(int(n), agreement(predicted, target_eval_predictions),
                                float(np.mean(predicted == np.asarray(y_eval)))))
        if progress is not None:
            progress((i + 1) / len(query_counts))
    return tuple(points)


# ---------------------------------------------------------------------------------------------------------------
# Registry entries


def _extraction_metrics(queries: int, agreement_: float, accuracy_: float) -> tuple[Metric, ...]:
    return (Metric("Queries", str(queries), "Inputs the attacker sent to the model."),
            Metric("Agreement", accuracy_text(agreement_),
                   "Share of test rows on which the stolen model predicts what the target predicts."),
            Metric("Stolen model's accuracy", accuracy_text(accuracy_), "The stolen model's test accuracy."))


@dataclass(frozen=True)
class EquationSolvingResult:
    """The stolen softmax-linear model, judged on the test rows and on fresh queries (what the attacker can check
    without the true weights: a model that is not softmax-linear answers them differently), with the target's own
    weights to compare when they are known."""

    stolen: StolenLinearModel
    agreement: float
    stolen_accuracy: float
    target_W: np.ndarray | None  # the target's (W, b) relative to the first class, when it has coef_
    target_b: np.ndarray | None
    max_probability_error: float  # largest |stolen − target| probability on CHECK_QUERIES fresh queries
    kind: str = EXTRACTION

    @property
    def weight_error(self) -> float | None:
        """Largest absolute difference between stolen and true weights and intercepts (softmax shift removed)."""
        if self.target_W is None or self.target_W.shape != self.stolen.W.shape:
            return None
        return float(max(np.abs(self.stolen.W - self.target_W).max(), np.abs(self.stolen.b - self.target_b).max()))

    def summary(self) -> dict[str, Any]:
        return {"queries": self.stolen.queries, "agreement": self.agreement, "stolen_accuracy": self.stolen_accuracy,
                "max_weight_error": self.weight_error, "check_queries": CHECK_QUERIES,
                "max_probability_error": self.max_probability_error}

    def metrics(self) -> tuple[Metric, ...]:
        error = self.weight_error
        return (*_extraction_metrics(self.stolen.queries, self.agreement, self.stolen_accuracy),
                Metric("Largest probability error", f"{self.max_probability_error:.1e}",
                       f"Largest difference between the stolen model's probability and the target's on "
                       f"{CHECK_QUERIES} fresh queries drawn as far out as the solved ones: near 0 when the target "
                       "is softmax-linear there and stolen exactly, large when it is not (the attacker can tell "
                       "without knowing the weights; a network can be linear near the data's mean, so widen the "
                       "query spread to see further)."),
                *(() if error is None else (Metric("Largest weight error", f"{error:.1e}",
                                                   "Largest difference between a stolen weight and the target's "
                                                   "(each class's weights taken relative to the first class's)."),)))


def _target_weights(estimator: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not hasattr(estimator, "coef_"):
        return None, None
    from qulab.models.registry import linear_scores

    return relative_to_first_class(*linear_scores(estimator))


def probability_error(stolen: StolenLinearModel, answer: ProbabilityOracle, n_features: int, center: np.ndarray,
                      spread: np.ndarray, seed: int) -> float:
    """Largest |stolen − target| probability on :data:`CHECK_QUERIES` fresh queries from the same region (drawn
    with a seed of their own, so none is a query the model was solved from)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    X = (center + spread * rng.standard_normal((CHECK_QUERIES, n_features))).astype(np.float32).astype(np.float64)
    return float(np.abs(stolen.predict_proba(X) - answer(X)).max())


def _equation_solving(split: Any, target: Target, params: dict[str, Any], seed: int) -> EquationSolvingResult:
    center, spread = query_region(split.X_train)
    d, answer = split.X_train.shape[1], released_probabilities(target)
    stolen = extract_by_equation_solving(answer, d, center, params["spread"] * spread, seed)
    predicted = stolen.predict(split.X_test)
    return EquationSolvingResult(stolen, agreement(predicted, target.predict(split.X_test)),
                                 float(np.mean(predicted == split.y_test)), *_target_weights(target.estimator),
                                 probability_error(stolen, answer, d, center, params["spread"] * spread, seed))


def _equation_solving_views(result: EquationSolvingResult) -> list[FigureView]:
    from qulab.figures.privacy_extraction import build_weight_recovery

    if result.target_W is None:
        return []
    return [FigureView("Stolen against true weights", build_weight_recovery(result.stolen.W, result.stolen.b,
                                                                            result.target_W, result.target_b),
                       "Each point is one weight or intercept: on the diagonal, the attacker has it exactly. Each "
                       "class's weights are shown relative to the first class's, since a softmax cannot tell them "
                       "apart otherwise.")]


def _linear_only(model: Any, defence: Any) -> str | None:
    """A linear model, or a black box from a file: its form is unknown, so the attacker tries, and the fresh
    queries tell whether the stolen model answers as it does."""
    from qulab.models.files import BLACK_BOX_FAMILY

    if model.linear or model.family == BLACK_BOX_FAMILY:
        return None
    return (f"Equation solving needs log-odds that are linear in the inputs, as a logistic regression's are; "
            f"{model.a_name} is not linear: try Copycat or Knockoff Nets, which learn a copy instead.")


PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "extraction_equation_solving", "Equation-solving extraction (logistic regression)",
    "Solves for a logistic regression's weights from its probabilities on d+1 chosen inputs: the log-odds are linear "
    "in the input, so d+1 answers give d+1 equations in the d+1 unknowns per class.",
    privacy_threat(BLACK_BOX, SCORES), _equation_solving, _equation_solving_views, EXTRACTION,
    paper="Tramèr, Zhang, Juels, Reiter, Ristenpart 2016, Stealing machine learning models via prediction APIs "
          "(USENIX Security), §4.1; hand-written (not in ART)",
    params=(Param("spread", "Query spread", 0.1, "How far the queries reach from the data's mean, in standard "
                  "deviations per feature: far queries get answers of 0 or 1, which carry no log-odds; near ones "
                  "make the equations less well conditioned.", 1e-4, 10.0, scale="log"),),
    applies=_linear_only))


@dataclass(frozen=True)
class CopyResult:
    """Extraction curves (one per kind of answer) and the headline point: the most queries, best answers."""

    curves: tuple[tuple[str, tuple[CopyPoint, ...]], ...]  # (answers, points) pairs
    thief: str
    notes: tuple[str, ...] = ()
    kind: str = EXTRACTION

    @property
    def headline(self) -> CopyPoint:
        return self.curves[0][1][-1]

    def summary(self) -> dict[str, Any]:
        point = self.headline
        return {"queries": point.queries, "agreement": point.agreement, "stolen_accuracy": point.stolen_accuracy,
                "answers": self.curves[0][0], "thief": self.thief,
                "curve": {answers: [{"queries": p.queries, "agreement": p.agreement,
                                     "stolen_accuracy": p.stolen_accuracy} for p in points]
                          for answers, points in self.curves}}

    def metrics(self) -> tuple[Metric, ...]:
        point = self.headline
        return _extraction_metrics(point.queries, point.agreement, point.stolen_accuracy)


def _copy_views(result: CopyResult) -> list[FigureView]:
    from qulab.figures.privacy_extraction import build_extraction_curve

    return [FigureView("Agreement and accuracy against queries", build_extraction_curve(dict(result.curves)),
                       f"Each point is a fresh copy ({result.thief}) trained on that many of the target's answers; "
                       "agreement is measured on test rows neither model was trained on.")]


_QUERIES = Param("queries", "Queries", 400, "The most inputs the attacker sends (the curve's last point); the "
                 "inputs are the training rows without their labels, so at most that many.", 10, 5000, 10)
_ANSWERS = Param("answers", "Answers used", "both", "What the attacker trains its copy on: the target's "
                 "probabilities, its top label only, or both side by side.", choices=("both", *ANSWERS),
                 choice_labels=("Both, side by side", "Probabilities", "Top label only"))
_POINTS = Param("curve_points", "Curve points", 4, "Copies trained, at query counts halving from the largest: "
                "more points draw the curve, each costs a training run.", 1, 8)
_EPOCHS = Param("epochs", "Thief's epochs", 30, "Passes over the stolen answers when training the copy.", 1, 300)


def query_counts(largest: int, points: int) -> tuple[int, ...]:
    """Query counts halving from ``largest`` (``points`` of them, at least 2 each, no repeats)."""
    return tuple(sorted({max(2, largest // 2**i) for i in range(points)}))


def thief_for(target: Target, n_features: int, seed: int, clip_values: Any) -> tuple[Any, str]:
    """The attacker's network: the target's own architecture when it is one of QuLab's torch nets (the brief's
    setting: the attacker knows the architecture), else the default MLP."""
    from qulab.models.torch_nets import TorchMLPClassifier, _TorchClassifierBase, untrained_like

    template = target.estimator if isinstance(target.estimator, _TorchClassifierBase) else TorchMLPClassifier()
    thief = untrained_like(template, n_features, np.arange(target.fitted.classifier.nb_classes), seed, clip_values)
    return thief, f"a fresh {type(template).__name__.removeprefix('Torch').removesuffix('Classifier')}"


def _copy_attack(build: Callable[..., Any]) -> Callable[..., CopyResult]:
    """The run of a copy-training entry; ``build(victim, n_queries, use_probability, params)`` makes the ART
    attack."""

    def run(split: Any, target: Target, params: dict[str, Any], seed: int) -> CopyResult:
        wanted = ANSWERS if params["answers"] == "both" else (params["answers"],)
        notes = []
        if PROBABILITIES in wanted and SCORES not in target.releases:
            if params["answers"] == PROBABILITIES:
                raise InvalidInput(f"{target.spec.label} releases labels only here, so there are no probabilities "
                                   "to train a copy on: choose the top label.")
            wanted, notes = (LABELS,), ["The model releases labels only, so only the label curve is drawn."]
        d, k = split.X_train.shape[1], target.fitted.classifier.nb_classes
        counts = query_counts(min(params["queries"], len(split.X_train)), params["curve_points"])
        if params["queries"] > len(split.X_train):
            notes.append(f"The attacker holds {len(split.X_train)} inputs, so it asked at most that many.")
        target_test = target.predict(split.X_test)
        _, thief_name = thief_for(target, d, seed, split.clip_values)
        curves = []
        for answers in wanted:
            answer = (probability_answers(released_probabilities(target)) if answers == PROBABILITIES
                      else label_answers(target.predict, k))
            victim = as_victim(answer, d, k)
            points = extraction_curve(lambda n, v=victim, a=answers: build(v, n, a == PROBABILITIES, params),
                                      lambda: thief_for(target, d, seed, split.clip_values)[0],
                                      split.X_train, split.y_train, split.X_test, split.y_test, target_test,
                                      counts, seed)
            curves.append((answers, points))
        return CopyResult(tuple(curves), thief_name, tuple(notes))

    return run


def _copycat(victim: Any, n: int, use_probability: bool, params: dict[str, Any]) -> Any:
    from art.attacks.extraction import CopycatCNN

    return CopycatCNN(victim, batch_size_fit=64, batch_size_query=256, nb_epochs=params["epochs"], nb_stolen=n,
                      use_probability=use_probability)


def normalised_rewards(reward: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Each reward in standard deviations from its running mean, and 0 for one that has not varied yet.

    ART 1.20.1's ``KnockoffNets._reward_all`` divides by the standard deviation as it is, and a reward that has
    not varied has none: the certainty reward of a target answering 0s and 1s (a fully grown tree on a small CSV,
    top-label answers, a differentially private tree) is 1 for every query, so 0 / 0 made the reward NaN, the
    bandit's class probabilities NaN, and ``np.random.choice`` refused them. A reward that has not varied says
    nothing about which class to ask about next, so it counts 0.
    """
    spread = np.sqrt(variance)
    return np.divide(reward - mean, spread, out=np.zeros_like(spread), where=spread > 0)


def _guarded_knockoff_class() -> type:
    """ART's KnockoffNets with :func:`normalised_rewards` in its "all" reward (ART imported only when used)."""
    from art.attacks.extraction import KnockoffNets

    class GuardedKnockoffNets(KnockoffNets):
        def extract(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs: Any) -> Any:
            # Adaptive sampling's actions are the class numbers 0..m-1 of the rows the attacker holds; a class
            # missing among them (a members file without one of the model's classes) made ART draw from no rows.
            if self.sampling_strategy == "adaptive" and y is not None:
                held = np.unique(np.argmax(y, axis=1) if np.ndim(y) == 2 else y)
                if not np.array_equal(held, np.arange(len(held))):
                    raise InvalidInput("Adaptive sampling asks about the attacker's rows class by class, and some "
                                       "of the model's classes have no rows here: choose random sampling.")
            return super().extract(x, y, **kwargs)

        def _reward_all(self, y_output: np.ndarray, y_hat: np.ndarray, n: int) -> float:
            # ART's own running mean and variance, then its normalisation with the zero-variance guard.
            reward = np.array([self._reward_cert(y_output), self._reward_div(y_output, n),
                               self._reward_loss(y_output, y_hat)], dtype=np.float64)
            self.reward_avg = self.reward_avg + (1.0 / n) * (reward - self.reward_avg)
            self.reward_var = self.reward_var + (1.0 / n) * ((reward - self.reward_avg) ** 2 - self.reward_var)
            if n == 1:
                return float(np.mean(np.clip(reward, 0, 1)))
            return float(np.mean(normalised_rewards(reward, self.reward_avg, self.reward_var)))

    return GuardedKnockoffNets


def _knockoff(victim: Any, n: int, use_probability: bool, params: dict[str, Any]) -> Any:
    return _guarded_knockoff_class()(victim, batch_size_fit=64, batch_size_query=256, nb_epochs=params["epochs"],
                                     nb_stolen=n, sampling_strategy=params["sampling"], reward=params["reward"],
                                     verbose=False, use_probability=use_probability)


PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "extraction_copycat", "Copycat (train a copy on the model's answers)",
    "Sends inputs the attacker holds to the model and trains a network of its own on the answers, then measures how "
    "often the copy agrees with the model.",
    privacy_threat(BLACK_BOX, DECISIONS), _copy_attack(_copycat), _copy_views, EXTRACTION,
    paper="Correia-Silva et al. 2018, Copycat CNN: stealing knowledge by persuading confession with random "
          "non-labeled data (IJCNN); ART's CopycatCNN",
    params=(_QUERIES, _ANSWERS, _POINTS, _EPOCHS)))

PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "extraction_knockoff", "Knockoff Nets (copy, choosing what to ask)",
    "Like Copycat, but with adaptive sampling it learns which classes of its own inputs teach the copy most and asks "
    "about those first.",
    privacy_threat(BLACK_BOX, DECISIONS), _copy_attack(_knockoff), _copy_views, EXTRACTION,
    paper="Orekondy, Schiele, Fritz 2019, Knockoff Nets: stealing functionality of black-box models (CVPR); "
          "ART's KnockoffNets",
    params=(_QUERIES, _ANSWERS, _POINTS, _EPOCHS,
            Param("sampling", "Sampling", "adaptive", "Adaptive: a bandit picks the class of the next query by how "
                  "much the last answer taught (ART trains on the top label then, whatever the answers); random: "
                  "as Copycat.", choices=("adaptive", "random"), choice_labels=("Adaptive", "Random")),
            Param("reward", "Adaptive reward", "loss", "What the bandit rewards: the answer's certainty, its "
                  "diversity, the copy's loss on it, or all three normalised (a reward that never varies, like "
                  "the certainty of top-label answers, counts zero). The loss is the default: with all three and "
                  "top-label answers a CNN copy of digits stayed at chance on some seeds (agreement 0.10 at 400 "
                  "queries, seed 42; 0.89 with the loss).",
                  choices=("all", "cert", "div", "loss"),
                  choice_labels=("All three", "Certainty", "Diversity", "Loss")))))
