"""`--defense` on the CLI gives the Defences page's numbers (evaluate_defence called directly)."""

import json

import pytest

from qulab import cli
from qulab.core.experiment import Scenario
from qulab.defences import evaluate_defence

BASE = ["--data", "breast_cancer", "--scaling", "minmax", "--attack", "pgd", "--defense", "adversarial_training"]


@pytest.fixture(scope="module")
def direct():
    scenario = Scenario(dataset="breast_cancer", scaling="minmax", attack="pgd", eps=0.1)
    return evaluate_defence(scenario, "adversarial_training", {})


def test_evaluate_with_defence_matches_library(capsys, direct):
    assert cli.main(["evaluate", *BASE, "--eps", "0.1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["defence"] == "adversarial_training"
    assert printed["clean_accuracy"] == direct.clean_defended
    assert printed["adversarial_accuracy"] == direct.robust_defended
    assert printed["undefended"]["adversarial_accuracy"] == direct.robust_undefended
    assert printed["exact_defended"] == direct.exact_defended
    assert printed["adversarial_accuracy"] > printed["undefended"]["adversarial_accuracy"]


def test_curve_with_defence_is_aligned_with_eps(capsys, direct):
    assert cli.main(["curve", *BASE, "--eps", "0,0.1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["eps"] == [0.0, 0.1]
    assert len(printed["adversarial_accuracy"]) == 2 == len(printed["exact_accuracy"])
    assert printed["adversarial_accuracy"][0] == pytest.approx(direct.clean_defended)
    assert printed["adversarial_accuracy"][1] == pytest.approx(direct.robust_defended)


def test_sanitiser_reports_both_attacks_and_its_notes(capsys):
    argv = ["--data", "breast_cancer", "--scaling", "minmax", "--attack", "deepfool", "--norm", "2",
            "--defense", "gaussian_noise", "--eps", "0.2"]
    direct = evaluate_defence(Scenario(dataset="breast_cancer", scaling="minmax", attack="deepfool", norm="2",
                                       eps=0.2), "gaussian_noise", {})
    assert cli.main(["evaluate", *argv, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["robust_nonadaptive"] == direct.robust_nonadaptive
    assert printed["adversarial_accuracy"] == direct.robust_defended
    assert printed["notes"] == list(direct.notes)
    assert cli.main(["evaluate", *argv]) == 0
    text = capsys.readouterr().out
    assert f"non-adaptive attack:  defended {direct.robust_nonadaptive:.4f}" in text
    assert "note: DeepFool stops just past the decision boundary" in text


@pytest.mark.parametrize("argv, fragment", [
    (["evaluate", "--eps", "0.1", "--defense", "nope"], "invalid choice"),
    (["evaluate", "--eps", "0.1", "--defense", "adversarial_training", "--defense-param", "foo=1"], "no parameter"),
    (["evaluate", "--eps", "0.1", "--defense", "adversarial_training", "--defense-param", "epochs=x"], "epochs"),
], ids=["unknown-defence", "unknown-defence-param", "bad-defence-param-value"])
def test_defence_errors_are_one_line(capsys, argv, fragment):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
