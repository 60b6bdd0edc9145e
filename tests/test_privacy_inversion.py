"""Model inversion with ART's MIFace on digits, and its figure.

Independent checks: a direct ART call (MIFace is deterministic, so the wrapper must give the very same images),
hand-made class means and nearest means, the model's own predictions on the reconstructions, and the figure's
pixels against the arrays it was given.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from qulab.threats.privacy.inversion import class_means, invert, nearest_mean


@pytest.fixture(scope="module")
def digits_lr():
    from art.estimators.classification.scikitlearn import SklearnClassifier

    digits = load_digits()
    X, y = digits.data[:600] / 16.0, digits.target[:600]
    model = LogisticRegression(max_iter=2000).fit(X, y)
    return X, y, model, SklearnClassifier(model, clip_values=(0.0, 1.0))


def test_inversion_is_arts_miface_and_the_model_recognises_every_reconstruction(digits_lr):
    from art.attacks.inference.model_inversion import MIFace

    X, y, model, classifier = digits_lr
    images = invert(classifier, 10, max_iter=60, learning_rate=0.1)
    direct = MIFace(classifier, max_iter=60, learning_rate=0.1, batch_size=1, verbose=False).infer(
        None, y=np.eye(10)[np.arange(10)])
    np.testing.assert_allclose(images, direct, atol=1e-6)  # one batch or one class at a time: the same images
    assert images.min() >= 0.0 and images.max() <= 1.0  # clipped to the data's range
    assert (model.predict(images) == np.arange(10)).all()
    assert (nearest_mean(images, class_means(X, y, 10)) == np.arange(10)).mean() >= 0.8


def test_class_means_and_nearest_means_by_hand():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 10.0]])
    y = np.array([0, 0, 1, 1])
    means = class_means(X, y, 3)
    np.testing.assert_allclose(means, [[1, 0], [11, 10], [0, 0]])  # class 2 has no rows: zeros
    np.testing.assert_array_equal(nearest_mean(np.array([[9.0, 9.0], [1.0, 1.0]]), means[:2]), [1, 0])


def test_the_entry_refuses_tabular_data_and_models_without_gradients_in_words():
    from qulab.data.datasets import load_dataset, split_dataset
    from qulab.models.registry import MODELS
    from qulab.threats.privacy.attacks import PRIVACY_ATTACKS

    attack = PRIVACY_ATTACKS.get("inversion_miface")
    assert "image data" in attack.data_reason(split_dataset(load_dataset("iris"), 0.5, 0, "none"))
    assert attack.data_reason(split_dataset(load_dataset("digits"), 0.5, 0, "none")) is None
    assert "class gradients" in attack.unsupported_reason(MODELS.get("decision_tree"))
    assert attack.unsupported_reason(MODELS.get("torch_cnn")) is None


def test_the_figure_shows_each_reconstruction_above_its_class_mean():
    from qulab.figures.privacy_inference import build_inversion_figure

    rng = np.random.default_rng(0)
    recon, means = rng.random((3, 8, 8)), rng.random((3, 8, 8))
    fig = build_inversion_figure(recon, means, ("a", "b", "c"), [0.9, 0.5, 0.1])
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 6
    np.testing.assert_allclose(np.asarray(heatmaps[2].z), recon[1])  # class b: reconstruction, then its mean
    np.testing.assert_allclose(np.asarray(heatmaps[3].z), means[1])
    assert "(50%)" in fig.layout.annotations[1].text
