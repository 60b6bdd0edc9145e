"""Two-dimensional views of feature data, for plots: PCA when there are more than two features."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The data projected onto its first two principal components, and the share of variance each explains.

    Returns ``(coords, explained_variance_ratio)`` with shapes ``(n, 2)`` and ``(2,)``. The exact (full SVD)
    solver keeps the result deterministic. Needs at least two rows and two columns.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 2:
        raise ValueError(f"pca_2d needs at least 2 rows and 2 columns, got shape {X.shape}")
    pca = PCA(n_components=2, svd_solver="full")
    coords = pca.fit_transform(X)
    return coords, pca.explained_variance_ratio_


def view_2d(X: np.ndarray, feature_names: tuple[str, ...], seed: int = 0) -> tuple[np.ndarray, tuple[str, str], str]:
    """Coordinates to plot, the two axis titles, and a sentence saying what the view is.

    Two features are shown as they are; more are projected with PCA; a single feature is spread out
    vertically by a small random jitter so that overlapping points stay visible.
    """
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    if d == 2:
        return X, (feature_names[0], feature_names[1]), "The two features, as they are."
    if d == 1:
        jitter = np.random.default_rng(seed).uniform(-1.0, 1.0, len(X))
        return (np.column_stack([X[:, 0], jitter]), (feature_names[0], "random jitter"),
                "The only feature on the horizontal axis; the vertical position is random, to separate the points.")
    coords, ratio = pca_2d(X)
    titles = (f"PC 1 ({ratio[0]:.0%} of variance)", f"PC 2 ({ratio[1]:.0%} of variance)")
    return coords, titles, (f"The {d} features projected onto their first two principal components (PCA), which "
                            f"keep {ratio.sum():.0%} of the variance; points close here may be far apart in "
                            "the other directions.")
