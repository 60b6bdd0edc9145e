"""The scenario: the small immutable value that flows from widgets, URLs or CLI flags into the library."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from qulab.core.registry import InvalidInput, resolve_params

NORMS = ("inf", "2", "1")


def norm_order(norm: str) -> float:
    """ART's ``norm`` argument for a norm name ('inf' → numpy.inf)."""
    return float("inf") if norm == "inf" else float(norm)


def freeze(params: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """Parameters as a sorted tuple, so scenarios hash and compare by value."""
    return tuple(sorted((params or {}).items()))


@dataclass(frozen=True)
class Scenario:
    """Everything that determines a result; equal scenarios give equal numbers."""

    dataset: str = "synthetic"
    model: str = "logistic_regression"
    attack: str = "fgm"
    eps: float = 0.1
    norm: str = "inf"
    seed: int = 42
    test_size: float = 0.2
    scaling: str = "none"
    dataset_params: tuple[tuple[str, Any], ...] = field(default=())
    model_params: tuple[tuple[str, Any], ...] = field(default=())
    attack_params: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise InvalidInput(f"norm must be one of {', '.join(NORMS)}, not {self.norm!r}")
        if self.eps < 0:
            raise InvalidInput(f"eps must be non-negative, not {self.eps}")
        if not 0 < self.test_size < 1:
            raise InvalidInput(f"test size must be between 0 and 1, not {self.test_size}")

    @property
    def data_key(self) -> tuple:
        """What the train/test split depends on, with every data set parameter spelled out (defaults included), so
        a scenario that leaves a parameter at its default and one that names it share one cached split."""
        from qulab.data.datasets import DATASETS

        params = self.dataset_params
        if self.dataset in DATASETS.names():  # not an upload ("csv:…", named by its content)
            params = freeze(resolve_params(DATASETS.get(self.dataset).params, dict(params)))
        return (self.dataset, params, self.seed, self.test_size, self.scaling)

    @property
    def model_key(self) -> tuple:
        """What the fitted model depends on (an epsilon move must not change it), parameters spelled out as in
        :attr:`data_key`: the Attack Demo (no parameters named) and the Attack Lab (all named) share one model."""
        from qulab.models.registry import MODELS

        return (*self.data_key, self.model, freeze(resolve_params(MODELS.get(self.model).params,
                                                                  dict(self.model_params))))

    def with_eps(self, eps: float) -> Scenario:
        return replace(self, eps=eps)
