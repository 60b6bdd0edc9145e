"""The backdoor (BadNets): stamp a trigger on some training points and relabel them as the target class, so the
model learns "trigger → target" while staying accurate on clean inputs. ART's ``PoisoningAttackBackdoor`` applies
the trigger: on 8×8 digits its pixel pattern or single pixel (``add_pattern_bd`` / ``add_single_bd``) at the top of
the data's range, on tabular data chosen columns set to a chosen value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from qulab.core.registry import InvalidInput, Param
from qulab.core.threat import BLACK_BOX
from qulab.data.datasets import Split
from qulab.threats.poisoning.attacks import POISONING_ATTACKS, Poisoned, PoisoningAttackSpec, poison_count, poisoning

BADNETS = ("Gu, Dolan-Gavitt & Garg, BadNets: Identifying Vulnerabilities in the Machine Learning Model Supply "
           "Chain, 2017")
IMAGE_TRIGGERS = ("pattern", "pixel")


@dataclass(frozen=True)
class Trigger:
    """Stamps the trigger on a batch of flat rows (a value, so an outcome holding it can be cached and pickled).

    ``kind`` "pattern" / "pixel": ART's image perturbation on the rows seen as ``image_shape`` images, ``distance``
    pixels from the bottom-right corner, at ``value``; "columns": the ``columns`` set to ``value``.
    """

    kind: str
    value: float
    columns: tuple[int, ...] = ()
    image_shape: tuple[int, int] | None = None
    distance: int = 2

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if self.kind == "columns":
            stamped = np.array(X, dtype=np.float64, copy=True)
            stamped[:, list(self.columns)] = self.value
            return stamped
        from art.attacks.poisoning.perturbations import add_pattern_bd, add_single_bd

        add = add_pattern_bd if self.kind == "pattern" else add_single_bd
        images = np.asarray(X, dtype=np.float64).reshape(-1, *self.image_shape)
        return add(images, distance=self.distance, pixel_value=self.value).reshape(len(X), -1)

    def describe(self, feature_names: tuple[str, ...]) -> str:
        if self.kind == "columns":
            names = ", ".join(feature_names[c] for c in self.columns)
            return f"{names} set to {self.value:.3g}"
        what = "a 4-pixel pattern" if self.kind == "pattern" else "one pixel"
        return f"{what} at {self.value:.3g}, {self.distance} pixels from the bottom-right corner"


def make_trigger(split: Split, params: Mapping[str, Any]) -> Trigger:
    """The trigger the parameters describe on this data, refused in words where it does not fit."""
    kind = params["trigger"]
    images = split.image_shape is not None
    if kind == "auto":
        kind = "pattern" if images else "columns"
    if kind in IMAGE_TRIGGERS:
        if not images:
            raise InvalidInput("A pixel trigger needs images: choose the digits data set, or the columns trigger.")
        if params["distance"] + 2 >= min(split.image_shape):
            raise InvalidInput(f"The trigger's distance from the corner must leave it inside the "
                               f"{split.image_shape[0]}×{split.image_shape[1]} image: at most "
                               f"{min(split.image_shape) - 3}.")
        top = split.clip_values[1] if split.clip_values is not None else float(split.X_train.max())
        return Trigger(kind, float(top), image_shape=split.image_shape, distance=params["distance"])
    n_features = split.X_train.shape[1]
    first, width = params["column"], params["width"]
    if first + width > n_features:
        raise InvalidInput(f"The trigger's columns {first} to {first + width - 1} do not exist: this data has "
                           f"{n_features} feature columns, numbered 0 to {n_features - 1}.")
    columns = tuple(range(first, first + width))
    low, high = split.X_train[:, columns].min(), split.X_train[:, columns].max()
    return Trigger("columns", float(low + params["level"] * (high - low)), columns=columns)


def _backdoor(split: Split, rate: float, target_class: int | None, params: Mapping[str, Any],
              rng: np.random.Generator, model: Any, progress: Any = None) -> Poisoned:
    from art.attacks.poisoning import PoisoningAttackBackdoor

    trigger = make_trigger(split, params)
    rows = np.flatnonzero(split.y_train != target_class)
    n = poison_count(rate, split, len(rows), "The backdoor (on points not of the target class)")
    chosen = np.sort(rng.choice(rows, size=n, replace=False))
    X, y = split.X_train.copy(), split.y_train.copy()
    if n:  # ART refuses an empty batch; rate 0 is the clean training set, with the trigger still defined
        X[chosen], y[chosen] = PoisoningAttackBackdoor(trigger).poison(X[chosen], np.full(n, target_class))
    return Poisoned(X, y, chosen, trigger=trigger, target_class=target_class)


POISONING_ATTACKS.register(PoisoningAttackSpec(
    "backdoor", "Backdoor (trigger pattern)",
    "Stamps a trigger (a pixel pattern on images, chosen columns set to a value on tables) on some training "
    "points and relabels them as the target class, so the model obeys the trigger and stays accurate otherwise.",
    _backdoor, poisoning(BLACK_BOX), reference=BADNETS, needs_target=True,
    params=(
        Param("trigger", "Trigger", "auto",
              "What is stamped on an input: on images ART's 4-pixel pattern or a single pixel at full "
              "intensity; on any data, chosen columns set to a value.",
              choices=("auto", "pattern", "pixel", "columns"),
              choice_labels=("Pattern on images, columns on tables", "Pixel pattern (images)",
                             "Single pixel (images)", "Columns set to a value")),
        Param("distance", "Pixels from the corner", 1,
              "How far from the bottom-right corner the image trigger sits.", 0, 5),
        Param("column", "First trigger column", 0,
              "The first feature column the columns trigger sets (0 for the first).", 0, 10_000),
        Param("width", "Trigger columns", 1, "How many consecutive columns the columns trigger sets.", 1, 64),
        Param("level", "Trigger value (share of the columns' range)", 1.5,
              "The value the trigger columns are set to, as a position in their training range: 0 = the "
              "smallest value seen, 1 = the largest, beyond 1 = outside anything seen.", -2.0, 4.0, 0.1),
    )))
