"""Preprocessing defences sanitise the input before the unchanged model sees it (ART's preprocessors).

Each is evaluated twice: against the *non-adaptive* attack (crafted on the undefended model, then passed through
the sanitiser, which looks strong) and against the *adaptive* attack that sees the defence and differentiates
through it with BPDA (the sanitiser replaced by the identity on the backward pass, Athalye et al., 2018). For a
random sanitiser the gradient is averaged over ``EOT_SAMPLES`` draws per step (expectation over transformation),
accuracies are averaged over ``NOISE_DRAWS`` draws, and as a minimal attack (DeepFool, C&W) stops at the boundary,
where noise rescues points by chance, the adaptive attacker also stretches its perturbations to the whole budget.
An entry may add its own adaptive attack (feature squeezing: PGD on the squeezed values, L∞); each point gets the
strongest of these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from qulab.core.registry import Param
from qulab.core.threat import ThreatModel
from qulab.data.datasets import Split
from qulab.defences.running import one_hot, stage
from qulab.defences.spec import (
    ADAPTIVE_WHITE_BOX,
    DEFENCES,
    NEEDS_GRADIENTS,
    PREPROCESSING,
    DefenceRun,
    DefenceSpec,
    Defended,
    ModelRequirement,
    Workload,
    is_torch,
)
from qulab.evaluation.budget import attack_run, exact_sweep, sweep
from qulab.evaluation.pipeline import linear_weights
from qulab.models.registry import ModelSpec

EOT_SAMPLES = 16  # noise draws averaged per gradient by the adaptive attack on a random sanitiser
NOISE_DRAWS = 10  # noise draws averaged per accuracy under a random sanitiser
SQUEEZE_STEPS, SQUEEZE_RESTARTS = 50, 5  # the squeezed-domain attack on feature squeezing


def bpda_preprocessor(transform: Callable[[np.ndarray], np.ndarray]) -> Any:
    """An ART preprocessor that applies ``transform`` to flat rows at prediction time and passes gradients straight
    through (BPDA's identity approximation): the way to give any NumPy sanitiser to :func:`preprocessing_defence`."""
    from art.defences.preprocessor import Preprocessor

    class TransformPreprocessor(Preprocessor):
        def __init__(self) -> None:
            super().__init__(is_fitted=True, apply_fit=False, apply_predict=True)

        def __call__(self, x: np.ndarray, y: Any = None) -> tuple[np.ndarray, Any]:
            return transform(x), y

        def estimate_gradient(self, x: np.ndarray, grad: np.ndarray) -> np.ndarray:
            return grad

    return TransformPreprocessor()


def _image_preprocessor(inner: Any, image_shape: tuple[int, int]) -> Any:
    """ART's image preprocessors want (n, h, w, c); QuLab's models take flat rows."""

    def transform(x: np.ndarray) -> np.ndarray:
        images = np.asarray(x).reshape(len(x), *image_shape, 1)
        out, _ = inner(images)
        return np.asarray(out).reshape(np.shape(x)).astype(np.asarray(x).dtype)

    return bpda_preprocessor(transform)


def defended_classifier(model: ModelSpec, estimator: Any, split: Split, preprocessor: Any) -> Any:
    """The model's ART wrapper with the preprocessor installed (predictions and gradients go through it)."""
    classifier = model.art_classifier(estimator, split.clip_values)
    classifier.set_params(preprocessing_defences=[preprocessor])
    return classifier


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
    labels = one_hot(y, classifier.nb_classes)
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


@dataclass(frozen=True)
class AdaptiveCase:
    """What an entry's own adaptive attack (``adaptive_examples``) gets at one budget."""

    undefended: Any  # the undefended model's ART classifier
    correct: Callable[[np.ndarray], np.ndarray]  # per point, how often the defended model is right
    X: np.ndarray
    y: np.ndarray
    eps: float
    norm: str
    params: dict[str, Any]
    clip: tuple[float, float] | None
    seed: int


def _strongest(candidates: list[np.ndarray], correct: Callable[[np.ndarray], np.ndarray], n: int) -> np.ndarray:
    """Per point, the candidate that ``correct`` scores lowest (for a random defence those draws only choose: the
    caller evaluates the result with fresh ones)."""
    if len(candidates) == 1:
        return candidates[0]
    strongest = np.argmin([correct(c) for c in candidates], axis=0)
    return np.stack(candidates)[strongest, np.arange(n)]


def _defend_by_preprocessing(randomised: bool, run: DefenceRun) -> Defended:
    """The undefended model behind the entry's sanitiser, under the non-adaptive and the adaptive attack."""
    split, scenario, model, attack, grid = run.split, run.scenario, run.model, run.attack, run.grid
    base, undefended = run.baseline.model, run.baseline.attacked
    X, y = split.X_test, split.y_test
    classifier = defended_classifier(model, base.estimator, split, run.defence.preprocessor(run.params, split))
    draws = NOISE_DRAWS if randomised else 1
    as_input = (lambda Z: Z.astype(np.float32)) if is_torch(model) else (lambda Z: Z)

    def predict(Z: np.ndarray) -> np.ndarray:
        return np.argmax(classifier.predict(as_input(Z)), axis=1)

    def correct(Z: np.ndarray) -> np.ndarray:
        """Per point, the share of prediction draws that are right (0 or 1 unless the defence is random)."""
        return np.mean([predict(Z) == y for _ in range(draws)], axis=0)

    clean = float(np.mean(correct(X)))
    run.report(0.45, "Non-adaptive attack: the undefended model's examples through the defence")
    nonadaptive = [clean if eps == 0 else float(np.mean(correct(undefended.examples_at(eps)))) for eps in grid]
    run.report(0.6, "Adaptive attack: through the defence (BPDA, expectation over noise)")
    attacked = _expectation_over_noise(classifier) if randomised else classifier
    adaptive = sweep(attack, attacked, X, y, grid, scenario.norm, run.attack_params, scenario.seed, predict=predict,
                     keep_examples=True, images=split.image_shape is not None,
                     progress=lambda fraction, text: run.report(0.6 + 0.3 * fraction, f"Adaptive attack: {text}"))
    stretch = attack.minimal and randomised  # noise rescues points left at the boundary: go further
    unbounded = attack_run(attack, attacked, X, y, max(grid), scenario.norm, run.attack_params, scenario.seed,
                           unbounded=True) if stretch else None
    own_attack = run.defence.adaptive_examples
    strongest_step = stage(run.report, 0.9, 1.0, "Strongest adaptive examples: budget")
    curve = []
    for i, eps in enumerate(grid):
        strongest_step(i, len(grid))
        if eps == 0:
            curve.append(clean)
            continue
        candidates = [adaptive.examples_at(eps)]
        if unbounded is not None:
            candidates.append(stretched_to_budget(X, unbounded, eps, scenario.norm, split.clip_values))
        if own_attack is not None:
            own = own_attack(AdaptiveCase(base.classifier, correct, X, y, eps, scenario.norm, run.params,
                                          split.clip_values, scenario.seed))
            if own is not None:
                candidates.append(own)
        curve.append(float(np.mean(correct(_strongest(candidates, correct, len(X))))))
    notes = []
    if stretch:
        notes.append(f"{attack.label} stops just past the decision boundary, where the noise pushes points "
                     "back by chance. The adaptive attacker knows that and also stretches each of its "
                     "perturbations to the whole budget; each point gets the stronger of the two.")
    if randomised:
        notes.append(f"The noise is drawn anew for every prediction, so accuracies under this defence are "
                     f"averaged over {draws} draws.")
    extra: dict[str, Any] = {"curve_nonadaptive": tuple(nonadaptive),
                             "robust_nonadaptive": nonadaptive[grid.index(float(scenario.eps))]}
    if model.linear:
        extra["exact_curve_undefended"] = exact_sweep(linear_weights(base), X, y, grid, scenario.norm).accuracy
        notes.append("The exact robust accuracy applies to the bare linear model; with a sanitiser in "
                     "front the model is no longer linear, so only attacks measure it.")
    return Defended(clean, tuple(curve), base.fit_seconds, extra, tuple(notes))


def _preprocessing_estimate(adaptive_attacks: int, work: Workload) -> float:
    return 2 + adaptive_attacks * work.per_attack


def preprocessing_defence(name: str, label: str, *, description: str, protects_against: str, known_weakness: str,
                          adaptive_attack: str, preprocessor: Callable[[dict[str, Any], Split], Any],
                          params: tuple[Param, ...] = (), randomised: bool = False,
                          adaptive_examples: Callable[[AdaptiveCase], np.ndarray | None] | None = None,
                          requirement: ModelRequirement = NEEDS_GRADIENTS,
                          threat: ThreatModel = ADAPTIVE_WHITE_BOX, **fields: Any) -> DefenceSpec:
    """An entry for a sanitiser in front of the unchanged model, evaluated against ``threat`` (by default an
    attacker who differentiates through it, BPDA).

    ``preprocessor(params, split)`` is an ART preprocessor (:func:`bpda_preprocessor` wraps a NumPy function);
    ``randomised``: it draws afresh at every prediction, from the global generators as ART's do (accuracies
    averaged, gradients by expectation over the draws, minimal attacks stretched; the run is seeded under the
    lock); ``adaptive_examples(case)``: the entry's own adaptive attack, or None where it does not apply."""
    adaptive_attacks = 6 if randomised or adaptive_examples is not None else 3  # attack runs, for the estimate
    return DefenceSpec(name, label, PREPROCESSING, description, protects_against, known_weakness, adaptive_attack,
                       requirement, partial(_defend_by_preprocessing, randomised),
                       partial(_preprocessing_estimate, adaptive_attacks), threat, params, preprocessor=preprocessor,
                       adaptive_examples=adaptive_examples, global_draws=randomised, **fields)


def _feature_squeezing(params: dict[str, Any], split: Split) -> Any:
    from art.defences.preprocessor import FeatureSqueezing

    return FeatureSqueezing(clip_values=split.clip_values or (0.0, 1.0), bit_depth=params["bit_depth"],
                            apply_fit=False, apply_predict=True)


def _squeezed_values_attack(case: AdaptiveCase) -> np.ndarray | None:
    """PGD on the squeezed values (L∞ only: the reachable levels are a box)."""
    if case.norm != "inf":
        return None
    return squeezed_domain_attack(case.undefended, case.correct, case.X, case.y, case.eps, case.params["bit_depth"],
                                  case.clip, seed=case.seed)


def _gaussian_noise(params: dict[str, Any], split: Split) -> Any:
    from art.defences.preprocessor import GaussianAugmentation

    return GaussianAugmentation(sigma=params["sigma"], augmentation=False, apply_fit=False, apply_predict=True)


def _spatial_smoothing(params: dict[str, Any], split: Split) -> Any:
    from art.defences.preprocessor import SpatialSmoothing

    inner = SpatialSmoothing(window_size=params["window_size"], channels_first=False,
                             clip_values=split.clip_values or (0.0, 1.0))
    return _image_preprocessor(inner, split.image_shape)


def _jpeg_compression(params: dict[str, Any], split: Split) -> Any:
    from art.defences.preprocessor import JpegCompression

    inner = JpegCompression(clip_values=split.clip_values or (0.0, 1.0), quality=params["quality"],
                            channels_first=False)
    return _image_preprocessor(inner, split.image_shape)


for _entry in (
    preprocessing_defence(
        "feature_squeezing", "Feature squeezing",
        description="Rounds every feature to a few levels (bit depth) before the model sees it, erasing small "
                    "perturbations.",
        protects_against="Small perturbations crafted without knowledge of the squeezer.",
        known_weakness="Rounding has no useful gradient, but an adaptive attacker optimises the squeezed values "
                       "directly and pushes every feature that eps can carry across a rounding threshold; only "
                       "features further than eps from every threshold are safe (eps above half a level step leaves "
                       "none).",
        adaptive_attack="BPDA (the rounding taken as the identity on the backward pass) and, under L∞, PGD on the "
                        "squeezed values themselves with random restarts; each point gets the stronger.",
        preprocessor=_feature_squeezing, adaptive_examples=_squeezed_values_attack,
        params=(Param("bit_depth", "Bit depth", 3, "Bits per feature: 1 leaves 2 levels, 3 leaves 8.", 1, 8),),
        needs_range=True, reference="Xu et al., 2018, https://arxiv.org/abs/1704.01155"),
    preprocessing_defence(
        "gaussian_noise", "Gaussian noise at test time",
        description="Adds random Gaussian noise to every input before prediction (ART's GaussianAugmentation at "
                    "test time).",
        protects_against="Perturbations that sit just across the boundary (minimal attacks such as DeepFool and "
                         "C&W), crafted without the noise.",
        known_weakness="The attacker averages over the noise (expectation over transformation) and spends the whole "
                       "budget instead of stopping at the boundary; the noise also costs clean accuracy because the "
                       "model was not trained with it.",
        adaptive_attack=f"Expectation over transformation (gradients averaged over {EOT_SAMPLES} noise draws); a "
                        "minimal attack's perturbations are also stretched to the whole budget.",
        preprocessor=_gaussian_noise, randomised=True,
        params=(Param("sigma", "Noise σ", 0.1, "Standard deviation of the added noise.", 0.01, 1.0, 0.01),),
        reference="Athalye et al., 2018, https://arxiv.org/abs/1802.00420"),
    preprocessing_defence(
        "spatial_smoothing", "Spatial smoothing (median filter)",
        description="Replaces every pixel by the median of its window, wiping out isolated pixel changes.",
        protects_against="Sparse, high-frequency image perturbations crafted without the filter.",
        known_weakness="The median is piecewise the identity on some pixel, so BPDA gradients are accurate enough "
                       "to break it.",
        adaptive_attack="BPDA: the median filter taken as the identity on the backward pass.",
        preprocessor=_spatial_smoothing,
        params=(Param("window_size", "Window size", 2, "Side of the median window in pixels.", 2, 5),),
        needs_images=True, reference="Xu et al., 2018, https://arxiv.org/abs/1704.01155"),
    preprocessing_defence(
        "jpeg_compression", "JPEG compression",
        description="Compresses every image as JPEG and decodes it again, dropping high-frequency detail.",
        protects_against="High-frequency image perturbations crafted without the compression.",
        known_weakness="JPEG is close to a linear projection, so BPDA through it as the identity removes most of "
                       "the protection.",
        adaptive_attack="BPDA: the compression taken as the identity on the backward pass.",
        preprocessor=_jpeg_compression,
        params=(Param("quality", "JPEG quality", 50, "1 = worst (strongest filter), 95 = best.", 1, 95),),
        needs_images=True, reference="Dziugaite et al., 2016, https://arxiv.org/abs/1608.00853"),
):
    DEFENCES.register(_entry)
