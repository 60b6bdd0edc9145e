"""`--defense` on the CLI gives the Defences page's numbers (evaluate_defence called directly)."""

import json

import pytest
from own_files import TEST, TRAIN, csv_bytes, dataset

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


# ---------------------------------------------------------------------------------------------------------
# Your own train and test files


@pytest.fixture(scope="module")
def own_files(tmp_path_factory):
    """The two CSV files on disk, and the same arrays as data sets."""
    folder = tmp_path_factory.mktemp("own")
    (folder / "train.csv").write_bytes(csv_bytes(TRAIN))
    (folder / "test.csv").write_bytes(csv_bytes(TEST))
    return folder, dataset(TRAIN), dataset(TEST)


@pytest.mark.parametrize("defence, attack, flags", [
    ("adversarial_training", "pgd", ["--scaling", "minmax"]),
    ("feature_squeezing", "fgm", ["--scaling", "minmax"]),
    ("gaussian_noise", "pgd", ["--scaling", "standard", "--clip=-3,3"]),
], ids=["madry", "squeezing", "noise-clipped"])
def test_defence_on_your_own_train_and_test_files_matches_the_library(capsys, own_files, defence, attack, flags):
    """`--data csv:A --test-data csv:B --defense X` runs on exactly the 40 rows of B, with the numbers of
    evaluate_defence on a split made from the same arrays."""
    from dataclasses import replace

    from qulab.evaluation.pipeline import split_with_test_set

    folder, train, test = own_files
    argv = ["evaluate", "--data", f"csv:{folder / 'train.csv'}", "--test-data", f"csv:{folder / 'test.csv'}",
            "--target", "label", "--attack", attack, "--eps", "0.1", "--defense", defence, *flags, "--json"]
    assert cli.main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    scaling = flags[1]
    split = split_with_test_set(train, test, scaling, 42)
    if "--clip=-3,3" in flags:
        split = replace(split, clip_values=(-3.0, 3.0))
    scenario = Scenario(dataset=f"csv:{folder / 'train.csv'}", dataset_params=(("target", "label"),), attack=attack,
                        eps=0.1, scaling=scaling)
    direct = evaluate_defence(scenario, defence, {}, split=split)
    assert printed["n_test"] == direct.n_test == 40
    assert printed["test_data"] == f"csv:{folder / 'test.csv'}"
    assert printed["clean_accuracy"] == direct.clean_defended
    assert printed["adversarial_accuracy"] == direct.robust_defended
    assert printed["undefended"] == {"clean_accuracy": direct.clean_undefended,
                                     "adversarial_accuracy": direct.robust_undefended}
    assert printed["robust_nonadaptive"] == direct.robust_nonadaptive
    assert printed["exact_defended"] == direct.exact_defended
    assert printed["clip"] == (None if "--clip=-3,3" not in flags else [-3.0, 3.0])


def test_defence_curve_on_your_own_files(capsys, own_files):
    from qulab.evaluation.pipeline import split_with_test_set

    folder, train, test = own_files
    argv = ["curve", "--data", f"csv:{folder / 'train.csv'}", "--test-data", f"csv:{folder / 'test.csv'}",
            "--target", "label", "--scaling", "minmax", "--attack", "pgd", "--eps", "0,0.05,0.2",
            "--defense", "adversarial_training", "--defense-param", "eps=0.2", "--json"]
    assert cli.main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    scenario = Scenario(dataset=f"csv:{folder / 'train.csv'}", dataset_params=(("target", "label"),), attack="pgd",
                        eps=0.2, scaling="minmax")
    direct = evaluate_defence(scenario, "adversarial_training", {"eps": 0.2}, eps_grid=(0.0, 0.05, 0.2),
                              split=split_with_test_set(train, test, "minmax", 42))
    assert printed["eps"] == [0.0, 0.05, 0.2]
    assert printed["adversarial_accuracy"] == list(direct.curve_defended)
    assert printed["undefended"]["adversarial_accuracy"] == list(direct.curve_undefended)
    assert printed["exact_accuracy"] == list(direct.exact_curve_defended)
