"""A toy defence added in this one file through the public helpers: round every feature to the nearest multiple
of 0.5 before the model sees it. Importing this module registers it (tests/test_toy_defence.py)."""

import numpy as np

from qulab.defences import DEFENCES, bpda_preprocessor, preprocessing_defence

GRID = 0.5


def round_to_grid(X: np.ndarray) -> np.ndarray:
    return (np.round(X / GRID) * GRID).astype(X.dtype)


TOY = DEFENCES.register(preprocessing_defence(
    "round_half_grid", "Round to a 0.5 grid (toy)",
    description="Rounds every feature to the nearest multiple of 0.5.",
    protects_against="Perturbations too small to move a feature across a rounding threshold.",
    known_weakness="Features within eps of a threshold (0.25, 0.75, …) flip to the next level.",
    adaptive_attack="BPDA: the rounding taken as the identity on the backward pass.",
    preprocessor=lambda params, split: bpda_preprocessor(round_to_grid),
    needs_range=True))
