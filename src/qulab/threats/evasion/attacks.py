"""Evasion attacks from ART: one registry entry each, with its threat model declared.

Two kinds of attack share the registry. *Budgeted* attacks (FGM, PGD, BIM, Universal, Square, AutoAttack)
take epsilon and stay inside it. *Minimal* attacks (DeepFool, Carlini–Wagner, Elastic-Net, JSMA,
HopSkipJump, Boundary, ZOO, DecisionTreeAttack) look for the smallest perturbation that flips the
prediction; QuLab counts their result as a success at budget eps only when that perturbation is within eps
in the chosen norm, so every attack is read on the same accuracy-vs-epsilon scale.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from qulab.core.experiment import norm_order
from qulab.core.randomness import seeded_random_state
from qulab.core.registry import Param, Registry
from qulab.core.threat import (
    BLACK_BOX,
    CLASS_GRADIENTS,
    DECISIONS,
    LOSS_GRADIENTS,
    SCORES,
    TREE_STRUCTURE,
    WHITE_BOX,
    ThreatModel,
    evasion,
)
from qulab.models.registry import ModelSpec

# ART's INFO lines (e.g. a "Success rate 0.00%" that FGM always reports) are not for QuLab's users; its warnings
# are collected per call and shown (art_warnings). ART's NullHandler keeps them off stderr. Progress bars are
# switched off per attack (verbose=False).
logging.getLogger("art").setLevel(logging.WARNING)


class _WarningCollector(logging.Handler):
    """Keeps the warnings ART logs from one thread (one session's run), counted by message."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            message = record.getMessage().strip()
            self.counts[message] = self.counts.get(message, 0) + 1


@contextlib.contextmanager
def art_warnings(images: bool = False) -> Iterator[list[str]]:
    """What ART warned about during the block, as plain lines (filled in when the block ends); ART's image words
    are put in tabular ones when the data are not images."""
    collector, notes = _WarningCollector(), []
    logger = logging.getLogger("art")
    logger.addHandler(collector)
    try:
        yield notes
    finally:
        logger.removeHandler(collector)
        notes.extend(f"ART: {message if images else for_tabular_data(message)}"
                     + (f" (×{count})" if count > 1 else "") + _hint(message)
                     for message, count in collector.counts.items())


_HINTS = {
    "Failed to draw a random image": "those points keep their clean value; raise 'Initial random trials' "
                                     "(init_size) so the attack finds a misclassified starting point",
    "predicting probabilities": "DeepFool linearises the probabilities of this model, so it overshoots; "
                                "its distances are upper bounds",
}


def _hint(message: str) -> str:
    return "".join(f" — {hint}." for key, hint in _HINTS.items() if key in message)


# ART's messages written for images, as they read on rows of features. HopSkipJump and Boundary start from a
# random input the model already misclassifies; on tabular data that is a random point, not an image.
_TABULAR_WORDS = {
    "Failed to draw a random image that is adversarial": "Failed to draw a random starting point that the model "
                                                         "misclassifies",
}


def for_tabular_data(message: str) -> str:
    """An ART message with its image wording put in terms of rows of features."""
    for image_words, tabular_words in _TABULAR_WORDS.items():
        message = message.replace(image_words, tabular_words)
    return message

BLACK_BOX_SUGGESTION = "try HopSkipJump, Boundary or ZOO, which only query the model"


@dataclass(frozen=True)
class AttackSpec:
    """A registry entry: how to build the ART attack and the threat model it assumes."""

    name: str
    label: str
    description: str
    build: Callable[..., Any]
    threat: ThreatModel
    minimal: bool = False
    targeted: bool = False
    params: tuple[Param, ...] = field(default=())
    needs_neural_images: bool = False
    needs_neural: bool = False
    needs_bounds: bool = False  # loops without end on unbounded inputs (JSMA): given the data's range then
    min_classes: int = 2
    rescalable: bool = False  # its step is eps × a direction that does not depend on eps (FGM)
    labels: str = "true"  # what ART's y receives: "true" labels, or "none" where ART reads y as a target
    reference: str = ""
    # Whether ART draws from the process-global generators (then a run is seeded under the lock), or a test on
    # the params (PGD does only with random starts).
    global_draws: bool | Callable[[Mapping[str, Any]], bool] = False
    # Test points ART works on apart from the others (a multiple of the batch it works in, drawing in point order),
    # so a run split into batches of this many gives the examples of one run: the page's progress bar advances
    # per batch. None when a run needs all its points at once (Universal), or a test on the params.
    batch: int | None | Callable[[Mapping[str, Any]], int | None] = None
    # Without the model's clip range ART takes the range of the points it is given; QuLab gives it the range of
    # all the points attacked up front, so that batches see the range of one run.
    range_from_data: bool = False

    def draws_globally(self, params: Mapping[str, Any]) -> bool:
        return self.global_draws(params) if callable(self.global_draws) else self.global_draws

    def batch_size(self, params: Mapping[str, Any]) -> int | None:
        """:attr:`batch` for these params."""
        return self.batch(params) if callable(self.batch) else self.batch

    @property
    def knowledge(self) -> str:
        return self.threat.knowledge

    @property
    def needs(self) -> frozenset[str]:
        """What the attacker must be able to get from the model."""
        return self.threat.access

    @property
    def norms(self) -> tuple[str, ...]:
        return self.threat.norms

    @property
    def nist(self) -> str:
        return self.threat.nist_class

    @property
    def access(self) -> str:
        """The least the attacker must be able to get from the model, in words."""
        return " and ".join(sorted(self.needs))

    def unsupported_reason(self, model: ModelSpec, n_classes: int = 2, images: bool = False) -> str | None:
        """Why this attack cannot run on this model and data, in plain words; None when it can."""
        missing = sorted(self.needs - model.exposes)
        if missing:
            has = "has none" if len(missing) == 1 else "does not expose them"
            hint = BLACK_BOX_SUGGESTION if self.knowledge == WHITE_BOX else "pick a model that exposes them"
            return f"{self.label} needs {' and '.join(missing)}; {model.a_name} {has}: {hint}."
        if self.needs_neural and model.family != "neural":
            return (f"{self.label} works on neural networks only (its AutoPGD losses need a differentiable "
                    f"network): choose a PyTorch model.")
        if self.needs_neural_images and not (model.family == "neural" and images):
            return f"{self.label} works on image inputs of a neural network only: choose digits and a PyTorch model."
        if n_classes < self.min_classes:
            return f"{self.label} needs at least {self.min_classes} classes; this data set has {n_classes}."
        return None


ATTACKS: Registry[AttackSpec] = Registry("attack")

EPSILON = Param("eps", "Epsilon", 0.1,
                "The attack's budget: the largest change allowed to each feature (L∞), or the length of the "
                "whole change (L2, L1), in the units of the features.", 0.0, 0.5, 0.01)

_ITERATIONS = Param("max_iter", "Iterations", 20, "More iterations find stronger examples but take longer.", 1, 500)
_STEP = Param("step_fraction", "Step size (fraction of epsilon)", 0.25,
              "Each iteration moves by this fraction of epsilon.", 0.01, 1.0, 0.01)
_CONFIDENCE = Param("confidence", "Confidence", 0.0,
                    "How far past the boundary the example must land (0 = just across).", 0.0, 10.0, 0.1)
_LEARNING_RATE = Param("learning_rate", "Learning rate", 0.1, "Step size of the inner optimiser.", 0.001, 1.0, 0.001)
_INITIAL_CONST = Param("initial_const", "Initial trade-off constant", 1.0,
                       "Weight of the misclassification term against the perturbation size.", 0.001, 100.0)
_SEARCH_STEPS = Param("binary_search_steps", "Binary search steps", 5,
                      "Rounds of search over the trade-off constant.", 1, 20)
_INIT_SIZE = Param("init_size", "Initial random trials", 100,
                   "Random starting points tried to find one that is already misclassified.", 10, 1000, 10)


def _quiet_kwargs(cls: type) -> dict[str, Any]:
    return {"verbose": False} if "verbose" in cls.__init__.__code__.co_varnames else {}


def _art(name: str) -> type:
    import art.attacks.evasion as evasion

    return getattr(evasion, name)


def _fgm(classifier, eps, norm, **_):
    cls = _art("FastGradientMethod")
    # One gradient per point: large batches cost nothing extra and ART's default of 32 dominates on big test sets.
    return cls(estimator=classifier, eps=eps, norm=norm_order(norm), batch_size=4096)


def _pgd(classifier, eps, norm, max_iter=20, step_fraction=0.25, num_random_init=0, **_):
    cls = _art("ProjectedGradientDescent")
    return cls(estimator=classifier, eps=eps, eps_step=max(eps * step_fraction, 1e-9), norm=norm_order(norm),
               max_iter=max_iter, num_random_init=num_random_init, **_quiet_kwargs(cls))


def _bim(classifier, eps, norm, max_iter=20, step_fraction=0.1, **_):
    cls = _art("BasicIterativeMethod")
    return cls(estimator=classifier, eps=eps, eps_step=max(eps * step_fraction, 1e-9), max_iter=max_iter,
               **_quiet_kwargs(cls))


def _deepfool(classifier, eps, norm, max_iter=50, overshoot=0.02, **_):
    cls = _art("DeepFool")
    # ART's default batch of 1 runs one point at a time: batches of 128 give the same examples (to 3e-7) and were
    # 47x faster on the digits MLP (32.8 s -> 0.7 s for 360 points).
    return cls(classifier=classifier, max_iter=max_iter, epsilon=overshoot,
               nb_grads=min(10, classifier.nb_classes), batch_size=128, **_quiet_kwargs(cls))


def _cw_l2(classifier, eps, norm, confidence=0.0, learning_rate=0.1, binary_search_steps=3, max_iter=10,
           initial_const=10.0, **_):
    cls = _art("CarliniL2Method")
    return cls(classifier=classifier, confidence=confidence, learning_rate=learning_rate,
               binary_search_steps=binary_search_steps, max_iter=max_iter, initial_const=initial_const,
               batch_size=32, **_quiet_kwargs(cls))


def _cw_linf(classifier, eps, norm, confidence=0.0, learning_rate=0.1, max_iter=10, initial_const=1.0, **_):
    cls = _art("CarliniLInfMethod")
    # A short constant ladder (1 → 10, ×10): the same results as ART's slow default ladder, 3–5× faster.
    return cls(classifier=classifier, confidence=confidence, learning_rate=learning_rate, max_iter=max_iter,
               initial_const=initial_const, largest_const=10.0, decrease_factor=0.7, const_factor=10.0,
               batch_size=32, **_quiet_kwargs(cls))


def _elastic_net(classifier, eps, norm, beta=0.001, learning_rate=0.1, binary_search_steps=3, max_iter=20,
                 initial_const=1.0, **_):
    cls = _art("ElasticNet")
    return cls(classifier=classifier, beta=beta, learning_rate=learning_rate,
               binary_search_steps=binary_search_steps, max_iter=max_iter, initial_const=initial_const,
               batch_size=32, **_quiet_kwargs(cls))


def _jsma(classifier, eps, norm, theta=0.1, gamma=1.0, **_):
    cls = _art("SaliencyMapMethod")
    return cls(classifier=classifier, theta=theta, gamma=gamma, batch_size=32, **_quiet_kwargs(cls))


def _universal(classifier, eps, norm, max_iter=10, delta=0.2, **_):
    cls = _art("UniversalPerturbation")
    return cls(classifier=classifier, attacker="fgsm", attacker_params={"eps": eps, "norm": norm_order(norm)},
               delta=delta, max_iter=max_iter, eps=eps, norm=norm_order(norm), **_quiet_kwargs(cls))


class _RandomWithSeededStarts:
    """``numpy.random`` as ART's HopSkipJump and Boundary modules see it. They draw their starting points from
    ``np.random.RandomState()``, seeded by the OS, so no seed reached them; here an unseeded RandomState takes its
    seed from NumPy's global generator (:func:`qulab.core.randomness.seeded_random_state`). Nothing else sees this."""

    RandomState = staticmethod(seeded_random_state)  # numpy's name

    def __getattr__(self, name: str) -> Any:
        return getattr(np.random, name)


class _NumpyWithSeededStarts:
    random = _RandomWithSeededStarts()

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def _seeded_start(name: str) -> type:
    """The ART attack class, with its module's ``np`` replaced once so that its random start follows the seed."""
    import importlib

    cls = _art(name)
    module = importlib.import_module(cls.__module__)
    if not isinstance(module.np, _NumpyWithSeededStarts):
        module.np = _NumpyWithSeededStarts()
    return cls


def _hop_skip_jump(classifier, eps, norm, max_iter=20, max_eval=1000, init_size=100, **_):
    cls = _seeded_start("HopSkipJump")
    return cls(classifier=classifier, norm=2 if norm != "inf" else np.inf, max_iter=max_iter, max_eval=max_eval,
               init_eval=100, init_size=init_size, **_quiet_kwargs(cls))


def _boundary(classifier, eps, norm, max_iter=50, init_size=100, **_):
    cls = _seeded_start("BoundaryAttack")
    return cls(estimator=classifier, targeted=False, max_iter=max_iter, delta=0.01, epsilon=0.01,
               init_size=init_size, **_quiet_kwargs(cls))


def _zoo(classifier, eps, norm, confidence=0.0, learning_rate=0.1, binary_search_steps=1, max_iter=100,
         initial_const=10.0, **_):
    cls = _art("ZooAttack")
    # ART's defaults crash on tabular data (nb_parallel=128 > features) and, once that is fixed, return the
    # inputs unchanged; batch_size must be 1, and a finite-difference step of 0.05 lets it work on tree scores.
    return cls(classifier=classifier, confidence=confidence, learning_rate=learning_rate, max_iter=max_iter,
               binary_search_steps=binary_search_steps, initial_const=initial_const, abort_early=True,
               use_resize=False, use_importance=False, nb_parallel=min(30, int(np.prod(classifier.input_shape))),
               batch_size=1, variable_h=0.05, **_quiet_kwargs(cls))


class _ImageView:
    """Runs an image-only ART attack on flat rows: the network is re-wrapped with its image shape, the rows are
    reshaped on the way in and flattened on the way out."""

    def __init__(self, make_attack: Callable[[Any], Any], classifier: Any, image_shape: tuple[int, ...]) -> None:
        from torch import nn

        from qulab.models.torch_nets import Float32PyTorchClassifier

        self.image_shape = image_shape
        # Flatten first: the MLP takes flat rows only (the CNN takes both layouts).
        image_classifier = Float32PyTorchClassifier(
            model=nn.Sequential(nn.Flatten(), classifier.model), loss=nn.CrossEntropyLoss(), input_shape=image_shape,
            nb_classes=classifier.nb_classes, clip_values=classifier.clip_values, device_type="cpu")
        self.attack = make_attack(image_classifier)

    def generate(self, x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        images = x.reshape(len(x), *self.image_shape).astype(np.float32)
        return self.attack.generate(x=images, y=y).reshape(len(x), -1)


def _square(classifier, eps, norm, max_iter=100, **_):
    cls = _art("SquareAttack")
    side = int(round(np.sqrt(np.prod(classifier.input_shape))))
    return _ImageView(lambda image_classifier: cls(
        estimator=image_classifier, norm=norm_order(norm) if norm != "1" else np.inf, eps=eps, max_iter=max_iter,
        nb_restarts=1, batch_size=64, **_quiet_kwargs(cls)), classifier, (1, side, side))


def _decision_tree(classifier, eps, norm, offset=0.001, **_):
    cls = _art("DecisionTreeAttack")
    return cls(classifier=classifier, offset=offset, **_quiet_kwargs(cls))


def _auto_attack(classifier, eps, norm, max_iter=10, **_):
    """ART's default AutoAttack list takes minutes on one core; a short AutoPGD (CE and DLR) list runs in seconds."""
    from art.attacks.evasion import AutoAttack, AutoProjectedGradientDescent

    order = norm_order(norm)
    apgd = [AutoProjectedGradientDescent(estimator=classifier, norm=order, eps=eps, eps_step=max(eps / 4, 1e-9),
                                         max_iter=max_iter, nb_random_init=1, loss_type=loss, verbose=False)
            for loss in ("cross_entropy", "difference_logits_ratio")]
    return AutoAttack(estimator=classifier, norm=order, eps=eps, eps_step=max(eps / 4, 1e-9), attacks=apgd)


def _optimiser_params(search_steps: int, max_iter: int, initial_const: float) -> tuple[Param, ...]:
    """Carlini–Wagner-style settings; QuLab's defaults were tuned so the attacks find examples on the built-in
    data (ART's own defaults, e.g. initial_const=0.01 and learning_rate=0.01, found almost none on breast cancer)."""
    return (_CONFIDENCE, _LEARNING_RATE,
            replace(_SEARCH_STEPS, default=search_steps),
            Param("max_iter", "Iterations", max_iter, "Optimiser steps per binary-search round.", 1, 1000),
            replace(_INITIAL_CONST, default=initial_const))


_CW_PARAMS = _optimiser_params(search_steps=3, max_iter=10, initial_const=10.0)

for spec in (
    AttackSpec("fgm", "Fast Gradient Method",
               "One step of size epsilon along the sign (L∞) or the direction (L2, L1) of the loss gradient.",
               _fgm, evasion(WHITE_BOX, LOSS_GRADIENTS, norms=("inf", "2", "1")), rescalable=True,
               batch=4096,
               reference="Goodfellow et al., 2015, https://arxiv.org/abs/1412.6572"),
    AttackSpec("pgd", "Projected Gradient Descent",
               "Many small FGM steps, each projected back into the epsilon ball: the standard strong attack.",
               _pgd, evasion(WHITE_BOX, LOSS_GRADIENTS, norms=("inf", "2", "1")),
               params=(_ITERATIONS, _STEP, Param("num_random_init", "Random starts", 0,
                                                 "Runs from random points in the epsilon ball (0 = start at the "
                                                 "clean point); the strongest run is kept.", 0, 10)),
               global_draws=lambda params: params.get("num_random_init", 0) > 0,
               batch=lambda params: 32 if params.get("num_random_init", 0) <= 1 else None,
               reference="Madry et al., 2018, https://arxiv.org/abs/1706.06083"),
    AttackSpec("bim", "Basic Iterative Method",
               "Iterated FGM (L∞) with small steps, clipped to the epsilon box.", _bim,
               evasion(WHITE_BOX, LOSS_GRADIENTS, norms=("inf",)),
               params=(_ITERATIONS, Param("step_fraction", "Step size (fraction of epsilon)", 0.1,
                                          "Each iteration moves by this fraction of epsilon.", 0.01, 1.0, 0.01)),
               batch=32,
               reference="Kurakin et al., 2017, https://arxiv.org/abs/1607.02533"),
    AttackSpec("deepfool", "DeepFool",
               "Linearises the model around the point and steps to the nearest boundary, repeatedly.",
               _deepfool, evasion(WHITE_BOX, CLASS_GRADIENTS, norms=("2",)), minimal=True,
               params=(Param("max_iter", "Iterations", 50, "Linearisation steps per point.", 1, 500),
                       Param("overshoot", "Overshoot", 0.02, "How far past the boundary to step.", 0.0, 1.0, 0.01)),
               batch=128,
               reference="Moosavi-Dezfooli et al., 2016, https://arxiv.org/abs/1511.04599"),
    AttackSpec("cw_l2", "Carlini–Wagner L2",
               "Optimises the smallest L2 perturbation that changes the class, trading size against success.",
               _cw_l2, evasion(WHITE_BOX, CLASS_GRADIENTS, norms=("2",)), minimal=True, params=_CW_PARAMS,
               batch=32, range_from_data=True,
               reference="Carlini & Wagner, 2017, https://arxiv.org/abs/1608.04644"),
    AttackSpec("cw_linf", "Carlini–Wagner L∞",
               "The Carlini–Wagner optimisation with an L∞ penalty.", _cw_linf,
               evasion(WHITE_BOX, CLASS_GRADIENTS, norms=("inf",)), minimal=True,
               params=(_CONFIDENCE, _LEARNING_RATE,
                       Param("max_iter", "Iterations", 10, "Optimiser steps per constant.", 1, 1000),
                       Param("initial_const", "Initial trade-off constant", 1.0,
                             "Weight of the misclassification term.", 0.00001, 20.0)),
               batch=32, range_from_data=True,
               reference="Carlini & Wagner, 2017, https://arxiv.org/abs/1608.04644"),
    AttackSpec("elastic_net", "Elastic-Net (EAD)",
               "Carlini–Wagner with an L1 + L2 penalty: sparse perturbations that change few features.",
               _elastic_net, evasion(WHITE_BOX, CLASS_GRADIENTS, norms=("1",)), minimal=True,
               params=(Param("beta", "L1 weight β", 0.001, "Larger β gives sparser perturbations.", 0.0, 1.0, 0.001),
                       *_optimiser_params(search_steps=3, max_iter=20, initial_const=1.0)[1:]),
               batch=32,
               reference="Chen et al., 2018, https://arxiv.org/abs/1709.04114"),
    AttackSpec("jsma", "Saliency Map (JSMA)",
               "Changes the few features whose gradients most favour another class (an L0 attack).",
               _jsma, evasion(WHITE_BOX, CLASS_GRADIENTS, norms=("1",)), minimal=True, labels="none", needs_bounds=True,
               params=(Param("theta", "Change per feature θ", 0.1, "How much each chosen feature moves.", 0.01, 1.0),
                       Param("gamma", "Share of features γ", 1.0, "Largest share of features it may change.",
                             0.01, 1.0, 0.01)),
               batch=32,
               reference="Papernot et al., 2016, https://arxiv.org/abs/1511.07528"),
    AttackSpec("universal", "Universal Perturbation",
               "One single perturbation, within epsilon, that fools the model on as many inputs as possible.",
               _universal, evasion(WHITE_BOX, LOSS_GRADIENTS, norms=("inf", "2")), global_draws=True,
               params=(Param("max_iter", "Passes", 10, "Passes over the data to build the perturbation.", 1, 50),
                       Param("delta", "Target error", 0.2, "Stop when the fooling rate reaches 1 − δ.", 0.0, 1.0)),
               reference="Moosavi-Dezfooli et al., 2017, https://arxiv.org/abs/1610.08401"),
    AttackSpec("hop_skip_jump", "HopSkipJump",
               "Decision-based: walks along the boundary using only the predicted labels.", _hop_skip_jump,
               evasion(BLACK_BOX, DECISIONS, norms=("2", "inf")), minimal=True, global_draws=True,
               params=(Param("max_iter", "Iterations", 20, "Boundary walks per point.", 1, 200),
                       Param("max_eval", "Queries per gradient estimate", 1000, "More queries, better estimates.",
                             100, 10000, 100), _INIT_SIZE),
               batch=1, range_from_data=True,
               reference="Chen et al., 2020, https://arxiv.org/abs/1904.02144"),
    AttackSpec("boundary", "Boundary Attack",
               "Decision-based: starts from a misclassified point and shrinks the distance by random walks.",
               _boundary, evasion(BLACK_BOX, DECISIONS, norms=("2",)), minimal=True, global_draws=True,
               params=(Param("max_iter", "Iterations", 50, "Random-walk steps per point.", 10, 5000, 10), _INIT_SIZE),
               batch=1, range_from_data=True,
               reference="Brendel et al., 2018, https://arxiv.org/abs/1712.04248"),
    AttackSpec("zoo", "ZOO",
               "Score-based: Carlini–Wagner with gradients estimated by finite differences of the scores.",
               _zoo, evasion(BLACK_BOX, SCORES, norms=("2",)), minimal=True, global_draws=True,
               params=_optimiser_params(search_steps=1, max_iter=100, initial_const=10.0),
               batch=1,
               reference="Chen et al., 2017, https://arxiv.org/abs/1708.03999"),
    AttackSpec("square", "Square Attack",
               "Score-based random search over square patches of the image.", _square,
               evasion(BLACK_BOX, SCORES, norms=("inf", "2")), needs_neural_images=True, global_draws=True,
               params=(Param("max_iter", "Iterations", 100, "Random-search steps.", 1, 5000),),
               reference="Andriushchenko et al., 2020, https://arxiv.org/abs/1912.00049"),
    AttackSpec("decision_tree", "Decision Tree Attack",
               "Follows the tree to the nearest leaf of another class and moves just past its thresholds.",
               _decision_tree, evasion(WHITE_BOX, TREE_STRUCTURE, norms=("1",)), minimal=True, labels="none",
               params=(Param("offset", "Offset", 0.001, "How far past each threshold to move.", 0.0001, 0.1),),
               batch=32,
               reference="Papernot et al., 2016, https://arxiv.org/abs/1605.07277"),
    AttackSpec("auto_attack", "AutoAttack (AutoPGD)",
               "A parameter-free ensemble of AutoPGD with cross-entropy and DLR losses.", _auto_attack,
               evasion(WHITE_BOX, LOSS_GRADIENTS, SCORES, norms=("inf", "2")), min_classes=3, needs_neural=True,
               global_draws=True,
               params=(Param("max_iter", "Iterations", 10, "AutoPGD steps per attack.", 1, 100),),
               reference="Croce & Hein, 2020, https://arxiv.org/abs/2003.01690"),
):
    ATTACKS.register(spec)


def perturbation_sizes(X: np.ndarray, X_adv: np.ndarray, norm: str) -> np.ndarray:
    return np.linalg.norm((X_adv - X).reshape(len(X), -1), ord=norm_order(norm), axis=1)


def fits_budget(sizes: np.ndarray, eps: float) -> np.ndarray:
    """Which perturbation sizes are within eps (with room for float32 rounding in ART's output)."""
    return sizes <= eps * (1 + 1e-6) + 1e-9


def within_budget(X: np.ndarray, X_adv: np.ndarray, eps: float, norm: str) -> np.ndarray:
    """A minimal attack's examples, reverted to the clean point where they exceed the budget."""
    keep = fits_budget(perturbation_sizes(X, X_adv, norm), eps)
    return np.where(keep.reshape(-1, *([1] * (X.ndim - 1))), X_adv, X)


Done = Callable[[float], None]  # told the share of the points attacked so far


def generate(spec: AttackSpec, classifier: Any, X: np.ndarray, y: np.ndarray, eps: float, norm: str,
             params: dict[str, Any] | None = None, done: Done | None = None) -> np.ndarray:
    """Adversarial versions of X, crafted against the true labels y and read at budget eps.

    Without labels ART attacks the model's own predictions, and the reported "adversarial accuracy"
    can then exceed the clean accuracy. ART's progress bars and log lines are kept out of the caller's
    output. ``done`` as in :func:`generate_unbounded`.
    """
    raw = generate_unbounded(spec, classifier, X, y, eps, norm, params, done)
    return within_budget(X, raw, eps, norm) if spec.minimal else raw


def generate_unbounded(spec: AttackSpec, classifier: Any, X: np.ndarray, y: np.ndarray, eps: float, norm: str,
                       params: dict[str, Any] | None = None, done: Done | None = None) -> np.ndarray:
    """The attack's own output, before a minimal attack's result is held to the budget. With ``done`` an attack
    that declares a :attr:`AttackSpec.batch` runs batch by batch (the same examples) and ``done`` hears the share
    of points attacked after each batch."""
    if (spec.needs_bounds or spec.range_from_data) and classifier.clip_values is None:
        classifier = copy.copy(classifier)  # the cached classifier stays as it is
        classifier.set_params(clip_values=(float(X.min()), float(X.max())))
    attack = spec.build(classifier, eps=eps, norm=norm, **(params or {}))
    one_hot = np.eye(classifier.nb_classes)
    labels = one_hot[y] if spec.labels == "true" else None
    batch = spec.batch_size(params or {}) if done is not None else None
    X_adv = _in_batches(attack, X, labels, batch or len(X), done)
    if spec.labels != "true" or spec.minimal:
        # Attacks that aim at a class of their own choosing could move a misclassified point onto its true
        # class, and minimal attacks such as DeepFool and HopSkipJump move away from the *predicted* class
        # whatever labels they get (so they "correct" misclassified points); an attacker would leave such
        # points alone.
        wrong = np.argmax(classifier.predict(X), axis=1) != y
        X_adv[wrong] = X[wrong]
    return X_adv


def _in_batches(attack: Any, X: np.ndarray, labels: np.ndarray | None, batch: int, done: Done | None) -> np.ndarray:
    """``attack.generate`` on X, ``batch`` points at a time, telling ``done`` after each."""
    parts = []
    for start in range(0, len(X), max(batch, 1)):
        part = slice(start, start + batch)
        parts.append(np.asarray(attack.generate(x=X[part], y=None if labels is None else labels[part]), dtype=X.dtype))
        if done is not None:
            done(min(start + batch, len(X)) / len(X))
    return np.concatenate(parts) if parts else X.copy()
