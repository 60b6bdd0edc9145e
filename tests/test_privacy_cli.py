"""`qulab privacy`: the JSON contract, the same numbers as the library, csv pairs, and one-line refusals."""

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
from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.run import run_privacy

SRC = str(Path(__file__).resolve().parents[1] / "src")
MEMBERSHIP_KEYS = {"train_accuracy", "test_accuracy", "n_members", "n_nonmembers", "auc", "advantage", "tpr_at_fpr",
                   "seconds"}


def _json(capsys, argv: list[str]) -> dict:
    assert cli.main(["privacy", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_membership_json_has_the_contract_keys_and_the_librarys_numbers(capsys) -> None:
    printed = _json(capsys, ["--data", "iris", "--model", "decision_tree", "--attack", "membership_gap",
                             "--seed", "4"])
    assert set(printed) >= MEMBERSHIP_KEYS and "epsilon" not in printed
    assert set(printed["tpr_at_fpr"]) == {"0.01", "0.001"}
    assert printed["tpr_at_fpr"]["0.01"] is None  # 75 non-members: too few for a 1 % false-positive rate
    library = run_privacy(PrivacyScenario(dataset="iris", model="decision_tree", attack="membership_gap", seed=4))
    assert printed["auc"] == library.result.auc and printed["advantage"] == library.result.advantage
    assert printed["advantage"] == pytest.approx(printed["train_accuracy"] - printed["test_accuracy"], abs=1e-9)


def test_csv_training_and_test_files(capsys, tmp_path) -> None:
    rng = np.random.default_rng(0)
    for name, n in (("train", 80), ("test", 60)):
        X = rng.normal(size=(n, 3))
        pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": np.where(X[:, 0] > 0, "yes", "no")}).to_csv(
            tmp_path / f"{name}.csv", index=False)
    printed = _json(capsys, ["--data", f"csv:{tmp_path / 'train.csv'}", "--target", "label", "--test-data",
                             f"csv:{tmp_path / 'test.csv'}", "--model", "logistic_regression", "--attack",
                             "membership_gap"])
    assert printed["n_members"] == 80 and printed["n_nonmembers"] == 60


@pytest.mark.parametrize(("argv", "words"), [
    (["--model", "linear_svm", "--attack", "membership_lira"], "needs scores; a linear SVM does not release it"),
    (["--attack", "membership_lira", "--param", "n_reference=1"], "n_reference must be between 2 and 128"),
    (["--defense-param", "epsilon=1"], "--defense-param needs --defense NAME"),
    (["--attack", "nope"], "invalid choice: 'nope'"),
    (["--model", "torch_cnn"], "needs image inputs"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv: list[str], words: str) -> None:
    assert cli.main(["privacy", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and err.startswith("qulab: error: ")


def test_as_a_process_the_json_is_one_object_and_errors_one_line() -> None:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-m", "qulab.cli", "privacy", "--data", "iris", "--json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and done.stdout.count("\n") == 1 and set(json.loads(done.stdout)) >= MEMBERSHIP_KEYS
    done = subprocess.run([sys.executable, "-m", "qulab.cli", "privacy", "--defense-param", "epsilon=1"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
