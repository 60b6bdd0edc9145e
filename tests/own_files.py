"""A user's own train and test CSV files (80 and 40 rows, two named classes) and the same arrays as data sets."""

import numpy as np

from qulab.data.datasets import Dataset

FEATURES = ("f1", "f2", "f3")
CLASSES = ("benign", "malignant")


def own_arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)) * [1.0, 2.0, 0.5] + [0.0, 5.0, -1.0]
    y = (X[:, 0] + 0.5 * X[:, 1] - 2.5 + rng.normal(0, 0.5, 120) > 0).astype(np.int64)
    return X, y


def csv_bytes(rows: slice) -> bytes:
    X, y = own_arrays()
    lines = [",".join((*FEATURES, "label"))] + [
        ",".join([*(f"{v:.17g}" for v in row), CLASSES[label]]) for row, label in zip(X[rows], y[rows], strict=True)]
    return ("\n".join(lines) + "\n").encode()


TRAIN, TEST = slice(0, 80), slice(80, 120)


def dataset(rows: slice) -> Dataset:
    X, y = own_arrays()
    return Dataset(X=X[rows], y=y[rows], feature_names=FEATURES, class_names=CLASSES)
