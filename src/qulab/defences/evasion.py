"""Defences against evasion attacks: one registry entry each, and an honest evaluation of each.

Three kinds share the registry:

* **training** defences change the model: Madry-style adversarial training (examples regenerated against the
  *current* model while it learns) and, as a lesson, the naive one-off augmentation that does not work;
* **preprocessing** defences sanitise the input before the unchanged model sees it (ART's preprocessors). They
  are evaluated twice: against the *non-adaptive* attack (crafted on the undefended model, then passed through
  the sanitiser, which looks strong) and against the *adaptive* attack that sees the defence and differentiates
  through it with BPDA (the sanitiser replaced by the identity on the backward pass, Athalye et al., 2018); for
  random noise the gradient is averaged over ``EOT_SAMPLES`` noise draws per step (expectation over
  transformation), and as a minimal attack (DeepFool, C&W) stops at the boundary, where noise rescues points by
  chance, the adaptive attacker also stretches its perturbations to the whole budget; feature squeezing (L∞) is
  also attacked by PGD on the squeezed values themselves (:func:`squeezed_domain_attack`, random restarts). Each
  point gets the strongest of these; accuracies under random noise are averaged over ``NOISE_DRAWS`` draws;
* **certification** (randomized smoothing) proves an L2 radius inside which the smoothed prediction cannot change.

``evaluate_defence`` returns undefended vs defended numbers side by side; for linear models it adds the exact
robust accuracy (closed form, :mod:`qulab.threats.evasion.exact`) beside the attack's, so an attack that is too
weak shows.
The CLI passes ``--defense-param k=v`` through ``DEFENCES.get(name).params`` and :meth:`Param.parse`.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qulab.core.experiment import Scenario, freeze
from qulab.core.randomness import seeded
from qulab.core.registry import InvalidInput, Param, Registry, resolve_params
from qulab.data.datasets import Dataset, Split
from qulab.evaluation.pipeline import FittedModel, fit_model, prepare_split
from qulab.models.registry import LOSS_GRADIENTS, MODELS, ModelSpec, linear_scores
from qulab.threats.evasion.attacks import ATTACKS, AttackSpec, generate, generate_unbounded, within_budget
from qulab.threats.evasion.exact import exact_robust_accuracy, minimal_perturbations

TRAINING, PREPROCESSING, CERTIFICATION = "training", "preprocessing", "certification"
KINDS = (TRAINING, PREPROCESSING, CERTIFICATION)
GRADIENT_MODELS = frozenset({"logistic_regression", "linear_svm", "torch_mlp", "torch_cnn"})
TRAINABLE_MODELS = frozenset({"logistic_regression", "torch_mlp", "torch_cnn"})
TORCH_MODELS = frozenset({"torch_mlp", "torch_cnn"})

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class DefenceSpec:
    """A registry entry: what the defence does, what it claims, where it breaks, and what it runs on."""

    name: str
    label: str
    kind: str
    description: str
    protects_against: str
    known_weakness: str
    models: frozenset[str]
    params: tuple[Param, ...] = field(default=())
    needs_images: bool = False
    needs_range: bool = False  # features must lie in a known range (min-max scaling or images)
    works: bool = True  # False for the lesson that shows a defence that fails
    reference: str = ""
    offers: frozenset[str] | None = None  # what the defended model gives attacks; None: whatever the model gives

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")

    @property
    def families(self) -> tuple[str, ...]:
        """The model families this defence supports (from its model names)."""
        return tuple(sorted({MODELS.get(name).family for name in self.models}))

    def unsupported_reason(self, model: ModelSpec, images: bool = False, known_range: bool = True) -> str | None:
        """Why this defence cannot run with this model and data, in plain words; None when it can."""
        if model.name not in self.models:
            labels = "; ".join(MODELS.get(n).label for n in MODELS.names() if n in self.models)
            return f"{self.label} works with these models only: {labels}. The {model.label} is not supported."
        if self.needs_images and not images:
            return f"{self.label} works on images only: choose the digits data set on the Data Sets page."
        if self.needs_range and not known_range:
            return (f"{self.label} needs features in a known range [0, 1]: choose min-max scaling on the Data Sets "
                    "page (images already are).")
        return None

    def attack_reason(self, attack: AttackSpec) -> str | None:
        """Why this attack cannot run against the defended model, in plain words; None when it can."""
        if self.offers is None or attack.needs <= self.offers:
            return None
        usable = ", ".join(ATTACKS.get(n).label for n in ATTACKS.names() if ATTACKS.get(n).needs <= self.offers)
        return (f"{self.label} gives attacks only {', '.join(sorted(self.offers))}, and {attack.label} needs "
                f"{', '.join(sorted(attack.needs - self.offers))}. Attacks that work here: {usable}.")


DEFENCES: Registry[DefenceSpec] = Registry("defence")

_EPS = Param("eps", "Training epsilon", 0.1,
             "Budget of the adversarial examples used in training (in the attack's norm); match it to the "
             "budget you want to defend.", 0.0, 0.5, 0.01)
_RATIO = Param("ratio", "Share of adversarial examples", 1.0,
               "1.0 trains on adversarial examples only (Madry et al.); 0.5 mixes them half and half with clean "
               "ones (Goodfellow et al.).", 0.0, 1.0, 0.05)
_EPOCHS = Param("epochs", "Training epochs", 20,
                "Passes over the training data (for logistic regression: optimiser iterations on the whole set).",
                1, 200)
_ATTACK = Param("attack", "Attack used in training", "pgd",
                "PGD (several steps) finds stronger training examples than FGM (one step) but costs more.",
                choices=("pgd", "fgm"))

for spec in (
    DefenceSpec(
        "adversarial_training", "Adversarial training (Madry)", TRAINING,
        "While the model trains, every batch is replaced (or mixed) with adversarial examples crafted against "
        "the current model, so the model learns to be right on the worst point of each eps-ball.",
        "Gradient-based evasion within the training budget eps (in the attack's norm).",
        "Costs several times the training time, lowers clean accuracy a little, and protects only up to the "
        "training eps and in that norm.",
        TRAINABLE_MODELS, (_ATTACK, _EPS, _RATIO, _EPOCHS),
        reference="Madry et al., 2018, https://arxiv.org/abs/1706.06083"),
    DefenceSpec(
        "naive_augmentation", "Naive augmentation (does not work)", TRAINING,
        "Lesson: FGM examples are crafted once against the undefended model, added to the training set, and a "
        "fresh model is fitted. They are the weak points of a model that no longer exists.",
        "Claims to protect against FGM/PGD; in practice it barely does, because the new model has new weak points.",
        "The examples are never regenerated, so the attack on the new model finds new ones; one-step examples "
        "can also teach the model to mask its gradients (label leaking).",
        TRAINABLE_MODELS, (_EPS, Param("epochs", "Training epochs", 20,
                                       "Passes over the training data (neural networks only).", 1, 200)),
        works=False, reference="Tramèr et al., 2018, https://arxiv.org/abs/1705.07204"),
    DefenceSpec(
        "feature_squeezing", "Feature squeezing", PREPROCESSING,
        "Rounds every feature to a few levels (bit depth) before the model sees it, erasing small perturbations.",
        "Small perturbations crafted without knowledge of the squeezer.",
        "Rounding has no useful gradient, but an adaptive attacker optimises the squeezed values directly and "
        "pushes every feature that eps can carry across a rounding threshold; only features further than eps "
        "from every threshold are safe (eps above half a level step leaves none).",
        GRADIENT_MODELS, (Param("bit_depth", "Bit depth", 3, "Bits per feature: 1 leaves 2 levels, 3 leaves 8.",
                                1, 8),),
        needs_range=True, reference="Xu et al., 2018, https://arxiv.org/abs/1704.01155"),
    DefenceSpec(
        "gaussian_noise", "Gaussian noise at test time", PREPROCESSING,
        "Adds random Gaussian noise to every input before prediction (ART's GaussianAugmentation at test time).",
        "Perturbations that sit just across the boundary (minimal attacks such as DeepFool and C&W), crafted "
        "without the noise.",
        "The attacker averages over the noise (expectation over transformation) and spends the whole budget instead "
        "of stopping at the boundary; the noise also costs clean accuracy because the model was not trained with it.",
        GRADIENT_MODELS, (Param("sigma", "Noise σ", 0.1, "Standard deviation of the added noise.", 0.01, 1.0, 0.01),),
        reference="Athalye et al., 2018, https://arxiv.org/abs/1802.00420"),
    DefenceSpec(
        "spatial_smoothing", "Spatial smoothing (median filter)", PREPROCESSING,
        "Replaces every pixel by the median of its window, wiping out isolated pixel changes.",
        "Sparse, high-frequency image perturbations crafted without the filter.",
        "The median is piecewise the identity on some pixel, so BPDA gradients are accurate enough to break it.",
        GRADIENT_MODELS, (Param("window_size", "Window size", 2, "Side of the median window in pixels.", 2, 5),),
        needs_images=True, reference="Xu et al., 2018, https://arxiv.org/abs/1704.01155"),
    DefenceSpec(
        "jpeg_compression", "JPEG compression", PREPROCESSING,
        "Compresses every image as JPEG and decodes it again, dropping high-frequency detail.",
        "High-frequency image perturbations crafted without the compression.",
        "JPEG is close to a linear projection, so BPDA through it as the identity removes most of the protection.",
        GRADIENT_MODELS, (Param("quality", "JPEG quality", 50, "1 = worst (strongest filter), 95 = best.", 1, 95),),
        needs_images=True, reference="Dziugaite et al., 2016, https://arxiv.org/abs/1608.00853"),
    DefenceSpec(
        "randomized_smoothing", "Randomized smoothing (certified)", CERTIFICATION,
        "The model is trained on noisy inputs and predicts the class it outputs most often under Gaussian "
        "noise; a statistical test then certifies an L2 radius around each point inside which no attack can "
        "change the prediction.",
        "Any L2 perturbation smaller than the certified radius, provably (with probability 1 − α).",
        "The certified radii are small (about σ); L∞ budgets are only covered through ‖δ‖₂ ≤ √d·‖δ‖∞, and "
        "prediction needs many noisy forward passes.",
        TORCH_MODELS,
        (Param("sigma", "Noise σ", 0.25, "Noise of the smoothing; larger σ certifies larger radii but costs "
               "clean accuracy.", 0.01, 1.0, 0.01),
         Param("epochs", "Training epochs", 30, "Passes over the (noisy) training data.", 1, 200),
         Param("n_certify", "Samples per certificate", 200, "Noisy predictions behind each certificate.",
               50, 2000, 50)),
        reference="Cohen et al., 2019, https://arxiv.org/abs/1902.02918",
        offers=frozenset({LOSS_GRADIENTS})),  # ART's smoothed classifier has no class gradients
):
    DEFENCES.register(spec)


# ---------------------------------------------------------------------------------------------------------
# Outcome


@dataclass(frozen=True)
class DefenceOutcome:
    """Undefended vs defended on the same held-out test split; accuracies are shares in [0, 1].

    For preprocessing defences ``robust_defended`` is the ADAPTIVE attack's result (the honest number) and
    ``robust_nonadaptive`` the attack crafted on the undefended model and then sanitised. ``exact_*`` are the
    closed-form robust accuracies of linear models (None otherwise); ``certified_*`` belong to smoothing.
    """

    scenario: Scenario
    defence: str
    defence_params: tuple[tuple[str, Any], ...]
    kind: str
    attack_label: str
    n_test: int
    clean_undefended: float
    clean_defended: float
    robust_undefended: float
    robust_defended: float
    eps_grid: tuple[float, ...]
    curve_undefended: tuple[float, ...]
    curve_defended: tuple[float, ...]
    fit_seconds_undefended: float
    fit_seconds_defended: float
    robust_nonadaptive: float | None = None
    curve_nonadaptive: tuple[float, ...] | None = None
    exact_undefended: float | None = None
    exact_defended: float | None = None
    exact_curve_undefended: tuple[float, ...] | None = None
    exact_curve_defended: tuple[float, ...] | None = None
    certified_radii: tuple[float, ...] | None = None
    certified_accuracy: float | None = None
    certified_radius_needed: float | None = None
    certified_curve: tuple[float, ...] | None = None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def robust_gain(self) -> float:
        return self.robust_defended - self.robust_undefended

    @property
    def clean_cost(self) -> float:
        return self.clean_undefended - self.clean_defended

    @property
    def training_ratio(self) -> float:
        return self.fit_seconds_defended / max(self.fit_seconds_undefended, 1e-9)

    def summary(self) -> dict[str, Any]:
        """The numbers as a flat dict (the CLI's JSON)."""
        keys = ("defence", "kind", "attack_label", "n_test", "clean_undefended", "clean_defended",
                "robust_undefended", "robust_defended", "robust_nonadaptive", "exact_undefended", "exact_defended",
                "certified_accuracy", "certified_radius_needed", "fit_seconds_undefended", "fit_seconds_defended",
                "seconds")
        out = {k: getattr(self, k) for k in keys}
        out.update(eps=self.scenario.eps, norm=self.scenario.norm, defence_params=dict(self.defence_params),
                   eps_grid=list(self.eps_grid), curve_undefended=list(self.curve_undefended),
                   curve_defended=list(self.curve_defended))
        if self.curve_nonadaptive is not None:
            out["curve_nonadaptive"] = list(self.curve_nonadaptive)
        out["notes"] = list(self.notes)
        return out


# ---------------------------------------------------------------------------------------------------------
# Helpers


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """:func:`qulab.core.randomness.seeded`, with torch on one thread: tiny nets only pay for threads on a shared
    host (the guard shared with the models, since torch's thread count is process-wide)."""
    from qulab.models.torch_nets import one_torch_thread

    with one_torch_thread(), seeded(seed):
        yield


_EPOCH_REPORT = threading.local()  # per thread (one Streamlit session each): where ART's epoch loops report


def _epoch_range(n: int, *_: Any, **__: Any) -> Iterator[int]:
    """Stands in for tqdm's ``trange`` in ART's training loops: reports each epoch to this thread's callback
    (the page's progress bar) instead of printing a bar on stderr, which ART 1.20.1 has no switch for."""
    report = getattr(_EPOCH_REPORT, "callback", None)
    for i in range(n):
        if report is not None:
            report(i, n)
        yield i


def _silent(iterable: Any, *_: Any, **__: Any) -> Any:
    return iterable


def _quiet_art_training() -> None:
    """Route ART's AdversarialTrainer and randomized-smoothing epoch loops through :func:`_epoch_range` (once)."""
    from art.defences.trainer import adversarial_trainer
    from art.estimators.certification.randomized_smoothing import pytorch as smoothing

    adversarial_trainer.trange, adversarial_trainer.tqdm, smoothing.trange = _epoch_range, _silent, _epoch_range


def _stage(report: Progress, start: float, end: float, label: str) -> Callable[[int, int], None]:
    """A step reporter for one stage of the evaluation: step i of n moves the progress from start towards end."""
    return lambda i, n: report(start + (end - start) * i / n, f"{label} {i + 1} of {n}")


@contextlib.contextmanager
def _epochs_reported(report: Progress, start: float, end: float, label: str) -> Iterator[None]:
    """While ART trains in this thread, each epoch moves the progress from ``start`` towards ``end``."""
    _quiet_art_training()
    _EPOCH_REPORT.callback = _stage(report, start, end, f"{label}: epoch")
    try:
        yield
    finally:
        _EPOCH_REPORT.callback = None


_WARM: list[bool] = []


def _warm_up_torch() -> None:
    """torch initialises its optimisers lazily (seconds on the first step); do it once, before any timing, so the
    measured training times compare the defences and not the import."""
    if _WARM:
        return
    import torch

    weight = torch.zeros(2, requires_grad=True)
    for optimiser in (torch.optim.Adam([weight]), torch.optim.LBFGS([weight], max_iter=2)):
        def step(opt=optimiser) -> torch.Tensor:
            opt.zero_grad()
            loss = ((weight - 1) ** 2).sum()
            loss.backward()
            return loss
        optimiser.step(step)
    _WARM.append(True)


def default_eps_grid(eps: float) -> tuple[float, ...]:
    """Five budgets from 0 to twice the scenario's eps (or to 0.2 when eps is 0)."""
    top = 2 * eps if eps > 0 else 0.2
    return tuple(round(float(v), 6) for v in np.linspace(0.0, top, 5))


def _accuracy(pred_or_scores: np.ndarray, y: np.ndarray) -> float:
    pred = np.asarray(pred_or_scores)
    if pred.ndim == 2:
        pred = np.argmax(pred, axis=1)
    return float(np.mean(pred == y))


def _one_hot(y: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k, dtype=np.float32)[y]


# ---------------------------------------------------------------------------------------------------------
# Training defences


def robust_logistic_regression(X: np.ndarray, y: np.ndarray, eps: float, norm: str, ratio: float = 1.0,
                               C: float = 1.0, max_iter: int = 100) -> Any:
    """A scikit-learn LogisticRegression fitted by exact adversarial training (returned fitted).

    Why not ART's trainer: it accepts only neural-network wrappers. For a linear model the inner maximisation of
    Madry's min-max problem has a closed form: the worst perturbation within ‖δ‖_p ≤ eps lowers the margin
    f_y(x) − f_j(x) by exactly eps·‖w_y − w_j‖_q (q the dual norm). For two classes the worst-case loss is therefore
    the logistic loss of the margin y·f(x) − eps·‖w‖_q, which this minimises directly (full-batch L-BFGS in torch,
    the same L2 penalty as scikit-learn's C) — adversarial examples against the current weights at every step,
    found exactly rather than by PGD. For K classes the logits of the wrong classes are raised by
    eps·‖w_y − w_j‖_q, which is an upper bound of the worst-case cross-entropy (certified training). ``ratio``
    mixes the clean loss in: (1 − ratio)·clean + ratio·worst case. Clipping to the data range is ignored, as in
    :mod:`qulab.threats.evasion.exact`. The weights are put into a LogisticRegression (coef_, intercept_,
    classes_), so the ART wrapper and the exact closed form work on it unchanged.
    """
    import torch
    from sklearn.linear_model import LogisticRegression

    classes, y_idx = np.unique(y, return_inverse=True)
    k, n, d = len(classes), len(y), X.shape[1]
    q = {"inf": 1.0, "2": 2.0, "1": math.inf}[norm]
    X_t = torch.as_tensor(np.asarray(X, dtype=np.float64))
    y_t = torch.as_tensor(y_idx)
    rows = 1 if k == 2 else k
    W = torch.zeros(rows, d, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(rows, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([W, b], max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-9,
                                  tolerance_change=1e-12, history_size=20)

    def objective() -> torch.Tensor:
        optimiser.zero_grad()
        if k == 2:
            sign = 2.0 * y_t.to(torch.float64) - 1.0
            margin = sign * (X_t @ W[0] + b[0])
            clean = torch.nn.functional.softplus(-margin).mean()
            worst = torch.nn.functional.softplus(-(margin - eps * torch.linalg.vector_norm(W[0], ord=q))).mean()
        else:
            logits = X_t @ W.T + b
            clean = torch.nn.functional.cross_entropy(logits, y_t)
            # ‖w_y − w_j‖_q for every point's true class y and every class j (zero for j = y).
            gaps = torch.linalg.vector_norm(W[y_t][:, None, :] - W[None, :, :], ord=q, dim=2)
            worst = torch.nn.functional.cross_entropy(logits + eps * gaps, y_t)
        loss = (1 - ratio) * clean + ratio * worst + (W * W).sum() / (2 * C * n)
        loss.backward()
        return loss

    optimiser.step(objective)
    model = LogisticRegression(C=C)
    model.coef_ = W.detach().numpy().copy()
    model.intercept_ = b.detach().numpy().copy()
    model.classes_ = classes
    model.n_features_in_ = d
    model.n_iter_ = np.array([max_iter])
    return model


def _fresh_torch(spec: ModelSpec, params: dict[str, Any], seed: int, X: np.ndarray, y: np.ndarray) -> Any:
    """A torch estimator fitted for one epoch: it has classes_, its shapes and a module to train further."""
    estimator = spec.build(**params, seed=seed)
    estimator.set_params(epochs=1)
    estimator.fit(X, y)
    estimator.set_params(epochs=params.get("epochs", estimator.epochs))
    return estimator


def _adversarial_training_torch(spec: ModelSpec, params: dict[str, Any], split: Split, eps: float, norm: str,
                                attack: str, ratio: float, epochs: int, seed: int, report: Progress) -> Any:
    """ART's AdversarialTrainer: the attack's estimator is the classifier being trained, so ART regenerates the
    examples batch by batch against the current weights (Madry et al.); the trained module goes back into the
    scikit-learn-style estimator."""
    from art.defences.trainer import AdversarialTrainer

    from qulab.models.torch_nets import to_art_classifier

    estimator = _fresh_torch(spec, params, seed, split.X_train, split.y_train)
    classifier = to_art_classifier(estimator, clip_values=split.clip_values)
    attack_spec = ATTACKS.get(attack)
    attack_params = {"max_iter": 7, "step_fraction": 0.3} if attack == "pgd" else {}
    art_attack = attack_spec.build(classifier, eps=eps, norm=norm, **attack_params)
    trainer = AdversarialTrainer(classifier, attacks=art_attack, ratio=ratio)
    labels = _one_hot(split.y_train, len(split.class_names))
    with _epochs_reported(report, 0.35, 0.7, "Adversarial training"):
        trainer.fit(split.X_train.astype(np.float32), labels, nb_epochs=epochs, batch_size=estimator.batch_size)
    estimator.module_ = classifier.model.eval()
    return estimator


def _train_defended(defence: DefenceSpec, params: dict[str, Any], scenario: Scenario, split: Split,
                    base: Any, report: Progress) -> Any:
    model = MODELS.get(scenario.model)
    model_params = resolve_params(model.params, dict(scenario.model_params))
    if defence.name == "adversarial_training":
        if model.name == "logistic_regression":
            return robust_logistic_regression(split.X_train, split.y_train, params["eps"], scenario.norm,
                                              params["ratio"], C=model_params["C"],
                                              max_iter=max(params["epochs"], 1) * 5)
        return _adversarial_training_torch(model, model_params, split, params["eps"], scenario.norm,
                                           params["attack"], params["ratio"], params["epochs"], scenario.seed,
                                           report)
    # naive_augmentation: FGM examples of the undefended model, crafted once, then a fresh fit on both.
    X_adv = generate(ATTACKS.get("fgm"), base.classifier, split.X_train, split.y_train, params["eps"], scenario.norm)
    X_aug = np.vstack([split.X_train, X_adv])
    y_aug = np.concatenate([split.y_train, split.y_train])
    if model.name in TORCH_MODELS:
        model_params = {**model_params, "epochs": params["epochs"]}
    return model.build(**model_params, seed=scenario.seed).fit(X_aug, y_aug)


# ---------------------------------------------------------------------------------------------------------
# Preprocessing defences


def _image_preprocessor(inner: Any, image_shape: tuple[int, int]) -> Any:
    """ART's image preprocessors want (n, h, w, c); QuLab's models take flat rows. This reshapes around the
    inner preprocessor and passes gradients straight through (BPDA's identity approximation)."""
    from art.defences.preprocessor import Preprocessor

    class FlatImagePreprocessor(Preprocessor):
        def __init__(self) -> None:
            super().__init__(is_fitted=True, apply_fit=False, apply_predict=True)

        def __call__(self, x: np.ndarray, y: Any = None) -> tuple[np.ndarray, Any]:
            images = np.asarray(x).reshape(len(x), *image_shape, 1)
            out, _ = inner(images)
            return np.asarray(out).reshape(np.shape(x)).astype(np.asarray(x).dtype), y

        def estimate_gradient(self, x: np.ndarray, grad: np.ndarray) -> np.ndarray:
            return grad

    return FlatImagePreprocessor()


def build_preprocessor(name: str, params: dict[str, Any], split: Split) -> Any:
    """The ART preprocessor of a preprocessing defence, applied at prediction time only."""
    from art.defences.preprocessor import FeatureSqueezing, GaussianAugmentation, JpegCompression, SpatialSmoothing

    clip = split.clip_values or (0.0, 1.0)
    if name == "feature_squeezing":
        return FeatureSqueezing(clip_values=clip, bit_depth=params["bit_depth"], apply_fit=False, apply_predict=True)
    if name == "gaussian_noise":
        return GaussianAugmentation(sigma=params["sigma"], augmentation=False, apply_fit=False, apply_predict=True)
    if split.image_shape is None:
        raise InvalidInput(f"{DEFENCES.get(name).label} works on images only.")
    if name == "spatial_smoothing":
        inner = SpatialSmoothing(window_size=params["window_size"], channels_first=False, clip_values=clip)
    elif name == "jpeg_compression":
        inner = JpegCompression(clip_values=clip, quality=params["quality"], channels_first=False)
    else:
        raise InvalidInput(f"{name} is not a preprocessing defence")
    return _image_preprocessor(inner, split.image_shape)


EOT_SAMPLES = 16  # noise draws averaged per gradient by the adaptive attack on Gaussian noise
NOISE_DRAWS = 10  # noise draws averaged per accuracy under Gaussian noise
SQUEEZE_STEPS, SQUEEZE_RESTARTS = 50, 5  # the squeezed-domain attack on feature squeezing


def _expectation_over_noise(classifier: Any, samples: int = EOT_SAMPLES) -> Any:
    """A copy of the defended classifier whose loss gradient is the mean over ``samples`` noise draws
    (expectation over transformation, Athalye et al., 2018); predictions are unchanged (one draw)."""
    import copy

    base = type(classifier)

    class ExpectationOverNoise(base):  # type: ignore[misc, valid-type]
        def loss_gradient(self, x, y, **kwargs):  # noqa: ANN001, ANN201
            total = base.loss_gradient(self, x, y, **kwargs)
            for _ in range(samples - 1):
                total = total + base.loss_gradient(self, x, y, **kwargs)
            return total / samples

    eot = copy.copy(classifier)
    eot.__class__ = ExpectationOverNoise
    return eot


def squeezed_domain_attack(classifier: Any, correct: Callable, X: np.ndarray, y: np.ndarray, eps: float,
                           bit_depth: int, clip: tuple[float, float] | None, steps: int = SQUEEZE_STEPS,
                           restarts: int = SQUEEZE_RESTARTS, seed: int = 0) -> np.ndarray:
    """The adaptive L∞ attack on feature squeezing: PGD on the squeezed value itself (a continuous relaxation).

    Within ‖δ‖∞ ≤ eps a feature can only reach the levels between squeeze(x − eps) and squeeze(x + eps), so the
    attack runs PGD on the undefended ``classifier`` over that interval (what the model sees), rounds to the grid
    and maps each level back to an input within eps that squeezes to it. One start at the squeezed point plus
    ``restarts`` random ones; a point counts as broken if any start breaks it through the real defence
    (``correct(Z)``: per point, how often the defended model is right). Unlike BPDA it never wastes budget on
    features that cannot change level.
    """
    low, high = clip or (0.0, 1.0)
    levels = 2 ** bit_depth - 1

    def squeeze(Z: np.ndarray) -> np.ndarray:  # ART's FeatureSqueezing
        return np.rint((Z - low) / (high - low) * levels) / levels * (high - low) + low

    x_lo, x_hi = X - eps, X + eps
    if clip is not None:
        x_lo, x_hi = np.clip(x_lo, *clip), np.clip(x_hi, *clip)
    s_lo, s_hi = squeeze(x_lo), squeeze(x_hi)
    labels = _one_hot(y, classifier.nb_classes)
    step = (high - low) / levels / 4
    rng = np.random.default_rng(seed)
    best, broken = X.copy(), correct(X) < 0.5
    for start in range(restarts + 1):
        S = squeeze(X) if start == 0 else rng.uniform(s_lo, s_hi)
        for _ in range(steps):
            S = np.clip(S + step * np.sign(classifier.loss_gradient(S.astype(np.float32), labels)), s_lo, s_hi)
        X_adv = np.clip(np.clip(squeeze(S), x_lo, x_hi), X - eps, X + eps).astype(X.dtype)
        new = (correct(X_adv) < 0.5) & ~broken
        best[new], broken = X_adv[new], broken | new
    return best


def stretched_to_budget(X: np.ndarray, X_adv: np.ndarray, eps: float, norm: str,
                        clip: tuple[float, float] | None) -> np.ndarray:
    """Every perturbation scaled to size eps along its own direction (unchanged points stay unchanged).

    A minimal attack stops just past the boundary, where random noise pushes points back by chance; an attacker
    who knows the noise is there goes on in the same direction as far as the budget allows."""
    delta = (X_adv - X).reshape(len(X), -1)
    sizes = np.linalg.norm(delta, ord={"inf": np.inf, "2": 2, "1": 1}[norm], axis=1)
    scale = np.divide(eps, sizes, out=np.zeros_like(sizes), where=sizes > 0)
    out = X + (delta * scale[:, None]).reshape(X.shape)
    return np.clip(out, *clip).astype(X.dtype) if clip is not None else out.astype(X.dtype)


def _adaptive_examples(first: np.ndarray, minimal_run: np.ndarray | None, undefended: Any, correct: Callable,
                       X: np.ndarray, y: np.ndarray, eps: float, norm: str, squeeze_bits: int | None,
                       clip: tuple[float, float] | None, seed: int) -> np.ndarray:
    """The adaptive attacker's examples at eps: per point, the strongest of its attacks on the defence.

    ``first`` holds the scenario's attack run through the defence (BPDA, expectation over noise). Against noise, a
    minimal attack's unbounded ``minimal_run`` is also stretched to the whole budget (:func:`stretched_to_budget`);
    feature squeezing (``squeeze_bits``, L∞) is also attacked on the squeezed values. Each point takes the example
    that ``correct`` scores lowest (for a random defence those draws only choose: the caller evaluates the result
    with fresh ones).
    """
    candidates = [first]
    if minimal_run is not None:
        candidates.append(stretched_to_budget(X, minimal_run, eps, norm, clip))
    if squeeze_bits is not None and norm == "inf":
        candidates.append(squeezed_domain_attack(undefended, correct, X, y, eps, squeeze_bits, clip, seed=seed))
    if len(candidates) == 1:
        return first
    strongest = np.argmin([correct(c) for c in candidates], axis=0)
    return np.stack(candidates)[strongest, np.arange(len(X))]


def defended_classifier(model: ModelSpec, estimator: Any, split: Split, preprocessor: Any) -> Any:
    """The model's ART wrapper with the preprocessor installed (predictions and gradients go through it)."""
    classifier = model.art_classifier(estimator, split.clip_values)
    classifier.set_params(preprocessing_defences=[preprocessor])
    return classifier


# ---------------------------------------------------------------------------------------------------------
# Randomized smoothing


def _smoothed_classifier(estimator: Any, split: Split, sigma: float, sample_size: int = 32) -> Any:
    """ART's PyTorchRandomizedSmoothing on a copy of the estimator's network; its loss gradients are Monte-Carlo
    averages over the noise (the attack on it is adaptive: expectation over transformation)."""
    import copy

    import torch
    from art.estimators.certification.randomized_smoothing import PyTorchRandomizedSmoothing

    class SmoothedClassifier(PyTorchRandomizedSmoothing):
        def loss_gradient(self, x, y, training_mode=False, **kwargs):  # noqa: ANN001, ANN201
            # ART's PGD hands PyTorch estimators tensors, but the Monte-Carlo branch reads NumPy arrays.
            if isinstance(x, torch.Tensor):
                as_numpy = [t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t for t in (x, y)]
                grad = super().loss_gradient(as_numpy[0].astype(np.float32), as_numpy[1],
                                             training_mode=training_mode, sampling=True)
                return torch.from_numpy(np.asarray(grad, dtype=np.float32)).to(x.device)
            return super().loss_gradient(np.asarray(x, dtype=np.float32), y, training_mode=training_mode,
                                         sampling=True)

    module = copy.deepcopy(estimator.module_).eval()
    return SmoothedClassifier(
        model=module, loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(estimator.input_shape_),
        nb_classes=len(estimator.classes_), optimizer=torch.optim.Adam(module.parameters(), lr=estimator.lr),
        clip_values=split.clip_values, device_type="cpu", sample_size=sample_size, scale=sigma, alpha=0.001)


def certified_radius_needed(eps: float, norm: str, n_features: int) -> float:
    """The L2 radius whose ball contains the eps-ball of the norm: √d·eps for L∞, eps for L2 and L1."""
    return eps * math.sqrt(n_features) if norm == "inf" else eps


# ---------------------------------------------------------------------------------------------------------
# Evaluation


def _examples_by_eps(attack: Any, attack_params: dict[str, Any], classifier: Any, X: np.ndarray, y: np.ndarray,
                     norm: str) -> Callable[[float], np.ndarray]:
    """Adversarial examples at any eps. A minimal attack's result does not depend on eps, so it runs once and is
    read at each budget (as in :func:`qulab.evaluation.curves.attack_curve`)."""
    if not attack.minimal:
        return lambda eps: generate(attack, classifier, X, y, eps, norm, attack_params)
    runs: list[np.ndarray] = []

    def at(eps: float) -> np.ndarray:
        if not runs:
            runs.append(generate_unbounded(attack, classifier, X, y, eps, norm, attack_params))
        return within_budget(X, runs[0], eps, norm)

    return at


def _robust_curve(attack: Any, attack_params: dict[str, Any], classifier: Any, predict: Callable, X: np.ndarray,
                  y: np.ndarray, eps_grid: tuple[float, ...], norm: str, clean: float,
                  step: Callable[[int, int], None]) -> tuple[list[float], dict]:
    """Robust accuracy at every eps of the grid, and the adversarial examples per eps (for reuse)."""
    examples_at = _examples_by_eps(attack, attack_params, classifier, X, y, norm)
    accuracies, examples = [], {}
    for i, eps in enumerate(eps_grid):
        step(i, len(eps_grid))
        if eps == 0:
            accuracies.append(clean)
            examples[eps] = X
            continue
        X_adv = examples_at(eps)
        examples[eps] = X_adv
        accuracies.append(_accuracy(predict(X_adv), y))
    return accuracies, examples


def _exact_curve(estimator: Any, split: Split, norm: str, grid: np.ndarray) -> tuple[float, ...]:
    W, b = linear_scores(estimator)
    distances = minimal_perturbations(W, b, split.X_test, split.y_test, norm)
    return tuple(float(v) for v in np.atleast_1d(exact_robust_accuracy(distances, grid)))


MINIMAL_ATTACK_COST = {"deepfool": 1, "cw_l2": 5}  # one run, in budgeted-attack runs (measured on digits)


def estimate_seconds(scenario: Scenario, defence_name: str, defence_params: dict[str, Any] | None = None,
                     n_train: int = 455, n_eps: int = 5) -> float:
    """A rough duration (seconds, this 2-core host) for the page to announce before it starts."""
    defence = DEFENCES.get(defence_name)
    params = resolve_params(defence.params, dict(defence_params or {}))
    torch_model = scenario.model in TORCH_MODELS
    attack = ATTACKS.get(scenario.attack)
    runs = MINIMAL_ATTACK_COST.get(attack.name, 3) if attack.minimal else n_eps  # a minimal attack runs once
    per_attack = (1.0 if torch_model else 0.3) * runs * (2 if scenario.model == "torch_cnn" else 1)
    if defence.kind == PREPROCESSING:  # the adaptive attacks on noise (EoT) and squeezing cost a few attacks more
        return 2 + (6 if defence.name in ("gaussian_noise", "feature_squeezing") else 3) * per_attack
    if defence.kind == CERTIFICATION:
        return 3 + params["epochs"] * n_train / 4000 + params["n_certify"] / 100 * 2 + 2 * per_attack
    if torch_model:
        steps = 8 if (defence.name == "adversarial_training" and params.get("attack") == "pgd") else 2
        return 2 + params["epochs"] * n_train * steps / 6000 + 2 * per_attack
    return 1 + 2 * per_attack


@dataclass(frozen=True)
class Baseline:
    """The undefended side of an evaluation: one per scenario, shared by every defence compared on it.

    ``examples`` maps each eps of ``grid`` to the undefended model's adversarial examples (read-only; the
    non-adaptive attack passes them through a sanitiser)."""

    scenario: Scenario
    grid: tuple[float, ...]
    split: Split
    model: FittedModel
    clean: float
    curve: tuple[float, ...]
    examples: dict[float, np.ndarray]


def evaluation_grid(scenario: Scenario, eps_grid: tuple[float, ...] | None = None) -> tuple[float, ...]:
    """The budgets an evaluation reports: the given grid (else :func:`default_eps_grid`) and the scenario's eps."""
    return tuple(sorted({*(eps_grid or default_eps_grid(scenario.eps)), float(scenario.eps)}))


def _checked_attack(scenario: Scenario, split: Split) -> dict[str, Any]:
    """The scenario's attack parameters, after refusing in words an attack this model, data or norm cannot take."""
    model, attack = MODELS.get(scenario.model), ATTACKS.get(scenario.attack)
    reason = attack.unsupported_reason(model, split.n_classes, split.image_shape is not None)
    if reason is not None:
        raise InvalidInput(reason)
    if scenario.norm not in attack.norms:
        raise InvalidInput(f"{attack.label} supports the norms {', '.join(attack.norms)}, not {scenario.norm}.")
    return resolve_params(attack.params, dict(scenario.attack_params))


def undefended_baseline(scenario: Scenario, eps_grid: tuple[float, ...] | None = None, data: Dataset | None = None,
                        progress: Progress | None = None) -> Baseline:
    """Train the undefended model and attack it at every budget (seeded by the scenario, so it is the same whether
    it is computed here once for several defences or inside :func:`evaluate_defence`)."""
    report = progress or (lambda fraction, text: None)
    report(0.02, "Preparing the data")
    split = prepare_split(scenario, data)
    return _baseline_on(scenario, split, evaluation_grid(scenario, eps_grid), _checked_attack(scenario, split), report)


def _baseline_on(scenario: Scenario, split: Split, grid: tuple[float, ...], attack_params: dict[str, Any],
                 report: Progress) -> Baseline:
    if scenario.model in TORCH_MODELS:
        _warm_up_torch()
    with _seeded(scenario.seed):
        report(0.05, "Training the undefended model")
        base = fit_model(scenario, split)
        X, y = split.X_test, split.y_test
        clean = _accuracy(base.predict(X), y)
        curve, examples = _robust_curve(ATTACKS.get(scenario.attack), attack_params, base.classifier, base.predict,
                                        X, y, grid, scenario.norm, clean,
                                        _stage(report, 0.15, 0.35, "Attacking the undefended model: budget"))
    return Baseline(scenario, grid, split, base, clean, tuple(curve), examples)


def evaluate_defence(scenario: Scenario, defence_name: str, defence_params: dict[str, Any] | None = None,
                     eps_grid: tuple[float, ...] | None = None, data: Dataset | None = None,
                     progress: Progress | None = None, baseline: Baseline | None = None) -> DefenceOutcome:
    """Undefended vs defended on the scenario's held-out test split, against the scenario's attack.

    The attack always uses the true labels. ``data`` carries an upload's rows; ``progress(fraction, text)`` is
    called between the slow steps; ``baseline`` is the scenario's :func:`undefended_baseline` when the caller keeps
    it for several defences (the numbers are the same either way). Raises InvalidInput for an unknown defence, a
    bad parameter or an incompatible model/data/attack.
    """
    started = time.perf_counter()
    report = progress or (lambda fraction, text: None)
    defence = DEFENCES.get(defence_name)
    params = resolve_params(defence.params, dict(defence_params or {}))
    model = MODELS.get(scenario.model)
    attack = ATTACKS.get(scenario.attack)
    grid = evaluation_grid(scenario, eps_grid)
    if baseline is None:
        report(0.02, "Preparing the data")
    split = baseline.split if baseline is not None else prepare_split(scenario, data)
    images = split.image_shape is not None
    known_range = split.clip_values is not None or split.scaling == "minmax"
    reason = defence.unsupported_reason(model, images=images, known_range=known_range) or defence.attack_reason(attack)
    if reason is not None:
        raise InvalidInput(reason)
    attack_params = _checked_attack(scenario, split)
    if baseline is None:
        baseline = _baseline_on(scenario, split, grid, attack_params, report)
    elif (baseline.scenario, baseline.grid) != (scenario, grid):
        raise ValueError("the baseline belongs to another scenario or eps grid")
    base, clean_base, curve_base, adv_base = baseline.model, baseline.clean, list(baseline.curve), baseline.examples
    X, y = split.X_test, split.y_test
    notes: list[str] = []

    if model.name in TORCH_MODELS or defence.name == "adversarial_training":
        _warm_up_torch()
    with _seeded(scenario.seed):  # seeded afresh, so a kept baseline does not change the defended numbers
        extra: dict[str, Any] = {}

        if defence.kind == TRAINING:
            report(0.35, f"Training with {defence.label.lower()}")
            start = time.perf_counter()
            estimator = _train_defended(defence, params, scenario, split, base, report)
            seconds = time.perf_counter() - start
            if defence.name == "naive_augmentation":
                seconds += base.fit_seconds  # it needs the undefended model first
            classifier = model.art_classifier(estimator, split.clip_values)

            def predict(Z: np.ndarray) -> np.ndarray:
                return np.asarray(estimator.predict(Z)).astype(np.int64)

            clean_def = _accuracy(predict(X), y)
            curve_def, _ = _robust_curve(attack, attack_params, classifier, predict, X, y, grid, scenario.norm,
                                         clean_def, _stage(report, 0.7, 1.0, "Attacking the defended model: budget"))
            if model.linear:
                g = np.asarray(grid)
                extra.update(exact_curve_undefended=_exact_curve(base.estimator, split, scenario.norm, g),
                             exact_curve_defended=_exact_curve(estimator, split, scenario.norm, g))
        elif defence.kind == PREPROCESSING:
            seconds = base.fit_seconds
            preprocessor = build_preprocessor(defence.name, params, split)
            classifier = defended_classifier(model, base.estimator, split, preprocessor)
            draws = NOISE_DRAWS if defence.name == "gaussian_noise" else 1

            def predict(Z: np.ndarray) -> np.ndarray:
                return np.argmax(classifier.predict(Z.astype(np.float32) if model.name in TORCH_MODELS else Z),
                                 axis=1)

            def correct(Z: np.ndarray) -> np.ndarray:
                """Per point, the share of prediction draws that are right (0 or 1 unless the defence is random)."""
                return np.mean([predict(Z) == y for _ in range(draws)], axis=0)

            clean_def = float(np.mean(correct(X)))
            report(0.45, "Non-adaptive attack: the undefended model's examples through the defence")
            curve_nonadaptive = [clean_def if eps == 0 else float(np.mean(correct(adv_base[eps]))) for eps in grid]
            adaptive_step = _stage(report, 0.6, 1.0, "Adaptive attack: through the defence (BPDA, expectation over "
                                   "noise): budget")
            attacked = _expectation_over_noise(classifier) if defence.name == "gaussian_noise" else classifier
            adaptive_at = _examples_by_eps(attack, attack_params, attacked, X, y, scenario.norm)
            squeeze_bits = params["bit_depth"] if defence.name == "feature_squeezing" else None
            stretch = attack.minimal and draws > 1  # noise rescues points left at the boundary: go further
            curve_def = []
            for i, eps in enumerate(grid):
                adaptive_step(i, len(grid))
                curve_def.append(clean_def if eps == 0 else float(np.mean(correct(_adaptive_examples(
                    adaptive_at(eps), adaptive_at(math.inf) if stretch else None, base.classifier, correct, X, y,
                    eps, scenario.norm, squeeze_bits, split.clip_values, scenario.seed)))))
            if stretch:
                notes.append(f"{attack.label} stops just past the decision boundary, where the noise pushes points "
                             "back by chance. The adaptive attacker knows that and also stretches each of its "
                             "perturbations to the whole budget; each point gets the stronger of the two.")
            if draws > 1:
                notes.append(f"The noise is drawn anew for every prediction, so accuracies under this defence are "
                             f"averaged over {draws} draws.")
            extra.update(curve_nonadaptive=tuple(curve_nonadaptive),
                         robust_nonadaptive=curve_nonadaptive[grid.index(float(scenario.eps))])
            if model.linear:
                g = np.asarray(grid)
                extra["exact_curve_undefended"] = _exact_curve(base.estimator, split, scenario.norm, g)
                notes.append("The exact robust accuracy applies to the bare linear model; with a sanitiser in "
                             "front the model is no longer linear, so only attacks measure it.")
        else:  # certification
            report(0.3, "Training on noisy inputs (randomized smoothing)")
            model_params = resolve_params(model.params, dict(scenario.model_params))
            start = time.perf_counter()
            estimator = _fresh_torch(model, model_params, scenario.seed, split.X_train, split.y_train)
            classifier = _smoothed_classifier(estimator, split, params["sigma"])
            with _epochs_reported(report, 0.3, 0.55, "Training on noisy inputs"):
                classifier.fit(split.X_train.astype(np.float32), _one_hot(split.y_train, split.n_classes),
                               nb_epochs=params["epochs"], batch_size=estimator.batch_size)
            seconds = time.perf_counter() - start

            def predict(Z: np.ndarray) -> np.ndarray:
                return np.argmax(classifier.predict(np.asarray(Z, dtype=np.float32)), axis=1)

            clean_def = _accuracy(predict(X), y)
            curve_def, _ = _robust_curve(attack, attack_params, classifier, predict, X, y, grid, scenario.norm,
                                         clean_def, _stage(report, 0.55, 0.8, "Attacking the smoothed model "
                                                           "(gradients averaged over the noise): budget"))
            report(0.8, "Certifying every test point")
            certified_pred, radii = classifier.certify(X.astype(np.float32), n=params["n_certify"], batch_size=256)
            needed = certified_radius_needed(scenario.eps, scenario.norm, X.shape[1])
            correct = certified_pred == y
            extra.update(
                certified_radii=tuple(float(r) if c else 0.0 for r, c in zip(radii, correct, strict=True)),
                certified_accuracy=float(np.mean(correct & (radii >= needed))),
                certified_radius_needed=needed,
                certified_curve=tuple(float(np.mean(correct & (radii >= certified_radius_needed(
                    e, scenario.norm, X.shape[1])))) for e in grid))
            notes.append("Certified radii are L2 radii; an L∞ budget eps is certified only when the radius "
                         "reaches √d·eps, since the L∞ ball of radius eps reaches that far in L2.")

    at = grid.index(float(scenario.eps))
    exact_und, exact_def = extra.pop("exact_curve_undefended", None), extra.pop("exact_curve_defended", None)
    return DefenceOutcome(
        scenario=scenario, defence=defence.name, defence_params=freeze(params), kind=defence.kind,
        attack_label=f"{attack.label} ({'L∞' if scenario.norm == 'inf' else 'L' + scenario.norm})",
        n_test=len(y), clean_undefended=clean_base, clean_defended=clean_def,
        robust_undefended=curve_base[at], robust_defended=curve_def[at], eps_grid=grid,
        curve_undefended=tuple(curve_base), curve_defended=tuple(curve_def),
        fit_seconds_undefended=base.fit_seconds, fit_seconds_defended=seconds,
        exact_undefended=exact_und[at] if exact_und else None, exact_defended=exact_def[at] if exact_def else None,
        exact_curve_undefended=exact_und, exact_curve_defended=exact_def, notes=tuple(notes),
        seconds=time.perf_counter() - started, **extra)


def parse_defence_params(defence_name: str, pairs: list[str]) -> dict[str, Any]:
    """``k=v`` strings (the CLI's ``--defense-param``) parsed and validated by the defence's Params."""
    defence = DEFENCES.get(defence_name)
    known = {p.name: p for p in defence.params}
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise InvalidInput(f"defence parameters are written k=v, not {pair!r}")
        if key not in known:
            raise InvalidInput(f"{defence.label} has no parameter {key!r}; known: {', '.join(known) or 'none'}")
        values[key] = known[key].parse(text)
    return values


__all__ = ["DEFENCES", "DefenceOutcome", "DefenceSpec", "evaluate_defence", "parse_defence_params",
           "robust_logistic_regression"]
