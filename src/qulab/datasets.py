"""Data sets: the codelab's synthetic sets now, real and uploaded data through the same registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from qulab.registry import InvalidInput, Param, Registry, resolve_params

SCALINGS = ("none", "minmax", "standard")


@dataclass(frozen=True)
class Dataset:
    """A classification data set: features, integer labels and what they mean."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    clip_values: tuple[float, float] | None = None
    image_shape: tuple[int, int] | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class Split:
    """A train/test split after scaling (scaler fitted on the training part only)."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    clip_values: tuple[float, float] | None
    scaling: str
    image_shape: tuple[int, int] | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class DatasetSpec:
    """A registry entry: how to make the data set and what the user can tune."""

    name: str
    label: str
    description: str
    load: Callable[..., Dataset]
    params: tuple[Param, ...] = field(default=())


DATASETS: Registry[DatasetSpec] = Registry("data set")


def make_codelab_classification(n_samples: int = 1000, seed: int = 42) -> Dataset:
    """The codelab's Attack Demo data: two informative features X1, X2 and two classes."""
    X, y = make_classification(n_samples=n_samples, n_features=2, n_informative=2, n_redundant=0,
                               n_clusters_per_class=1, class_sep=1.0, random_state=seed)
    return Dataset(X=X.astype(np.float64), y=y.astype(np.int64), feature_names=("X1", "X2"),
                   class_names=("Class 0", "Class 1"))


DATASETS.register(DatasetSpec(
    name="synthetic",
    label="Synthetic (X1, X2)",
    description="The codelab's two-feature, two-class synthetic data (scikit-learn make_classification).",
    load=lambda n_samples=1000, seed=42: make_codelab_classification(n_samples, seed),
    params=(Param("n_samples", "Samples", 1000, "How many points to generate.", 100, 100_000, 100),),
))


def load_dataset(name: str, params: dict | None = None, seed: int = 42) -> Dataset:
    spec = DATASETS.get(name)
    return spec.load(**resolve_params(spec.params, params or {}), seed=seed)


def split_dataset(data: Dataset, test_size: float, seed: int, scaling: str = "none") -> Split:
    """Stratified split; the scaler sees the training part only, and the clip range follows the scaling."""
    if scaling not in SCALINGS:
        raise InvalidInput(f"scaling must be one of {', '.join(SCALINGS)}, not {scaling!r}")
    X_train, X_test, y_train, y_test = train_test_split(
        data.X, data.y, test_size=test_size, random_state=seed, stratify=data.y)
    clip = data.clip_values
    if scaling != "none":
        scaler = (MinMaxScaler() if scaling == "minmax" else StandardScaler()).fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        clip = (0.0, 1.0) if scaling == "minmax" and clip is not None else None
    return Split(X_train=X_train, X_test=X_test, y_train=y_train, y_test=y_test,
                 feature_names=data.feature_names, class_names=data.class_names, clip_values=clip,
                 scaling=scaling, image_shape=data.image_shape)


def make_overview_frame(n_rows: int = 100, seed: int = 42, start: str = "2024-01-01") -> pd.DataFrame:
    """The codelab's Data Overview table: Y follows X plus noise, Category is X's sign, Time is daily."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n_rows)
    y = 2.0 * x + rng.normal(0.0, 0.5, n_rows)
    return pd.DataFrame({
        "X": x,
        "Y": y,
        "Category": np.where(x > 0, "PositiveX", "NegativeX"),
        "Time": pd.date_range(start, periods=n_rows, freq="D"),
    })
