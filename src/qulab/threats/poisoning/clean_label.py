"""The clean-label backdoor (Turner, Tsipras & Madry 2018) through ART's ``PoisoningAttackCleanLabelBackdoor``.

The attacker touches only points that already belong to the target class and keeps their labels, so a label audit
finds nothing. Each chosen point is first pushed by PGD against a proxy network (here the victim's architecture
trained on the clean data) until its own features no longer explain its label, then stamped with the trigger: the
cheapest way for the victim to fit those points is to learn "trigger → target".

ART's ``poison`` draws the points to poison with replacement from NumPy's global generator and does not say which
it chose, so the rows are drawn here from the run's generator (without replacement) and ART's own two steps, its PGD
and its backdoor, are applied to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from qulab.core.registry import Param
from qulab.core.threat import GREY_BOX, LOSS_GRADIENTS
from qulab.data.datasets import Split
from qulab.models.registry import ModelSpec
from qulab.threats.poisoning.attacks import POISONING_ATTACKS, Poisoned, PoisoningAttackSpec, poison_count, poisoning
from qulab.threats.poisoning.backdoor import make_trigger

TURNER = "Turner, Tsipras & Madry, Label-Consistent Backdoor Attacks, 2019 (arXiv:1912.02771)"


def clean_label_poison(X: np.ndarray, rows: np.ndarray, target_class: int, trigger: Any,
                       proxy: Any, *, eps: float, max_iter: int) -> np.ndarray:
    """The training inputs with ``rows`` (all of the target class) pushed by ART's L∞ PGD away from their label on
    the ART classifier ``proxy``, then stamped with ``trigger``; labels are not touched, so only X comes back."""
    from art.attacks.poisoning import PoisoningAttackBackdoor, PoisoningAttackCleanLabelBackdoor

    target = np.eye(proxy.nb_classes)[target_class]
    attack = PoisoningAttackCleanLabelBackdoor(
        backdoor=PoisoningAttackBackdoor(trigger), proxy_classifier=proxy, target=target, norm=np.inf, eps=eps,
        eps_step=2.5 * eps / max_iter, max_iter=max_iter, num_random_init=0)
    attack.attack.set_params(verbose=False)  # ART builds its PGD with a progress bar on
    poisoned = np.array(X, dtype=np.float64, copy=True)
    if len(rows):
        # ART's poison() in two steps, on rows chosen here: untargeted PGD (against the proxy's own predictions, as
        # ART's poison does), then the trigger.
        pushed = attack.attack.generate(np.asarray(X[rows], np.float32))
        stamped, _ = attack.backdoor.poison(pushed, target, broadcast=True)
        poisoned[rows] = stamped
    return poisoned


def _needs_network(model: ModelSpec) -> str | None:
    if model.family == "neural":
        return None
    return (f"The clean-label backdoor pushes points with a network's gradients, and {model.a_name} has none: "
            "choose the PyTorch MLP or CNN.")


def _clean_label(split: Split, rate: float, target_class: int | None, params: Mapping[str, Any],
                 rng: np.random.Generator, model: Any, progress: Any = None) -> Poisoned:
    trigger = make_trigger(split, {"trigger": params["trigger"], "distance": params["distance"]})
    rows = np.flatnonzero(split.y_train == target_class)
    n = poison_count(rate, split, len(rows), "The clean-label backdoor (on points of the target class)")
    chosen = np.sort(rng.choice(rows, size=n, replace=False))
    X = clean_label_poison(split.X_train, chosen, target_class, trigger, model.classifier,
                           eps=params["eps"], max_iter=params["max_iter"])
    return Poisoned(X, split.y_train.copy(), chosen, trigger=trigger, target_class=target_class)


POISONING_ATTACKS.register(PoisoningAttackSpec(
    "clean_label_backdoor", "Clean-label backdoor",
    "Makes some target-class training images hard to recognise with small adversarial changes and stamps the "
    "trigger on them, keeping their correct labels, so the model learns to read the trigger as the target class.",
    _clean_label, poisoning(GREY_BOX, LOSS_GRADIENTS), reference=TURNER, model_reason=_needs_network,
    needs_images=True, needs_target=True,
    params=(
        Param("eps", "Perturbation budget (L∞)", 0.3,
              "How far PGD may move each pixel of a poisoned image (pixels run from 0 to 1) before the trigger is "
              "stamped: more makes the image harder to learn from its content, and the change easier to see.",
              0.01, 1.0, 0.01),
        Param("max_iter", "PGD iterations", 20, "Steps of projected gradient descent per poisoned image.", 1, 200),
        Param("trigger", "Trigger", "pattern", "ART's 4-pixel pattern or a single pixel at full intensity.",
              choices=("pattern", "pixel"), choice_labels=("Pixel pattern", "Single pixel")),
        Param("distance", "Pixels from the corner", 1,
              "How far from the bottom-right corner the trigger sits.", 0, 5),
    )))
