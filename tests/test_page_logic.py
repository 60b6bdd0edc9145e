"""Logic that used to live in page files, now in the library: the Robustness gap table, the Attack Demo's decision
boundary and the known-range rule the Defences page and the defences share."""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from qulab.core.experiment import Scenario
from qulab.data.datasets import (
    SCALINGS,
    Dataset,
    clip_after_scaling,
    in_known_range,
    load_dataset,
    split_dataset,
)
from qulab.evaluation.budget import BudgetSweep
from qulab.evaluation.curves import gap_table
from qulab.evaluation.pipeline import fit_model, prepare_split
from qulab.models.registry import binary_boundary


def sweep(label: str, accuracy: tuple[float, ...], method: str = "m") -> BudgetSweep:
    return BudgetSweep(label, (0.0, 0.1, 0.2), accuracy, method, 0.12345)


def test_gap_table_puts_the_exact_curve_first_and_gives_each_attack_its_largest_gap():
    exact = sweep("Exact", (0.9, 0.6, 0.3), "closed form")
    rows = gap_table([sweep("FGM", (0.9, 0.7, 0.3)), sweep("PGD", (0.9, 0.6, 0.45))], exact)
    assert [r["Curve"] for r in rows] == ["Exact", "FGM", "PGD"]
    assert [r["Largest gap to exact"] for r in rows] == [0.0, 0.1, 0.15]
    assert rows[0]["How it was computed"] == "closed form" and rows[1]["Seconds"] == 0.123


def test_gap_table_without_an_exact_curve_has_no_gap_column():
    rows = gap_table([sweep("Tree", (0.9, 0.5, 0.2))], None)
    assert rows == [{"Curve": "Tree", "How it was computed": "m", "Seconds": 0.123}]


def test_binary_boundary_separates_the_predictions():
    scenario = Scenario()
    split = prepare_split(scenario)
    model = fit_model(scenario, split)
    normal, offset = binary_boundary(model.estimator)
    side = (split.X_test @ normal + offset > 0).astype(int)
    np.testing.assert_array_equal(side, model.estimator.predict(split.X_test))
    iris = load_iris()
    assert binary_boundary(LogisticRegression(max_iter=500).fit(iris.data, iris.target)) is None


@pytest.mark.parametrize("dataset", ["digits", "iris"])
@pytest.mark.parametrize("scaling", SCALINGS)
def test_known_range_before_splitting_agrees_with_the_split(dataset, scaling):
    data = load_dataset(dataset)
    split = split_dataset(data, 0.2, 0, scaling)
    assert in_known_range(data, scaling) == split.known_range
    assert split.clip_values == clip_after_scaling(data.clip_values, scaling)
    if scaling == "none" and split.clip_values is not None:  # unscaled: the data's own range holds
        assert split.X_test.min() >= split.clip_values[0] and split.X_test.max() <= split.clip_values[1]


def test_known_range_rule():
    rows = Dataset(np.zeros((2, 1)), np.array([0, 1]), ("x",), ("a", "b"))
    images = Dataset(np.zeros((2, 1)), np.array([0, 1]), ("x",), ("a", "b"), clip_values=(0.0, 1.0))
    assert [in_known_range(rows, s) for s in SCALINGS] == [False, True, False]
    assert [in_known_range(images, s) for s in SCALINGS] == [True, True, False]
    assert [clip_after_scaling((0.0, 16.0), s) for s in SCALINGS] == [(0.0, 16.0), (0.0, 1.0), None]
