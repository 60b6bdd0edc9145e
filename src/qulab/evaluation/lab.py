"""What the Attack Lab and Robustness pages compute besides the attack itself: budgets per norm, the model's
decisions on a 2-D plane through the data, per-example confidences and time estimates. No Streamlit here."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from qulab.threats.evasion.attacks import EPSILON

PILOT_POINTS = 2  # test points a first pilot run attacks, to time an attack before the real run
BATCH_PILOT_POINTS = 32  # a second pilot, when the first was quick: ART attacks work in batches of about this size
QUICK_PILOT_SECONDS = 0.25


@dataclass(frozen=True)
class EpsRange:
    """The range an eps slider offers for one norm."""

    high: float
    step: float
    default: float
    factor: float


def _nice(x: float) -> float:
    return float(f"{x:.2g}")


def eps_range(norm: str, n_features: int) -> EpsRange:
    """EPSILON's range for L∞; √d times wider for L2 and d times wider for L1 (d features).

    An L∞ budget eps lets every feature move by eps; the L2 ball of radius eps·√d and the L1 ball of radius
    eps·d are the smallest that reach the corners of that box, so the same slider position means a
    comparable budget in every norm.
    """
    factor = {"inf": 1.0, "2": math.sqrt(n_features), "1": float(n_features)}[norm]
    if factor == 1.0:
        return EpsRange(float(EPSILON.high), float(EPSILON.step), float(EPSILON.default), 1.0)
    high = _nice(EPSILON.high * factor)
    step = _nice(high / 100)
    default = round(round(EPSILON.default * factor / step) * step, 10)
    return EpsRange(high, step, default, factor)


@dataclass(frozen=True)
class DecisionPlane:
    """The model's predicted class on a grid over a 2-D plane, with test points and their adversarial twins
    in the plane's coordinates."""

    xs: np.ndarray
    ys: np.ndarray
    classes: np.ndarray  # (len(ys), len(xs))
    clean: np.ndarray  # (n, 2)
    adversarial: np.ndarray  # (n, 2)
    axis_titles: tuple[str, str]
    description: str


def decision_plane(predict: Callable[[np.ndarray], np.ndarray], X_train: np.ndarray, X_clean: np.ndarray,
                   X_adv: np.ndarray, feature_names: tuple[str, ...],
                   clip_values: tuple[float, float] | None = None, resolution: int = 80) -> DecisionPlane:
    """For two features their own plane; for more, the plane of the training data's first two principal
    components (PCA, the same full-SVD solver as ``projection.pca_2d``), whose grid points are mapped back to
    feature space with the PCA's inverse transform (and clipped to the valid range) before the model sees them.
    """
    X_clean, X_adv = np.asarray(X_clean, dtype=np.float64), np.asarray(X_adv, dtype=np.float64)
    d = X_clean.shape[1]
    if d == 2:
        to_plane: Callable[[np.ndarray], np.ndarray] = lambda X: X  # noqa: E731
        from_plane: Callable[[np.ndarray], np.ndarray] = lambda P: P  # noqa: E731
        titles, description = (feature_names[0], feature_names[1]), "the data's own two features"
    elif d == 1:
        jitter = np.random.default_rng(0).uniform(-1.0, 1.0, len(X_clean))
        to_plane = lambda X: np.column_stack([X[:, 0], jitter[:len(X)]])  # noqa: E731
        from_plane = lambda P: P[:, :1]  # noqa: E731
        titles = (feature_names[0], "random jitter")
        description = "the only feature (the vertical position is random, to separate the points)"
    else:
        pca = PCA(n_components=2, svd_solver="full").fit(np.asarray(X_train, dtype=np.float64))
        ratio = pca.explained_variance_ratio_
        to_plane, from_plane = pca.transform, pca.inverse_transform
        titles = (f"PC 1 ({ratio[0]:.0%} of variance)", f"PC 2 ({ratio[1]:.0%} of variance)")
        description = (f"the plane of the first two principal components of the {d} features (PCA, "
                       f"{ratio.sum():.0%} of the variance); the background is the model's decision on that "
                       "plane, while the points lie off it, so a point's colour can differ from the background "
                       "under it")
    clean, adversarial = to_plane(X_clean), to_plane(X_adv)
    points = np.vstack([clean, adversarial])
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = np.maximum((hi - lo) * 0.08, 1e-6)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = from_plane(np.column_stack([gx.ravel(), gy.ravel()]))
    if clip_values is not None:
        grid = np.clip(grid, *clip_values)
    classes = np.asarray(predict(grid)).reshape(gy.shape)
    return DecisionPlane(xs, ys, classes, clean, adversarial, titles, description)


def confidences(estimator: object, X: np.ndarray) -> np.ndarray | None:
    """The model's probability for each row's predicted class, when it has ``predict_proba``; else None."""
    predict_proba = getattr(estimator, "predict_proba", None)
    if predict_proba is None:
        return None
    try:
        return np.asarray(predict_proba(X)).max(axis=1)
    except (AttributeError, NotImplementedError, ValueError):
        return None


def gallery_indices(pred_clean: np.ndarray, pred_adv: np.ndarray, y: np.ndarray, k: int = 6) -> np.ndarray:
    """Up to k examples to show: successful attacks first (correct, then wrong), then the rest, in order."""
    success = (pred_clean == y) & (pred_adv != y)
    order = np.concatenate([np.flatnonzero(success), np.flatnonzero(~success)])
    return order[:k]


def estimate_seconds(pilot_seconds: float, pilot_points: int, n: int) -> float:
    """A linear extrapolation of a pilot run's time (an upper bound for attacks that work in batches)."""
    return pilot_seconds / max(pilot_points, 1) * n
