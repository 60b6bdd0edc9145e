"""Certification: randomized smoothing proves an L2 radius inside which the smoothed prediction cannot change."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from qulab.core.registry import Param, resolve_params
from qulab.core.threat import NORMS, WHITE_BOX, ThreatModel, evasion
from qulab.data.datasets import Split
from qulab.defences.running import epochs_reported, one_hot
from qulab.defences.spec import (
    CERTIFICATION,
    DEFENCES,
    NEEDS_TORCH,
    DefenceRun,
    DefenceSpec,
    Defended,
    ModelRequirement,
    Workload,
)
from qulab.defences.training import fresh_torch
from qulab.evaluation.budget import sweep
from qulab.models.registry import LOSS_GRADIENTS


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


def _defend_by_smoothing(run: DefenceRun) -> Defended:
    """Train on noisy inputs, attack the smoothed model (gradients averaged over the noise), certify every point."""
    split, scenario, model, params, grid = run.split, run.scenario, run.model, run.params, run.grid
    X, y = split.X_test, split.y_test
    run.report(0.3, "Training on noisy inputs (randomized smoothing)")
    model_params = resolve_params(model.params, dict(scenario.model_params))
    start = time.perf_counter()
    estimator = fresh_torch(model, model_params, scenario.seed, split.X_train, split.y_train)
    classifier = _smoothed_classifier(estimator, split, params["sigma"])
    with epochs_reported(run.report, 0.3, 0.55, "Training on noisy inputs"):
        classifier.fit(split.X_train.astype(np.float32), one_hot(split.y_train, split.n_classes),
                       nb_epochs=params["epochs"], batch_size=estimator.batch_size)
    seconds = time.perf_counter() - start

    def predict(Z: np.ndarray) -> np.ndarray:
        return np.argmax(classifier.predict(np.asarray(Z, dtype=np.float32)), axis=1)

    attacked = sweep(run.attack, classifier, X, y, grid, scenario.norm, run.attack_params, scenario.seed,
                     predict=predict, images=split.image_shape is not None,
                     progress=lambda fraction, text: run.report(0.55 + 0.25 * fraction, "Attacking the smoothed "
                                                                f"model (gradients averaged over the noise): {text}"))
    run.report(0.8, "Certifying every test point")
    certified_pred, radii = classifier.certify(X.astype(np.float32), n=params["n_certify"], batch_size=256)
    needed = certified_radius_needed(scenario.eps, scenario.norm, X.shape[1])
    correct = certified_pred == y
    extra = {
        "certified_radii": tuple(float(r) if c else 0.0 for r, c in zip(radii, correct, strict=True)),
        "certified_accuracy": float(np.mean(correct & (radii >= needed))),
        "certified_radius_needed": needed,
        "certified_curve": tuple(float(np.mean(correct & (radii >= certified_radius_needed(
            e, scenario.norm, X.shape[1])))) for e in grid)}
    notes = ("Certified radii are L2 radii; an L∞ budget eps is certified only when the radius reaches √d·eps, "
             "since the L∞ ball of radius eps reaches that far in L2.",)
    return Defended(attacked.clean, attacked.accuracy, seconds, extra, notes)


def _smoothing_estimate(work: Workload) -> float:
    return 3 + work.params["epochs"] * work.n_train / 4000 + work.params["n_certify"] / 100 * 2 + 2 * work.per_attack


def certification_defence(name: str, label: str, *, description: str, protects_against: str, known_weakness: str,
                          adaptive_attack: str, defend: Callable[[DefenceRun], Defended],
                          estimate: Callable[[Workload], float], threat: ThreatModel,
                          params: tuple[Param, ...] = (), requirement: ModelRequirement = NEEDS_TORCH,
                          **fields: Any) -> DefenceSpec:
    """An entry for a defence that certifies a radius; ``defend`` fills ``certified_*`` in its Defended.extra.
    ``threat``: the attacker its empirical curve is measured against (a certificate has no default attacker)."""
    return DefenceSpec(name, label, CERTIFICATION, description, protects_against, known_weakness, adaptive_attack,
                       requirement, defend, estimate, threat, params, **fields)


DEFENCES.register(certification_defence(
    "randomized_smoothing", "Randomized smoothing (certified)",
    description="The model is trained on noisy inputs and predicts the class it outputs most often under Gaussian "
                "noise; a statistical test then certifies an L2 radius around each point inside which no attack can "
                "change the prediction.",
    protects_against="Any L2 perturbation smaller than the certified radius, provably (with probability 1 − α).",
    known_weakness="The certified radii are small (about σ); L∞ budgets are only covered through ‖δ‖₂ ≤ √d·‖δ‖∞, "
                   "and prediction needs many noisy forward passes.",
    adaptive_attack="The scenario's attack on the smoothed model with loss gradients averaged over the noise "
                    "(Monte Carlo, expectation over transformation).",
    defend=_defend_by_smoothing, estimate=_smoothing_estimate,
    # White box, but ART's smoothed classifier gives loss gradients only (Monte-Carlo averages over the noise).
    # Every norm: an L2 certificate covers the L1 ball of radius eps and the L∞ ball through √d·eps
    # (certified_radius_needed).
    threat=evasion(WHITE_BOX, LOSS_GRADIENTS, norms=NORMS),
    params=(Param("sigma", "Noise σ", 0.25, "Noise of the smoothing; larger σ certifies larger radii but costs "
                  "clean accuracy.", 0.01, 1.0, 0.01),
            Param("epochs", "Training epochs", 30, "Passes over the (noisy) training data.", 1, 200),
            Param("n_certify", "Samples per certificate", 200, "Noisy predictions behind each certificate.",
                  50, 2000, 50)),
    reference="Cohen et al., 2019, https://arxiv.org/abs/1902.02918",
    global_draws=True,  # ART adds torch.randn_like noise in training and np.random.normal noise in prediction
    offers=frozenset({LOSS_GRADIENTS})))  # ART's smoothed classifier has no class gradients
