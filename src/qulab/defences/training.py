"""Training defences change the model: Madry-style adversarial training (examples regenerated against the *current*
model while it learns) and, as a lesson, the naive one-off augmentation that does not work."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from qulab.core.registry import Param, resolve_params
from qulab.core.threat import ThreatModel
from qulab.core.wording import in_running_text
from qulab.data.datasets import Split
from qulab.defences.running import epochs_reported, one_hot
from qulab.defences.spec import (
    ADAPTIVE_WHITE_BOX,
    DEFENCES,
    NEEDS_ROBUST_TRAINER,
    TRAINING,
    DefenceRun,
    DefenceSpec,
    Defended,
    ModelRequirement,
    Progress,
    Workload,
    has_gradients,
    is_torch,
)
from qulab.evaluation.budget import exact_sweep
from qulab.evaluation.pipeline import FittedModel, attack_sweep, linear_weights
from qulab.models.registry import ModelSpec
from qulab.threats.evasion.attacks import ATTACKS, generate


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


def fresh_torch(spec: ModelSpec, params: dict[str, Any], seed: int, X: np.ndarray, y: np.ndarray) -> Any:
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

    estimator = fresh_torch(spec, params, seed, split.X_train, split.y_train)
    classifier = to_art_classifier(estimator, clip_values=split.clip_values)
    attack_spec = ATTACKS.get(attack)
    attack_params = {"max_iter": 7, "step_fraction": 0.3} if attack == "pgd" else {}
    art_attack = attack_spec.build(classifier, eps=eps, norm=norm, **attack_params)
    trainer = AdversarialTrainer(classifier, attacks=art_attack, ratio=ratio)
    labels = one_hot(split.y_train, len(split.class_names))
    with epochs_reported(report, 0.35, 0.7, "Adversarial training"):
        trainer.fit(split.X_train.astype(np.float32), labels, nb_epochs=epochs, batch_size=estimator.batch_size)
    estimator.module_ = classifier.model.eval()
    return estimator


def _model_params(run: DefenceRun) -> dict[str, Any]:
    return resolve_params(run.model.params, dict(run.scenario.model_params))


def _train_adversarially(run: DefenceRun) -> Any:
    """Madry: a PyTorch network through ART's trainer, a linear model with probabilities in closed form."""
    params, split, scenario = run.params, run.split, run.scenario
    model_params = _model_params(run)
    if is_torch(run.model):
        return _adversarial_training_torch(run.model, model_params, split, params["eps"], scenario.norm,
                                           params["attack"], params["ratio"], params["epochs"], scenario.seed,
                                           run.report)
    return robust_logistic_regression(split.X_train, split.y_train, params["eps"], scenario.norm, params["ratio"],
                                      C=model_params["C"], max_iter=max(params["epochs"], 1) * 5)


def _shuffles_globally(model: ModelSpec, params: Any) -> bool:
    """ART's AdversarialTrainer shuffles the batches and picks the adversarial rows with ``np.random``; the
    closed-form training of linear models (full-batch L-BFGS from zero weights) draws nothing."""
    return is_torch(model)


def _train_on_naive_augmentation(run: DefenceRun) -> Any:
    """FGM examples of the undefended model, crafted once, then a fresh fit on clean and adversarial rows."""
    split, scenario = run.split, run.scenario
    X_adv = generate(ATTACKS.get("fgm"), run.baseline.model.classifier, split.X_train, split.y_train,
                     run.params["eps"], scenario.norm)
    X_aug = np.vstack([split.X_train, X_adv])
    y_aug = np.concatenate([split.y_train, split.y_train])
    model_params = _model_params(run)
    if "epochs" in model_params:  # a network's own epochs give way to the defence's
        model_params = {**model_params, "epochs": run.params["epochs"]}
    return run.model.build(**model_params, seed=scenario.seed).fit(X_aug, y_aug)


def _defend_by_training(builds_on_undefended: bool, run: DefenceRun) -> Defended:
    """Train the defended model, then attack it (white box, its own gradients) at every budget, as the undefended
    one is attacked (the budget engine's sweep, seeded by the scenario)."""
    split, scenario, model, base = run.split, run.scenario, run.model, run.baseline.model
    run.report(0.35, f"Training with {in_running_text(run.defence.label)}")
    start = time.perf_counter()
    estimator = run.defence.train(run)
    seconds = time.perf_counter() - start
    if builds_on_undefended:
        seconds += base.fit_seconds
    defended = FittedModel(model, estimator, model.art_classifier(estimator, split.clip_values), seconds)
    attacked = attack_sweep(scenario, split, defended, run.grid,
                            progress=lambda fraction, text: run.report(0.7 + 0.3 * fraction,
                                                                       f"Attacking the defended model: {text}"))
    extra = {}
    if model.linear:
        extra = {f"exact_curve_{side}": exact_sweep(linear_weights(fitted), split.X_test, split.y_test, run.grid,
                                                    scenario.norm).accuracy
                 for side, fitted in (("undefended", base), ("defended", defended))}
    return Defended(attacked.clean, attacked.accuracy, seconds, extra)


def _training_estimate(attack_steps: Callable[[dict[str, Any]], int], work: Workload) -> float:
    if work.torch_model:
        return 2 + work.params["epochs"] * work.n_train * attack_steps(work.params) / 6000 + 2 * work.per_attack
    return 1 + 2 * work.per_attack


def training_defence(name: str, label: str, *, description: str, protects_against: str, known_weakness: str,
                     adaptive_attack: str, train: Callable[[DefenceRun], Any], params: tuple[Param, ...] = (),
                     requirement: ModelRequirement = NEEDS_ROBUST_TRAINER,
                     attack_steps: Callable[[dict[str, Any]], int] = lambda params: 2,
                     builds_on_undefended: bool = False, threat: ThreatModel = ADAPTIVE_WHITE_BOX,
                     **fields: Any) -> DefenceSpec:
    """An entry for a defence that trains a new model with ``train(run)`` (a fitted scikit-learn-style estimator),
    evaluated against ``threat`` (by default the white-box attacker with the retrained model's gradients).

    ``attack_steps(params)``: attack steps per training example per epoch (for the duration estimate);
    ``builds_on_undefended``: it needs the undefended model first, whose fit counts in its training time."""
    return DefenceSpec(name, label, TRAINING, description, protects_against, known_weakness, adaptive_attack,
                       requirement, partial(_defend_by_training, builds_on_undefended),
                       partial(_training_estimate, attack_steps), threat, params, train=train, **fields)


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
                choices=("pgd", "fgm"), choice_labels=(ATTACKS.get("pgd").label, ATTACKS.get("fgm").label))

DEFENCES.register(training_defence(
    "adversarial_training", "Adversarial training (Madry)",
    description="While the model trains, every batch is replaced (or mixed) with adversarial examples crafted "
                "against the current model, so the model learns to be right on the worst point of each eps-ball.",
    protects_against="Gradient-based evasion within the training budget eps (in the attack's norm).",
    known_weakness="Costs several times the training time, lowers clean accuracy a little, and protects only up to "
                   "the training eps and in that norm.",
    adaptive_attack="The scenario's attack on the retrained model itself (white box, its own gradients); for "
                    "linear models also the exact closed form, which no attack can beat.",
    train=_train_adversarially, params=(_ATTACK, _EPS, _RATIO, _EPOCHS),
    attack_steps=lambda params: 8 if params["attack"] == "pgd" else 2, global_draws=_shuffles_globally,
    reference="Madry et al., 2018, https://arxiv.org/abs/1706.06083"))

DEFENCES.register(training_defence(
    "naive_augmentation", "Naive augmentation (does not work)",
    description="Lesson: FGM examples are crafted once against the undefended model, added to the training set, "
                "and a fresh model is fitted. They are the weak points of a model that no longer exists.",
    protects_against="Claims to protect against FGM/PGD; in practice it barely does, because the new model has new "
                     "weak points.",
    known_weakness="The examples are never regenerated, so the attack on the new model finds new ones; one-step "
                   "examples can also teach the model to mask its gradients (label leaking).",
    adaptive_attack="The scenario's attack on the retrained model: it finds the new model's own weak points.",
    train=_train_on_naive_augmentation,
    params=(_EPS, Param("epochs", "Training epochs", 20, "Passes over the training data (neural networks only).",
                        1, 200)),
    requirement=ModelRequirement(has_gradients,
                                 "its FGM examples need the undefended model's gradients, and trees and ensembles "
                                 "have none."),
    builds_on_undefended=True, works=False, reference="Tramèr et al., 2018, https://arxiv.org/abs/1705.07204"))
