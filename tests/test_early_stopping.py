"""Early stopping of the PyTorch networks: it stops on a task that over-fits, keeps the best validation epoch's
weights (checked by training that many epochs from scratch, and by recomputing the validation loss), and is what
the privacy mitigation `early_stopping` trains."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from qulab.models.registry import MODELS
from qulab.models.torch_nets import TorchCNNClassifier, TorchMLPClassifier
from qulab.threats.privacy.mitigations import PRIVACY_DEFENCES

MAX_EPOCHS, PATIENCE = 200, 5


def _noisy_task(n: int = 200, d: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One informative feature under heavy label noise: a wide network memorises the noise within a few epochs."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] + 1.5 * rng.normal(size=n) > 0).astype(int)


def _cross_entropy(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(proba[np.arange(len(y)), y])))


@pytest.fixture(scope="module")
def stopped() -> tuple[TorchMLPClassifier, np.ndarray, np.ndarray]:
    X, y = _noisy_task()
    net = TorchMLPClassifier(hidden_layer_sizes=(128, 128), epochs=MAX_EPOCHS, validation_fraction=0.2,
                             patience=PATIENCE, random_state=1).fit(X, y)
    return net, X, y


def test_it_stops_long_before_the_last_epoch_once_the_validation_loss_stops_falling(stopped) -> None:
    net, X, _ = stopped
    curve = net.validation_loss_curve_
    assert net.n_epochs_ < MAX_EPOCHS and len(curve) == len(net.loss_curve_) == net.n_epochs_
    assert net.n_epochs_ == net.best_epoch_ + 1 + PATIENCE  # stopped after PATIENCE epochs without a lower loss
    assert net.best_epoch_ == int(np.argmin(curve))
    assert min(curve[net.best_epoch_ + 1:]) >= curve[net.best_epoch_]
    assert net.loss_curve_[-1] < net.loss_curve_[net.best_epoch_]  # training loss kept falling: over-fitting
    assert len(net.validation_rows_) == round(0.2 * len(X))


def test_the_weights_kept_are_the_best_epochs(stopped) -> None:
    net, X, y = stopped
    held_out = net.validation_rows_
    rows = np.setdiff1d(np.arange(len(X)), held_out)
    # Independently: the held-out loss of the returned network, computed from its probabilities here.
    assert _cross_entropy(net.predict_proba(X[held_out]), y[held_out]) == pytest.approx(
        min(net.validation_loss_curve_), rel=1e-5)
    # And a network trained from the same seed on the same rows for exactly best_epoch_ + 1 epochs, without early
    # stopping, is the same network; one trained a few epochs further has the later epoch's validation loss.
    same = TorchMLPClassifier(hidden_layer_sizes=(128, 128), epochs=net.best_epoch_ + 1, random_state=1)
    assert np.array_equal(same.fit(X[rows], y[rows]).predict_proba(X), net.predict_proba(X))
    last = TorchMLPClassifier(hidden_layer_sizes=(128, 128), epochs=net.n_epochs_, random_state=1).fit(X[rows], y[rows])
    assert _cross_entropy(last.predict_proba(X[held_out]), y[held_out]) == pytest.approx(
        net.validation_loss_curve_[-1], rel=1e-5)
    assert not np.array_equal(last.predict_proba(X), net.predict_proba(X))


def test_without_a_validation_share_every_epoch_runs() -> None:
    X, y = _noisy_task(n=80)
    net = TorchMLPClassifier(hidden_layer_sizes=(16,), epochs=7, random_state=0).fit(X, y)
    assert net.n_epochs_ == 7 and net.best_epoch_ is None and net.validation_loss_curve_ is None
    assert net.validation_rows_ is None


def test_the_convolutional_network_stops_early_too() -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    net = TorchCNNClassifier(epochs=100, validation_fraction=0.3, patience=2, random_state=0).fit(X, y)
    held_out = net.validation_rows_
    assert net.n_epochs_ == net.best_epoch_ + 1 + 2 < 100
    assert _cross_entropy(net.predict_proba(X[held_out]), y[held_out]) == pytest.approx(
        min(net.validation_loss_curve_), rel=1e-5)


@pytest.mark.parametrize(("params", "message"), [
    ({"validation_fraction": 1.0}, "validation_fraction must be below 1"),
    ({"validation_fraction": -0.1}, "validation_fraction must be a non-negative"),
    ({"validation_fraction": 0.2, "patience": 0}, "patience must be a positive integer"),
])
def test_bad_settings_are_refused(params, message) -> None:
    X, y = _noisy_task(n=40)
    with pytest.raises(ValueError, match=message):
        TorchMLPClassifier(epochs=2, **params).fit(X, y)


@pytest.mark.parametrize("model", ["torch_mlp", "torch_cnn"])
def test_the_privacy_mitigation_trains_with_patience_5_on_a_fifth_held_out(model) -> None:
    spec, defence = MODELS.get(model), PRIVACY_DEFENCES.get("early_stopping")
    params = {p.name: p.default for p in defence.params}
    estimator = defence.estimator(spec, {p.name: p.default for p in spec.params}, params, 3)
    assert (estimator.patience, estimator.validation_fraction) == (5, 0.2)
    assert estimator.get_params()["epochs"] == spec.build(seed=3).get_params()["epochs"]
    reason = defence.unsupported_reason(MODELS.get("logistic_regression"))
    assert reason == ("Early stopping applies to models trained in epochs (the PyTorch networks), not a logistic "
                      "regression.")
