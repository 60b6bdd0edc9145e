"""What a page shows about a data set: class counts and a per-feature summary. No Streamlit here."""

from __future__ import annotations

import numpy as np
import pandas as pd


def class_counts(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows per class code 0..n_classes-1 (classes without rows count 0)."""
    return np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)[:n_classes]


def feature_summary(X: np.ndarray, feature_names: tuple[str, ...]) -> pd.DataFrame:
    """Minimum, mean, maximum and standard deviation of each feature (one row per feature)."""
    X = np.asarray(X, dtype=np.float64)
    return pd.DataFrame({
        "feature": list(feature_names),
        "min": X.min(axis=0),
        "mean": X.mean(axis=0),
        "max": X.max(axis=0),
        "std": X.std(axis=0),
    })

