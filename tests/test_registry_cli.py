"""Registries and scenario validation (the CLI's contract is in test_cli.py)."""

import pytest

from qulab.core.experiment import Scenario
from qulab.core.registry import InvalidInput, Param, resolve_params


def test_param_parse_and_range():
    eps = Param("eps", "Epsilon", 0.1, "help", 0.0, 0.5)
    assert eps.parse("0.25") == 0.25
    with pytest.raises(InvalidInput, match="between 0.0 and 0.5"):
        eps.parse("0.9")
    with pytest.raises(InvalidInput, match="must be a number"):
        eps.parse("big")
    assert Param("n", "N", 3, "help", 1, 9).parse("4") == 4


def test_resolve_params_rejects_unknown_names():
    with pytest.raises(InvalidInput, match="unknown parameter"):
        resolve_params((Param("a", "A", 1, "h", 0, 2),), {"b": 1})


def test_scenario_validates_at_the_edge():
    with pytest.raises(InvalidInput, match="norm"):
        Scenario(norm="3")
    with pytest.raises(InvalidInput, match="non-negative"):
        Scenario(eps=-0.1)
    assert Scenario(eps=0.2).model_key == Scenario(eps=0.4).model_key


def test_naming_a_default_parameter_keeps_the_cache_key():
    """The Attack Demo names no parameters and the Attack Lab names them all: one fitted model serves both."""
    from qulab.core.experiment import freeze
    from qulab.data.datasets import DATASETS
    from qulab.models.registry import MODELS

    spelled_out = Scenario(dataset_params=freeze(resolve_params(DATASETS.get("synthetic").params, {})),
                           model_params=freeze(resolve_params(MODELS.get("logistic_regression").params, {})))
    assert Scenario().model_key == spelled_out.model_key
    assert Scenario(model_params=(("C", 0.5),)).model_key != Scenario().model_key
    assert Scenario(dataset_params=(("n_samples", 500),)).data_key != Scenario().data_key
