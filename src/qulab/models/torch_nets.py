"""Small PyTorch classifiers with a scikit-learn face, plus a dtype-safe ART wrapper.

Why this module exists: ART's strongest attacks need gradients, so the lab needs differentiable
models; giving them the scikit-learn estimator API lets the same pipelines, plots and
``clone``-based experiments treat them like every other model in QuLab.

Importing this module imports torch and ART, so only import it once a torch model is chosen.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from art.estimators.classification import PyTorchClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from qulab.core.randomness import one_torch_thread, torch_generator

__all__ = [
    "Float32PyTorchClassifier",
    "TorchCNNClassifier",
    "TorchMLPClassifier",
    "to_art_classifier",
]

# Inference batch size for predict/predict_proba: bounds memory without slowing small inputs.
_PREDICT_BATCH = 4096


class _AsFloat32(nn.Module):
    """First layer of every QuLab network: cast the input to float32.

    Why: ART paths under NumPy 2 (and its preprocessing defences) can hand float64 tensors to the
    network; casting here keeps the forward pass working and stays differentiable w.r.t. the input.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.dtype == torch.float32 else x.to(torch.float32)


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _check_positive_float(name: str, value: Any, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {bound} finite number, got {value!r}.")
    return float(value)


def _check_early_stopping(estimator: Any) -> dict[str, Any]:
    """``validation_fraction`` in [0, 1) (0: no early stopping) and a positive ``patience``."""
    fraction = _check_positive_float("validation_fraction", estimator.validation_fraction, allow_zero=True)
    if fraction >= 1:
        raise ValueError(f"validation_fraction must be below 1, got {estimator.validation_fraction!r}.")
    return {"validation_fraction": fraction, "patience": _check_positive_int("patience", estimator.patience)}


def _check_int_tuple(name: str, value: Any, *, length: int | None = None) -> tuple[int, ...]:
    """Accept an int or an iterable of positive ints (like sklearn's hidden_layer_sizes)."""
    items = [value] if isinstance(value, numbers.Integral) else value
    try:
        out = tuple(_check_positive_int(name, v) for v in items)
    except TypeError:
        raise ValueError(f"{name} must be an int or a sequence of positive ints, got {value!r}.") from None
    if length is not None and len(out) != length:
        raise ValueError(f"{name} must have {length} entries, got {value!r}.")
    return out


@dataclass(frozen=True)
class _TrainingLog:
    """What a training run leaves: the mean training loss per epoch run and, with early stopping, the validation
    loss per epoch and the (0-based) epoch whose weights were kept."""

    loss_curve: list[float]
    validation_loss_curve: list[float] | None = None
    best_epoch: int | None = None


def _holdout(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows to train on and rows held out for validation (``fraction`` of n, at least one each side), drawn from
    ``seed`` alone, so the weights' and batches' draws are the same as without a hold-out."""
    order = np.random.default_rng(seed).permutation(n)
    cut = min(max(1, round(fraction * n)), n - 1)
    return np.sort(order[cut:]), np.sort(order[:cut])


def _train_module(
    module: nn.Module,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float,
    generator: torch.Generator,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    patience: int = 10,
) -> _TrainingLog:
    """Minibatch Adam on cross-entropy. With ``validation`` (X, y), the mean loss on it is computed after each
    epoch; training stops once ``patience`` epochs in a row bring no lower one, and the best epoch's weights are
    put back (early stopping, as in Prechelt 1998)."""
    X_t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    y_t = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
    optimizer = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    n = len(X_t)
    curve: list[float] = []
    watched: list[float] = []
    best_epoch, best_state = None, None
    for epoch in range(epochs):
        module.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(module(X_t[idx]), y_t[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        curve.append(total / n)
        if validation is None:
            continue
        module.eval()
        with torch.no_grad():
            watched.append(float(loss_fn(module(torch.from_numpy(validation[0])), torch.from_numpy(validation[1]))))
        if best_epoch is None or watched[-1] < watched[best_epoch]:
            best_epoch, best_state = epoch, copy.deepcopy(module.state_dict())
        elif epoch - best_epoch >= patience:
            break
    module.eval()
    if validation is None:
        return _TrainingLog(curve)
    module.load_state_dict(best_state)
    return _TrainingLog(curve, watched, best_epoch)


def _initialised(build: Any, n_features: int, n_classes: int, params: dict[str, Any],
                 generator: torch.Generator) -> nn.Sequential:
    """The network from ``build``, with PyTorch's default initialisation drawn from ``generator``.

    The layers are built on the meta device (no draws at all), then each Linear/Conv2d gets, in build order,
    what its ``reset_parameters`` draws: Kaiming-uniform weights (a = √5) and biases uniform in ±1/√fan_in.
    """
    with torch.device("meta"):
        module = build(n_features, n_classes, params)
    module = module.to_empty(device="cpu")
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear | nn.Conv2d):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                if layer.bias is not None:
                    fan_in = layer.weight[0].numel()
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return module


class _TorchClassifierBase(ClassifierMixin, BaseEstimator):
    """Shared fit/predict plumbing; subclasses define the network and the input layout."""

    def _check_params(self) -> dict[str, Any]:
        raise NotImplementedError

    def _build_module(self, n_features: int, n_classes: int, params: dict[str, Any]) -> nn.Sequential:
        raise NotImplementedError

    def _validate_X(self, X: Any, y: Any = "no_validation", *, reset: bool) -> Any:
        # "no_validation" (not None) is sklearn's marker for "X only" in validate_data.
        return validate_data(self, X, y, reset=reset, dtype=np.float32)

    def fit(self, X: Any, y: Any) -> _TorchClassifierBase:
        """Train a fresh network on (X, y); labels may be any sortable values, as in sklearn.

        With ``validation_fraction`` > 0 that share of the rows (``validation_rows_``) is held out and training stops
        early (see ``_train_module``): ``n_epochs_`` epochs run, the weights kept are epoch ``best_epoch_``'s (0-based)
        and ``validation_loss_curve_`` holds the held-out loss per epoch; otherwise those last three are None."""
        params = self._check_params()
        X, y = self._validate_X(X, y, reset=True)
        check_classification_targets(y)
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got 1 class: {classes[0]!r}."
            )
        # Derive one seed so results depend only on random_state, never on torch's global RNG (which ART's noise
        # draws from in other sessions' threads). Two generators from the seed, one for the initial weights and
        # one for the batch order, give exactly the weights the former global seeding gave.
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        train, held_out = np.arange(len(X)), None
        if params["validation_fraction"] > 0:
            train, held_out = _holdout(len(X), params["validation_fraction"], seed)
        with one_torch_thread():
            module = _initialised(self._build_module, X.shape[1], len(classes), params,
                                  torch_generator(seed))
            log = _train_module(
                module,
                X[train],
                y_idx[train],
                epochs=params["epochs"],
                lr=params["lr"],
                batch_size=params["batch_size"],
                weight_decay=params.get("weight_decay", 0.0),
                generator=torch_generator(seed),
                validation=None if held_out is None else (np.ascontiguousarray(X[held_out], dtype=np.float32),
                                                          np.ascontiguousarray(y_idx[held_out], dtype=np.int64)),
                patience=params["patience"],
            )
        self.classes_ = classes
        self.module_ = module
        self.input_shape_ = (int(X.shape[1]),)
        self.loss_curve_ = log.loss_curve
        self.n_epochs_ = len(log.loss_curve)
        self.validation_loss_curve_ = log.validation_loss_curve
        self.best_epoch_ = log.best_epoch
        self.validation_rows_ = held_out
        return self

    def _logits(self, X: Any) -> torch.Tensor:
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        X_t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        self.module_.eval()
        with torch.no_grad(), one_torch_thread():
            return torch.cat([self.module_(chunk) for chunk in X_t.split(_PREDICT_BATCH)])

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax of the network's logits, columns ordered like ``classes_``."""
        return torch.softmax(self._logits(X), dim=1).numpy().astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Argmax of the logits, so it agrees exactly with the ART wrapper's predictions."""
        index = self._logits(X).argmax(dim=1).numpy()  # first, so unfitted use raises NotFittedError
        return self.classes_[index]


class TorchMLPClassifier(_TorchClassifierBase):
    """ReLU multilayer perceptron for tabular data (n_samples, n_features), trained with Adam.

    Why: a gradient-bearing counterpart of sklearn's MLPClassifier, so white-box ART attacks
    (FGSM, PGD, C&W, ...) can run against tabular models. Inputs are not scaled; put a scaler
    in front if features are not already on a unit scale.
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (64, 64),
        epochs: int = 60,
        lr: float = 1e-2,
        batch_size: int = 64,
        weight_decay: float = 0.0,
        random_state: Any = 0,
        validation_fraction: float = 0.0,
        patience: int = 10,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.validation_fraction = validation_fraction
        self.patience = patience

    def _check_params(self) -> dict[str, Any]:
        return {
            # An empty sequence is allowed: it gives multinomial logistic regression.
            "hidden_layer_sizes": _check_int_tuple("hidden_layer_sizes", self.hidden_layer_sizes),
            "epochs": _check_positive_int("epochs", self.epochs),
            "lr": _check_positive_float("lr", self.lr),
            "batch_size": _check_positive_int("batch_size", self.batch_size),
            "weight_decay": _check_positive_float("weight_decay", self.weight_decay, allow_zero=True),
            **_check_early_stopping(self),
        }

    def _build_module(self, n_features: int, n_classes: int, params: dict[str, Any]) -> nn.Sequential:
        layers: OrderedDict[str, nn.Module] = OrderedDict(as_float32=_AsFloat32())
        width = n_features
        for i, size in enumerate(params["hidden_layer_sizes"], start=1):
            layers[f"linear{i}"] = nn.Linear(width, size)
            layers[f"relu{i}"] = nn.ReLU()
            width = size
        layers["logits"] = nn.Linear(width, n_classes)
        return nn.Sequential(layers)


class TorchCNNClassifier(_TorchClassifierBase):
    """Small CNN for tiny images such as sklearn's 8x8 digits.

    Why: image attacks are the classic adversarial-ML demo, and a CNN is the model they are
    usually shown on. X may be flat (n, prod(image_shape)) or (n, *image_shape); the network
    itself takes flat rows (``input_shape_`` is flat) so tabular pipelines and plots work
    unchanged, and an ``nn.Unflatten`` layer restores the image layout inside the module.
    Each conv block is 3x3 conv + ReLU + 2x2 max-pool (pooling stops once the map is 1 pixel).
    """

    def __init__(
        self,
        image_shape: Any = (1, 8, 8),
        channels: Any = (16, 32),
        epochs: int = 15,
        lr: float = 1e-2,
        batch_size: int = 64,
        random_state: Any = 0,
        validation_fraction: float = 0.0,
        patience: int = 10,
    ) -> None:
        self.image_shape = image_shape
        self.channels = channels
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.random_state = random_state
        self.validation_fraction = validation_fraction
        self.patience = patience

    def _check_params(self) -> dict[str, Any]:
        return {
            "image_shape": _check_int_tuple("image_shape", self.image_shape, length=3),
            "channels": _check_int_tuple("channels", self.channels),
            "epochs": _check_positive_int("epochs", self.epochs),
            "lr": _check_positive_float("lr", self.lr),
            "batch_size": _check_positive_int("batch_size", self.batch_size),
            **_check_early_stopping(self),
        }

    def _validate_X(self, X: Any, y: Any = "no_validation", *, reset: bool) -> Any:
        # Image-shaped input is flattened first so sklearn's 2-D validation and n_features_in_ apply.
        if np.ndim(X) > 2:
            X = np.asarray(X)
            X = X.reshape(len(X), -1)
        return super()._validate_X(X, y, reset=reset)

    def _build_module(self, n_features: int, n_classes: int, params: dict[str, Any]) -> nn.Sequential:
        image_shape = params["image_shape"]
        n_pixels = int(np.prod(image_shape))
        if n_features != n_pixels:
            raise ValueError(
                f"X has {n_features} features per sample but image_shape={image_shape} needs {n_pixels}."
            )
        in_ch, height, width = image_shape
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            as_float32=_AsFloat32(),
            # Flatten is a no-op on flat rows and flattens (n, C, H, W), so the module takes both layouts.
            flatten_input=nn.Flatten(),
            to_image=nn.Unflatten(1, image_shape),
        )
        for i, out_ch in enumerate(params["channels"], start=1):
            layers[f"conv{i}"] = nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1)
            layers[f"relu{i}"] = nn.ReLU()
            if height >= 2 and width >= 2:
                layers[f"pool{i}"] = nn.MaxPool2d(2)
                height, width = height // 2, width // 2
            in_ch = out_ch
        layers["flatten"] = nn.Flatten()
        layers["logits"] = nn.Linear(in_ch * height * width, n_classes)
        return nn.Sequential(layers)


def _as_float32(x: Any) -> Any:
    """Cast numpy arrays / torch tensors to float32, leaving anything else untouched."""
    if isinstance(x, np.ndarray) and x.dtype != np.float32 and x.dtype != object:
        return x.astype(np.float32)
    if isinstance(x, torch.Tensor) and x.dtype != torch.float32:
        return x.to(torch.float32)
    return x


class Float32PyTorchClassifier(PyTorchClassifier):
    """ART PyTorchClassifier hardened for NumPy 2 and small CPU hosts.

    Why: under NumPy 2, ART 1.20.1 code paths (HopSkipJump, BoundaryAttack, the FeatureSqueezing
    defence, ...) produce float64 arrays, and the stock wrapper hands them straight to a float32
    network, which crashes with a dtype mismatch. Inputs are cast at every public entry point and
    again after preprocessing defences, which may upcast on their own. Index labels of shape (n,)
    or (n, 1) are turned into int64 class indices (stock ART makes binary ones float, which
    CrossEntropyLoss rejects). Calls run on one torch thread, as in ``fit`` of the estimators.
    """

    def _apply_preprocessing(self, x: Any, y: Any, fit: bool = False, **kwargs: Any) -> tuple[Any, Any]:
        x, y = super()._apply_preprocessing(_as_float32(x), y, fit=fit, **kwargs)
        return _as_float32(x), y

    def reduce_labels(self, y: Any) -> Any:
        if self._int_labels and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            return y.reshape(-1).long() if isinstance(y, torch.Tensor) else y.reshape(-1).astype(np.int64)
        return super().reduce_labels(y)

    def predict(self, x: np.ndarray, batch_size: int = 128, training_mode: bool = False, **kwargs: Any):
        with one_torch_thread():
            return super().predict(
                _as_float32(x), batch_size=batch_size, training_mode=training_mode, **kwargs
            )

    def fit(self, x: np.ndarray, y: np.ndarray, *args: Any, **kwargs: Any) -> None:
        with one_torch_thread():
            super().fit(_as_float32(x), y, *args, **kwargs)

    def loss_gradient(self, x: Any, y: Any, training_mode: bool = False, **kwargs: Any):
        with one_torch_thread():
            return super().loss_gradient(_as_float32(x), y, training_mode=training_mode, **kwargs)

    def class_gradient(self, x: np.ndarray, label: Any = None, training_mode: bool = False, **kwargs: Any):
        with one_torch_thread():
            return super().class_gradient(_as_float32(x), label=label, training_mode=training_mode, **kwargs)

    def compute_loss(self, x: Any, y: Any, reduction: str = "none", **kwargs: Any):
        with one_torch_thread():
            return super().compute_loss(_as_float32(x), y, reduction=reduction, **kwargs)

    def get_activations(self, x: Any, layer: int | str | None = None, batch_size: int = 128, framework=False):
        with one_torch_thread():
            return super().get_activations(
                _as_float32(x), layer=layer, batch_size=batch_size, framework=framework
            )


def to_art_classifier(
    estimator: _TorchClassifierBase, clip_values: Any = None, *, input_shape: Any = None
) -> Float32PyTorchClassifier:
    """Wrap a fitted QuLab torch estimator for ART attacks and defences.

    ``input_shape`` defaults to ``estimator.input_shape_`` (flat rows). Pass the image shape, e.g.
    ``estimator.image_shape`` for the CNN, for image-only attacks such as SquareAttack (and thus
    AutoAttack's default list) that reject flat inputs; x must then be shaped (n, *input_shape).

    Why a copy: ART's ``fit`` (e.g. adversarial training) and ``training_mode=True`` calls mutate the
    network they wrap; wrapping a deep copy keeps the sklearn estimator unchanged. ART works with
    class *indices* 0..K-1 in the order of ``estimator.classes_`` (map labels with
    ``np.searchsorted(estimator.classes_, y)``).
    """
    check_is_fitted(estimator, ["module_", "input_shape_", "classes_"])
    shape = tuple(int(d) for d in (estimator.input_shape_ if input_shape is None else input_shape))
    if int(np.prod(shape)) != int(np.prod(estimator.input_shape_)):
        raise ValueError(f"input_shape={shape} does not match the estimator's {estimator.input_shape_}.")
    module = copy.deepcopy(estimator.module_).eval()
    optimizer = torch.optim.Adam(module.parameters(), lr=float(getattr(estimator, "lr", 1e-3)))
    return Float32PyTorchClassifier(
        model=module,
        loss=nn.CrossEntropyLoss(),
        input_shape=shape,
        nb_classes=len(estimator.classes_),
        optimizer=optimizer,
        clip_values=clip_values,
        device_type="cpu",
    )


def untrained_like(estimator: _TorchClassifierBase, n_features: int, classes: Any, seed: int,
                   clip_values: Any = None) -> Float32PyTorchClassifier:
    """A fresh network of ``estimator``'s architecture (its parameters, not its weights), initialised from
    ``seed``, behind ART: for attacks that train a network of their own, such as model extraction's thief."""
    from sklearn.base import clone

    copy_ = clone(estimator)
    copy_.module_ = _initialised(copy_._build_module, n_features, len(classes), copy_._check_params(),
                                 torch_generator(seed))
    copy_.classes_, copy_.input_shape_, copy_.n_features_in_ = np.asarray(classes), (int(n_features),), n_features
    return to_art_classifier(copy_, clip_values=clip_values)
