"""Library pieces behind the Data Sets page: PCA view, summaries, figure builders, the choice and its URL."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from qulab.app import state as dc
from qulab.data.datasets import load_dataset
from qulab.data.profile import class_counts, feature_summary
from qulab.data.projection import pca_2d, view_2d
from qulab.figures.codelab import build_class_balance_figure, build_image_grid_figure, build_projection_figure


def test_pca_2d_matches_sklearn():
    X = load_wine().data
    coords, ratio = pca_2d(X)
    assert coords.shape == (len(X), 2) and ratio.shape == (2,)
    reference = PCA(n_components=2).fit(X)
    np.testing.assert_allclose(ratio, reference.explained_variance_ratio_, rtol=1e-10)
    # components are defined up to sign
    np.testing.assert_allclose(np.abs(coords), np.abs(reference.transform(X)), rtol=1e-8, atol=1e-8)


def test_pca_2d_rejects_too_little_data():
    with pytest.raises(ValueError, match="at least 2 rows and 2 columns"):
        pca_2d(np.ones((5, 1)))


def test_view_2d_keeps_two_features_and_projects_more():
    X2 = np.arange(10.0).reshape(5, 2)
    coords, titles, _ = view_2d(X2, ("a", "b"))
    np.testing.assert_array_equal(coords, X2)
    assert titles == ("a", "b")
    coords, titles, note = view_2d(load_wine().data, tuple(f"f{i}" for i in range(13)))
    assert coords.shape == (178, 2) and titles[0].startswith("PC 1") and "13 features" in note
    coords, titles, _ = view_2d(np.arange(4.0).reshape(4, 1), ("only",))
    assert coords.shape == (4, 2) and np.array_equal(coords[:, 0], np.arange(4.0)) and titles[0] == "only"


def test_feature_summary_and_class_counts():
    X = np.array([[0.0, 10.0], [2.0, 30.0]])
    table = feature_summary(X, ("a", "b"))
    assert list(table.columns) == ["feature", "min", "mean", "max", "std"]
    assert table.loc[1].tolist() == ["b", 10.0, 20.0, 30.0, 10.0]
    assert class_counts(np.array([0, 2, 2]), 4).tolist() == [1, 0, 2, 0]
    standardised = StandardScaler().fit_transform(load_wine().data)
    assert (feature_summary(standardised, tuple("abcdefghijklm"))["mean"] == 0.0).all()  # not 3e-16
    assert feature_summary(np.array([[1e-20], [3e-20]]), ("tiny",))["mean"][0] == pytest.approx(2e-20)  # real


def test_image_grid_shows_one_row_of_tiles_per_class():
    data = load_dataset("digits")
    fig = build_image_grid_figure(data.X, data.y, data.class_names, data.image_shape, per_class=5,
                                  value_range=data.clip_values)
    (heatmap,) = fig.data
    z = np.asarray(heatmap.z, dtype=float)
    assert z.shape == (10 * 9 - 1, 5 * 9 - 1)  # 8×8 tiles with one blank pixel between them
    first_zero = data.X[np.flatnonzero(data.y == 0)[0]].reshape(8, 8)
    np.testing.assert_array_equal(z[:8, :8], first_zero)
    first_nine = data.X[np.flatnonzero(data.y == 9)[4]].reshape(8, 8)
    np.testing.assert_array_equal(z[81:89, 36:44], first_nine)
    assert np.isnan(z[8]).all() and np.isnan(z[:, 8]).all()
    assert list(fig.layout.yaxis.ticktext) == [str(d) for d in range(10)]
    assert (heatmap.zmin, heatmap.zmax) == (0.0, 1.0)
    assert load_digits().images.shape[1:] == data.image_shape


def test_image_grid_leaves_missing_samples_blank():
    X, y = np.ones((3, 4)), np.array([0, 0, 1])
    z = np.asarray(build_image_grid_figure(X, y, ("a", "b"), (2, 2), per_class=2).data[0].z, dtype=float)
    assert z.shape == (5, 5) and np.isnan(z[3:, 3:]).all() and (z[3:, :2] == 1).all()


def test_balance_and_projection_figures():
    fig = build_class_balance_figure(("a", "b"), np.array([8, 2]), np.array([2, 1]))
    assert [t.name for t in fig.data[:2]] == ["Training", "Test"]
    assert list(fig.data[2].text) == ["10", "3"]
    fig = build_projection_figure(np.zeros((3, 2)), np.array([0, 1, 1]), ("a", "b"), ("x", "y"), "t")
    assert [len(t.x) for t in fig.data] == [1, 2] and fig.layout.xaxis.title.text == "x"


def test_choice_round_trips_through_the_url_and_into_a_scenario():
    choice = dc.builtin_choice("moons", {"noise": 0.30000000000000004}, "minmax", 7, 0.25)
    query = dc.query_from_choice(choice)
    assert query == {"data": "moons", "noise": "0.3", "scaling": "minmax", "seed": "7", "test_size": "0.25"}
    parsed, warnings = dc.choice_from_query(query)
    assert parsed == choice and warnings == []
    assert dc.choice_from_query({"other_page_key": "1"}) == (None, [])
    scenario = dc.choice_scenario(choice, eps=0.3)
    assert (scenario.dataset, dict(scenario.dataset_params), scenario.scaling, scenario.seed, scenario.eps) == (
        "moons", {"n_samples": 500, "noise": 0.3}, "minmax", 7, 0.3)


@pytest.mark.parametrize(("query", "fragment"), [
    ({"data": "nope"}, "not a built-in data set"),
    ({"data": "upload:0123456789ab"}, "upload the file again"),
    ({"data": "moons", "noise": "-1"}, "noise must be between"),
    ({"data": "iris", "scaling": "log"}, "scaling 'log' is unknown"),
    ({"data": "iris", "seed": "1.5"}, "seed '1.5' is not a whole number"),
    ({"data": "iris", "test_size": "0.9"}, "test size '0.9'"),
])
def test_bad_url_values_fall_back_to_defaults_with_a_warning(query, fragment):
    choice, warnings = dc.choice_from_query(query)
    assert len(warnings) == 1 and fragment in warnings[0]
    defaults = dc.default_choice()
    assert choice.scaling == defaults.scaling and choice.seed == defaults.seed
    assert choice.test_size == defaults.test_size
