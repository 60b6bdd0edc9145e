"""`qulab poison`: the issue's JSON contract, csv pairs, the same numbers as the library, one-line errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qulab import cli
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.poisoning.run import run_poisoning

SRC = str(Path(__file__).resolve().parents[1] / "src")
MOONS = ["--data", "moons", "--data-param", "n_samples=200", "--model", "decision_tree"]


def run_json(capsys, argv):
    assert cli.main(["poison", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "stdout must hold the one JSON object only"
    return json.loads(out)


def test_one_rate_with_a_defence_prints_the_contracts_keys_with_the_librarys_numbers(capsys):
    printed = run_json(capsys, [*MOONS, "--rate", "0.3", "--defense", "knn_cleaning", "--defense-param", "k=7",
                                "--seed", "5"])
    outcome = run_poisoning(PoisoningScenario(dataset="moons", dataset_params=(("n_samples", 200),),
                                              model="decision_tree", rate=0.3, seed=5, defence="knn_cleaning",
                                              defence_params=(("k", 7),)))
    for key in ("n_train", "n_poisoned", "clean_accuracy", "poisoned_accuracy", "detection_precision",
                "detection_recall", "defended_accuracy"):
        assert printed[key] == outcome.summary()[key], key
    assert printed["rate"] == 0.3 and printed["n_poisoned"] == round(0.3 * printed["n_train"])
    assert "attack_success_rate" not in printed and isinstance(printed["seconds"], float)


def test_several_rates_give_lists_aligned_with_rate_and_a_backdoors_asr(capsys):
    printed = run_json(capsys, ["--data", "digits", "--model", "decision_tree", "--attack", "backdoor",
                                "--target-class", "3", "--rates", "0,0.05,0.1", "--defense", "loss_removal"])
    assert printed["rate"] == [0, 0.05, 0.1] and printed["target_class"] == 3
    for key in ("n_poisoned", "poisoned_accuracy", "attack_success_rate", "detection_precision", "detection_recall",
                "defended_accuracy", "defended_attack_success_rate"):
        assert isinstance(printed[key], list) and len(printed[key]) == 3, key
    assert printed["n_poisoned"] == [round(r * printed["n_train"]) for r in (0, 0.05, 0.1)]
    assert printed["detection_recall"][0] is None  # nothing poisoned at rate 0
    assert printed["poisoned_accuracy"][0] == printed["clean_accuracy"]
    assert printed["attack_success_rate"][2] > 0.8 > printed["attack_success_rate"][0]


def test_a_target_class_is_taken_by_name_too(capsys):
    by_name = run_json(capsys, ["--data", "iris", "--attack", "label_flip", "--target-class", "virginica",
                                "--rate", "0.2"])
    by_number = run_json(capsys, ["--data", "iris", "--attack", "label_flip", "--target-class", "2", "--rate", "0.2"])
    assert by_name["target_class"] == 2
    assert {k: v for k, v in by_name.items() if k != "seconds"} == {k: v for k, v in by_number.items()
                                                                   if k != "seconds"}


@pytest.fixture(scope="module")
def csv_pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("poison_csv")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=np.where(X[:, 0] + X[:, 1] > 0, "yes", "no"))
    frame.iloc[:200].to_csv(folder / "train.csv", index=False)
    frame.iloc[200:].to_csv(folder / "test.csv", index=False)
    return folder


def test_a_csv_pair_trains_on_the_first_file_and_tests_on_the_second(capsys, csv_pair):
    from sklearn.linear_model import LogisticRegression

    printed = run_json(capsys, ["--data", f"csv:{csv_pair / 'train.csv'}", "--target", "label",
                                "--test-data", f"csv:{csv_pair / 'test.csv'}", "--rate", "0"])
    train, test = pd.read_csv(csv_pair / "train.csv"), pd.read_csv(csv_pair / "test.csv")
    model = LogisticRegression(max_iter=5000, random_state=42).fit(train[["a", "b", "c"]], train.label)
    assert printed["n_train"] == 200 and printed["target"] == "label"
    assert printed["clean_accuracy"] == pytest.approx(model.score(test[["a", "b", "c"]], test.label))
    assert printed["poisoned_accuracy"] == printed["clean_accuracy"]


@pytest.mark.parametrize(("argv", "words"), [
    (["--rate", "1.5"], "argument --rate: a poison rate is a share of the training set from 0 to 1"),
    (["--rates", "0,,1"], "argument --rates: expects a comma-separated list"),
    (["--rate", "0.1", "--rates", "0.2"], "not allowed with argument"),
    (["--attack", "nope"], "argument --attack: invalid choice"),
    (["--attack", "backdoor"], "needs a target class"),
    (["--target-class", "7"], "--target-class 7 does not exist"),
    (["--target-class", "cats"], "--target-class 'cats' is neither a class name"),
    (["--defense-param", "k=3"], "--defense-param needs --defense NAME"),
    (["--defense", "knn_cleaning", "--defense-param", "k=300"], "k must be between 1 and 50"),
    (["--param", "order=x"], "label_flip has no parameter 'order'"),
    (["--data", "csv:/no/such.csv"], "no CSV file at '/no/such.csv'"),
    (["--target-class", "0", "--rate", "0.9"], "can poison at most"),
])
def test_bad_flags_and_files_are_one_line_and_exit_2(capsys, argv, words):
    assert cli.main(["poison", "--data", "moons", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qulab: error: ") and words in err and err.count("\n") == 1


def test_as_a_process_an_error_from_the_commands_own_module_is_one_line_and_exit_2():
    """`python -m qulab.cli` runs the file as __main__; the poison command's UsageError must still be caught."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    bad = subprocess.run([sys.executable, "-m", "qulab.cli", "poison", "--defense-param", "k=3"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr
    assert bad.stderr == "qulab: error: --defense-param needs --defense NAME\n"


def test_list_shows_the_poisoning_registries_with_threat_models_and_where_each_runs(capsys):
    from qulab.threats.poisoning.attacks import POISONING_ATTACKS
    from qulab.threats.poisoning.defences import POISONING_DEFENCES

    assert cli.main(["list", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in info["poisoning_attacks"]] == POISONING_ATTACKS.names()
    assert [d["name"] for d in info["poisoning_defences"]] == POISONING_DEFENCES.names()
    backdoor = next(a for a in info["poisoning_attacks"] if a["name"] == "backdoor")
    assert backdoor["threat"]["nist_class"] == "poisoning" and backdoor["threat"]["stage"] == "training"
    assert backdoor["needs_target"] and "training data" in backdoor["threat"]["access"]
    roni = next(d for d in info["poisoning_defences"] if d["name"] == "roni")
    assert "torch_mlp" not in roni["supports"] and "decision_tree" in roni["supports"]
