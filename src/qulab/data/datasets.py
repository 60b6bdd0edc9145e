"""Data sets: the codelab's synthetic sets now, real and uploaded data through the same registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from qulab.core.registry import InvalidInput, Param, Registry, resolve_params
from qulab.core.wording import number_text

if TYPE_CHECKING:
    import pandas as pd

    from qulab.data.upload import TabularData

# scikit-learn, pandas and the upload validator are imported where data is made, so reading the catalogue
# (`qulab list`, the app's first paint) does not pay for them.

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

    @property
    def known_range(self) -> bool:
        """Whether every feature lies in a known range (defences that squeeze or compress inputs need one)."""
        return self.clip_values is not None or self.scaling == "minmax"


def clip_after_scaling(clip: tuple[float, float] | None, scaling: str) -> tuple[float, float] | None:
    """The valid input range after scaling: min-max scaling maps a known range onto [0, 1]; standardising
    leaves no known range."""
    if scaling == "none":
        return clip
    return (0.0, 1.0) if scaling == "minmax" and clip is not None else None


def in_known_range(data: Dataset, scaling: str) -> bool:
    """:attr:`Split.known_range` of the data once split with this scaling, without splitting it."""
    return clip_after_scaling(data.clip_values, scaling) is not None or scaling == "minmax"


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
    from sklearn.datasets import make_classification

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


def _from_bunch(bunch, class_names=None) -> Dataset:
    names = tuple(str(c) for c in (class_names if class_names is not None else bunch.target_names))
    return Dataset(X=np.asarray(bunch.data, dtype=np.float64), y=np.asarray(bunch.target, dtype=np.int64),
                   feature_names=tuple(str(f) for f in bunch.feature_names), class_names=names)


def _digits(seed: int = 42) -> Dataset:
    """8×8 grey images of the digits 0–9, pixels scaled from 0–16 into [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Dataset(X=bunch.data / 16.0, y=bunch.target.astype(np.int64),
                   feature_names=tuple(f"pixel {r},{c}" for r in range(8) for c in range(8)),
                   class_names=tuple(str(d) for d in range(10)), clip_values=(0.0, 1.0), image_shape=(8, 8))


def _breast_cancer(seed: int = 42) -> Dataset:
    from sklearn.datasets import load_breast_cancer

    return _from_bunch(load_breast_cancer())


def _wine(seed: int = 42) -> Dataset:
    from sklearn.datasets import load_wine

    return _from_bunch(load_wine())


def _iris(seed: int = 42) -> Dataset:
    from sklearn.datasets import load_iris

    return _from_bunch(load_iris())


def _moons(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    return make_moons(n, noise=noise, random_state=seed)


def _circles(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_circles

    return make_circles(n, noise=noise, factor=0.5, random_state=seed)


def _blobs(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_blobs

    return make_blobs(n, centers=3, cluster_std=0.5 + 5 * noise, random_state=seed)


def _toy(maker: Callable[..., tuple[np.ndarray, np.ndarray]], n_classes: int = 2) -> Callable[..., Dataset]:
    def load(n_samples: int = 500, noise: float = 0.2, seed: int = 42) -> Dataset:
        X, y = maker(n_samples, noise, seed)
        return Dataset(X=X.astype(np.float64), y=y.astype(np.int64), feature_names=("X1", "X2"),
                       class_names=tuple(f"Class {k}" for k in range(n_classes)))
    return load


def _toy_params(noise_help: str) -> tuple[Param, ...]:
    return (Param("n_samples", "Samples", 500, "How many points to generate.", 100, 20_000, 100),
            Param("noise", "Noise", 0.2, noise_help, 0.0, 1.0, 0.05))


for spec in (
    DatasetSpec("breast_cancer", "Breast cancer (Wisconsin)",
                "569 tumours, 30 measurements of cell nuclei, malignant vs benign (scikit-learn).",
                _breast_cancer),
    DatasetSpec("wine", "Wine", "178 wines, 13 chemical measurements, 3 cultivars (scikit-learn).",
                _wine),
    DatasetSpec("iris", "Iris", "150 flowers, 4 measurements in cm, 3 species (scikit-learn).",
                _iris),
    DatasetSpec("digits", "Digits (8×8 images)",
                "1,797 handwritten digits as 8×8 grey images, pixels in [0, 1], 10 classes (scikit-learn).",
                _digits),
    DatasetSpec("moons", "Two moons (toy)", "Two interleaving half circles, as in TensorFlow Playground.",
                _toy(_moons),
                _toy_params("Standard deviation of the Gaussian noise added to the points.")),
    DatasetSpec("circles", "Circles (toy)", "A small circle inside a large one: not linearly separable.",
                _toy(_circles),
                _toy_params("Standard deviation of the Gaussian noise added to the points.")),
    DatasetSpec("blobs", "Blobs (toy)", "Three Gaussian clusters; more noise makes them overlap.",
                _toy(_blobs, n_classes=3),
                _toy_params("Spread of each cluster (0 = tight, 1 = heavily overlapping).")),
):
    DATASETS.register(spec)


def describe_eps(split: Split, eps: float) -> str:
    """What a budget of eps means in this data's units, for the page to say."""
    if split.image_shape is not None and split.scaling == "none":
        return f"eps = {eps:g} lets each pixel change by up to {eps:.0%} of full intensity."
    if split.scaling == "minmax":
        return f"eps = {eps:g} is {eps:.0%} of each feature's range in the training data."
    if split.scaling == "standard":
        return f"eps = {eps:g} is {eps:g} standard deviations of each feature (training data)."
    spans = split.X_train.max(axis=0) - split.X_train.min(axis=0)
    return (f"eps = {eps:g} is in the features' raw units: in the training data the narrowest feature spans "
            f"{number_text(spans.min())} and the widest {number_text(spans.max())}, so scaling makes eps "
            "comparable across features.")


CSV_PREFIX = "csv:"


def dataset_from_table(table: TabularData) -> Dataset:
    """An uploaded or CLI-given CSV as a data set like the built-in ones."""
    return Dataset(X=table.X, y=table.y, feature_names=table.feature_names, class_names=table.class_names)


def read_csv_bytes(path: str) -> bytes:
    """A CSV file's bytes, after the checks an upload gets (it exists, it is within the size limit)."""
    from pathlib import Path

    from qulab.data.upload import UPLOAD_LIMITS

    file = Path(path)
    try:  # the operating system refuses some paths outright: too long, no permission, a device that fails
        if not file.is_file():
            raise InvalidInput(f"no CSV file at {path!r}")
        if file.stat().st_size > UPLOAD_LIMITS.max_bytes:
            raise InvalidInput(f"{path}: larger than the limit. {UPLOAD_LIMITS.describe()}")
        return file.read_bytes()
    except OSError as error:
        shown = path if len(path) <= 80 else f"{path[:77]}..."
        reason = error.strerror or str(error)
        raise InvalidInput(f"cannot read the CSV file {shown!r}: {reason}") from None


def read_csv_file(path: str, target: str | None = None) -> TabularData:
    """A CSV from disk through the same validator as uploads, with the same messages."""
    from qulab.data.upload import DataError, load_csv

    data = read_csv_bytes(path)
    try:
        return load_csv(data, target)
    except DataError as error:
        raise InvalidInput(f"{path}: {error}") from None


def load_dataset(name: str, params: dict | None = None, seed: int = 42) -> Dataset:
    """A built-in data set by name, or ``csv:PATH`` (params may name the ``target`` column)."""
    if name.startswith(CSV_PREFIX):
        return dataset_from_table(read_csv_file(name.removeprefix(CSV_PREFIX), (params or {}).get("target")))
    spec = DATASETS.get(name)
    return spec.load(**resolve_params(spec.params, params or {}), seed=seed)


def split_dataset(data: Dataset, test_size: float, seed: int, scaling: str = "none") -> Split:
    """Stratified split; the scaler sees the training part only, and the clip range follows the scaling."""
    if scaling not in SCALINGS:
        raise InvalidInput(f"scaling must be one of {', '.join(SCALINGS)}, not {scaling!r}")
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(
        data.X, data.y, test_size=test_size, random_state=seed, stratify=data.y)
    if scaling != "none":
        scaler = (MinMaxScaler() if scaling == "minmax" else StandardScaler()).fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return Split(X_train=X_train, X_test=X_test, y_train=y_train, y_test=y_test,
                 feature_names=data.feature_names, class_names=data.class_names,
                 clip_values=clip_after_scaling(data.clip_values, scaling),
                 scaling=scaling, image_shape=data.image_shape)


def make_overview_frame(n_rows: int = 100, seed: int = 42, start: str = "2024-01-01") -> pd.DataFrame:
    """The codelab's Data Overview table: Y follows X plus noise, Category is X's sign, Time is daily."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n_rows)
    y = 2.0 * x + rng.normal(0.0, 0.5, n_rows)
    return pd.DataFrame({
        "X": x,
        "Y": y,
        "Category": np.where(x > 0, "PositiveX", "NegativeX"),
        "Time": pd.date_range(start, periods=n_rows, freq="D"),
    })
