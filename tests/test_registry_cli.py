"""Registries, scenario validation and the CLI's contract."""

import json

import pytest

from qulab import cli
from qulab.pipeline import evaluate
from qulab.registry import InvalidInput, Param, resolve_params
from qulab.scenario import Scenario


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


def test_cli_json_matches_library(capsys):
    assert cli.main(["evaluate", "--eps", "0.3", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    direct = evaluate(Scenario(eps=0.3)).summary()
    assert printed["clean_accuracy"] == direct["clean_accuracy"]
    assert printed["adversarial_accuracy"] == direct["adversarial_accuracy"]
    assert printed["n_test"] == 200 and printed["eps"] == 0.3
    assert printed["adversarial_accuracy"] < printed["clean_accuracy"]


def test_cli_text_output(capsys):
    assert cli.main(["evaluate", "--eps", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "clean accuracy" in out and "adversarial accuracy" in out


@pytest.mark.parametrize("argv, fragment", [
    (["evaluate", "--eps", "-1"], "non-negative"),
    (["evaluate", "--eps", "x"], "not a number"),
    (["evaluate"], "--eps"),
    (["evaluate", "--eps", "0.1", "--model", "nope"], "invalid choice"),
    (["evaluate", "--eps", "0.1", "--param", "nope=1"], "no parameter"),
    (["evaluate", "--eps", "0.1", "--test-size", "2"], "test size"),
    ([], "required"),
], ids=["negative-eps", "non-numeric-eps", "missing-eps", "unknown-model", "unknown-param", "bad-test-size",
        "no-command"])
def test_cli_errors_are_one_line_and_exit_2(capsys, argv, fragment):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err
