"""What a page shows about a data set: class counts and a per-feature summary. No Streamlit here."""

from __future__ import annotations

import numpy as np
import pandas as pd


def class_counts(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows per class code 0..n_classes-1 (classes without rows count 0)."""
    return np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)[:n_classes]


def feature_summary(X: np.ndarray, feature_names: tuple[str, ...]) -> pd.DataFrame:
    """Minimum, mean, maximum and standard deviation of each feature (one row per feature).

    A mean that is zero up to rounding error (below 1e-12 of the feature's largest magnitude, as after
    standard scaling) is reported as exactly 0 rather than as a meaningless 3e-16.
    """
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    mean[np.abs(mean) <= 1e-12 * np.abs(X).max(axis=0)] = 0.0
    return pd.DataFrame({
        "feature": list(feature_names),
        "min": X.min(axis=0),
        "mean": mean,
        "max": X.max(axis=0),
        "std": X.std(axis=0),
    })

