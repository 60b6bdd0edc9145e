"""Model inversion: reconstruct what a class's training images look like from the model alone.

ART's ``MIFace`` (Fredrikson, Jha, Ristenpart 2015) starts from a blank input and climbs the model's gradient for
one class until the model is confident, clipping to the data's range. What comes out is not a training image but
the model's picture of the class; set beside the class's mean training image, it shows how much of the training
data's appearance the model carries. Two numbers say it without looking: whether the model assigns each
reconstruction to its class, and whether its nearest class mean is its own class's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qulab.core.registry import Param
from qulab.core.threat import CLASS_GRADIENTS, WHITE_BOX
from qulab.core.wording import accuracy_text
from qulab.threats.privacy.attacks import (
    INVERSION,
    PRIVACY_ATTACKS,
    FigureView,
    Metric,
    PrivacyAttackSpec,
    Target,
    privacy_threat,
)


def invert(classifier: Any, n_classes: int, max_iter: int, learning_rate: float) -> np.ndarray:
    """One MIFace reconstruction per class, all classes in one batch, from a blank (all-zero) start.

    Deterministic: gradient steps from zeros, no random draws. ART's stopping rule keeps a reconstruction going
    while its cost 1 − output is *below* the threshold (the comparison reads inverted), so in practice each runs
    ``max_iter`` steps; on QuLab's torch nets the output is a logit, not a probability, so the threshold has no
    meaning there anyway.
    """
    from art.attacks.inference.model_inversion import MIFace

    attack = MIFace(classifier, max_iter=max_iter, learning_rate=float(learning_rate), batch_size=n_classes,
                    verbose=False)
    return attack.infer(None, y=np.arange(n_classes))


def class_means(X: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """The mean training input of each class (zeros for a class without training rows)."""
    return np.stack([X[y == c].mean(axis=0) if np.any(y == c) else np.zeros(X.shape[1]) for c in range(n_classes)])


def nearest_mean(reconstructions: np.ndarray, means: np.ndarray) -> np.ndarray:
    """For each reconstruction, the class whose mean image is closest in Euclidean distance."""
    flat = reconstructions.reshape(len(reconstructions), -1)
    distances = np.linalg.norm(flat[:, None, :] - means[None, :, :], axis=2)
    return np.argmin(distances, axis=1)


@dataclass(frozen=True)
class InversionResult:
    """A reconstruction per class beside the class's mean training image."""

    reconstructions: np.ndarray  # (K, n_features)
    means: np.ndarray  # (K, n_features)
    model_class: np.ndarray  # the target's prediction on each reconstruction
    confidence: np.ndarray  # the target's probability of the intended class on it
    image_shape: tuple[int, int]
    class_names: tuple[str, ...]
    value_range: tuple[float, float]
    kind: str = INVERSION

    @property
    def recognised(self) -> float:
        """Share of reconstructions the model assigns to the class they were made for."""
        return float(np.mean(self.model_class == np.arange(len(self.model_class))))

    @property
    def nearest_mean_match(self) -> float:
        """Share of reconstructions whose nearest class mean is their own class's."""
        return float(np.mean(nearest_mean(self.reconstructions, self.means) == np.arange(len(self.means))))

    def summary(self) -> dict[str, Any]:
        return {"classes": len(self.means), "recognised": self.recognised,
                "nearest_mean_match": self.nearest_mean_match, "mean_confidence": float(np.mean(self.confidence))}

    def metrics(self) -> tuple[Metric, ...]:
        return (Metric("Recognised by the model", accuracy_text(self.recognised),
                       "Share of reconstructions the model classifies as the class they were made for."),
                Metric("Closest to their own class's mean", accuracy_text(self.nearest_mean_match),
                       "Share of reconstructions nearer (Euclidean) to their class's mean training image than to "
                       "any other class's: the model gives away what its classes look like."),
                Metric("Model's confidence", accuracy_text(float(np.mean(self.confidence))),
                       "The model's mean probability for the intended class on its reconstruction."))


def _inversion_views(result: InversionResult) -> list[FigureView]:
    from qulab.figures.privacy_inference import build_inversion_figure

    h, w = result.image_shape
    k = len(result.means)
    return [FigureView("Reconstructed from the model, beside the class mean", build_inversion_figure(
        result.reconstructions.reshape(k, h, w), result.means.reshape(k, h, w), result.class_names,
        result.confidence, result.value_range),
        "Top: what MIFace drew for each class from the model's gradients alone (in brackets the model's "
        "probability for that class). Bottom: the mean of the class's training images, which the attacker "
        "never saw.")]


def _run(split: Any, target: Target, params: dict[str, Any], seed: int) -> InversionResult:
    k = split.n_classes
    reconstructions = np.asarray(invert(target.classifier, k, params["max_iter"], params["learning_rate"]),
                                 dtype=np.float64)
    proba = np.asarray(target.estimator.predict_proba(reconstructions), dtype=np.float64)
    lo = float(min(split.X_train.min(), reconstructions.min()))
    hi = float(max(split.X_train.max(), reconstructions.max()))
    return InversionResult(reconstructions, class_means(split.X_train, split.y_train, k), np.argmax(proba, axis=1),
                           proba[np.arange(k), np.arange(k)], tuple(split.image_shape), tuple(split.class_names),
                           split.clip_values or (lo, hi))


def _images_only(split: Any) -> str | None:
    if split.image_shape is None:
        return "Model inversion draws one image per class, so it needs image data: choose Digits."
    return None



PRIVACY_ATTACKS.register(PrivacyAttackSpec(
    "inversion_miface", "Model inversion (MIFace)",
    "Starts from a blank image and follows the model's gradient for one class until the model is sure: the image it "
    "ends at shows what the model learned the class looks like.",
    privacy_threat(WHITE_BOX, CLASS_GRADIENTS), _run, _inversion_views, INVERSION,
    paper="Fredrikson, Jha, Ristenpart 2015, Model inversion attacks that exploit confidence information and basic "
          "countermeasures (CCS); ART's MIFace",
    params=(Param("max_iter", "Gradient steps", 300, "Steps of gradient ascent per class; more steps give a sharper, "
                  "more confident picture.", 10, 3000, 10),
            Param("learning_rate", "Step size", 0.1, "How far each gradient step moves the image.", 0.001, 10.0,
                  scale="log")),
    data_reason=_images_only))
