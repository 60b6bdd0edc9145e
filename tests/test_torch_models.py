"""Tests for qulab.models.torch_nets: sklearn contract, determinism, and ART wrapper robustness."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("art")

from art.attacks.evasion import (  # noqa: E402
    AutoAttack,
    AutoProjectedGradientDescent,
    FastGradientMethod,
    HopSkipJump,
    SquareAttack,
)
from art.defences.preprocessor import FeatureSqueezing  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_classification, make_moons  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from qulab.models.torch_nets import (  # noqa: E402
    Float32PyTorchClassifier,
    TorchCNNClassifier,
    TorchMLPClassifier,
    to_art_classifier,
)


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(n_samples=300, noise=0.15, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def mlp(moons):
    X, y = moons
    return TorchMLPClassifier(hidden_layer_sizes=(32, 32), epochs=40, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    return train_test_split(X, d.target, test_size=0.25, random_state=0, stratify=d.target)


@pytest.fixture(scope="module")
def cnn(digits):
    X_train, _, y_train, _ = digits
    return TorchCNNClassifier(epochs=10, random_state=0).fit(X_train, y_train)


# --- scikit-learn contract -------------------------------------------------------------------------------


def test_mlp_fit_predict_contract(moons):
    X, y = moons
    labels = np.array(["neg", "pos"])[y]
    est = TorchMLPClassifier(hidden_layer_sizes=(16,), epochs=20, random_state=0)
    assert est.fit(X, labels) is est
    np.testing.assert_array_equal(est.classes_, ["neg", "pos"])
    assert est.input_shape_ == (2,) and est.n_features_in_ == 2
    assert not est.module_.training
    assert len(est.loss_curve_) == 20 and est.loss_curve_[-1] < est.loss_curve_[0]
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    pred = est.predict(X)
    assert set(pred) <= {"neg", "pos"}
    np.testing.assert_array_equal(pred, est.classes_[proba.argmax(axis=1)])
    assert est.score(X, labels) > 0.9


def test_params_stored_as_given_and_validated_in_fit(moons):
    X, y = moons
    est = TorchMLPClassifier(hidden_layer_sizes=[8, 0], epochs=0)  # no error before fit
    assert est.get_params()["hidden_layer_sizes"] == [8, 0]
    for bad in (
        {"hidden_layer_sizes": [8, 0]},
        {"hidden_layer_sizes": "64"},
        {"epochs": 0},
        {"lr": -1.0},
        {"batch_size": 2.5},
        {"weight_decay": -0.1},
    ):
        with pytest.raises(ValueError):
            TorchMLPClassifier(**bad).fit(X, y)
    with pytest.raises(ValueError):
        TorchCNNClassifier(image_shape=(8, 8)).fit(np.zeros((4, 64)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="image_shape"):
        TorchCNNClassifier(epochs=1).fit(np.zeros((4, 10)), [0, 1, 0, 1])
    sized = TorchMLPClassifier(hidden_layer_sizes=np.array([4, 3]), epochs=1).fit(X, y)
    assert [m.out_features for m in sized.module_ if isinstance(m, torch.nn.Linear)] == [4, 3, 2]
    with pytest.raises(ValueError, match="1 class"):
        TorchMLPClassifier(epochs=1).fit(X, np.zeros(len(X)))


def test_unfitted_and_feature_count_errors(mlp, moons):
    X, _ = moons
    with pytest.raises(NotFittedError):
        TorchMLPClassifier().predict(X)
    with pytest.raises(NotFittedError):
        to_art_classifier(TorchMLPClassifier())
    with pytest.raises(ValueError):
        mlp.predict(np.zeros((3, 5)))


def test_clone_get_params_and_pickle(mlp, moons):
    X, _ = moons
    twin = clone(mlp)
    assert twin.get_params() == mlp.get_params()
    assert not hasattr(twin, "module_")
    twin.set_params(epochs=5)
    assert twin.epochs == 5 and mlp.epochs == 40
    restored = pickle.loads(pickle.dumps(mlp))
    np.testing.assert_array_equal(restored.predict_proba(X), mlp.predict_proba(X))


def test_fit_is_deterministic_and_leaves_global_torch_state_alone(moons):
    X, y = moons
    threads_before = torch.get_num_threads()
    params = {"hidden_layer_sizes": (16,), "epochs": 10}
    a = TorchMLPClassifier(random_state=3, **params).fit(X, y).predict_proba(X)
    torch.manual_seed(12345)  # the global RNG must not leak into fit
    b = TorchMLPClassifier(random_state=3, **params).fit(X, y).predict_proba(X)
    c = TorchMLPClassifier(random_state=4, **params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    torch.manual_seed(0)
    rng_before = torch.get_rng_state()
    TorchMLPClassifier(random_state=3, **params).fit(X, y)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert torch.get_num_threads() == threads_before


def test_empty_hidden_layers_is_logistic_regression(moons):
    X, y = moons
    est = TorchMLPClassifier(hidden_layer_sizes=(), epochs=10).fit(X, y)
    assert [type(m).__name__ for m in est.module_] == ["_AsFloat32", "Linear"]
    assert est.score(X, y) > 0.75  # moons are not linearly separable


# --- CNN ---------------------------------------------------------------------------------------------------


def test_cnn_digits_accuracy_and_layouts(cnn, digits):
    _, X_test, _, y_test = digits
    assert cnn.score(X_test, y_test) >= 0.9
    assert cnn.input_shape_ == (64,)
    images = X_test.reshape(-1, 1, 8, 8)
    np.testing.assert_array_equal(cnn.predict(images), cnn.predict(X_test))
    # The module itself takes flat rows or images, float32 or float64.
    with torch.no_grad():
        flat = cnn.module_(torch.from_numpy(X_test[:5]))
        img = cnn.module_(torch.from_numpy(images[:5].astype(np.float64)))
    torch.testing.assert_close(flat, img)
    assert flat.shape == (5, 10)


# --- ART wrapper -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_art_predictions_match_estimator(which, mlp, cnn, moons, digits):
    est, X = (mlp, moons[0]) if which == "mlp" else (cnn, digits[1])
    clf = to_art_classifier(est)
    assert isinstance(clf, Float32PyTorchClassifier)
    assert clf.input_shape == est.input_shape_ and clf.nb_classes == len(est.classes_)
    art_pred = clf.predict(X).argmax(axis=1)
    np.testing.assert_array_equal(art_pred, est.predict_proba(X).argmax(axis=1))
    np.testing.assert_array_equal(est.classes_[art_pred], est.predict(X))


def test_art_wrapper_accepts_float64_and_hopskipjump_runs(mlp, moons):
    X, _ = moons
    clf = to_art_classifier(mlp)
    x64 = X[:3].astype(np.float64)
    np.testing.assert_allclose(clf.predict(x64), clf.predict(X[:3]), rtol=1e-6)
    attack = HopSkipJump(clf, max_iter=2, max_eval=50, init_eval=10, init_size=50, verbose=False)
    x_adv = attack.generate(x64)
    assert x_adv.shape == x64.shape and np.isfinite(x_adv).all()


def test_art_wrapper_with_feature_squeezing_defence(cnn, digits):
    _, X_test, _, _ = digits
    clf = to_art_classifier(cnn, clip_values=(0.0, 1.0))
    clf.set_params(preprocessing_defences=[FeatureSqueezing(clip_values=(0.0, 1.0), bit_depth=3)])
    assert clf.predict(X_test[:8]).shape == (8, 10)  # stock ART crashes: squeezing upcasts to float64
    x_adv = FastGradientMethod(clf, eps=0.1).generate(X_test[:8].astype(np.float64))
    assert x_adv.shape == (8, 64)


def test_fgsm_gradients_flow_and_lower_accuracy():
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5, class_sep=1.0, random_state=1)
    X = X.astype(np.float32)
    est = TorchMLPClassifier(hidden_layer_sizes=(32,), epochs=30, random_state=0).fit(X, y)
    clf = to_art_classifier(est)
    grad = clf.loss_gradient(X[:10], y[:10])
    assert grad.shape == (10, 8) and np.abs(grad).sum() > 0
    # Binary index labels (stock ART makes them float and CrossEntropyLoss rejects them) == one-hot.
    np.testing.assert_allclose(grad, clf.loss_gradient(X[:10], np.eye(2)[y[:10]]), rtol=1e-5)
    clean = est.score(X, y)
    x_adv = FastGradientMethod(clf, eps=0.2).generate(X)
    assert np.abs(x_adv - X).max() == pytest.approx(0.2, abs=1e-5)
    assert est.score(x_adv, y) < clean - 0.05


def test_art_wrapper_is_a_copy(mlp, moons):
    X, y = moons
    before = mlp.predict_proba(X)
    clf = to_art_classifier(mlp)
    clf.fit(X, y, nb_epochs=2, batch_size=32)  # ART fit trains (and leaves train mode on) its own copy
    np.testing.assert_array_equal(mlp.predict_proba(X), before)
    assert not mlp.module_.training


def test_image_input_shape_and_cheap_autoattack(cnn, digits):
    _, X_test, _, y_test = digits
    clf = to_art_classifier(cnn, clip_values=(0.0, 1.0), input_shape=cnn.image_shape)
    assert clf.input_shape == (1, 8, 8)
    with pytest.raises(ValueError, match="input_shape"):
        to_art_classifier(cnn, input_shape=(1, 7, 7))
    x = X_test[:5].reshape(-1, 1, 8, 8)
    np.testing.assert_array_equal(clf.predict(x).argmax(1), cnn.predict_proba(X_test[:5]).argmax(1))
    # AutoAttack's default list (5 APGD restarts x 100 iterations, 5000-step Square) takes minutes;
    # an explicit short list exercises the same plumbing, including image-only SquareAttack.
    kw = {"norm": np.inf, "eps": 0.1, "batch_size": 5, "verbose": False}
    attacks = [
        AutoProjectedGradientDescent(clf, eps_step=0.02, max_iter=10, nb_random_init=1, **kw),
        SquareAttack(clf, max_iter=50, nb_restarts=1, **kw),
    ]
    auto = AutoAttack(clf, norm=np.inf, eps=0.1, eps_step=0.02, batch_size=5, attacks=attacks)
    x_adv = auto.generate(x, y=y_test[:5])
    assert x_adv.shape == x.shape
    assert np.abs(x_adv - x).max() <= 0.1 + 1e-6
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    adv_correct = (clf.predict(x_adv).argmax(1) == y_test[:5]).sum()
    assert adv_correct <= (clf.predict(x).argmax(1) == y_test[:5]).sum()
