"""diffprivlib 0.6.6 on this scikit-learn (1.9): the one place that makes it import and fit, and that reads the ε
each fit spent.

What scikit-learn 1.9 broke, and what stands in for it here:

- ``sklearn.tree._tree`` no longer exports ``DTYPE`` and ``DOUBLE``, which diffprivlib's tree and forest module
  imports (so ``import diffprivlib`` fails). They were float32 (features) and float64 (targets); set back on the
  module before diffprivlib is imported, and only when missing.
- ``LogisticRegression`` lost its ``multi_class`` argument, which diffprivlib passes (``'ovr'``); its own fit is
  one-vs-rest whatever it passes. :class:`DPLogisticRegression` makes the scikit-learn part without it. Its
  probabilities are scikit-learn 1.9's (a softmax of the one-vs-rest scores for several classes, which ART's
  gradients assume); any function of the private scores is as private (post-processing).
- ART wraps scikit-learn models by their module and class name and refuses others: :func:`art_classifier` gives
  the ART wrapper of the scikit-learn class a private model extends.

And two things the lab needs of every private model:

- a fresh ``BudgetAccountant`` per fit unless one is given (diffprivlib's default is one process-wide accountant,
  shared by every user and growing with every fit); ``epsilon_`` and ``delta_`` are what it recorded as spent,
  so a run reports the accountant's ε as DP-SGD reports Opacus's;
- data bounds (``bounds``, ``classes``, ``data_norm``) taken from the training rows when none are given, as
  diffprivlib itself would (it warns that this leaks a little), without its warning and without overwriting the
  parameters: a clone of a fitted model takes its bounds from its own data again.

Importing this module imports scikit-learn and diffprivlib: import it only when a diffprivlib mitigation is chosen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import sklearn.tree._tree as _sk_tree

for _name, _dtype in (("DTYPE", np.float32), ("DOUBLE", np.float64)):
    if not hasattr(_sk_tree, _name):
        setattr(_sk_tree, _name, _dtype)

from diffprivlib.accountant import BudgetAccountant  # noqa: E402 — after the names it needs are back
from diffprivlib.models import DecisionTreeClassifier as _DPTree  # noqa: E402
from diffprivlib.models import LogisticRegression as _DPLogisticRegression  # noqa: E402
from diffprivlib.models import RandomForestClassifier as _DPForest  # noqa: E402
from sklearn.linear_model import LogisticRegression as _SkLogisticRegression  # noqa: E402


@contextmanager
def _set_for_fit(estimator: Any, values: dict[str, Any]) -> Iterator[None]:
    """The parameters in ``values`` set for the length of one fit (diffprivlib's fit reads them from the estimator),
    then put back as given."""
    given = {name: getattr(estimator, name) for name in values}
    try:
        for name, value in values.items():
            setattr(estimator, name, value)
        yield
    finally:
        for name, value in given.items():
            setattr(estimator, name, value)


class _Accounted:
    """The fit every model here shares: own accountant, data bounds where none are given, ε and δ spent read back."""

    accountant: Any

    def _from_data(self, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        raise NotImplementedError

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        accountant = BudgetAccountant() if self.accountant is None else self.accountant
        filled = {name: value for name, value in self._from_data(X, y).items() if getattr(self, name) is None}
        with _set_for_fit(self, {**filled, "accountant": accountant}):
            super().fit(X, y)  # type: ignore[misc]
        self.accountant_ = accountant
        spent_epsilon, spent_delta = accountant.total()
        self.epsilon_, self.delta_ = float(spent_epsilon), float(spent_delta)
        return self


def _feature_range(X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    return {"bounds": (X.min(axis=0), X.max(axis=0)), "classes": np.unique(y)}


class DPDecisionTreeClassifier(_Accounted, _DPTree):
    """diffprivlib's ε-DP decision tree (random splits, noisy leaf labels), fitted as described in the module."""

    def __init__(self, max_depth: int = 5, *, epsilon: float = 1.0, bounds: Any = None, classes: Any = None,
                 random_state: Any = None, accountant: Any = None) -> None:
        super().__init__(max_depth=max_depth, epsilon=epsilon, bounds=bounds, classes=classes,
                         random_state=random_state)
        self.accountant = accountant

    def _from_data(self, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        return _feature_range(X, y)


class DPRandomForestClassifier(_Accounted, _DPForest):
    """diffprivlib's ε-DP random forest (each tree on its own share of the rows), fitted as described in the
    module."""

    def __init__(self, n_estimators: int = 10, *, epsilon: float = 1.0, bounds: Any = None, classes: Any = None,
                 n_jobs: int = 1, random_state: Any = None, max_depth: int = 5, accountant: Any = None) -> None:
        super().__init__(n_estimators=n_estimators, epsilon=epsilon, bounds=bounds, classes=classes, n_jobs=n_jobs,
                         random_state=random_state, max_depth=max_depth)
        self.accountant = accountant

    def _from_data(self, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        return _feature_range(X, y)


class DPLogisticRegression(_Accounted, _DPLogisticRegression):
    """diffprivlib's ε-DP logistic regression (objective perturbation, Chaudhuri et al. 2011; one-vs-rest), fitted
    as described in the module; ``data_norm`` from the data is the largest row norm."""

    def __init__(self, *, epsilon: float = 1.0, data_norm: float | None = None, tol: float = 1e-4, C: float = 1.0,
                 fit_intercept: bool = True, max_iter: int = 100, random_state: Any = None,
                 accountant: Any = None) -> None:
        # scikit-learn's own __init__ (diffprivlib's passes the removed multi_class), with diffprivlib's settings.
        _SkLogisticRegression.__init__(self, tol=tol, C=C, fit_intercept=fit_intercept, random_state=random_state,
                                       solver="lbfgs", max_iter=max_iter)
        self.epsilon = epsilon
        self.data_norm = data_norm
        self.accountant = accountant

    def _from_data(self, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        return {"data_norm": float(np.linalg.norm(X, axis=1).max())}


def art_classifier(estimator: Any, clip_values: Any) -> Any:
    """ART's wrapper for the scikit-learn class the estimator extends (ART's SklearnClassifier picks its wrapper by
    module and class name, and refuses a class outside scikit-learn)."""
    from art.estimators.classification import scikitlearn as art_sklearn

    base = next(cls for cls in type(estimator).__mro__ if cls.__module__.startswith("sklearn.")
                and hasattr(art_sklearn, f"Scikitlearn{cls.__name__}"))
    return getattr(art_sklearn, f"Scikitlearn{base.__name__}")(model=estimator, clip_values=clip_values)
