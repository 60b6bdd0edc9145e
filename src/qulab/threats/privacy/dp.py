"""DP-SGD training of QuLab's PyTorch MLP with Opacus: the network the lab already has, trained privately.

Why a subclass: the MLP's network, its initialisation from the run's seed and its ART wrapper stay the same; only
the training loop changes (per-example clipping and Gaussian noise, Poisson-sampled batches), so a private and a
non-private model differ in nothing else. The noise is tuned by Opacus to reach ``target_epsilon`` at ``delta``
after ``epochs`` passes; ``epsilon_`` is what its accountant (RDP) reports once trained.

Importing this module imports torch and Opacus: import it only when DP training is chosen.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from torch import nn

from qulab.core.randomness import one_torch_thread, torch_generator
from qulab.models.torch_nets import TorchMLPClassifier, _check_positive_float, _initialised


class DPMLPClassifier(TorchMLPClassifier):
    """:class:`~qulab.models.torch_nets.TorchMLPClassifier` trained with DP-SGD (Opacus); ``hidden_layer_sizes=()``
    gives a differentially private multinomial logistic regression."""

    def __init__(self, hidden_layer_sizes: Any = (64, 64), epochs: int = 30, lr: float = 0.5, batch_size: int = 64,
                 target_epsilon: float = 2.0, delta: float = 1e-5, max_grad_norm: float = 1.0,
                 random_state: Any = 0) -> None:
        super().__init__(hidden_layer_sizes=hidden_layer_sizes, epochs=epochs, lr=lr, batch_size=batch_size,
                         random_state=random_state)
        self.target_epsilon = target_epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm

    def fit(self, X: Any, y: Any) -> DPMLPClassifier:
        from opacus import PrivacyEngine

        params = self._check_params()
        epsilon = _check_positive_float("target_epsilon", self.target_epsilon)
        delta = _check_positive_float("delta", self.delta)
        clip = _check_positive_float("max_grad_norm", self.max_grad_norm)
        X, y = self._validate_X(X, y, reset=True)
        check_classification_targets(y)
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; got 1.")
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        data = torch.utils.data.TensorDataset(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)),
                                              torch.from_numpy(np.ascontiguousarray(y_idx, dtype=np.int64)))
        with one_torch_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Opacus warns that secure_mode is off: the lab wants reproducible runs
            module = _initialised(self._build_module, X.shape[1], len(classes), params, torch_generator(seed))
            loader = torch.utils.data.DataLoader(data, batch_size=params["batch_size"],
                                                 generator=torch_generator(seed + 1))
            optimizer = torch.optim.SGD(module.parameters(), lr=params["lr"])
            engine = PrivacyEngine(accountant="rdp")
            private, optimizer, loader = engine.make_private_with_epsilon(
                module=module, optimizer=optimizer, data_loader=loader, target_epsilon=epsilon, target_delta=delta,
                epochs=params["epochs"], max_grad_norm=clip, noise_generator=torch_generator(seed + 2))
            loss_fn = nn.CrossEntropyLoss()
            private.train()
            curve = []
            for _ in range(params["epochs"]):
                total, seen = 0.0, 0
                for batch_X, batch_y in loader:
                    if len(batch_y) == 0:  # Poisson sampling may draw an empty batch
                        continue
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_fn(private(batch_X), batch_y)
                    loss.backward()
                    optimizer.step()
                    total, seen = total + loss.item() * len(batch_y), seen + len(batch_y)
                curve.append(total / max(seen, 1))
            self.epsilon_ = float(engine.get_epsilon(delta))
            self.noise_multiplier_ = float(optimizer.noise_multiplier)
            module = private.to_standard_module().eval()  # Opacus's hooks and per-example gradients removed
        self.delta_ = delta
        self.classes_ = classes
        self.module_ = module
        self.input_shape_ = (int(X.shape[1]),)
        self.loss_curve_ = curve
        return self
